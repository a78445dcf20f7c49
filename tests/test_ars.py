"""Tests of Adaptive Resonance Suppression (shld_jax._ars), seed 001."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

from shld_jax import _ars as A

B1, B2, LR = 0.9, 0.999, 1e-2
PARAMS = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array(0.3)}


def adamw(lr=LR):
    return optax.inject_hyperparams(optax.adamw)(learning_rate=lr, b1=B1, b2=B2, weight_decay=1e-2)


def grads(i):
    k = jax.random.key(100 + i)
    return jax.tree_util.tree_map(lambda p: jax.random.normal(k, p.shape), PARAMS)


def run(opt, losses, jit=True):
    upd = jax.jit(opt.update) if jit else opt.update
    s, us, ss = opt.init(PARAMS), [], []
    for i, l in enumerate(losses):
        u, s = upd(grads(i), s, PARAMS, value=l)
        us.append(u)
        ss.append(s)
    return us, ss


# ---------------------------------------------------------------- hand-computed pieces
@pytest.mark.parametrize("x, rho", [([3.0, 2.0, 1.0], 1.0), ([1.0, 2.0, 1.0, 2.0, 1.0], -1.0),
                                     ([3.0, 2.0, 1.0, 2.0], 0.0), ([1.0, 2.0], 0.0),
                                     ([4.0, 4.0, 4.0, 4.0], 0.0), ([1.0, 3.0, 2.0, 5.0], -0.5)])
def test_lag1_autocorr_hand_values(x, rho):
    # [1,3,2,5]: a=[1,3,2] (mean 2), b=[3,2,5] (mean 10/3): sab=-1.0, saa=2, sbb=14/3 -> -0.4629
    if x == [1.0, 3.0, 2.0, 5.0]:
        rho = -1.0 / math.sqrt(2 * 14 / 3)
    w = jnp.zeros(6).at[:len(x)].set(jnp.array(x))
    np.testing.assert_allclose(A.lag1_autocorr(w, len(x)), rho, atol=1e-6)


def test_guard_and_gate_formulas():
    np.testing.assert_allclose(A.entropy_guard(jnp.float32(0.5), 1e-6), 0.75)
    np.testing.assert_allclose(A.entropy_guard(jnp.float32(1.0), 1e-6), 1e-6)
    np.testing.assert_allclose(A.surprise_gate(2.0, 0.5, alpha=1.0, phi_min=0.1),
                               0.1 + 0.9 * math.exp(-4.0), rtol=1e-6)
    np.testing.assert_allclose(A.surprise_gate(0.0, 1.0, alpha=1.0, phi_min=0.1), 1.0)


def test_ring_buffer_keeps_last_window_in_order():
    opt = A.ars(adamw(), key=jax.random.key(0), window=3)
    _, ss = run(opt, [5.0, 1.0, 2.0, 3.0])          # window now [1, 2, 3]: rho = 1
    win, n = A._chronological(ss[-1].buffer, ss[-1].head, ss[-1].count)
    np.testing.assert_array_equal(win, [1.0, 2.0, 3.0])
    assert int(n) == 3
    np.testing.assert_allclose(ss[-1].rho1, 1.0, atol=1e-6)
    np.testing.assert_allclose(ss[1].rho1, 0.0)     # fewer than 3 values: rho = 0


def test_internals_match_hand_computation_including_jitter():
    key = jax.random.key(7)
    opt = A.ars(adamw(), key=key, window=10, alpha=0.5, phi_min=0.2, jitter_scale=0.1)
    losses = [3.0, 2.0, 1.0, 1.5]
    _, ss = run(opt, losses)
    # step 3: window [3,2,1] -> rho=1, psi=eps, phi=phi_min (+ tiny), jitter = u*0.1*(1-eps)
    k = key
    subs = []
    for _ in losses:
        k, sub = jax.random.split(k)
        subs.append(sub)
    u3 = float(jax.random.uniform(subs[2], (), jnp.float32, -1.0, 1.0))
    s3 = ss[2]
    np.testing.assert_allclose(s3.psi, 1e-6, rtol=1e-6)
    np.testing.assert_allclose(s3.phi, 0.2 + 0.8 * math.exp(-0.5 * 1.0 / 1e-6), rtol=1e-6)
    np.testing.assert_allclose(s3.jitter, u3 * 0.1 * (1 - 1e-6), rtol=1e-5)
    # step 4: window [3,2,1,1.5]: a=[3,2,1], b=[2,1,1.5] -> rho = 0.6546537
    a, b = np.array([3, 2, 1.0]), np.array([2, 1, 1.5])
    rho = np.corrcoef(a, b)[0, 1]
    s4 = ss[3]
    np.testing.assert_allclose(s4.rho1, rho, rtol=1e-5)
    psi = 1 - rho ** 2
    np.testing.assert_allclose(s4.psi, psi, rtol=1e-5)
    np.testing.assert_allclose(s4.phi, 0.2 + 0.8 * math.exp(-0.5 * 1.5 / psi), rtol=1e-5)
    u4 = float(jax.random.uniform(subs[3], (), jnp.float32, -1.0, 1.0))
    np.testing.assert_allclose(s4.jitter, u4 * 0.1 * (1 - psi), rtol=1e-4)


def test_update_equals_inner_with_modulated_hyperparameters():
    # first step: psi = 1 so jitter = 0, phi = 0.1 + 0.9 exp(-S)
    S = 2.0
    opt = A.ars(adamw(), key=jax.random.key(0))
    u, s = opt.update(grads(0), opt.init(PARAMS), PARAMS, value=S)
    phi = 0.1 + 0.9 * math.exp(-S)
    np.testing.assert_allclose(s.phi, phi, rtol=1e-6)
    ref = adamw()
    rs = ref.init(PARAMS)
    rs.hyperparams["b1"] = jnp.float32(B1 * phi)
    rs.hyperparams["b2"] = jnp.float32(B2 * phi)
    ru, _ = ref.update(grads(0), rs, PARAMS)
    for a, b in zip(jax.tree_util.tree_leaves(u), jax.tree_util.tree_leaves(ru)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_hyperparameters_restored_after_every_step():
    for kw in ({}, {"gate_on": "lr"}, {"surprise": "relative", "guard": "diff"}):
        opt = A.ars(adamw(), key=jax.random.key(0), window=4, **kw)
        _, ss = run(opt, [3.0, 2.0, 1.0, 4.0, 0.5, 2.0])
        for s in ss:
            hp = s.inner_state.hyperparams
            assert float(hp["b1"]) == np.float32(B1) and float(hp["b2"]) == np.float32(B2)
            assert float(hp["learning_rate"]) == np.float32(LR)
        assert float(np.min([s.phi for s in ss])) < 0.99, kw     # the gate did act, in every mode


def test_switched_off_equals_inner_bit_for_bit():
    opt = A.ars(adamw(), key=jax.random.key(0), use_gate=False, use_jitter=False)
    losses = [3.0, 2.0, 1.0, 2.5, 0.1, 7.0]
    us, _ = run(opt, losses)
    ref = adamw()
    rs = ref.init(PARAMS)
    upd = jax.jit(ref.update)
    for i, u in enumerate(us):
        ru, rs = upd(grads(i), rs, PARAMS)
        for a, b in zip(jax.tree_util.tree_leaves(u), jax.tree_util.tree_leaves(ru)):
            np.testing.assert_array_equal(a, b)


def test_jit_equals_eager():
    opt = A.ars(adamw(), key=jax.random.key(3), window=4, surprise="relative", guard="diff")
    losses = [3.0, 2.0, 2.5, 1.0, 1.2, 0.9]
    uj, sj = run(opt, losses, jit=True)
    ue, se = run(opt, losses, jit=False)
    for a, b in zip(jax.tree_util.tree_leaves((uj, [s.phi for s in sj], [s.jitter for s in sj])),
                    jax.tree_util.tree_leaves((ue, [s.phi for s in se], [s.jitter for s in se]))):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_nonfinite_loss_skips_step_and_is_counted():
    opt = A.ars(adamw(), key=jax.random.key(0), window=5)
    us, ss = run(opt, [3.0, 2.0, float("nan"), float("inf"), 1.0])
    for u in us[2:4]:
        assert all(np.all(np.asarray(x) == 0) for x in jax.tree_util.tree_leaves(u))
    for s in ss[2:4]:
        for a, b in zip(jax.tree_util.tree_leaves(s._replace(n_nonfinite=0, rng_key=0)),
                        jax.tree_util.tree_leaves(ss[1]._replace(n_nonfinite=0, rng_key=0))):
            np.testing.assert_array_equal(a, b)
    assert [int(s.n_nonfinite) for s in ss] == [0, 0, 1, 2, 2]
    assert int(ss[-1].count) == 3


def test_gate_on_betas_makes_adam_steps_larger_not_smaller():
    # constant high loss: psi = 1, phi ~ phi_min; noisy zero-mean gradients
    opt = A.ars(adamw(), key=jax.random.key(0), use_jitter=False)
    ref = adamw()
    us, ss = run(opt, [10.0] * 60)
    rs, rus = ref.init(PARAMS), []
    for i in range(60):
        ru, rs = ref.update(grads(i), rs, PARAMS)
        rus.append(ru)
    n_ars = np.mean([float(optax.tree.norm(u)) for u in us[30:]])
    n_ref = np.mean([float(optax.tree.norm(u)) for u in rus[30:]])
    assert float(ss[-1].phi) < 0.11
    assert n_ars > 1.5 * n_ref


def test_detrended_guard_ignores_a_steady_trend():
    losses = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]
    _, lvl = run(A.ars(adamw(), key=jax.random.key(0), window=6), losses)
    _, dif = run(A.ars(adamw(), key=jax.random.key(0), window=6, guard="diff"), losses)
    np.testing.assert_allclose(lvl[-1].rho1, 1.0, atol=1e-6)   # seed's guard: "resonance"
    np.testing.assert_allclose(dif[-1].rho1, 0.0)               # differences constant
    np.testing.assert_allclose(dif[-1].psi, 1.0)


def test_relative_surprise():
    opt = A.ars(adamw(), key=jax.random.key(0), surprise="relative", ema_decay=0.5,
                use_jitter=False)
    _, ss = run(opt, [2.0, 4.0, 1.0])
    assert float(ss[0].surprise) == 0.0 and float(ss[0].phi) == 1.0
    np.testing.assert_allclose(ss[1].surprise, 1.0, rtol=1e-6)   # 4 / 2 - 1
    # EMA after [2, 4] (decay .5, debiased): (0.25*2 + 0.5*4)/0.75 = 10/3; 1 < 10/3 -> S = 0
    np.testing.assert_allclose(ss[2].surprise, 0.0)


def test_schedule_chain_and_jit():
    sched = optax.linear_schedule(1e-2, 1e-3, 10)
    inner = optax.inject_hyperparams(optax.adamw)(learning_rate=sched, b1=B1, b2=B2)
    opt = optax.chain(optax.clip_by_global_norm(1.0), A.ars(inner, key=jax.random.key(0),
                                                            use_gate=False))
    ref = optax.chain(optax.clip_by_global_norm(1.0), optax.inject_hyperparams(optax.adamw)(
        learning_rate=sched, b1=B1, b2=B2))
    s, rs = opt.init(PARAMS), ref.init(PARAMS)
    for i, l in enumerate([3.0, 2.0, 1.0, 0.5, 0.2]):
        u, s = jax.jit(opt.update)(grads(i), s, PARAMS, value=l)
        ru, rs = ref.update(grads(i), rs, PARAMS)
        f = 1.0 + float(s[1].jitter)
        for a, b in zip(jax.tree_util.tree_leaves(u), jax.tree_util.tree_leaves(ru)):
            np.testing.assert_allclose(a, b * f, rtol=1e-5)
    assert float(s[1].jitter) != 0.0
    np.testing.assert_allclose(s[1].inner_state.hyperparams["learning_rate"], sched(4), rtol=1e-6)
    with pytest.raises(ValueError, match="scheduled"):
        A.ars(optax.inject_hyperparams(optax.adam)(learning_rate=1e-3, b1=sched),
              key=jax.random.key(0)).init(PARAMS)


# ---------------------------------------------------------------- property test
_WINDOW = 5
_OPT = A.ars(adamw(), key=jax.random.key(0), window=_WINDOW, phi_min=0.1, jitter_scale=0.1)
_UPDATE = jax.jit(_OPT.update)
_OPT_REL = A.ars(adamw(), key=jax.random.key(0), window=_WINDOW, surprise="relative",
                 guard="diff", gate_on="lr")
_UPDATE_REL = jax.jit(_OPT_REL.update)
_value = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                   st.sampled_from([0.0, 1.0, 1.0, 1.0, -1.0, 1e30, -1e30, 1e-30]))


@settings(max_examples=25, deadline=None)
@given(st.lists(_value, min_size=1, max_size=12), st.booleans())
def test_state_stays_finite_for_any_loss_sequence(losses, relative):
    opt, upd = (_OPT_REL, _UPDATE_REL) if relative else (_OPT, _UPDATE)
    s = opt.init(PARAMS)
    for i, l in enumerate(losses):
        u, s = upd(grads(i % 3), s, PARAMS, value=jnp.float32(l))
        for x in jax.tree_util.tree_leaves((u, s._replace(rng_key=0))):
            assert np.all(np.isfinite(np.asarray(x, dtype=float)))
        assert np.float32(1e-6) <= float(s.psi) <= 1.0 and -1.0 <= float(s.rho1) <= 1.0
        assert 0.1 - 1e-7 <= float(s.phi) <= 1.0 + 1e-7 and abs(float(s.jitter)) <= 0.1
    n_bad = sum(not math.isfinite(float(np.float32(l))) for l in losses)
    assert int(s.n_nonfinite) == n_bad and int(s.count) == len(losses) - n_bad


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("kw, name", [
    ({"window": 2}, "window"), ({"window": 0}, "window"), ({"window": 3.5}, "window"),
    ({"alpha": 0.0}, "alpha"), ({"alpha": -1.0}, "alpha"), ({"alpha": float("nan")}, "alpha"),
    ({"phi_min": 0.0}, "phi_min"), ({"phi_min": 1.5}, "phi_min"),
    ({"eps": 0.0}, "eps"), ({"eps": 1.0}, "eps"),
    ({"jitter_scale": -0.1}, "jitter_scale"), ({"jitter_scale": 1.0}, "jitter_scale"),
    ({"use_gate": 1}, "use_gate"), ({"use_jitter": "yes"}, "use_jitter"),
    ({"surprise": "grad"}, "surprise"), ({"guard": "fft"}, "guard"),
    ({"gate_on": "eps"}, "gate_on"), ({"ema_decay": 1.0}, "ema_decay"),
    ({"key": None}, "key"), ({"key": 3}, "key"),
])
def test_bad_hyperparameters_raise(kw, name):
    args = {"key": jax.random.key(0), **kw}
    with pytest.raises(ValueError, match=f"`ars`: {name}"):
        A.ars(adamw(), **args)


def test_inner_must_inject_hyperparams():
    with pytest.raises(ValueError, match="inject_hyperparams"):
        A.ars(optax.adamw(1e-3), key=jax.random.key(0)).init(PARAMS)
    with pytest.raises(ValueError, match="inner"):
        A.ars("adamw", key=jax.random.key(0))


# ---------------------------------------------------------------- regulariser
def test_update_regulariser_hand_computed():
    reg = A.update_regulariser(optax.sgd(1.0), omega_scale=0.0, gamma=1.0, rank=2)
    p = {"w": jnp.zeros(3)}
    s = reg.init(p)
    u, s = reg.update({"w": jnp.array([1.0, 0.0, 0.0])}, s, p)
    np.testing.assert_allclose(u["w"], [-1 / 3, 0, 0], rtol=1e-6)     # P = 0: shrink by 1+2γ
    u, s = reg.update({"w": jnp.array([1.0, 1.0, 0.0])}, s, p)
    np.testing.assert_allclose(u["w"], [-1.0, -1 / 3, 0], rtol=1e-5, atol=1e-7)  # e1 is "safe"
    reg = A.update_regulariser(optax.sgd(1.0), omega_scale=1.0, gamma=0.0, fisher_decay=0.5)
    s = reg.init(p)
    u, s = reg.update({"w": jnp.array([1.0, 2.0, 0.0])}, s, p)
    np.testing.assert_allclose(u["w"], [-1 / 2, -2 / 5, 0], rtol=1e-6)  # Ω = g² (debiased)
    with pytest.raises(ValueError, match="gamma"):
        A.update_regulariser(optax.sgd(1.0), gamma=-1.0)
    with pytest.raises(ValueError, match="rank"):
        A.update_regulariser(optax.sgd(1.0), rank=0)


# ---------------------------------------------------------------- benchmark metrics (notebook 05)
def test_smooth_and_summarize_on_synthetic_runs():
    from shld_jax.experiments import ars_ablation as E

    np.testing.assert_allclose(E.smooth([1.0, 3.0, 5.0, 7.0], 2), [1.0, 2.0, 4.0, 6.0])
    setup = E.Setup(warm_steps=20, horizon=20, div_k=3)
    t = np.arange(40)
    ok = np.where(t < 20, 3.0, np.where(t < 30, 5.0, 3.0))        # spike, back at step 30
    never = np.where(t < 20, 3.0, 4.0)                             # never back, not diverged
    blown = np.where(t < 20, 3.0, 7.0)                             # > 1.5 ln 96 = 6.85 from step 20
    short = np.where((t >= 20) & (t < 22), 7.0, 3.0)               # 2 steps above: not a blow-up
    real = np.stack([ok, never, blown, short]).astype(np.float32)
    dead = np.zeros((4, 40), bool)
    m = dict(real=real, wnorm=np.stack([t, 2 * t, 3 * t, t]).astype(float) + 1.0, dead=dead)
    s = E.summarize(m, setup, w=2, tol=0.05)
    np.testing.assert_allclose(s["pre"], 3.0)
    assert list(s["diverged"]) == [False, False, True, False]
    assert list(s["t_div"]) == [40, 40, 20, 40]
    assert list(s["recovered"]) == [True, False, False, True]
    assert s["recover"][0] == 11 and s["recover"][1] == 20      # MA(2) reaches 3.0 at step 31
    np.testing.assert_array_equal(s["wasted"][:3], [11, 20, 40])  # diverged: whole run wasted
    np.testing.assert_allclose(s["peak_wnorm"][:3], [40, 79, 118])
    d2 = dead.copy()
    d2[1, 25:] = True                                              # non-finite at step 25
    s = E.summarize(dict(m, dead=d2), setup, w=2)
    assert s["diverged"][1] and s["t_div"][1] == 25
    with pytest.raises(ValueError, match="horizon"):
        E.Setup(horizon=0).validate()


def test_ledger_outcomes_by_hand():
    from shld_jax.experiments import ars_ablation as E
    from shld_jax import stats

    assert E.collapse_outcome(0, 16, 12, 16).outcome == stats.PASS
    assert E.collapse_outcome(0, 16, 1, 16).outcome == stats.INCONCLUSIVE   # Fisher p = 0.5
    assert E.collapse_outcome(4, 16, 16, 16).outcome == stats.FAIL         # rate shown > 5 %
    assert E.collapse_outcome(12, 16, 0, 16).outcome == stats.FAIL
    w = E.wasted_outcome([10.0] * 8, [100.0] * 8)
    assert w.outcome == stats.PASS and w.measured == pytest.approx(0.9)
    assert E.wasted_outcome([1.0, 2.0], [0.0, 0.0]) is None
    assert E.recovery_outcome([5.0] * 4, [5.0] * 4).outcome == stats.FAIL
    o = E.norm_cut_outcome([1.0, 1.1, 0.9, 1.0], [6.0, 6.2, 5.8, 6.0])
    assert o.outcome == stats.PASS and o.measured == pytest.approx(1 - np.mean([1 / 6, 1.1 / 6.2, 0.9 / 5.8, 1 / 6]))
    # alarms: positives cross 1.0 at step 5 (blow-up at 10: lead 5), controls never exceed 0.5
    pos = np.zeros((4, 12))
    pos[:, 5:] = 2.0
    neg = np.full((4, 12), 0.5)
    r = E.roc(pos, neg, np.full(4, 10), 2)
    assert r["auc"] == 1.0
    np.testing.assert_array_equal(E.lead_times(pos, np.full(4, 10), 1.0, 2), [5, 5, 5, 5])
    assert E.threshold_at_fpr(r["max_neg"], 0.1) == 0.5


# ---------------------------------------------------------------- reliability ([2.4], [2.5])
@functools.cache
def _skip_opt():  # one compiled update for every hypothesis example (a compile costs ~1.5 s)
    opt = A.ars(adamw(), key=jax.random.key(0), window=5)
    return opt, jax.jit(opt.update)


@settings(max_examples=15, deadline=None)
@given(bad_step=st.integers(0, 5), leaf=st.sampled_from(["w", "b"]),
       bad=st.sampled_from([float("nan"), float("inf"), -float("inf")]))
def test_nonfinite_gradient_with_finite_loss_is_skipped_and_counted(bad_step, leaf, bad):
    opt, upd = _skip_opt()
    s = opt.init(PARAMS)
    for i in range(6):
        g = grads(i)
        if i == bad_step:
            g = {**g, leaf: g[leaf].at[()].set(bad) if g[leaf].ndim == 0 else g[leaf].at[0].set(bad)}
        prev = s
        u, s = upd(g, s, PARAMS, value=1.0 + 0.1 * i)
        assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves((u, s)))
        if i == bad_step:
            assert all(bool(jnp.all(x == 0)) for x in jax.tree_util.tree_leaves(u))
            assert int(s.count) == int(prev.count)
    assert int(s.n_nonfinite_grad) == 1 and int(s.n_nonfinite) == 0


def test_vector_value_is_refused():
    opt = A.ars(adamw(), key=jax.random.key(0))
    with pytest.raises(ValueError, match="scalar loss"):
        opt.update(grads(0), opt.init(PARAMS), PARAMS, value=jnp.ones(3))


def test_gate_without_betas_is_refused_at_init():
    sgd = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="neither"):
        A.ars(sgd, key=jax.random.key(0)).init(PARAMS)
    A.ars(sgd, key=jax.random.key(0), gate_on="lr").init(PARAMS)   # acts on the lr: fine


def test_keys_typed_and_raw_accepted_ints_refused():
    for key in (jax.random.key(3), jax.random.PRNGKey(3)):
        opt = A.ars(adamw(), key=key)
        _, s = opt.update(grads(0), opt.init(PARAMS), PARAMS, value=1.0)
        assert np.isfinite(float(s.jitter))
    for bad in (3, 3.0, None, np.arange(3)):
        with pytest.raises(ValueError, match="key must be a JAX PRNG key"):
            A.ars(adamw(), key=bad)


def test_state_records_effective_lr_and_betas():
    opt = A.ars(adamw(), key=jax.random.key(1), window=5)
    _, ss = run(opt, [3.0, 2.0, 1.5])
    s = ss[-1]
    np.testing.assert_allclose(s.b1, B1 * s.phi, rtol=1e-6)
    np.testing.assert_allclose(s.b2, B2 * s.phi, rtol=1e-6)
    np.testing.assert_allclose(s.lr, LR * (1 + s.jitter), rtol=1e-6)
    sched = optax.inject_hyperparams(optax.adam)(learning_rate=optax.linear_schedule(1.0, 0.0, 10))
    opt = A.ars(sched, key=jax.random.key(1), use_gate=False, jitter_scale=0.0)
    _, ss = run(opt, [1.0, 1.0])
    np.testing.assert_allclose(ss[1].lr, 0.9, rtol=1e-6)   # schedule value at count 1


def test_cell_table_rates_intervals_and_means():
    """Per cell: the divergence count with its exact interval, and t intervals over the runs that
    did not diverge (a single survivor has no interval; none gives NaN)."""
    from scipy import stats as st

    from shld_jax import stats
    from shld_jax.experiments import ars_ablation as A

    res = {"method": np.array(["a"] * 4 + ["b"] * 2), "prov": np.array(["shift"] * 6),
           "lr": np.array([0.1] * 6), "seed": np.array([3, 2, 1, 0, 0, 1])}
    summ = {"diverged": np.array([False, False, True, False, True, True]),
            "peak_wnorm": np.array([1.0, 2.0, 30.0, 4.0, 5.0, 6.0]),
            "final": np.array([2.0, 3.0, np.nan, 4.0, np.nan, np.nan]),
            "recover": np.array([10, 20, -1, 30, -1, -1])}
    rows = A.cell_table(summ, res, ["a", "b", "c"], ["shift"], [0.1], confidence=0.9)
    assert [r["method"] for r in rows] == ["a", "b"]  # no runs of "c": no row
    a, b = rows
    assert (a["n"], a["k_div"], a["div"]) == (4, 1, 0.25)
    assert (a["div_lo"], a["div_hi"]) == stats.clopper_pearson(1, 4, 0.9)
    assert a["peak_wnorm"] == 3.0 and a["final"] == 3.0 and a["recover"] == 20.0
    assert a["final_ci"] == pytest.approx(st.t.ppf(0.95, 2) * 1.0 / np.sqrt(3))
    assert b["div"] == 1.0 and np.isnan(b["final"]) and np.isnan(b["final_ci"])
