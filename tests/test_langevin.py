"""The Langevin engine against closed forms, the seed's port, and itself."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

import shld_jax as sj
from shld_jax import _langevin as L
from shld_jax import _potentials as P
from shld_jax.experiments.double_well import Above
from shld_jax.reference import StochasticHarmonicLearning


def test_ou_stationary_variance_is_the_exact_euler_maruyama_value():
    # At k·dt = 0.2 the discrete chain's variance D/(k(1−k·dt/2)) is 11% above the
    # continuum D/k: the test tells the two apart (standard error ≈ 0.7%).
    k, D, dt, n = 2.0, 0.5, 0.1, 40_000
    q = P.quadratic([k])
    x = L.euler_maruyama(q.grad, jnp.zeros((n, 1)), key=jax.random.key(1), dt=dt, D=D, n_steps=400,
                         ensemble=True)
    var = float(np.var(np.asarray(x)))
    exact_em = D / (k * (1 - k * dt / 2))
    assert abs(var / exact_em - 1) < 0.03
    assert abs(var / (D / k) - 1) > 0.06


def test_exact_mfpt_matches_nested_quadrature():
    w = P.double_well()
    for D in (0.25, 0.5):
        inner = lambda y: integrate.quad(lambda z: np.exp(-w.u(z) / D), -np.inf, y)[0]
        ref = integrate.quad(lambda y: np.exp(w.u(y) / D) * inner(y) / D, -1.0, 1.0)[0]
        assert P.exact_mfpt(w, -1.0, 1.0, D) == pytest.approx(ref, rel=1e-4)
    # mirror direction on a tilted well uses the reflecting boundary at +infinity
    t = P.tilted_double_well(tilt=0.25)
    lo, hi = t.minima
    D = 0.3
    inner = lambda y: integrate.quad(lambda z: np.exp(-t.u(z) / D), y, np.inf)[0]
    ref = integrate.quad(lambda y: np.exp(t.u(y) / D) * inner(y) / D, lo, hi)[0]
    assert P.exact_mfpt(t, hi, lo, D) == pytest.approx(ref, rel=1e-4)


def test_simulated_mfpt_matches_exact_integral():
    # 4000 particles: standard error ≈ 1/sqrt(4000) ≈ 1.6 %; Euler–Maruyama bias at
    # dt = 0.01 is ~1 %; tolerance 6 %.
    w = P.double_well()
    D, dt = 0.5, 0.01
    fpt = L.first_passage_times(w.grad, jnp.full((4000,), -1.0), Above(1.0), key=jax.random.key(0),
                                dt=dt, D=D, n_steps=15_000)
    fpt = np.asarray(fpt)
    assert np.all(fpt != L.NEVER)
    assert np.mean(fpt) * dt == pytest.approx(P.exact_mfpt(w, -1.0, 1.0, D), rel=0.06)


def test_kramers_formulas():
    w = P.double_well()
    D = 0.1  # ΔU/D = 10: Kramers within ~5 % of the exact rate
    exact = 1.0 / P.exact_mfpt(w, -1.0, 1.0, D)
    assert P.kramers_rate(w, D) == pytest.approx(exact, rel=0.06)
    assert P.kramers_rate(w, D) == pytest.approx(np.sqrt(32) / (2 * np.pi) * np.exp(-1 / D), rel=1e-9)
    # the seed's formula drops |U''(saddle)|: off by sqrt(8/4) for this well
    assert P.kramers_rate_seed(w, D) / P.kramers_rate(w, D) == pytest.approx(np.sqrt(2), rel=1e-9)


def test_potential_landmarks():
    w = P.double_well(a=2.0, barrier=3.0)
    assert w.minima == pytest.approx((-2.0, 2.0))
    assert w.saddle == pytest.approx(0.0, abs=1e-12)
    assert w.barrier_from(-2.0) == pytest.approx(3.0)
    assert float(w.curvature(2.0)) == pytest.approx(8 * 3.0 / 4.0)
    t = P.tilted_double_well(tilt=0.25)
    for x in (*t.minima, t.saddle):
        assert float(t.grad(np.float64(x))) == pytest.approx(0.0, abs=1e-9)
    assert t.barrier_from(t.minima[1]) < t.barrier_from(t.minima[0])  # right well is the shallow one
    g = jax.grad(lambda x: t.energy(x))(jnp.array([0.3, -0.7]))
    np.testing.assert_allclose(g, t.grad(jnp.array([0.3, -0.7])), rtol=1e-5)


def test_jit_and_no_jit_agree():
    w = P.double_well()
    x0 = jnp.linspace(-1, 1, 6)
    a = L.euler_maruyama(w.grad, x0, key=jax.random.key(3), dt=0.01, D=0.3, n_steps=50, ensemble=True)
    with jax.disable_jit():
        b = L.euler_maruyama(w.grad, x0, key=jax.random.key(3), dt=0.01, D=0.3, n_steps=50, ensemble=True)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_particle_noise_does_not_depend_on_ensemble_size_and_single_run_is_particle_zero():
    w = P.double_well()
    kw = dict(key=jax.random.key(5), dt=0.01, D=0.4, n_steps=30, ensemble=True)
    a = np.asarray(L.euler_maruyama(w.grad, jnp.full((4, 3), -1.0), **kw))
    b = np.asarray(L.euler_maruyama(w.grad, jnp.full((9, 3), -1.0), **kw))
    np.testing.assert_array_equal(a, b[:4])
    kw["ensemble"] = False
    c = np.asarray(L.euler_maruyama(w.grad, jnp.full((3,), -1.0), **kw))
    np.testing.assert_array_equal(c, a[0])


def test_pytree_state_and_trajectory():
    q = P.quadratic([1.0, 2.0])
    x0 = {"w": jnp.ones((5, 2)), "b": jnp.zeros((5, 2))}
    grad = q.grad
    times, traj = L.euler_maruyama(lambda x: jax.tree_util.tree_map(grad, x), x0, key=jax.random.key(0),
                                   dt=0.01, D=0.0, n_steps=100, save_every=25, ensemble=True)
    assert times.shape == (5,) and traj["w"].shape == (5, 5, 2)
    np.testing.assert_allclose(times, [0, 0.25, 0.5, 0.75, 1.0])
    # D = 0 is gradient descent: w_t = (1 − λ dt)^t
    np.testing.assert_allclose(traj["w"][-1, 0], [(1 - 0.01) ** 100, (1 - 0.02) ** 100], rtol=1e-5)
    np.testing.assert_array_equal(traj["b"], 0.0)


DEVICE_SCRIPT = textwrap.dedent("""
    import hashlib, jax, jax.numpy as jnp, numpy as np
    import shld_jax as sj
    assert len(jax.devices()) == {n}, jax.devices()
    w = sj.double_well()
    x0 = jnp.linspace(-1.2, 1.2, 16).reshape(16, 1)
    r = sj.simulate(w.grad, x0, key=jax.random.key(7), dt=0.01, D=0.3, n_steps=200, save_every=50)
    print(hashlib.sha256(np.asarray(r.trajectory).tobytes()).hexdigest())
""")


def _start_with_devices(n):
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={n}", "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen([sys.executable, "-c", DEVICE_SCRIPT.format(n=n)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow  # three JAX processes (about 15 s, run in parallel); `-m "not slow"` skips it
def test_results_are_bitwise_identical_on_1_2_and_4_devices():
    procs = {n: _start_with_devices(n) for n in (1, 2, 4)}
    h = {}
    for n, p in procs.items():
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, f"{n} devices: " + err[-2000:]
        h[n] = out.strip().splitlines()[-1]
    assert h[1] == h[2] == h[4]


def test_seed_port_equals_engine_on_the_same_noise():
    # The seed's class is the engine's chain when its lr equals dt (its time-unit bug otherwise).
    q = P.quadratic([1.0, 3.0, 0.5])
    dt, D, n_steps, key = 0.01, 0.2, 40, jax.random.key(11)
    x0 = np.array([1.0, -0.5, 2.0])
    eps = iter(np.asarray(jax.random.normal(jax.random.fold_in(jax.random.fold_in(key, t), 0), (1, 3)))[0]
               for t in range(n_steps))
    shl = StochasticHarmonicLearning(lambda th: float(q.energy(th)), lambda th: np.asarray(q.grad(th), float),
                                     dim=3, lr=dt, noise_scale=D, normal=lambda d: next(eps))
    theta = x0.copy()
    for _ in range(n_steps):
        theta = shl.step(theta, dt=dt)
    ours = L.euler_maruyama(q.grad, jnp.asarray(x0, jnp.float32), key=key, dt=dt, D=D, n_steps=n_steps)
    np.testing.assert_allclose(np.asarray(ours), theta, rtol=1e-4, atol=1e-5)


def test_seed_adaptive_noise_is_never_restored():
    q = P.quadratic([1.0])
    rng = np.random.default_rng(0)
    shl = StochasticHarmonicLearning(lambda th: float(q.energy(th)), lambda th: np.asarray(q.grad(th), float),
                                     dim=1, lr=0.01, noise_scale=0.01, normal=rng.standard_normal)
    with np.errstate(all="ignore"):
        r = shl.train(np.zeros(1), n_steps=200, dt=0.01)
    k = len(r["interventions"])
    assert k > 0
    assert shl.D == pytest.approx(0.01 * 5.0**k)  # every boost compounds, none is undone


def test_boost_bookkeeping():
    w = P.double_well()
    x0 = jnp.full((50,), -1.0)
    kw = dict(key=jax.random.key(2), dt=0.01, D=0.2, n_steps=300, target_fn=Above(1.0))
    none = L.simulate(w.grad, x0, **kw)
    unit = L.simulate(w.grad, x0, boost=L.Boost(threshold=0.5, factor=1.0, duration=5), **kw)
    np.testing.assert_allclose(np.asarray(none.position), np.asarray(unit.position), rtol=1e-5, atol=1e-6)
    always = L.simulate(w.grad, x0, boost=L.Boost(threshold=1e9, factor=2.0, duration=3, warmup=100), **kw)
    np.testing.assert_array_equal(np.asarray(always.boosted_steps), 200)  # boosted on every step after warmup


def test_nonfinite_run_is_reported_with_its_step():
    w = P.double_well()
    with pytest.raises(FloatingPointError, match=r"step \d+"):
        L.euler_maruyama(w.grad, jnp.full((4,), 3.0), key=jax.random.key(0), dt=0.5, D=0.1, n_steps=100,
                         ensemble=True)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(dt=0.0), "dt"),
        (dict(dt=-0.1), "dt"),
        (dict(D=-1.0), "D"),
        (dict(n_steps=0), "n_steps"),
        (dict(n_steps=2.5), "n_steps"),
        (dict(save_every=3), "save_every"),
        (dict(x0={"a": jnp.zeros((3,)), "b": jnp.zeros((4,))}), "x0"),
        (dict(x0=jnp.array([np.nan, 0.0])), "x0"),
        (dict(x0=jnp.float32(1.0)), "x0"),
    ],
)
def test_bad_inputs_name_the_parameter(kw, name):
    w = P.double_well()
    args = dict(x0=jnp.zeros((3,)), key=jax.random.key(0), dt=0.01, D=0.1, n_steps=10)
    args.update(kw)
    x0 = args.pop("x0")
    grad = (lambda x: jax.tree_util.tree_map(w.grad, x)) if isinstance(x0, dict) else w.grad
    with pytest.raises(ValueError, match=name):
        sj.simulate(grad, x0, **args)


def test_bad_potential_and_rate_arguments():
    with pytest.raises(ValueError, match="barrier"):
        P.double_well(barrier=0)
    with pytest.raises(ValueError, match="tilt"):
        P.tilted_double_well(tilt=5.0)
    with pytest.raises(ValueError, match="eigenvalues"):
        P.quadratic([1.0, -1.0])
    with pytest.raises(ValueError, match="D"):
        P.kramers_rate(P.double_well(), 0.0)
    with pytest.raises(ValueError, match="x_start"):
        P.exact_mfpt(P.double_well(), 1.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="D"):
        sj.consolidation_ratio(jnp.ones(3), -1.0)


def test_consolidation_ratio_over_a_pytree():
    g = {"a": jnp.ones((2, 2)), "b": 2 * jnp.ones((4,))}
    assert float(sj.consolidation_ratio(g, 0.5)) == pytest.approx((4 + 16) / (0.5 * 8))


def test_overdamped_langevin_init_step_pair_matches_simulate():
    w = P.double_well()
    init_fn, step_fn = sj.overdamped_langevin(w.grad, dt=0.01, D=0.3)
    state = init_fn(jax.random.key(9), jnp.full((5,), -1.0))
    step = jax.jit(step_fn)
    for _ in range(20):
        state = step(state)
    ref = sj.simulate(w.grad, jnp.full((5,), -1.0), key=jax.random.key(9), dt=0.01, D=0.3, n_steps=20)
    np.testing.assert_allclose(np.asarray(state.position), np.asarray(ref.position), rtol=1e-6)
    assert int(state.step) == 20


def test_explorer_figure_is_finite():
    from shld_jax.experiments import double_well as E
    from shld_jax import plotting

    fig, rates = E.explore(D=0.3, barrier=1.5)
    plotting.check_finite_artists(fig)
    assert rates["exact"] < rates["kramers"] < rates["seed"]


# ---------------------------------------------------------------- [2.4] engine inputs and contracts


def test_simulate_under_jit_and_vmap_with_traced_inputs():
    w = P.double_well()
    x0 = jnp.full((8,), -1.0)
    ref = sj.simulate(w.grad, x0, key=jax.random.key(4), dt=0.01, D=0.3, n_steps=20).position
    f = jax.jit(lambda x, D: sj.simulate(w.grad, x, key=jax.random.key(4), dt=0.01, D=D, n_steps=20).position)
    np.testing.assert_array_equal(np.asarray(f(x0, 0.3)), np.asarray(ref))
    out = jax.vmap(lambda x: sj.simulate(w.grad, x, key=jax.random.key(4), dt=0.01, D=0.3, n_steps=20).position)(
        jnp.stack([x0, x0]))
    # under vmap XLA may fuse the batched step differently: equal to about one float32 ulp
    np.testing.assert_allclose(np.asarray(out[1]), np.asarray(ref), rtol=1e-6, atol=1e-6)
    with pytest.raises(Exception, match="NaN/inf"):  # the finiteness check runs inside the program
        jax.block_until_ready(jax.jit(lambda x: sj.simulate(w.grad, x, key=jax.random.key(0), dt=0.5, D=0.1,
                                                            n_steps=100).position)(jnp.full((8,), 3.0)))
    with pytest.raises(TypeError, match="traced"):
        jax.jit(lambda n: sj.simulate(w.grad, x0, key=jax.random.key(0), dt=0.01, D=0.1, n_steps=n))(10)


def test_nonfinite_message_names_the_cause():
    w = P.double_well()
    kw = dict(key=jax.random.key(0), n_steps=50)
    with pytest.raises(FloatingPointError, match="reduce dt"):
        sj.simulate(w.grad, jnp.full((4,), 3.0), dt=0.5, D=0.1, **kw)
    log_grad = lambda x: 1.0 / x - 1.0  # ∇U of U = log|x| − x: undefined at 0
    with pytest.raises(FloatingPointError, match="grad_fn returns NaN/inf at x0") as e:
        sj.simulate(log_grad, jnp.zeros((4,)), dt=0.01, D=0.1, **kw)
    assert "reduce dt" not in str(e.value)
    with pytest.raises(FloatingPointError, match="reduce D") as e:
        sj.simulate(w.grad, jnp.zeros((4,)), dt=0.01, D=1e38, **kw)
    assert "reduce dt" not in str(e.value)
    r = sj.simulate(w.grad, jnp.full((4,), 3.0), dt=0.5, D=0.1, check_finite=False, track_nonfinite=True, **kw)
    assert np.all(np.asarray(r.first_nonfinite) >= 1)


def test_step_fn_refuses_negative_D_and_takes_per_particle_D():
    w = P.double_well()
    init_fn, step_fn = sj.overdamped_langevin(w.grad, dt=0.01, D=0.3)
    s = init_fn(jax.random.key(0), jnp.zeros((3,)))
    with pytest.raises(ValueError, match="D"):
        step_fn(s, D=-1.0)
    with pytest.raises(ValueError, match=r"D\[1\]"):
        step_fn(s, D=np.array([0.1, -0.1, 0.1]))
    with pytest.raises(TypeError, match="init_fn\\(key, x0\\)"):
        init_fn(jnp.zeros((3,)), jax.random.key(0))
    with pytest.raises(TypeError, match="PRNG key"):
        init_fn(0, jnp.zeros((3,)))


def test_simulate_per_particle_D_equals_step_fn():
    w = P.double_well()
    D = np.array([0.0, 0.2, 0.5, 1.0], np.float32)
    x0 = jnp.full((4,), -1.0)
    r = sj.simulate(w.grad, x0, key=jax.random.key(2), dt=0.01, D=D, n_steps=15)
    init_fn, step_fn = sj.overdamped_langevin(w.grad, dt=0.01, D=0.0)
    s = init_fn(jax.random.key(2), x0)
    for _ in range(15):
        s = step_fn(s, D=D)
    np.testing.assert_allclose(np.asarray(r.position), np.asarray(s.position), rtol=1e-6)
    single = sj.simulate(w.grad, x0, key=jax.random.key(2), dt=0.01, D=0.5, n_steps=15).position
    assert float(r.position[2]) == float(single[2])
    with pytest.raises(ValueError, match="per-particle"):
        sj.simulate(w.grad, x0, key=jax.random.key(2), dt=0.01, D=np.ones(3), n_steps=15)


def test_targets_on_pytree_states_and_first_passage_zero_inside():
    x0 = {"a": jnp.array([[2.0], [-1.0]]), "b": jnp.array([[1.5, 3.0], [0.0, 0.0]])}
    grad = lambda x: jax.tree_util.tree_map(jnp.zeros_like, x)
    r = sj.simulate(grad, x0, key=jax.random.key(0), dt=0.01, D=0.0, n_steps=5, target_fn=sj.Above(1.0))
    np.testing.assert_array_equal(np.asarray(r.first_passage), [0, sj.NEVER])  # particle 0 starts inside
    assert bool(sj.Below(0.0)({"a": jnp.array([-1.0]), "b": jnp.array([0.0, -2.0])}))


@pytest.mark.parametrize("key", [0, 1.5, np.int32(3), jnp.zeros((2,), jnp.int32), jax.random.split(jax.random.key(0))])
def test_bad_keys_are_refused_clearly(key):
    with pytest.raises(TypeError, match="key"):
        sj.simulate(P.double_well().grad, jnp.zeros((3,)), key=key, dt=0.01, D=0.1, n_steps=5)


def test_raw_and_typed_keys_give_the_same_run():
    w = P.double_well()
    a = sj.simulate(w.grad, jnp.zeros((5,)), key=jax.random.key(7), dt=0.01, D=0.3, n_steps=30).position
    b = sj.simulate(w.grad, jnp.zeros((5,)), key=jax.random.PRNGKey(7), dt=0.01, D=0.3, n_steps=30).position
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_grad_fn_shape_is_checked_against_x0():
    q = P.quadratic([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="U instead of"):  # U, not ∇U
        sj.simulate(q.energy, jnp.zeros((4, 3)), key=jax.random.key(0), dt=0.01, D=0.1, n_steps=5)
    with pytest.raises(ValueError, match="particle axis"):  # transposed x0
        sj.simulate(q.grad, jnp.zeros((3, 4)), key=jax.random.key(0), dt=0.01, D=0.1, n_steps=5)


def test_traced_values_are_named_as_traced_in_errors():
    out = []
    jax.jit(lambda x: out.append(L._show(x)) or x)(1.0)
    assert out[0].startswith("a traced value") and "JitTracer" not in out[0]
