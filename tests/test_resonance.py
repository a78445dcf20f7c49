"""Tests of seed 000's adaptive stochastic-resonance injection (shld_jax._resonance) and the
experiments of notebook 06 (shld_jax.experiments.resonance)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

from shld_jax import _resonance as R
from shld_jax import _sr_bench
from shld_jax.experiments import resonance as E
from shld_jax._resonance import (StochasticResonanceConfig, StochasticResonanceInjector,
                                stochastic_resonance_noise)


def run_law(metrics, config=R.DEFAULT_CONFIG):
    s = R.init(config)
    gains = []
    for m in metrics:
        s = R.step(s, m, config)
        gains.append(float(s.gain))
    return np.array(gains), s


# ------------------------------------------------------------------ gain law, by hand


def test_first_step_leaves_gain_and_records_metric():
    g, s = run_law([5.0])
    assert g[0] == pytest.approx(0.02)
    assert float(s.prev_metric) == 5.0 and int(s.count) == 1


def test_growth_on_stagnation():
    g, _ = run_law([1.0, 1.0, 1.0, 1.0005])       # improvements 0, 0, -5e-4: all < 1e-3
    np.testing.assert_allclose(g, [0.02, 0.023, 0.02645, 0.0304175], rtol=1e-6)


def test_decay_on_progress():
    g, _ = run_law([1.0, 0.5, 0.1, 0.098])        # improvements 0.5, 0.4, 2e-3 >= 1e-3
    np.testing.assert_allclose(g, [0.02, 0.0192, 0.018432, 0.01769472], rtol=1e-6)


def test_threshold_is_strict():
    cfg = StochasticResonanceConfig(stagnation_threshold=0.5)
    g, _ = run_law([1.0, 0.5], cfg)               # improvement == threshold: progressing
    assert g[-1] == pytest.approx(0.02 * 0.96)


def test_clamps():
    hi = StochasticResonanceConfig(base_gain=0.28)
    g, _ = run_law([1.0, 1.0, 1.0], hi)           # 0.28·1.15 = 0.322 -> 0.30
    np.testing.assert_allclose(g, [0.28, 0.30, 0.30], rtol=1e-6)
    lo = StochasticResonanceConfig(base_gain=0.0052)
    g, _ = run_law([3.0, 2.0, 1.0], lo)           # 0.0052·0.96 = 0.004992 -> 0.005
    np.testing.assert_allclose(g, [0.0052, 0.005, 0.005], rtol=1e-6)


def test_maximize_and_relative():
    up = StochasticResonanceConfig(maximize=True)
    g, _ = run_law([0.0, 1.0, 0.0], up)           # score rises (progress) then falls
    np.testing.assert_allclose(g, [0.02, 0.0192, 0.02208], rtol=1e-6)
    rel = StochasticResonanceConfig(relative=True)
    g_abs, _ = run_law([100.0, 99.95])            # absolute 0.05: progressing
    g_rel, _ = run_law([100.0, 99.95], rel)       # relative 5e-4: stagnating
    assert g_abs[-1] == pytest.approx(0.0192) and g_rel[-1] == pytest.approx(0.023)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nonfinite_metric_leaves_gain_and_previous(bad):
    g, s = run_law([1.0, bad, 0.5])
    np.testing.assert_allclose(g, [0.02, 0.02, 0.0192], rtol=1e-6)   # 0.5 compared with 1.0
    assert float(s.prev_metric) == 0.5 and int(s.count) == 3


def test_step_is_jittable_and_vmappable():
    metrics = jnp.array([[3.0, 2.0, 2.0, jnp.nan], [1.0, 1.0, 0.0, 0.0]])
    f = jax.jit(lambda ms: jax.lax.scan(lambda s, m: (R.step(s, m), s.gain), R.init(), ms)[0].gain)
    got = jax.vmap(f)(metrics)
    want = [run_law(list(np.asarray(m)))[0][-1] for m in metrics]
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("kw, name", [
    ({"min_gain": 0.0}, "min_gain"), ({"base_gain": 0.5}, "base_gain"),
    ({"min_gain": 0.03}, "min_gain"), ({"gain_growth": 1.0}, "gain_growth"),
    ({"gain_decay": 1.0}, "gain_decay"), ({"gain_decay": 0.0}, "gain_decay"),
    ({"stagnation_threshold": -1e-3}, "stagnation_threshold"), ({"max_gain": float("nan")}, "max_gain"),
    ({"maximize": "yes"}, "maximize"),
])
def test_config_validation(kw, name):
    with pytest.raises(ValueError, match=name):
        StochasticResonanceConfig(**kw)


def test_config_defaults_are_the_seeds():
    c = StochasticResonanceConfig()
    assert (c.base_gain, c.min_gain, c.max_gain, c.stagnation_threshold, c.gain_growth,
            c.gain_decay) == (0.02, 0.005, 0.30, 1e-3, 1.15, 0.96)


# --------------------------------------------------------- property test: arbitrary metrics

_metric = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False, width=32),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.0, 1e-3]),
)


def _reference_f32(metrics, cfg):
    """The law in numpy float32 (the core's precision), written independently of the core."""
    f = np.float32
    g, prev = f(cfg.base_gain), None
    for m in metrics:
        m = f(m)
        if np.isfinite(m):
            if prev is not None:
                if (prev - m) < f(cfg.stagnation_threshold):
                    g = min(f(g * f(cfg.gain_growth)), f(cfg.max_gain))
                else:
                    g = max(f(g * f(cfg.gain_decay)), f(cfg.min_gain))
            prev = m
    return g, prev


@settings(max_examples=60, deadline=None)
@given(st.lists(_metric, min_size=1, max_size=30))
def test_state_under_arbitrary_metric_sequences(metrics):
    cfg = R.DEFAULT_CONFIG
    s = R.init(cfg)
    for m in metrics:
        g_before = float(s.gain)
        s = R._step_jit(s, m, config=cfg)
        g = float(s.gain)
        assert cfg.min_gain * (1 - 1e-6) <= g <= cfg.max_gain * (1 + 1e-6)
        ratio = g / g_before
        allowed = [1.0, cfg.gain_growth, cfg.gain_decay, cfg.max_gain / g_before, cfg.min_gain / g_before]
        assert min(abs(ratio - a) for a in allowed) < 1e-5
    g_ref, prev_ref = _reference_f32(metrics, cfg)
    assert int(s.count) == len(metrics)
    assert float(s.gain) == pytest.approx(float(g_ref), rel=1e-5)
    if prev_ref is None:
        assert np.isnan(float(s.prev_metric))
    else:
        assert float(s.prev_metric) == float(prev_ref)


# ----------------------------------------------------------------------- noise injection


def test_inject_pytree_matches_unit_twin():
    x = {"a": jnp.ones((3, 4)), "b": (jnp.zeros(5), jnp.full((2,), 2.0, jnp.bfloat16))}
    key = jax.random.key(1)
    s = R.init(StochasticResonanceConfig(base_gain=0.3, max_gain=0.3))
    unit = R.ResonanceState(jnp.float32(1.0), s.prev_metric, s.count)
    y, y1 = jax.jit(R.inject)(s, x, key), R.inject(unit, x, key)
    for a, b, c in zip(jax.tree.leaves(x), jax.tree.leaves(y), jax.tree.leaves(y1)):
        assert a.shape == b.shape and b.dtype == a.dtype
        tol = 1e-2 if a.dtype == jnp.bfloat16 else 1e-6
        np.testing.assert_allclose(np.float32(b - a), 0.3 * np.float32(c - a), rtol=tol, atol=tol)
        assert np.any(np.float32(c - a) != 0)


def test_noise_std_equals_gain():
    s = R.init(StochasticResonanceConfig(base_gain=0.05))
    eps = R.inject(s, jnp.zeros(200_000), jax.random.key(0))
    assert float(jnp.std(eps)) == pytest.approx(0.05, rel=0.01)
    assert abs(float(jnp.mean(eps))) < 4 * 0.05 / math.sqrt(200_000)


def test_optax_noise_has_correct_variance_scaling():
    """optax style (add_noise test): same key, a unit-gain twin; jit vs no jit; adaptive gain."""
    params = {"w": jnp.ones((4, 3)), "b": jnp.zeros(3)}
    grads = jax.tree.map(lambda p: 0.1 * jnp.ones_like(p), params)
    unit_cfg = StochasticResonanceConfig(base_gain=1.0, min_gain=1.0, max_gain=1.0)
    noise = stochastic_resonance_noise(key=jax.random.key(7))
    noise_unit = stochastic_resonance_noise(unit_cfg, key=jax.random.key(7))
    state, state_unit = noise.init(params), noise_unit.init(params)
    seen = []
    for loss in [2.0, 1.0, 0.9995, 0.9990, 0.5]:
        u, state = jax.jit(noise.update)(grads, state, value=loss)
        u1, state_unit = noise_unit.update(grads, state_unit, value=loss)
        g = float(state.resonance.gain)
        seen.append(g)
        for a, b, c in zip(jax.tree.leaves(grads), jax.tree.leaves(u), jax.tree.leaves(u1)):
            np.testing.assert_allclose(b - a, g * (c - a), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(seen, [0.02, 0.0192, 0.02208, 0.025392, 0.02437632], rtol=1e-6)


def test_rms_scale_is_the_absolute_noise_times_the_update_rms():
    """scale="rms": noise = g·rms(u)·ε with the same ε as scale="absolute"; scale-free in u."""
    u = {"w": jnp.arange(12.0).reshape(4, 3) - 5.0, "b": jnp.array([0.5, -2.0, 1.0])}
    rms = float(jnp.sqrt(sum(jnp.sum(l ** 2) for l in jax.tree.leaves(u)) / 15))
    outs = {}
    for scale in ("absolute", "rms"):
        t = stochastic_resonance_noise(key=jax.random.key(3), scale=scale)
        outs[scale], _ = t.update(u, t.init(u), value=1.0)
    for a, b, x in zip(jax.tree.leaves(outs["absolute"]), jax.tree.leaves(outs["rms"]), jax.tree.leaves(u)):
        np.testing.assert_allclose(b - x, rms * (a - x), rtol=1e-5, atol=1e-6)
    t = stochastic_resonance_noise(key=jax.random.key(3), scale="rms")
    small = jax.tree.map(lambda l: 1e-4 * l, u)
    o_small, _ = t.update(small, t.init(small), value=1.0)
    for a, b in zip(jax.tree.leaves(o_small), jax.tree.leaves(outs["rms"])):
        np.testing.assert_allclose(a, 1e-4 * b, rtol=1e-4, atol=1e-9)
    with pytest.raises(ValueError, match="scale must be one of"):
        stochastic_resonance_noise(key=0, scale="relative")


def test_optax_noise_composes_with_chain_and_needs_value():
    opt = optax.chain(optax.sgd(0.1), stochastic_resonance_noise(key=0))
    p = jnp.ones(3)
    s = opt.init(p)
    u, s = opt.update(jnp.ones(3), s, p, value=jnp.float32(1.0))
    assert u.shape == (3,) and not np.allclose(u, -0.1)
    with pytest.raises(TypeError):
        opt.update(jnp.ones(3), s, p)


# ----------------------------------------------------------------- the seed's usage example


def test_seed_usage_example_runs():
    config = StochasticResonanceConfig(
        base_gain=0.02,
        stagnation_threshold=1e-3,
        gain_growth=1.15,
        gain_decay=0.96,
    )
    injector = StochasticResonanceInjector(config)
    losses = iter(np.r_[np.geomspace(1, 1e-3, 20), np.full(40, 1e-3)])

    def train_step():
        return next(losses)

    activations = np.zeros((8, 16), np.float32)
    rng = np.random.default_rng(42)
    gains = []
    for epoch in range(60):
        metric = train_step()  # Your training logic
        gain = injector.step(metric)  # Adaptive gain update
        noisy_activations = injector.inject_noise(activations, rng)
        gains.append(gain)
        assert noisy_activations.shape == activations.shape
        assert noisy_activations.dtype == np.float32
    np.testing.assert_allclose(gains, E.replay_law(np.r_[np.geomspace(1, 1e-3, 20), np.full(40, 1e-3)]),
                               rtol=1e-5)
    assert gains[19] < gains[0] < gains[-1] == pytest.approx(0.30)
    y = injector.inject_noise({"h": jnp.zeros(4)}, jax.random.key(0))
    assert float(jnp.std(y["h"])) > 0
    with pytest.raises(ValueError, match="rng"):
        injector.inject_noise(activations, 42)


# ---------------------------------------------------------------------- experiments


def test_benchmark_records_gain_law_and_validates():
    r = E.benchmark("quadratic", "sr", dim=16, steps=12, seeds=[0, 1])
    assert r["loss"].shape == (2, 13) and r["gain"].shape == (2, 13)
    # entry t = gain after the law saw the losses at θ_0..θ_{t-1}
    np.testing.assert_allclose(r["gain"][0], np.r_[0.02, E.replay_law(r["loss"][0][:12])], rtol=1e-5)
    none = E.benchmark("quadratic", "none", dim=16, steps=12, seeds=[0, 1])
    assert np.all(np.diff(none["loss"], axis=1) < 0)            # GD on a convex quadratic
    assert np.all(none["gain"] == 0)
    np.testing.assert_allclose(r["loss"][:, 0], none["loss"][:, 0])   # same problem per seed
    ann = E.benchmark("quadratic", "annealed", dim=16, steps=12, seeds=[0, 1])   # same compiled program
    np.testing.assert_allclose(ann["gain"][0], 0.1 * np.sqrt(0.01 / np.arange(1, 14) ** 0.55), rtol=1e-5)
    for kw, name in [({"surface": "bowl"}, "surface"), ({"method": "x"}, "method"),
                     ({"steps": -1}, "steps"), ({"dim": 0}, "dim")]:
        with pytest.raises(ValueError, match=name):
            E.benchmark(**kw)


def test_double_well_problem_starts_in_shallow_well_and_gd_stays():
    r = E.benchmark("double-well", "none", dim=4, steps=50, seeds=[0], polish=10)
    shallow = float(E.TILTED.u(E.TILTED.minima[1]) - E.TILTED.u(E.TILTED.minima[0]))
    np.testing.assert_allclose(r["loss"][0], shallow, rtol=1e-4)
    np.testing.assert_allclose(r["polished"], shallow, rtol=1e-4)


def test_benchmark_sr_path_equals_optax_chain():
    """The compiled all-methods benchmark runs the same arithmetic and key stream as
    optax.chain(sgd, stochastic_resonance_noise)."""
    dim, steps, surf = 16, 12, "quadratic"        # shapes of the test above: no recompilation
    r = E.benchmark(surf, "sr", dim=dim, steps=steps, seeds=[1, 0])
    kp, kn = jax.random.split(jax.random.key(1))
    prob = E.make_problem(surf, dim, kp)
    opt = E.sr_optimizer(E.LR[surf], key=kn)
    th, st = prob.theta0, opt.init(prob.theta0)
    for t in range(steps):
        loss = E.surface_loss(surf, th, prob.target)
        assert float(loss) == pytest.approx(r["loss"][0, t], rel=1e-5)
        g = jax.grad(lambda x: jnp.sum(_sr_bench._f(surf, x, prob.target)))(th)
        upd, st = opt.update(g, st, th, value=loss)
        th = optax.apply_updates(th, upd)
    assert float(E.surface_loss(surf, th, prob.target)) == pytest.approx(r["loss"][0, -1], rel=1e-4)
    assert float(st[1].resonance.gain) == pytest.approx(r["gain"][0, -1], rel=1e-6)


def test_saturated_net_starts_saturated():
    out = E.saturated_net(["sr", "none", "constant"], steps=3, seeds=[0, 1], const_gain=0.2)
    # the gain law inside the compiled loop, fed the noisy training loss, stays within its clamps
    assert np.all((out["sr"]["gain"] >= 0.005 - 1e-9) & (out["sr"]["gain"] <= 0.3 + 1e-9))
    assert out["sr"]["loss"].shape == (2, 4) and np.all(np.isfinite(out["sr"]["loss"]))
    assert np.all(out["none"]["saturation"][:, 0] > 0.5)
    np.testing.assert_allclose(out["sr"]["gain"][:, 0], 0.02)
    np.testing.assert_allclose(out["constant"]["gain"], 0.2, rtol=1e-6)
    np.testing.assert_allclose(out["none"]["gain"], 0.0)
    np.testing.assert_allclose(out["sr"]["loss"][:, 0], out["none"]["loss"][:, 0])   # same start
    with pytest.raises(ValueError, match="method"):
        E.saturated_net("dropout")


def test_mw_theory_peak_and_matching():
    D = np.geomspace(0.03, 1.0, 4001)
    snr = E.mw_snr(0.1, D, E.kramers(D))
    assert D[np.argmax(snr)] == pytest.approx(0.125, rel=2e-3)  # ΔV/2
    # SNR = (π/2) r A²/D² equals the line weight over the telegraph spectrum at Ω
    r, Om = E.kramers([0.2])[0], 0.3
    amp = E.mw_amplitude(0.1, 0.2, r, Om)
    assert E.mw_snr(0.1, 0.2, r) == pytest.approx((np.pi * amp**2 / 2) / (4 * r / (4 * r**2 + Om**2)))
    for Om in (0.05, 0.1, 0.3):
        assert E.kramers([E.matching_D(Om)])[0] == pytest.approx(Om / np.pi, rel=1e-9)


def test_forced_double_well_small_run():
    out = E.forced_double_well(A=0.1, Omegas=(0.1, 0.2), Ds=[0.08, 0.15, 0.4], n_traj=16,
                               n_periods=2, dt=0.05, sample_dt=0.5, burn_periods=0, n_boot=5)
    assert out["snr_s"].shape == (2, 3) and out["snr_s_boot"].shape == (5, 2, 3)
    assert np.all(np.isfinite(out["snr_s"])) and np.all(out["snr_s"] >= 0)
    assert np.all(np.abs(out["trace"]) < 3)
    with pytest.raises(ValueError, match="A"):
        E.forced_double_well(A=0.5)
    with pytest.raises(ValueError, match="Omega"):
        E.forced_double_well(Omegas=(0.1, 0.1234))


def test_paired_log_ratio_and_log_peak():
    m, se, frac = E.paired_log_ratio([1.0, 2.0, 4.0], [2.0, 4.0, 8.0])
    assert m == pytest.approx(-math.log(2)) and se == pytest.approx(0.0) and frac == 1.0
    D = np.geomspace(0.05, 1, 9)
    assert E.log_peak(D, np.exp(-(np.log(D) - np.log(0.2)) ** 2)) == pytest.approx(0.2, rel=1e-6)
