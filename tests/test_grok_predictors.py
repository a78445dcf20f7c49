"""Minibatch grokking runs and the predictor benchmark of notebook 09 (small shapes, seconds)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import shld_jax as sj
from shld_jax.data import modular
from shld_jax.experiments import grok_predictors as P
from shld_jax.models import grok_mlp as M

MC = M.Config(p=13, d_e=8, d_h=16)


@pytest.mark.parametrize("opt", ["adamw", "sgdm"])
def test_minibatch_step_equals_a_hand_rolled_optax_step(opt):
    S = P.Static(mc=MC, opt=opt, batch=8, n_max=60, n_test=40, n_probes=0, log_every=1, n_logs=1)
    hp = P.Hyper(lr=0.05, wd=0.3, momentum=0.8, n_train=50)
    seed = 7
    st = P.init_run(seed, hp, S)
    train_idx, _ = P._split(seed, S, hp.n_train)
    dkey = jax.random.fold_in(jax.random.key(seed), 2)
    tx = (optax.adamw(0.05, b1=0.9, b2=0.98, weight_decay=0.3) if opt == "adamw"
          else optax.chain(optax.add_decayed_weights(0.3), optax.sgd(0.05, momentum=0.8)))
    params, ost = st.params, tx.init(st.params)
    for t in range(3):
        idx = P.batch_indices(dkey, train_idx, hp.n_train, S.batch, t)
        assert np.all(np.isin(np.asarray(idx), np.asarray(train_idx[:50])))  # only train pairs
        g = jax.grad(M.loss)(st.params, *modular.pairs(idx, MC.p))
        st = P.opt_step(opt, hp, st, g)
        u, ost = tx.update(jax.grad(M.loss)(params, *modular.pairs(idx, MC.p)), ost, params)
        params = optax.apply_updates(params, u)
    for k in params:
        np.testing.assert_allclose(st.params[k], params[k], rtol=2e-5, atol=1e-6)
    # and the compiled trainer runs these very steps: its logged weight norm after 3 steps matches
    m = P.run([seed], hp, S._replace(log_every=3))
    np.testing.assert_allclose(m.weight_norm[0, 1], optax.tree.norm(params), rtol=1e-5)


def test_mixed_program_equals_each_optimiser():
    base = dict(mc=MC, batch=8, n_max=60, n_test=40, n_probes=0, log_every=4, n_logs=1)
    hp = P.Hyper(lr=0.05, wd=0.3, momentum=0.8, n_train=50)
    ma = P.run([1, 2], [hp._replace(adam=1.0), hp._replace(adam=0.0)], P.Static(opt="mixed", **base))
    a = P.run([1], hp, P.Static(opt="adamw", **base))
    s = P.run([2], hp, P.Static(opt="sgdm", **base))
    np.testing.assert_allclose(ma.weight_norm[0], a.weight_norm[0], rtol=1e-5)
    np.testing.assert_allclose(ma.weight_norm[1], s.weight_norm[0], rtol=1e-5)


def test_boost_window_and_grokfast_filter():
    hp = P.Hyper(lr=0.1, wd=2.0, boost_at=5, boost_len=3, boost_lr=3.0, boost_wd=0.5)
    lr, wd = zip(*[map(float, P.schedule(hp, t)) for t in range(10)])
    np.testing.assert_allclose(lr, [0.1] * 5 + [0.3] * 3 + [0.1] * 2, rtol=1e-6)
    np.testing.assert_allclose(wd, [2.0] * 5 + [1.0] * 3 + [2.0] * 2, rtol=1e-6)
    assert float(P.schedule(P.Hyper(lr=0.1), 0)[0]) == pytest.approx(0.1)
    # Grokfast: g + λ·EMA with EMA ← αEMA + (1 − α)g (Lee et al. 2024), SGD without momentum
    S = P.Static(mc=MC, opt="sgdm", n_max=60, n_test=40)
    h = P.Hyper(lr=1.0, wd=0.0, momentum=0.0, gf_alpha=0.5, gf_lamb=2.0)
    st = P.init_run(0, h, S)
    g = jax.tree_util.tree_map(jnp.ones_like, st.params)
    st1 = P.opt_step("sgdm", h, st, g)
    np.testing.assert_allclose(st1.ema["b2"], 0.5)
    np.testing.assert_allclose(st1.params["b2"], st.params["b2"] - (1 + 2 * 0.5))


def test_scale_free_C_is_one_on_a_stationary_OU_ensemble():
    """Langevin on U = ½ xᵀHx at stationarity: E‖∇U‖² = D·tr H, with tr H by Hutchinson."""
    d, D, dt = 20, 0.05, 1e-3
    h = jnp.linspace(0.5, 3.0, d)
    c, se = P.ou_ctilde(jax.random.key(0), h, D=D, dt=dt, n_particles=4000, n_steps=4000)
    # EM at this dt inflates the stationary variance by 1/(1 − h·dt/2) ≤ 0.15 %; sampling error ~1.5 %
    assert abs(c - 1.0) < 0.05 and se < 0.02
    # Hutchinson is unbiased: one probe per point of a random set averages to tr H
    ks = jax.random.split(jax.random.key(1), 2000)
    U = lambda x: 0.5 * jnp.sum(h * x["x"] ** 2)
    trH = jax.vmap(lambda k: P.hutchinson_trace(U, {"x": jnp.ones(d)}, k, 1))(ks)
    np.testing.assert_allclose(float(trH.mean()), float(h.sum()), rtol=1e-5)  # Rademacher: exact for diagonal H
    # far from equilibrium (no noise yet, x = 1) C̃ is far from 1
    off = {"x": jnp.ones(d)}
    assert float(P.scale_free_C(optax.tree.norm(jax.grad(U)(off), squared=True), jnp.sum(h), D)) > 10


def test_consolidation_readings():
    m = P.Metrics(*([np.ones((1, 3))] * len(P.Metrics._fields)))._replace(
        grad_sq=np.full((1, 3), 4.0), trace_var=np.full((1, 3), 8.0), lr_t=np.full((1, 3), 0.1))
    d, B = 2, 16
    np.testing.assert_allclose(P.consolidation(m, d, B, P.D_READINGS[0]), 2 * 4 / 8)       # 2‖g‖²/trΣ
    np.testing.assert_allclose(P.consolidation(m, d, B, P.D_READINGS[1]), (B / 0.1) * 1.0)  # (B/η)·C_pe
    np.testing.assert_allclose(P.consolidation(m, d, B, P.D_READINGS[2], momentum=0.9), (B / 1.0) * 1.0)
    with pytest.raises(ValueError, match="reading"):
        P.consolidation(m, d, B, "D = 1")


def _curves():
    """6 synthetic runs, 11 logs: a predictor that halves 200 steps before grokking, and flat controls."""
    steps = np.arange(0, 1100, 100)
    x = np.ones((6, steps.size))
    grok = np.array([600, 800, 1000, P.NEVER, P.NEVER, P.NEVER])
    for r in range(3):
        x[r, steps >= grok[r] - 200] = 0.4
    x[5, steps >= 900] = 0.45      # one control drops late: a false alarm for a 'down' rule
    fit = np.full(6, 100)
    return steps, x, fit, grok, grok != P.NEVER


def test_alarm_rules_on_synthetic_curves():
    steps, x, fit, grok, g = _curves()
    a = P.first_alarm(steps, x, fit, P.Rule(False, 2.0))
    np.testing.assert_array_equal(a, [400, 600, 800, P.NEVER, P.NEVER, 900])
    s = P.score(a, grok, g)
    assert (s["hits"], s["misses"], s["false_alarms"]) == (3, 0, 1)
    assert s["lead_median"] == 200 and s["rel_lead_median"] == pytest.approx(0.25)
    assert P.score(P.first_alarm(steps, x, fit, P.Rule(True, 2.0)), grok, g)["misses"] == 3
    # never fitted: no alarm; the value at the fit step is the reference, earlier steps are ignored
    x2 = x.copy()
    x2[0, 0] = 100.0
    a2 = P.first_alarm(steps, x2, np.array([P.NEVER, 100, 100, 100, 100, 100]), P.Rule(False, 2.0))
    assert a2[0] == P.NEVER and a2[1] == 600
    rule, sc = P.calibrate(steps, x, fit, grok, g)
    assert rule == P.Rule(False, 1.1) and sc["hits"] == 3
    assert P.utility(sc) == pytest.approx(1 - 1 / 3)
    with pytest.raises(ValueError, match="theta"):
        P.first_alarm(steps, x, fit, P.Rule(True, 1.0))


def test_calibration_and_scoring_halves_are_disjoint():
    control = np.array([0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0], bool)
    cal, sc = P.split_configs(12, control, seed=3)
    assert np.intersect1d(cal, sc).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([cal, sc])), np.arange(12))
    assert control[cal].sum() == 2 and control[sc].sum() == 2   # controls in both halves
    c2, s2 = P.split_configs(12, control, seed=3)
    np.testing.assert_array_equal(cal, c2)
    with pytest.raises(ValueError, match="control"):
        P.split_configs(5, control)


def test_fourier_concentration():
    p, k = 13, 3
    t = np.arange(p)
    E = np.stack([np.cos(2 * np.pi * k * t / p), np.sin(2 * np.pi * k * t / p)], 1)
    assert float(P.fourier_concentration(jnp.asarray(E), 1)) == pytest.approx(1.0, abs=1e-5)
    E2 = np.random.default_rng(0).normal(size=(p, 64))
    assert float(P.fourier_concentration(jnp.asarray(E2), 1)) < 0.4


def test_run_rejects_bad_hyperparameters():
    S = P.Static(mc=MC, n_max=60, n_test=40, n_logs=1, log_every=1)
    with pytest.raises(ValueError, match="n_train"):
        P.run([0], P.Hyper(n_train=61), S)
    with pytest.raises(ValueError, match="opt"):
        P.run([0], P.Hyper(n_train=50), S._replace(opt="sgd"))
    with pytest.raises(ValueError, match="lr"):
        P.run([0], P.Hyper(lr=0.0, n_train=50), S)


def test_seed_trigger_and_ledger_tests():
    steps = np.arange(0, 700, 100)
    C = np.array([[50, 40, 30, 20, 25, 1.5, 1.0],    # falls steadily: "C < 2 and decreasing" at 500
                  [50, 10, 12, 14, 16, 18, 20],       # rises after fitting: never fires
                  [50, 40, 30, 20, 10, 5, 3]], float)  # halves from its max since fit (20 at 300 → 10 at 400)
    fit = np.array([200, 100, 200])
    np.testing.assert_array_equal(P.seed_trigger(steps, C, fit), [500, P.NEVER, 400])
    np.testing.assert_array_equal(P.censored([100, P.NEVER], 900), [100.0, 900.0])
    assert P.value_outcome([8.5, 8.9, 8.7, 8.6], 8.7).outcome == "pass"
    assert P.value_outcome([1e-3, 2e-3, 1.5e-3], 8.7).outcome == "fail"
    assert P.value_outcome([1.0, np.nan], 8.7) is None
    assert P.near_one_outcome([0.9, 1.1, 1.0, 1.05]).outcome == "pass"
    assert P.near_one_outcome([30.0, 40.0, 35.0]).outcome == "fail"
    assert P.direction_outcome([8.7, 8.0, 9.0], [0.85, 0.9, 0.8]).outcome == "pass"
    assert P.direction_outcome([1.0, 1.2, 1.1], [4.0, 5.0, 4.5]).outcome == "fail"
    assert P.timing_outcome(np.ones(8, bool)).outcome == "pass"      # 8/8: lower bound 0.69 ≥ 0.5
    assert P.timing_outcome(np.zeros(8, bool)).outcome == "fail"
    o = P.earlier_outcome([100, 200, 150, 120], [300, 410, 330, 290], horizon=1000)
    assert o.outcome == "pass" and o.measured == pytest.approx(190)
    assert P.earlier_outcome([100, 200], [100, 200], horizon=1000).outcome == "inconclusive"
