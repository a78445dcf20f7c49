"""The LLC estimator (sj.local_learning_coefficient) against known learning coefficients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shld_jax import _llc as L

# Sampler settings of the test (stated): n = 1000 samples, nβ = n/log n ≈ 144.8, γ = 1,
# ε = 5e-4 (max k·ε ≈ 0.15: EM bias ≤ 4 %), 16 chains × 2000 draws, 400 burn-in.
N, EPS, GAMMA, CHAINS, STEPS, BURN = 1000, 5e-4, 1.0, 16, 2000, 400


def quad(a):
    return lambda w: 0.5 * jnp.sum(a * w["w"] ** 2)


@pytest.mark.parametrize("d", [4, 10])
def test_regular_quadratic_gives_half_the_dimension(d):
    a = jnp.linspace(0.5, 2.0, d)
    res = jax.jit(lambda k: L.local_learning_coefficient(
        quad(a), {"w": jnp.zeros(d)}, n=N, key=k, step_size=EPS, gamma=GAMMA,
        n_chains=CHAINS, n_steps=STEPS, n_burnin=BURN))(jax.random.key(d))
    exact = L.quadratic_llc_expected(a, n=N, step_size=EPS, gamma=GAMMA)
    # the EM chain's exact expectation is within 5 % of d/2 at these settings ...
    assert abs(exact - d / 2) < 0.05 * d / 2
    # ... and the estimate is within 4 standard errors of it (SE from the chains) and within 10 % of d/2
    se = float(res.llc_std) / np.sqrt(CHAINS)
    assert abs(float(res.llc) - exact) < 4 * se + 1e-3
    assert abs(float(res.llc) - d / 2) < 0.1 * d / 2
    chk = L.llc_converged(res, n_burnin=BURN, flat_tol=0.15, agree_tol=0.5)
    assert chk["flat"] and chk["agree"], chk
    assert res.trace.shape == (STEPS, CHAINS)


def test_degenerate_quartic_has_a_smaller_coefficient():
    """K(w) = w1² + w2⁴: λ = 1/2 + 1/4 = 0.75 < d/2 = 1 (a singular direction lowers λ)."""
    f = lambda w: w["w"][0] ** 2 + w["w"][1] ** 4
    res = L.local_learning_coefficient(f, {"w": jnp.zeros(2)}, n=N, key=jax.random.key(0), step_size=EPS,
                                       gamma=GAMMA, n_chains=CHAINS, n_steps=STEPS, n_burnin=BURN)
    assert float(res.llc) < 0.95   # well below the regular value 1 (λ = 0.75 plus finite-n, γ effects)
    assert float(res.llc) > 0.5


def test_bad_sampler_settings():
    f = quad(jnp.ones(2))
    with pytest.raises(ValueError, match="step_size"):
        L.local_learning_coefficient(f, {"w": jnp.zeros(2)}, n=N, key=jax.random.key(0), step_size=0.0, gamma=1.0)
    with pytest.raises(ValueError, match="n_burnin"):
        L.local_learning_coefficient(f, {"w": jnp.zeros(2)}, n=N, key=jax.random.key(0), step_size=1e-3,
                                     gamma=1.0, n_steps=10, n_burnin=10)
