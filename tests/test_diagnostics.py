"""Every diagnostic of shld_jax._diagnostics against a closed form, and every bad input."""


import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

from shld_jax import _diagnostics as dg
from shld_jax import _langevin as L
from shld_jax import _potentials as P


# ----------------------------------------------------------------- consolidation ratio


def test_consolidation_ratio_closed_form_and_errors():
    g = {"w": jnp.ones((2, 3)), "b": 2.0 * jnp.ones(4)}
    # ‖g‖² = 6 + 16 = 22, d = 10
    assert float(dg.consolidation_ratio(g, 0.5)) == pytest.approx(22 / (0.5 * 10))
    with pytest.raises(ValueError, match="D"):
        dg.consolidation_ratio(g, 0.0)
    with pytest.raises(ValueError, match="grad"):
        dg.consolidation_ratio({}, 1.0)


# ----------------------------------------------------------------- gradient noise


def _lsq_loss(w, ex):
    x, y = ex
    return 0.5 * (jnp.dot(w, x) - y) ** 2


def test_per_example_grads_match_closed_form():
    rng = np.random.default_rng(0)
    X = jnp.asarray(rng.normal(size=(7, 3)), jnp.float32)
    y = jnp.asarray(rng.normal(size=7), jnp.float32)
    w = jnp.asarray([0.3, -1.0, 2.0])
    g = dg.per_example_grads(_lsq_loss, w, (X, y))
    np.testing.assert_allclose(g, (X @ w - y)[:, None] * X, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="loss_fn"):
        dg.per_example_grads(None, w, (X, y))
    with pytest.raises(ValueError, match="batch"):
        dg.per_example_grads(_lsq_loss, w, ())


def test_gradient_variance_of_known_noise():
    # samples with coordinate std 1, 2, 3 over a pytree: σ² = (1 + 4 + 9)/3
    n = 200_000
    k = jax.random.split(jax.random.key(0), 2)
    s = {"a": jax.random.normal(k[0], (n, 2)) * jnp.asarray([1.0, 2.0]) + 5.0,
         "b": 3.0 * jax.random.normal(k[1], (n,))}
    assert float(dg.gradient_variance(s)) == pytest.approx(14 / 3, rel=0.01)
    assert float(dg.seed_diffusion_from_gradients(s)) == pytest.approx(7 / 3, rel=0.01)
    # exact unbiased (ddof=1) value on a tiny sample
    assert float(dg.gradient_variance(jnp.asarray([0.0, 2.0]))) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="at least 2"):
        dg.gradient_variance(jnp.ones((1, 3)))
    with pytest.raises(ValueError, match="share the leading axis"):
        dg.gradient_variance({"a": jnp.ones((3, 2)), "b": jnp.ones((4,))})
    with pytest.raises(ValueError, match="leading"):
        dg.gradient_variance(jnp.asarray(1.0))
    with pytest.raises(ValueError, match="empty"):
        dg.gradient_variance([])


def test_sgd_step_noise_matches_seed_effective_diffusion_and_sgd_diffusion():
    # The noise of one SGD step α(g_B − ∇ℒ) (with replacement) has per-coordinate
    # variance α²σ²/B = 2·D·α with D = ασ²/(2B).
    rng = np.random.default_rng(1)
    N, d, B, lr = 50, 4, 5, 0.1
    G = rng.normal(size=(N, d)) * rng.uniform(0.5, 2, size=d)  # per-example gradients
    s2 = G.var(axis=0, ddof=0).mean()  # population variance of the finite data set
    idx = rng.integers(0, N, size=(200_000, B))
    noise = lr * (G[idx].mean(1) - G.mean(0))
    assert noise.var(0).mean() == pytest.approx(dg.seed_effective_diffusion(lr, s2, B), rel=0.02)
    assert noise.var(0).mean() / (2 * lr) == pytest.approx(dg.sgd_diffusion(lr, s2, B), rel=0.02)
    for f in (dg.seed_effective_diffusion, dg.sgd_diffusion):
        with pytest.raises(ValueError, match="lr"):
            f(0.0, 1.0, 1)
        with pytest.raises(ValueError, match="grad_variance"):
            f(0.1, -1.0, 1)
        with pytest.raises(ValueError, match="batch_size"):
            f(0.1, 1.0, 2.5)


# ----------------------------------------------------------------- trajectories


def _brownian(D, dt, T, n, key):
    steps = jnp.sqrt(2 * D * dt) * jax.random.normal(key, (T - 1, n))
    return jnp.concatenate([jnp.zeros((1, n)), jnp.cumsum(steps, axis=0)])


def test_trajectory_estimators_on_brownian_motion():
    D, dt = 0.3, 0.01
    x = _brownian(D, dt, 2001, 2000, jax.random.key(2))
    assert float(dg.diffusion_from_trajectory(x, dt=dt)) == pytest.approx(D, rel=0.01)
    # seed's Var/T: expectation of the time variance of 2D·W over [0,T] is 2D·T/6 -> D/3
    assert float(dg.seed_diffusion_from_trajectory(x, dt=dt)) == pytest.approx(D / 3, rel=0.05)


def test_increment_estimator_removes_drift_on_ou():
    k, D, dt = 4.0, 0.2, 0.05
    q = P.quadratic([k])
    _, tr = L.euler_maruyama(q.grad, jnp.full((500, 1), 3.0), key=jax.random.key(3), dt=dt, D=D,
                             n_steps=400, save_every=1, ensemble=True)
    tr = jnp.asarray(tr)
    drift = k * tr
    assert float(dg.diffusion_from_trajectory(tr, dt=dt, drift=drift)) == pytest.approx(D, rel=0.02)
    # without the drift the estimate is biased upwards (started far from the minimum)
    assert float(dg.diffusion_from_trajectory(tr, dt=dt)) > 1.2 * D
    with pytest.raises(ValueError, match="dt"):
        dg.diffusion_from_trajectory(tr, dt=-1.0)
    with pytest.raises(ValueError, match="drift"):
        dg.diffusion_from_trajectory(tr, dt=dt, drift=drift[:, :, None].repeat(2, -1))
    with pytest.raises(ValueError, match="at least 2"):
        dg.seed_diffusion_from_trajectory(tr[:1])


def test_virial_estimator_is_the_exact_em_value_and_anisotropic_trace():
    eigs = np.array([0.5, 2.0, 8.0])
    D, dt = 0.4, 0.05
    q = P.quadratic(eigs)
    x = L.euler_maruyama(q.grad, jnp.zeros((40_000, 3)), key=jax.random.key(4), dt=dt, D=D,
                         n_steps=600, ensemble=True)
    g = jax.vmap(q.grad)(x)
    exact = np.mean(D / (1 - eigs * dt / 2))
    assert float(dg.diffusion_virial(x, g)) == pytest.approx(exact, rel=0.02)
    with pytest.raises(ValueError, match="grads"):
        dg.diffusion_virial(x, g[:, :2])


def test_uncertainty_relation_quadratic_equality_and_point_mass():
    k, D = 2.0, 0.3
    x = jnp.sqrt(D / k) * jax.random.normal(jax.random.key(5), (200_000, 1))
    u = dg.uncertainty_relation(x, k * x)
    assert float(u.product[0]) == pytest.approx(D, rel=0.01)  # (D/k)·(k²·D/k) = D²
    assert float(u.covariance[0]) == pytest.approx(D, rel=0.01)
    # a point mass violates "for any distribution"
    z = jnp.zeros((10, 1))
    assert float(dg.uncertainty_relation(z, k * z).product[0]) == 0.0
    with pytest.raises(ValueError, match="samples"):
        dg.uncertainty_relation(jnp.zeros((1, 2)), jnp.zeros((1, 2)))
    with pytest.raises(ValueError, match="grads"):
        dg.uncertainty_relation(jnp.zeros((3, 2)), jnp.zeros((3, 1)))


# ----------------------------------------------------------------- Hessian power iteration


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 50.0))
def test_hessian_max_eigenvalue_of_rotated_quadratic(seed, scale):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    eigs = scale * np.array([1.0, 0.5, 0.3, 0.2, 0.1, 0.05])  # gap 0.5: 0.5^60 ≈ 1e-18
    A = jnp.asarray(Q @ np.diag(eigs) @ Q.T, jnp.float32)

    def loss(p):  # pytree parameters: x is split over two leaves
        x = jnp.concatenate([p["a"], p["b"].reshape(-1)])
        return 0.5 * x @ A @ x + jnp.sum(jnp.sin(x)) * 0.0

    p = {"a": jnp.ones(2), "b": jnp.ones((2, 2))}
    lam = float(dg.hessian_max_eigenvalue(loss, p, key=jax.random.key(seed), iters=60))
    assert lam == pytest.approx(eigs[0], rel=1e-4)


def test_hessian_max_eigenvalue_nonquadratic_and_errors():
    # ℒ = Σ cosh(x_i)·c_i at x = 0 has Hessian diag(c)
    c = jnp.asarray([1.0, 3.0, 7.0])
    loss = lambda x: jnp.sum(c * jnp.cosh(x))
    assert float(dg.hessian_max_eigenvalue(loss, jnp.zeros(3), key=jax.random.key(0), iters=80)) == \
        pytest.approx(7.0, rel=1e-4)
    # dominant-magnitude eigenvalue keeps its sign
    neg = lambda x: -0.5 * 5.0 * x[0] ** 2 + 0.5 * x[1] ** 2
    assert float(dg.hessian_max_eigenvalue(neg, jnp.ones(2), key=jax.random.key(0), iters=5)) == \
        pytest.approx(-5.0, rel=1e-5)
    with pytest.raises(ValueError, match="iters"):
        dg.hessian_max_eigenvalue(loss, jnp.zeros(3), key=jax.random.key(0), iters=0)
    with pytest.raises(ValueError, match="scalar"):
        dg.hessian_max_eigenvalue(lambda x: x, jnp.zeros(3), key=jax.random.key(0), iters=3)
    with pytest.raises(ValueError, match="floating"):
        dg.hessian_max_eigenvalue(loss, jnp.zeros(3, jnp.int32), key=jax.random.key(0), iters=3)
    with pytest.raises(ValueError, match="loss_fn"):
        dg.hessian_max_eigenvalue(3.0, jnp.zeros(3), key=jax.random.key(0), iters=3)
    with pytest.raises(ValueError, match="params"):
        dg.hessian_max_eigenvalue(loss, {}, key=jax.random.key(0), iters=3)


def test_learning_rate_formulas():
    assert dg.seed_optimal_lr(0.01, 4.0) == pytest.approx(0.005)
    assert dg.stability_limit_lr(4.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="lam_max"):
        dg.seed_optimal_lr(0.01, -1.0)
    with pytest.raises(ValueError, match="D"):
        dg.seed_optimal_lr(0.0, 1.0)
    with pytest.raises(ValueError, match="lam_max"):
        dg.stability_limit_lr(float("nan"))


# ----------------------------------------------------------------- adaptive lr rule


def test_consolidation_lr_rule_follows_the_thresholds_exactly():
    opt = dg.consolidation_lr_rule(0.1, every=2)
    p = jnp.zeros(4)
    s = opt.init(p)
    g_small = jnp.full(4, 0.1)  # ‖g‖² = 0.04, d = 4: C = 0.01/D
    g_big = jnp.full(4, 10.0)  # C = 100/D
    upd = jax.jit(opt.update)
    u, s = upd(g_small, s, p, D=1.0)  # step 0 checked: C = 0.01 < 0.5 -> lr 0.15
    assert float(s.lr) == pytest.approx(0.15)
    np.testing.assert_allclose(u, -0.15 * g_small, rtol=1e-6)
    u, s = upd(g_big, s, p, D=1.0)  # step 1 not checked
    assert float(s.lr) == pytest.approx(0.15)
    assert float(s.consolidation) == pytest.approx(100.0)
    u, s = upd(g_big, s, p, D=1.0)  # step 2: C = 100 > 20 -> ×0.7
    assert float(s.lr) == pytest.approx(0.105)
    u, s = upd(jnp.full(4, 2.0), s, p, D=1.0)  # step 3 unchecked; step 4 with C = 4: unchanged
    u, s = upd(jnp.full(4, 2.0), s, p, D=1.0)
    assert float(s.lr) == pytest.approx(0.105)
    # it chains with optax and bounds hold
    opt2 = optax.chain(optax.clip_by_global_norm(1e9), dg.consolidation_lr_rule(0.1, max_lr=0.12))
    s2 = opt2.init(p)
    _, s2 = opt2.update(g_small, s2, p, D=1.0)
    assert float(s2[1].lr) == pytest.approx(0.12)


def test_consolidation_lr_rule_rejects_bad_hyperparameters():
    with pytest.raises(ValueError, match="learning_rate"):
        dg.consolidation_lr_rule(0.0)
    with pytest.raises(ValueError, match="low must be < high"):
        dg.consolidation_lr_rule(0.1, low=30.0, high=20.0)
    with pytest.raises(ValueError, match="every"):
        dg.consolidation_lr_rule(0.1, every=0)
    with pytest.raises(ValueError, match="increase"):
        dg.consolidation_lr_rule(0.1, increase=-1.0)
    with pytest.raises(ValueError, match="max_lr"):
        dg.consolidation_lr_rule(0.1, min_lr=0.2, max_lr=0.1)
    with pytest.raises(ValueError, match="learning_rate must lie"):
        dg.consolidation_lr_rule(0.5, max_lr=0.2)
    opt = dg.consolidation_lr_rule(0.1)
    with pytest.raises(TypeError):
        opt.update(jnp.ones(2), opt.init(jnp.ones(2)), None)  # D is required
