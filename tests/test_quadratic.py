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
