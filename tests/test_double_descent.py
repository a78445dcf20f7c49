"""Random-features double descent: closed forms, min-norm = pinv, ridge limits, C(t) theory, bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from shld_jax._diagnostics import consolidation_ratio
from shld_jax import stats
from shld_jax.experiments import double_descent as dd


def _f64(a):
    return np.asarray(a, dtype=np.float64)


@pytest.mark.parametrize("gamma", [0.25, 0.5, 2.0, 4.0])
def test_linear_model_risk_matches_hastie_closed_form(gamma):
    # Tolerance: 10% of the asymptotic HMRT value. At n = 100 the finite-n exact mean differs
    # from it by ≤ 2% (d/(n−d−1) vs γ/(1−γ)), and 300 draws give a standard error ≤ 4%
    # (checked below against the exact finite-n mean at 4 standard errors).
    n, r2, s2 = 100, 1.0, 0.5
    r = dd.linear_sweep(jax.random.key(3), n=n, gammas=[gamma], n_draws=300, r2=r2, sigma2=s2)
    risk = r["risk"][:, 0]
    mean, se = risk.mean(), risk.std(ddof=1) / np.sqrt(risk.size)
    assert abs(mean / r["theory"][0] - 1) < 0.10
    assert abs(mean - r["finite"][0]) < 4 * se


def test_linear_closed_form_values_and_divergence():
    np.testing.assert_allclose(dd.linear_risk_theory([0.5, 2.0], r2=1.0, sigma2=1.0), [1.0, 1.5])
    assert np.isinf(dd.linear_risk_theory(1.0))
    assert dd.linear_risk_finite(100, 50, sigma2=1.0) == pytest.approx(50 / 49)
    assert dd.linear_risk_finite(100, 200, r2=2.0, sigma2=1.0) == pytest.approx(2 * 0.5 + 100 / 99)
    assert np.isinf(dd.linear_risk_finite(100, 101))


@settings(max_examples=5, deadline=None)
@given(n=st.integers(3, 30), p=st.integers(1, 40), k=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_min_norm_equals_pseudo_inverse(n, p, k, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, p))
    y = rng.standard_normal((n, k))
    with jax.enable_x64(True):
        a = np.asarray(dd.min_norm_fit(jnp.asarray(z), jnp.asarray(y)))
    ref = np.linalg.pinv(z) @ y
    # Square Gaussian matrices can be badly conditioned: scale the tolerance by cond(Z)².
    c = np.linalg.cond(z)
    assert np.allclose(a, ref, rtol=0, atol=1e-10 * c**2 * (1 + np.abs(ref).max()))


def test_ridge_matches_normal_equations_and_tends_to_min_norm():
    rng = np.random.default_rng(0)
    for n, p in [(30, 12), (30, 30), (30, 70)]:
        z, y = rng.standard_normal((n, p)), rng.standard_normal((n, 2))
        lams = np.array([1.0, 1e-2, 1e-4, 1e-6, 1e-8])
        with jax.enable_x64(True):
            a = np.asarray(dd.ridge_fit(jnp.asarray(z), jnp.asarray(y), lams))
            a0 = np.asarray(dd.ridge_fit(jnp.asarray(z), jnp.asarray(y), 0.0))
        np.testing.assert_allclose(a[0], np.linalg.solve(z.T @ z + np.eye(p), z.T @ y), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(a0, np.linalg.pinv(z) @ y, rtol=1e-6, atol=1e-8)
        gap = np.linalg.norm(a - a0, axis=(1, 2)) / np.linalg.norm(a0)
        # monotone approach as λ ↓ 0 (∝ λ) down to the float64 rounding floor (∝ eps·cond²)
        assert np.all(np.diff(gap[:4]) < 0), gap
        assert gap[-1] < 1e-5


def test_rf_sweep_agrees_with_direct_pinv_fit():
    rng = np.random.default_rng(1)
    x_tr, x_te = rng.standard_normal((40, 5)), rng.standard_normal((25, 5))
    ys = rng.standard_normal((2, 40, 3))
    y_te = rng.standard_normal((25, 3))
    sizes, key = (10, 40, 90), jax.random.key(7)
    res = dd.rf_sweep(key, x_tr, ys, x_te, y_te, sizes=sizes, n_draws=2, activation="tanh", ridge=[0.0, 0.5])
    with jax.enable_x64(True):  # the sweep draws W in float64: redraw draw 1 the same way
        w = np.asarray(jax.random.normal(jax.random.split(key, 2)[1], (5, 90), jnp.float64))
    for j, p in enumerate(sizes):
        z, zt = np.tanh(x_tr @ w[:, :p] / np.sqrt(5)), np.tanh(x_te @ w[:, :p] / np.sqrt(5))
        for l in range(2):
            a = np.linalg.pinv(z) @ ys[l]
            np.testing.assert_allclose(res["test_mse"][0, l, 1, j], np.mean(np.sum((zt @ a - y_te) ** 2, 1)),
                                       rtol=1e-5)
            np.testing.assert_allclose(res["weight_norm"][0, l, 1, j], np.linalg.norm(a), rtol=1e-5)
            ar = np.linalg.solve(z.T @ z + 0.5 * np.eye(p), z.T @ ys[l])
            np.testing.assert_allclose(res["test_mse"][1, l, 1, j], np.mean(np.sum((zt @ ar - y_te) ** 2, 1)),
                                       rtol=1e-8)
        np.testing.assert_allclose(res["cond"][1, j], np.linalg.cond(z), rtol=1e-4)
    # interpolation: zero training error at and beyond p = n (min-norm), not below
    assert np.all(res["train_mse"][0, :, :, 1:] < 1e-12)
    assert np.all(res["train_mse"][0, :, :, 0] > 1e-3)


def test_min_norm_peak_sits_at_interpolation_threshold():
    rng = np.random.default_rng(2)
    n, d = 40, 10
    beta = rng.standard_normal(d)
    x_tr, x_te = rng.standard_normal((n, d)), rng.standard_normal((400, d))
    ys = (x_tr @ beta + 0.5 * rng.standard_normal(n))[None, :, None]
    y_te = (x_te @ beta)[:, None]
    sizes = [8, 16, 24, 32, 36, 40, 44, 52, 80, 120, 200]
    res = dd.rf_sweep(jax.random.key(0), x_tr, ys, x_te, y_te, sizes=sizes, n_draws=20, ridge=[0.0, 1.0])
    assert dd.peak_location(res["sizes"], res["test_mse"][0, 0]) == n
    assert dd.peak_excess(res["sizes"], res["test_mse"][0, 0], n) > 3
    assert dd.peak_excess(res["sizes"], res["test_mse"][1, 0], n) < dd.peak_excess(
        res["sizes"], res["test_mse"][0, 0], n)


def test_gradient_descent_from_zero_converges_to_min_norm():
    rng = np.random.default_rng(3)
    z, y = rng.standard_normal((20, 60)), rng.standard_normal((20, 2))
    with jax.enable_x64(True):
        a, steps, g2, loss = dd.langevin_fit(jax.random.key(0), jnp.asarray(z), jnp.asarray(y), D=0.0,
                                             n_steps=4000, save_every=1000)
    np.testing.assert_allclose(np.asarray(a), np.linalg.pinv(z) @ y, rtol=1e-6, atol=1e-8)
    assert np.all(np.diff(np.asarray(loss)) <= 0)


def test_grad_norm_theory_matches_langevin_ensemble_and_consolidation_ratio():
    rng = np.random.default_rng(4)
    n, p, k, D = 30, 45, 2, 1e-3
    z, y = rng.standard_normal((n, p)) / np.sqrt(p), rng.standard_normal((n, k))
    steps_n, save = 200, 50
    keys = jax.random.split(jax.random.key(1), 400)
    run = jax.vmap(lambda kk: dd.langevin_fit(kk, jnp.asarray(z), jnp.asarray(y), D=D, n_steps=steps_n,
                                              save_every=save)[2])
    g2 = np.asarray(run(keys))  # [draws, S]
    mu, q = np.linalg.eigh(z @ z.T)
    eta = n / mu[-1]
    th = dd.grad_norm_theory(np.maximum(mu, 0), q.T @ y, n=n, eta=eta, D=D, steps=np.arange(0, steps_n + 1, save))
    se = g2.std(0, ddof=1) / np.sqrt(g2.shape[0])
    assert np.all(np.abs(g2.mean(0) - th) < 5 * se + 1e-5 * th)  # float32 run: 1e-5 rounding slack
    # at the start (a = 0) the gradient is deterministic: ‖Zᵀy‖²/n²
    np.testing.assert_allclose(th[0], np.sum((z.T @ y) ** 2) / n**2, rtol=1e-5)
    # C = g2/(D·d) is the package's consolidation ratio
    g = z.T @ (z @ np.zeros((p, k)) - y) / n
    np.testing.assert_allclose(float(consolidation_ratio(jnp.asarray(g), D)), th[0] / (D * p * k), rtol=1e-5)


def test_consolidation_sweep_shapes_and_finite():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((12, 4)), np.eye(3)[rng.integers(0, 3, 12)]
    r = dd.consolidation_sweep(jax.random.key(0), x, y, x[:5], y[:5], sizes=[6, 12, 24], n_draws=3,
                               D=[1e-4, 1e-2], n_steps=40, save_every=10, horizons=[40, 10**6])
    assert r["C"].shape == r["C_theory"].shape == (2, 3, 3, 5)
    np.testing.assert_allclose(r["C_long"][..., 0], r["C_theory"][..., -1], rtol=1e-5)
    assert np.all(np.isfinite(r["C_long"]))
    assert r["test_mse"].shape == (2, 3, 3) and r["mean_curvature"].shape == (3, 3)
    assert np.all(np.isfinite(r["C"])) and np.all(r["C"] > 0)


def test_digits_label_noise_is_nested_and_at_the_requested_rate():
    d = dd.digits_data(0, n_train=1000, n_test=200, label_noise=[0.0, 0.2, 0.5])
    assert d["x_tr"].shape == (1000, 64) and d["ys_tr"].shape == (3, 1000, 10)
    assert d["flipped"][0] == 0
    # a random relabel keeps the true class with probability 1/10: flipped ≈ 0.9ρ; averaged over
    # 4 splits of 1000 labels the standard error is ≤ 0.008, tolerance 4 s.e.
    flipped = np.mean([dd.digits_data(s, n_train=1000, n_test=200, label_noise=[0.2, 0.5])["flipped"]
                       for s in range(4)], axis=0)
    np.testing.assert_allclose(flipped, [0.18, 0.45], atol=0.032)
    np.testing.assert_allclose(np.mean(np.sum(d["x_tr"] ** 2, 1)), 64, rtol=1e-10)


@pytest.mark.parametrize("call, match", [
    (lambda: dd.ridge_fit(np.ones((3, 2)), np.ones(3), -1e-3), "ridge"),
    (lambda: dd.ridge_fit(np.ones((3, 2)), np.ones(3), [0.0, -1.0]), "ridge"),
    (lambda: dd.ridge_fit(np.ones((3, 0)), np.ones(3)), "n_features"),
    (lambda: dd.random_features(np.ones((3, 2)), np.ones((2, 0))), "n_features"),
    (lambda: dd.draw_features(jax.random.key(0), jnp.ones((3, 2)), 0), "n_features"),
    (lambda: dd.rf_sweep(jax.random.key(0), np.ones((3, 2)), np.ones((1, 3, 1)), np.ones((2, 2)),
                         np.ones((2, 1)), sizes=[0, 4], n_draws=2), "n_features"),
    (lambda: dd.rf_sweep(jax.random.key(0), np.ones((3, 2)), np.ones((1, 3, 1)), np.ones((2, 2)),
                         np.ones((2, 1)), sizes=[4], n_draws=2, ridge=[-1.0]), "ridge"),
    (lambda: dd.random_features(np.ones((3, 2)), np.ones((2, 4)), "gelu"), "activation"),
    (lambda: dd.linear_risk_theory(0.0), "gamma"),
    (lambda: dd.simulate_linear_risk(jax.random.key(0), n=10, d=10, n_draws=2), "d must differ"),
    (lambda: dd.langevin_fit(jax.random.key(0), np.ones((3, 2)), np.ones(3), D=-1.0, n_steps=5), "D"),
    (lambda: dd.consolidation_sweep(jax.random.key(0), np.ones((3, 2)), np.ones((3, 1)), np.ones((2, 2)),
                                    np.ones((2, 1)), sizes=[4], n_draws=1, D=0.0, n_steps=4, save_every=2), "D"),
    (lambda: dd.digits_data(0, n_train=10, n_test=10, label_noise=[1.5]), "label_noise"),
])
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- notebook 03's convention under noise-free descent, and the verdict arithmetic --------------

def test_gd_consolidation_matches_direct_per_example_gradients():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((15, 4)), np.eye(3)[rng.integers(0, 3, 15)]
    T = 50
    r = dd.gd_consolidation_sweep(jax.random.key(2), x, y, sizes=[8, 30], n_draws=2, horizons=[T, 5000])
    assert r["C_pe"].shape == (2, 2, 2)
    # the same features by hand: key i of size p, split per draw, first half of the draw's split
    kw = jax.random.split(jax.random.split(jax.random.fold_in(jax.random.key(2), 1), 2)[0])[0]
    w = np.asarray(jax.random.normal(kw, (4, 30), jnp.float32), np.float64)
    z = np.maximum(x.astype(np.float32) @ w.astype(np.float32) / np.float32(2.0), 0).astype(np.float64)
    eta = 15 / np.linalg.eigvalsh(z.T @ z).max()
    a = np.zeros((30, 3))
    for _ in range(T):
        a -= eta * z.T @ (z @ a - y) / 15
    res = z @ a - y
    g = z.T @ res / 15
    per = np.einsum("np,nk->npk", z, res)       # per-example gradients g_i = z_i r_iᵀ
    tr_sigma = per.reshape(15, -1).var(0).sum()
    np.testing.assert_allclose(r["C_pe"][0, 1, 0], 2 * np.sum(g**2) / tr_sigma, rtol=1e-4)
    np.testing.assert_allclose(r["C_sgd"][0, 1, 0], r["C_pe"][0, 1, 0] * 15 / eta, rtol=1e-4)
    np.testing.assert_allclose(r["eta"][0, 1], eta, rtol=1e-5)


def test_all_of_and_table_errors_by_hand():
    P, F, I = (stats.threshold(1.0, True), stats.threshold(2.0, False), stats.Outcome(stats.INCONCLUSIVE, 3.0, None, "i"))
    assert dd.all_of([P, P]).outcome == stats.PASS
    assert dd.all_of([P, I, F]).outcome == stats.FAIL and dd.all_of([P, I, F]).measured == 2.0
    assert dd.all_of([P, I]).outcome == stats.INCONCLUSIVE
    # the seed's table: |Δ|/obs = 3.66, 2.53, 0.53 → 3.7, 2.5, 0.5 (row 2 off by 0.1);
    # |Δ|/pred = 3.53, 2.59, 0.52 → 3.5, 2.6, 0.5 (row 1 off by 0.2); row by row, some convention fits
    out = dd.table_error_outcomes([1247, 1580, 2100], [1203, 1621, 2089], [3.7, 2.6, 0.5])
    assert out["|Δ|/observed, rounded to 0.1"].outcome == stats.FAIL
    assert out["|Δ|/observed, rounded to 0.1"].measured == pytest.approx(0.1)
    assert out["|Δ|/predicted, rounded to 0.1"].measured == pytest.approx(0.2)
    assert out["each row its own normaliser"].outcome == stats.PASS


def test_ratio_and_peak_tests_by_hand():
    # geometric mean 4 with no spread: log10 4 = 0.602 ≥ log10 2
    assert dd.log_ratio_outcome([4.0, 4.0, 4.0], at_least=2).outcome == stats.PASS
    assert dd.log_ratio_outcome([1.0, 1.1, 0.9, 1.0], at_least=2).outcome == stats.FAIL
    assert dd.log_ratio_outcome([0.1, 10.0, 1.0], at_least=2).outcome == stats.INCONCLUSIVE
    assert dd.log_ratio_outcome([0.2, 0.25, 0.3], at_most=0.5).outcome == stats.PASS
    with pytest.raises(ValueError, match="ratios"):
        dd.log_ratio_outcome([1.0, 0.0], at_least=2)
    sizes = np.array([10, 20, 45, 50, 55, 100])
    risk = np.tile([1.0, 2.0, 5.0, 50.0, 6.0, 1.0], (8, 1))
    assert dd.peak_outcome(sizes, risk, 50).outcome == stats.PASS          # every draw peaks at p = n
    assert dd.peak_outcome(sizes, risk, 20).outcome == stats.FAIL          # p*/n = 2.5
    col, rec = dd.c_ratios(np.tile([2.0, 1.0, 4.0, 8.0], (3, 1)), [5, 10, 20, 50], 10)
    np.testing.assert_allclose(col, 0.5)    # C(n) / min(C(n/2), C(2n)) = 1 / min(2, 4)
    np.testing.assert_allclose(rec, 8.0)


def test_label_noise_ridge_and_linear_outcomes():
    rng = np.random.default_rng(7)
    base = np.exp(rng.standard_normal(10))
    grows = np.stack([base, 3 * base * np.exp(0.1 * rng.standard_normal(10)), 9 * base])
    assert dd.increasing_outcome(grows).outcome == stats.PASS
    assert dd.increasing_outcome(grows[::-1]).outcome == stats.FAIL
    flattening = np.stack([100 * base, 10 * base, np.full(10, 0.9)])
    assert dd.ridge_outcome(flattening).outcome == stats.PASS
    assert dd.ridge_outcome(flattening[::-1]).outcome == stats.FAIL
    risk = 2.0 + 0.05 * rng.standard_normal((400, 2))
    assert dd.linear_outcome(risk, np.array([2.0, np.inf])).outcome == stats.PASS
    assert dd.linear_outcome(risk, np.array([3.0, np.inf])).outcome == stats.FAIL
