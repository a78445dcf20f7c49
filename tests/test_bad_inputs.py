"""Bad inputs get clear errors; the public numeric API never returns a silent NaN/inf.

The census (`tools/bad_inputs.py`) lists bad calls across the API; here every one of its
cases must be clear (ValueError/TypeError naming the call and the parameter, no raw
tracer). The hypothesis battery draws the numeric arguments
of the same modules, extremes, NaN and inf included: each call returns finite values or
raises a clear error.
"""

import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shld_jax as sj
from tools import bad_inputs

CASES = bad_inputs.CASES  # every module of the census: engine, ars, activations, diagnostics, ...


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.module}/{c.call}({c.param})[{c.what}]")
def test_census_case_is_clear(case):
    kind, detail = bad_inputs.classify(case)
    assert kind == "clear", detail


# ----------------------------------------------------------------------------- the battery

# Derandomized, so `make test` is reproducible; SHLD_BATTERY_EXAMPLES=500 (random) digs deeper.
_N = int(os.environ.get("SHLD_BATTERY_EXAMPLES", "0"))
FAST = settings(max_examples=_N or 40, derandomize=not _N, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
anyfloat = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-10, 10),
                     st.sampled_from([0.0, -0.0, 1e-300, 1e-45, 1e-38, 3.5e38, 1e308, 5e-324]))
posish = st.one_of(st.floats(1e-3, 1e3), anyfloat)
anyint = st.one_of(st.integers(-3, 3000), st.sampled_from([0, 1, 2, 2**31, -(2**40)]))


def finite_or_clear(call: str, fn):
    """``fn()`` returns finite values, or raises ValueError/TypeError naming ``call``."""
    try:
        out = fn()
    except (ValueError, TypeError) as e:
        msg = str(e)
        assert f"`{call}`" in msg, msg
        assert "JitTracer" not in msg and "Traced<" not in msg, msg
        return None
    leaves = [l for l in jax.tree_util.tree_leaves(out) if isinstance(l, (int, float, np.ndarray, np.generic, jax.Array))]
    assert all(np.all(np.isfinite(np.asarray(l, dtype=np.float64))) for l in leaves), (call, out)
    return out


@FAST
@given(a=posish, barrier=posish, tilt=anyfloat, D=posish, x_min=st.one_of(st.none(), anyfloat))
def test_wells_and_rates(a, barrier, tilt, D, x_min):
    w = finite_or_clear("tilted_double_well", lambda: sj.tilted_double_well(a, barrier, tilt))
    if w is None:
        return
    for fn in (sj.kramers_rate, sj.kramers_rate_seed):
        r = finite_or_clear(fn.__name__, lambda f=fn: f(w, D, x_min=x_min))
        assert r is None or r >= 0  # a rate is never negative


@FAST
@given(x_start=anyfloat, x_end=anyfloat, D=posish, n_grid=anyint, pad=posish)
def test_exact_mfpt(x_start, x_end, D, n_grid, pad):
    n_grid = n_grid if abs(n_grid) < 5000 else 5000  # the grid size is a cost, not a hazard
    t = finite_or_clear("exact_mfpt", lambda: sj.exact_mfpt(sj.double_well(), x_start, x_end, D,
                                                           n_grid=n_grid, pad=pad))
    assert t is None or t >= 0


@FAST
@given(lo=anyfloat, width=anyfloat, n=st.integers(0, 50), D=posish,
       noise=st.lists(anyfloat, min_size=0, max_size=6))
def test_gibbs_density(lo, width, n, D, noise):
    for x in (np.linspace(lo, lo + width, n) if math.isfinite(lo + width) else np.array(noise), np.array(noise)):
        p = finite_or_clear("gibbs_density", lambda g=x: sj.gibbs_density(sj.double_well(), g, D))
        if p is not None:
            assert np.all(p >= 0) and np.trapezoid(p, x) == pytest.approx(1.0, rel=1e-6)


@FAST
@given(eig=st.lists(anyfloat, min_size=0, max_size=4))
def test_quadratic(eig):
    q = finite_or_clear("quadratic", lambda: sj.quadratic(eig))
    if q is not None:
        assert np.all(np.isfinite(np.asarray(q.grad(jnp.ones(len(q.eigenvalues))))))


@FAST
@given(g=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=5), D=st.one_of(anyfloat, st.lists(anyfloat, min_size=1,
                                                                                                max_size=3)))
def test_consolidation_ratio(g, D):
    D = np.asarray(D) if isinstance(D, list) else D
    finite_or_clear("consolidation_ratio", lambda: sj.consolidation_ratio({"w": jnp.asarray(g)}, D))


@FAST
@given(lr=anyfloat, s2=anyfloat, B=anyint, lam=anyfloat, D=anyfloat)
def test_scalar_diagnostics(lr, s2, B, lam, D):
    finite_or_clear("sgd_diffusion", lambda: sj.sgd_diffusion(lr, s2, B))
    finite_or_clear("seed_effective_diffusion", lambda: sj.seed_effective_diffusion(lr, s2, B))
    finite_or_clear("stability_limit_lr", lambda: sj.stability_limit_lr(lam))
    finite_or_clear("seed_optimal_lr", lambda: sj.seed_optimal_lr(D, lam))


@FAST
@given(dt=anyfloat, T=st.integers(0, 6), scale=st.floats(1e-3, 1e3))
def test_trajectory_estimators(dt, T, scale):
    traj = scale * jnp.cumsum(jnp.ones((T, 2)), axis=0) if T else jnp.zeros((0, 2))
    finite_or_clear("diffusion_from_trajectory", lambda: sj.diffusion_from_trajectory(traj, dt=dt))
    finite_or_clear("seed_diffusion_from_trajectory", lambda: sj.seed_diffusion_from_trajectory(traj, dt=dt))
    finite_or_clear("gradient_variance", lambda: sj.gradient_variance(traj))


_CFG_FIELDS = ("base_gain", "min_gain", "max_gain", "stagnation_threshold", "gain_growth", "gain_decay")


@FAST
@given(vals=st.fixed_dictionaries({}, optional={k: anyfloat for k in _CFG_FIELDS}),
       values=st.lists(anyfloat, min_size=1, max_size=4), grad=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=3))
def test_sr_config_and_updates(vals, values, grad):
    cfg = finite_or_clear("StochasticResonanceConfig", lambda: sj.StochasticResonanceConfig(**vals))
    if cfg is None:
        return
    opt = sj.stochastic_resonance_noise(cfg, key=jax.random.key(0))
    g = {"w": jnp.asarray(grad, jnp.float32)}
    s = opt.init(g)
    for val in values:  # NaN/inf losses leave the gain alone
        u, s = opt.update(g, s, g, value=val)
        finite_or_clear("stochastic_resonance_noise", lambda: (u, s.resonance.gain))
        assert cfg.min_gain <= float(s.resonance.gain) * (1 + 1e-6) and \
            float(s.resonance.gain) <= cfg.max_gain * (1 + 1e-6)


# ----------------------------------------------------------------------------- specific behaviours


def test_sr_skips_and_counts_non_finite_gradients():
    opt = sj.stochastic_resonance_noise(key=jax.random.key(0))
    g = {"w": jnp.ones(3)}
    bad = {"w": jnp.array([1.0, jnp.nan, 1.0])}
    s0 = opt.init(g)
    step = jax.jit(opt.update)
    u, s1 = step(bad, s0, g, value=1.0)
    assert np.all(np.asarray(u["w"]) == 0) and int(s1.n_nonfinite_grad) == 1
    assert int(s1.resonance.count) == 0  # the gain law did not see the skipped step
    u2, s2 = step(g, s1, g, value=1.0)
    ref, _ = step(g, s0, g, value=1.0)
    np.testing.assert_array_equal(u2["w"], ref["w"])  # as if the bad step never happened
    assert int(s2.n_nonfinite_grad) == 1


def test_sr_value_must_be_a_scalar_under_jit_too():
    opt = sj.stochastic_resonance_noise(key=0)
    g = {"w": jnp.ones(3)}
    s = opt.init(g)
    with pytest.raises(ValueError, match=r"`stochastic_resonance_noise`: value must be a scalar .* shape \(4,\)"):
        jax.jit(lambda v: opt.update(g, s, g, value=v))(jnp.ones(4))
    with pytest.raises(TypeError, match="`stochastic_resonance_noise`: key"):
        sj.stochastic_resonance_noise(key="0")


def test_diagnostics_run_under_jit_and_name_tracers():
    f = jax.jit(lambda lr, s2, lam, dt: (sj.sgd_diffusion(lr, s2, 8), sj.seed_effective_diffusion(lr, s2, 8),
                                          sj.stability_limit_lr(lam), sj.seed_optimal_lr(s2, lam),
                                          sj.diffusion_from_trajectory(jnp.ones((3, 2)), dt=dt)))
    out = f(0.1, 2.0, 4.0, 0.5)
    assert [float(o) for o in out] == pytest.approx([0.0125, 0.0025, 0.5, 1.0, 0.0])
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got batch_size = a traced value"):
        jax.jit(lambda B: sj.sgd_diffusion(0.1, 1.0, B))(4)


def test_lr_rule_under_jit_leaves_lr_alone_for_a_bad_traced_D():
    opt = sj.consolidation_lr_rule(0.1)
    g = {"w": jnp.ones(3)}
    s = opt.init(g)
    _, s1 = jax.jit(lambda D: opt.update(g, s, g, D=D))(jnp.float32(-1.0))
    assert float(s1.lr) == pytest.approx(0.1) and np.isnan(float(s1.consolidation))
    with pytest.raises(ValueError, match="`consolidation_lr_rule`: D must be a finite number > 0"):
        opt.update(g, s, g, D=0.0)


def test_kramers_x_min_selects_a_well():
    w = sj.tilted_double_well(tilt=0.25)
    lo, hi = w.minima
    assert sj.kramers_rate(w, 0.3, x_min=hi) > sj.kramers_rate(w, 0.3, x_min=lo)  # the shallow well leaks
    with pytest.raises(ValueError, match=r"x_min must be one of the potential's minima"):
        sj.kramers_rate(w, 0.3, x_min=w.saddle)



