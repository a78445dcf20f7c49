"""Notebook 01's verdict arithmetic ([2.1]) on hand-computed cases, and its escape grid."""

import math

import jax
import numpy as np
import pytest

import shld_jax as sj
from shld_jax import claims, stats
from shld_jax import _langevin as L
from shld_jax.experiments import double_well as E
from shld_jax.stats import FAIL, INCONCLUSIVE, PASS


def o(outcome, m=1.0):
    return stats.Outcome(outcome, m, 0.1, "t")


def test_universal_any_fail_fails_all_pass_passes():
    assert E.universal([o(PASS), o(PASS)]).outcome == PASS
    assert E.universal([o(PASS), o(FAIL, 3.0)]).outcome == FAIL
    assert E.universal([o(PASS), o(FAIL, 3.0)]).measured == 3.0   # the deciding case
    assert E.universal([o(PASS), o(INCONCLUSIVE)]).outcome == INCONCLUSIVE
    assert E.universal([o(INCONCLUSIVE), o(FAIL)]).outcome == FAIL
    with pytest.raises(TypeError):
        E.universal([])


def test_prefactor_table_seed_and_angular_readings_are_sqrt2_and_half_of_kramers():
    w = sj.double_well()
    t = E.prefactor_table(w, [8.0, 16.0])
    # U''(min) = 8, |U''(saddle)| = 4: seed/Kramers = 8/√32 = √2, angular/Kramers = √8/√32 = 1/2
    np.testing.assert_allclose(t["seed: ω₀ = U''(min)"] / t["kramers"], math.sqrt(2), rtol=1e-12)
    np.testing.assert_allclose(t["seed: ω₀ = √U''(min)"] / t["kramers"], 0.5, rtol=1e-12)
    # the anchors' table: Kramers is 5.7 % high at ΔU/D = 8 (science-anchors.md: 1.06)
    assert t["kramers"][0] == pytest.approx(1.057, abs=2e-3)
    with pytest.raises(ValueError, match="dU_over_D"):
        E.prefactor_table(w, [0.0])


def test_ratio_within_and_asymptote():
    assert E.ratio_within([1.057, 1.03]).outcome == PASS
    assert E.ratio_within([1.495, 1.43]).outcome == FAIL
    assert E.ratio_within([1.05, 1.2]).outcome == INCONCLUSIVE
    assert E.ratio_within([1.2, 1.05]).measured == 1.2
    eps = np.array([1 / 8, 1 / 12, 1 / 16, 1 / 32])
    a, se = E.asymptotic_ratio(1 / eps, 1.0 + 0.5 * eps + 0.2 * eps**2)
    assert a == pytest.approx(1.0, abs=1e-10) and se < 1e-8
    with pytest.raises(ValueError, match="points"):
        E.asymptotic_ratio([8.0, 10.0], [1.0, 1.0])


def test_censored_rate_by_hand_and_ratio_test():
    f = np.array([10, 20, L.NEVER, L.NEVER])
    r = E.censored_rate(f, 100, 0.1)      # 2 escapes over (10 + 20 + 100 + 100)·0.1 = 23 time units
    assert r["rate"] == pytest.approx(2 / 23) and r["rate_se"] == pytest.approx(2 / 23 / math.sqrt(2))
    with pytest.raises(ValueError, match="no particle"):
        E.censored_rate(np.full(3, L.NEVER), 100, 0.1)
    sim = {"rate": 1.0, "rate_se": 0.01, "escaped": 10_000, "n": 12_000}
    assert E.rate_ratio_outcome(1.03, sim).outcome == PASS      # 1.03 ± 0.017 inside ±10 %
    assert E.rate_ratio_outcome(1.5, sim).outcome == FAIL
    assert E.rate_ratio_outcome(1.1, sim).outcome == INCONCLUSIVE


def test_arrhenius_slope_and_mfpt_anchor():
    b = np.array([1.0, 2.0, 3.0, 4.0])
    s, se = E.arrhenius_slope(b, np.exp(b), 0.01 * np.exp(b))
    assert s == pytest.approx(-1.0) and se == pytest.approx(math.hypot(0.01, 0.01))
    assert E.arrhenius_outcome(s, se, dU=1.0).outcome == PASS
    assert E.arrhenius_outcome(-0.5, 0.01, dU=1.0).outcome == FAIL
    esc = {"mfpt": np.array([10.1, 20.2]), "mfpt_se": np.array([0.1, 0.2]), "exact": np.array([10.0, 20.0])}
    assert E.mfpt_outcomes(esc).outcome == PASS
    esc["mfpt"] = np.array([10.1, 24.0])
    out = E.mfpt_outcomes(esc)
    assert out.outcome == FAIL and out.measured == pytest.approx(1.2)


def test_gibbs_outcome_one_sided_t_bound():
    assert E.gibbs_outcome([1.0, 1.1, 0.9, 1.0]).outcome == PASS
    assert E.gibbs_outcome([2.0, 2.1, 1.9, 2.0]).outcome == FAIL
    assert E.gibbs_outcome([1.0, 2.0, 1.2, 1.9]).outcome == INCONCLUSIVE


def test_reactive_crossings_and_event_triggered_windows_by_hand():
    w = sj.double_well()
    x = np.array([-1, -0.5, 0.2, -0.1, 0.3, 1.0, 0.5, -0.2, -1.0])[:, None]
    ev = E.reactive_crossings(x, w)
    # A at frame 0 → B at 5: first frame beyond the saddle is 2; B at 5 → A at 8: first x < 0 is 7
    assert ev.tolist() == [[2, 0], [7, 0]]
    C = E.consolidation(w, x[:, 0], 0.5)
    et = E.event_triggered_C(x, w, 0.5, windows=[2], profile=2)
    np.testing.assert_allclose(et["window_means"][2], [C[0:2].mean(), C[5:7].mean()])
    np.testing.assert_allclose(et["profile"], np.mean([C[0:4], C[5:9]], axis=0))
    assert et["crossings"] == 2
    with pytest.raises(ValueError, match="shape"):
        E.reactive_crossings(x[:, 0], w)


def test_near_one_and_analytic_saddle():
    rng = np.random.default_rng(0)
    assert E.near_one_outcome(1.0 + 0.05 * rng.standard_normal(200)).outcome == PASS
    assert E.near_one_outcome(5.0 + 0.05 * rng.standard_normal(200)).outcome == FAIL
    assert E.near_one_outcome(2.0 + 0.05 * rng.standard_normal(200)).outcome == INCONCLUSIVE  # on the edge ×2
    a = E.analytic_saddle_outcome(sj.double_well(), 0.5)
    assert a.outcome == FAIL and a.measured == 0.0 and "0.125" in a.test   # √(0.5/2)/4


def test_richardson_extrapolation():
    # C(dt) = 1 + 0.06, C(dt/4) = 1 + 0.015: first-order bias, extrapolates to 1
    r = E.richardson_outcome(1.06, 0.003, 1.015, 0.003, 1.0)
    assert r.outcome == PASS and r.measured == pytest.approx(1.0)
    assert E.richardson_outcome(1.2, 0.003, 1.15, 0.003, 1.0).outcome == FAIL


def _grid(stuck, escaped, n=1000):
    return {"dts": np.array([0.01]), "Ds": np.array([0.1, 0.2]), "n_runs": n, "dU": 0.76,
            "stuck": np.array([stuck]), "escaped": np.array([escaped]), "variants": ["a", "b"]}


def test_escape_readings_are_consistent_between_the_two_rows():
    g = _grid([990, 500], [[10, 990], [999, 999]])
    base, inter = E.escape_readings(g)
    assert [r.outcome for r in base] == [PASS, FAIL]
    assert claims.combine(base) == claims.READING_DEPENDENT
    # where the premise fails, the intervention is untestable, not refuted
    assert [r.outcome for r in inter] == [FAIL, PASS, claims.UNTESTABLE, claims.UNTESTABLE]
    assert claims.combine(inter) == claims.READING_DEPENDENT
    # a replicate that disagrees on the premise makes the premise inconclusive and the intervention untestable
    rep = _grid([850, 500], [[10, 990], [999, 999]])
    base, inter = E.escape_readings(g, rep)
    assert base[0].outcome == INCONCLUSIVE and "unstable" in base[0].note
    assert all(r.outcome == claims.UNTESTABLE for r in inter)


def test_restore_outcome():
    assert E.restore_outcome([5.0, 25.0, 125.0], 1.0).outcome == FAIL
    assert E.restore_outcome([0.1, 0.1], 0.1).outcome == PASS
    with pytest.raises(ValueError, match="finite"):
        E.restore_outcome([np.inf, np.inf], 1.0)


def test_escape_grid_counts_and_overflow_accounting():
    tilted = sj.tilted_double_well(tilt=0.25)
    g = E.escape_grid(tilted, dts=[0.01], Ds=[0.1], n_runs=64, key=jax.random.key(0), stuck_steps=200,
                      escape_steps=20)
    assert g["stuck"].shape == (1, 1) and g["escaped"].shape == (1, 1, 3) and g["diverged"].shape == (1, 1, 3)
    assert 0 <= g["stuck"][0, 0] <= 64 and np.all((0 <= g["escaped"]) & (g["escaped"] <= 64))
    # 20 steps = 0.2 time units: nobody crosses without a boost at ΔU/D ≈ 7.6
    assert g["stuck"][0, 0] == 64 and g["base_diverged"][0, 0] == 0
