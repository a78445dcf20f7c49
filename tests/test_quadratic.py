"""Notebook 02's experiments against their closed forms."""

import jax
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from shld_jax import _potentials as P
from shld_jax.experiments import quadratic as Q


def test_exact_mean_loss_limits_and_em_limit():
    lam = np.array([0.5, 2.0, 8.0])
    th = np.array([1.0, -2.0, 0.5])
    L0 = np.sum(0.5 * lam * th**2)
    assert Q.exact_mean_loss(lam, th, 0.1, 0.0) == pytest.approx(L0)
    assert Q.exact_mean_loss(lam, th, 0.1, 1e3) == pytest.approx(0.1 * 3 / 2)  # D·d/2
    # the EM chain converges to the continuum as dt → 0 at fixed time
    t = 0.7
    for dt, tol in ((1e-2, 2e-2), (1e-4, 2e-4)):
        em = Q.exact_mean_loss_em(lam, th, 0.1, dt, round(t / dt))
        assert em == pytest.approx(Q.exact_mean_loss(lam, th, 0.1, t), rel=tol)
    with pytest.raises(ValueError, match="λ·dt < 2"):
        Q.exact_mean_loss_em(lam, th, 0.1, 0.3, 10)
    with pytest.raises(ValueError, match="eigs"):
        Q.exact_mean_loss([1.0, -1.0], 1.0, 0.1, 1.0)


@settings(max_examples=50, deadline=None)
@given(lo=st.floats(0.01, 10.0), ratio=st.floats(1.0, 100.0), D=st.floats(1e-4, 1.0),
       t=st.floats(0.0, 100.0), th=st.floats(0.0, 3.0))
def test_corrected_bound_always_holds_and_seed_bound_fails_iff_lam_min_above_2_at_stationarity(lo, ratio, D, t, th):
    lam = Q.log_spectrum(20, lo, lo * ratio)
    L0 = float(np.sum(0.5 * lam * th**2))
    exact = Q.exact_mean_loss(lam, th, D, t)
    assert exact <= Q.corrected_convergence_bound(L0, lo, D, 20, t) * (1 + 1e-9)
    stat = Q.exact_mean_loss(lam, th, D, 1e6)
    seed_stat = Q.seed_convergence_bound(L0, lo, D, 20, 1e6)
    assert (stat > seed_stat * (1 + 1e-9)) == (lo > 2.0 * (1 + 1e-9))


def test_convergence_run_matches_exact_em_mean_loss():
    lam = Q.log_spectrum(8, 0.5, 4.0)
    r = Q.convergence_run(lam, theta0=1.0, D=0.05, dt=0.02, n_steps=200, n_particles=2000,
                          key=jax.random.key(0), save_every=50)
    m = r["loss"].mean(1)
    se = r["loss"].std(1, ddof=1) / np.sqrt(2000)
    assert np.all(np.abs(m - r["exact_em"]) < 4 * se + 1e-6)
    assert r["loss"].shape == r["C"].shape == (5, 2000)


def test_stationary_floor_and_consolidation_are_the_em_closed_forms():
    lam = Q.log_spectrum(50, 1.0, 10.0)
    f = Q.stationary_floor(lam, D=0.02, dt=0.02, n_steps=400, n_particles=256, key=jax.random.key(1),
                           save_every=20)
    assert abs(f["floor"] - f["floor_em"]) < 4 * f["floor_se"]
    assert abs(f["C"] - f["C_em"]) < 4 * f["C_se"]
    # and EM bias at λ·dt up to 0.2 separates them from the continuum values
    assert f["floor_em"] > 1.03 * f["floor_exact"] and f["C_em"] > 1.03 * f["C_exact"]


def test_uncertainty_quadratic_starts_at_zero_and_reaches_D():
    r = Q.uncertainty_quadratic([1.0, 4.0], theta0=1.0, D=0.1, dt=0.01, n_steps=600, n_particles=20_000,
                                key=jax.random.key(2), save_every=100)
    assert np.all(r["product"][0] == 0.0)
    np.testing.assert_allclose(r["product"][-1], r["exact_em"], rtol=0.04)
    np.testing.assert_allclose(r["cov"][-1], r["exact_em"], rtol=0.04)


def test_gibbs_moments_double_well_obey_integration_by_parts():
    w = P.double_well()
    for D in (0.1, 0.5):
        m = Q.gibbs_moments_double_well(w, D)
        assert m["cov"] == pytest.approx(D, rel=1e-6)  # E[θ u'] = D
        assert m["product"] >= m["cov"]  # Cauchy–Schwarz


def test_em_variance_sweep_closed_form_and_errors():
    r = Q.em_variance_sweep(2.0, 0.5, [0.1, 0.8], n_particles=20_000, key=jax.random.key(3))
    assert np.all(np.abs(r["var"] - r["exact_em"]) < 4 * r["var_se"])
    assert r["var"][1] > 1.5 * r["continuum"][1]
    with pytest.raises(ValueError, match="k·dt < 2"):
        Q.em_variance_sweep(2.0, 0.5, [1.0], n_particles=10, key=jax.random.key(0))
    with pytest.raises(ValueError, match="lam_max"):
        Q.log_spectrum(3, 2.0, 1.0)
    with pytest.raises(ValueError, match="d"):
        Q.log_spectrum(0, 1.0, 2.0)


# --- the verdict arithmetic of notebook 02 ([2.1]) -----------------------------------------------

from shld_jax.stats import FAIL, INCONCLUSIVE, PASS  # noqa: E402


def _run(lam, loss_level, sq_level, n=64, T=11, D=0.01, noise=1e-3, seed=0):
    # synthetic stationary ensemble: every frame at the given levels (+ small noise)
    rng = np.random.default_rng(seed)
    lam = np.asarray(lam, float)
    t = np.linspace(50.0, 60.0, T)
    return {"eigs": lam, "D": D, "d": lam.size, "t": t, "L0": 1.0,
            "loss": loss_level + noise * rng.standard_normal((T, n)),
            "sq": np.concatenate([np.full((1, n), 1.0 * lam.size), sq_level + noise * rng.standard_normal((T - 1, n))])}


def test_t4_outcome_loss_fails_on_a_stiff_spectrum_theta2_reading_holds():
    D, d = 0.01, 4
    soft = _run([0.1, 0.2, 0.5, 1.0], D * d / 2, D * np.sum(1 / np.array([0.1, 0.2, 0.5, 1.0])))
    stiff = _run([3.0, 5.0, 10.0, 30.0], D * d / 2, D * np.sum(1 / np.array([3.0, 5.0, 10.0, 30.0])))
    loss, th2 = Q.T4_UNITS
    assert Q.t4_outcome([soft], loss).outcome == PASS              # 0.02 ≤ D·d/0.1 = 0.4
    out = Q.t4_outcome([soft, stiff], loss)
    assert out.outcome == FAIL and out.measured == pytest.approx(0.02 / (D * d / 3.0), rel=1e-2)  # 1.5
    assert Q.t4_outcome([soft, stiff], th2).outcome == PASS        # Σ D/λ ≤ D·d/λ_min
    # the floor equality fails in both units unless the spectrum is isotropic
    assert Q.floor_equality_outcome([soft, stiff], loss).outcome == FAIL
    assert Q.floor_equality_outcome([soft, stiff], th2).outcome == FAIL
    iso = _run([2.0] * 4, D * 4 / 2, D * 4 / 2.0)
    assert Q.floor_equality_outcome([iso], th2).outcome == PASS
    with pytest.raises(ValueError, match="units"):
        Q.t4_outcome([soft], "loss")


def test_loglog_slope_and_tost():
    x = np.array([10.0, 100.0, 1000.0, 10000.0])
    s, se, df = Q.loglog_slope(x, 0.005 * x, 0.0001 * x)
    assert s == pytest.approx(1.0) and df == 2
    assert Q.slope_outcome(x, 0.005 * x, 0.0001 * x).outcome == PASS
    assert Q.slope_outcome(x, 0.005 * x**0.5, 0.0001 * x**0.5).outcome == FAIL
    with pytest.raises(ValueError, match="3 points"):
        Q.loglog_slope(x[:2], x[:2], x[:2])


def test_regime_readings():
    assert [Q.regime(c) for c in (0.5, 1.5, 5.0, 50.0)] == ["diffusive", "critical", "transitional", "deterministic"]
    assert Q.equilibrium_diffusive_outcome([0.1, 1.1], [0.001, 0.01]).outcome == FAIL
    assert Q.equilibrium_diffusive_outcome([0.1, 0.5], [0.001, 0.01]).outcome == PASS
    # the same chain at s = 0.1 and 50: C = 0.109 and 54.5 -> two regimes -> fail
    out = Q.scale_outcome([0.1, 50.0], [0.109, 54.5], [0.001, 0.3])
    assert out.outcome == FAIL and out.measured == pytest.approx(500.0, rel=1e-2)
    assert Q.scale_outcome([1.0, 2.0], [5.0, 6.0], [0.1, 0.1]).outcome == PASS
    assert Q.scale_outcome([1.0, 2.0], [0.9, 3.0], [0.5, 0.1]).outcome == INCONCLUSIVE


def test_t1_outcomes():
    unc = {"D": 0.01, "t": np.array([0.0, 0.005]), "n_particles": 20_000,
           "product": np.array([[0.0, 0.0], [0.00005, 0.0002]]), "trace_product": np.array([0.0, 0.0015])}
    assert Q.t1_any_outcome(unc, "per coordinate").outcome == FAIL
    assert Q.t1_any_outcome(unc, "per coordinate").measured == pytest.approx(0.005)
    assert Q.t1_any_outcome(unc, "trace").outcome == FAIL
    unc["trace_product"] = np.array([0.0, 0.01])
    assert Q.t1_any_outcome(unc, "trace").outcome == PASS
    g = np.full((20, 3), 0.01) + 1e-4 * np.random.default_rng(0).standard_normal((20, 3))
    assert Q.t1_stationary_outcome(g, 0.01, [8.8, 3.2], [0.05, 0.04]).outcome == PASS
    assert Q.t1_stationary_outcome(g * 0.3, 0.01, [8.8], [0.05]).outcome == FAIL
    dwu = {"product": np.array([0.885, 1.28]), "product_se": np.array([0.005, 0.01]),
           "product_exact": np.array([0.8637, 1.268])}
    assert Q.gibbs_product_outcome(dwu).outcome == PASS


def test_em_order_and_exact_anchor_on_the_closed_form():
    dts = np.array([0.05, 0.1, 0.2, 0.4, 1.0])
    exact = 1 / (1 - dts / 2)
    em = {"dt": dts, "var": exact, "var_se": 1e-4 * exact, "exact_em": exact, "continuum": np.ones_like(dts)}
    o = Q.em_order_outcome(em)
    assert o.outcome == PASS and 1.05 < o.measured < 1.15   # the exact function's slope over [0.05, 0.4]
    assert Q.em_exact_outcome(em).outcome == PASS
    em_c = {**em, "var": np.ones_like(dts) + 1e-3}            # a chain that ignored dt would fail both
    assert Q.em_exact_outcome(em_c).outcome == FAIL
    assert Q.em_order_outcome({**em, "var": np.array([0.99, 1.05, 1.1, 1.25, 2.0])}).outcome == INCONCLUSIVE


def test_seed_code_variance_is_euler_maruyama_at_temperature_D_dt_over_lr():
    r = Q.seed_code_variance(1.0, 0.001, lr=0.01, dt=1.0, n_particles=4000, n_steps=800, seed=0)
    assert r["exact"] == pytest.approx(0.1 / (1 - 0.005))
    assert abs(r["var"] / r["exact"] - 1) < 0.1
    assert Q.gibbs_variance_outcome(r).outcome == FAIL
    r = Q.seed_code_variance(1.0, 0.001, lr=0.01, dt=0.01, n_particles=20_000, n_steps=800, seed=1)
    assert Q.gibbs_variance_outcome(r).outcome == PASS
