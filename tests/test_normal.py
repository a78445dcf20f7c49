"""The engine's normal generators: the default is jax.random.normal bit for bit; the Box–Muller option
passes moments, KS, lag-correlation and spectral tests at 10⁶ samples (10⁸: benchmarks/validate_normal.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from jax.extend.random import threefry2x32_p

from shld_jax import _normal as N
from shld_jax import _langevin as L
from shld_jax import _potentials as P


def test_unrolled_threefry_equals_the_jax_primitive():
    x0 = jnp.arange(4096, dtype=jnp.uint32) * jnp.uint32(7919)
    x1 = jnp.arange(4096, dtype=jnp.uint32) ^ jnp.uint32(0xDEADBEEF)
    k0, k1 = jnp.uint32(0x12345678), jnp.uint32(0x9ABCDEF0)
    for a, b in zip(threefry2x32_p.bind(k0, k1, x0, x1), N.threefry2x32(k0, k1, x0, x1)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("shape", [(1,), (7,), (1000, 3), (5, 2, 3), (100_003,)])
def test_default_generator_is_jax_random_normal_bit_for_bit(shape):
    for seed in (0, 12345):
        k = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), 17), 0)
        ref = np.asarray(jax.random.normal(k, shape)).view(np.uint32)
        for got in (N.normal(k, shape), jax.jit(N.normal, static_argnums=1)(k, shape),
                    N.normal(jax.random.key_data(k), shape)):
            np.testing.assert_array_equal(np.asarray(got).view(np.uint32), ref)


def _bm(n, seed=0):
    return np.asarray(N.box_muller(jax.random.key(seed), (n,)), np.float64)


def test_box_muller_moments_and_ks_at_1e6():
    z = _bm(1_000_000)
    se = 1 / np.sqrt(z.size)
    assert abs(z.mean()) < 5 * se
    assert abs(z.var() - 1) < 5 * np.sqrt(2) * se
    assert abs(stats.skew(z)) < 5 * np.sqrt(6) * se
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24) * se
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # tails: P(|z| > 3) and P(|z| > 4) within 5 standard errors of the normal law
    for c in (3.0, 4.0):
        p = 2 * stats.norm.sf(c)
        assert abs(np.mean(np.abs(z) > c) - p) < 5 * np.sqrt(p / z.size)


def test_box_muller_has_no_correlation_across_particles_or_steps():
    key, n, T = jax.random.key(3), 4096, 256
    Z = np.stack([np.asarray(N.box_muller(jax.random.fold_in(jax.random.fold_in(key, t), 0), (n,)))
                  for t in range(T)])  # [steps, particles], keyed as the engine keys it
    lim = 5 / np.sqrt(Z.size)
    for lag in (1, 2, 3, 7, 64):
        assert abs(np.mean(Z[:, lag:] * Z[:, :-lag])) < lim * 1.01 * np.sqrt(Z.size / Z[:, lag:].size)  # particles
        assert abs(np.mean(Z[lag:] * Z[:-lag])) < lim * 1.01 * np.sqrt(Z.size / Z[lag:].size)  # steps
    # spectral test: the periodogram along particles of white noise is flat, each ordinate ~ Exp(1)
    F = np.abs(np.fft.rfft(Z, axis=1)[:, 1:-1]) ** 2 / n
    spec = F.mean(axis=0)  # [n/2 − 1] frequencies, each a mean of T Exp(1)
    assert abs(spec.mean() - 1) < 5 / np.sqrt(F.size)
    assert np.max(np.abs(spec - 1)) < 6 / np.sqrt(T)  # no frequency sticks out (Bonferroni-ish)
    G = np.abs(np.fft.rfft(Z, axis=0)[1:-1]) ** 2 / T  # along steps
    assert np.max(np.abs(G.mean(axis=1) - 1)) < 6 / np.sqrt(n)


def test_cos_2pi_polynomial_accuracy():
    u = np.linspace(0, 1, 1_000_001, dtype=np.float32)[:-1]
    err = np.abs(np.asarray(N.cos_2pi(jnp.asarray(u)), np.float64) - np.cos(2 * np.pi * u.astype(np.float64)))
    assert err.max() < 5e-7


def test_box_muller_engine_passes_ou_variance_and_mfpt():
    k, D, dt, n = 2.0, 0.5, 0.1, 40_000
    x = L.euler_maruyama(P.quadratic([k]).grad, jnp.zeros((n, 1)), key=jax.random.key(1), dt=dt, D=D, n_steps=400,
                         ensemble=True, noise="box-muller")
    assert abs(float(np.var(np.asarray(x))) / (D / (k * (1 - k * dt / 2))) - 1) < 0.03
    w = P.double_well()
    fpt = np.asarray(L.first_passage_times(w.grad, jnp.full((4000,), -1.0), L.Above(1.0), key=jax.random.key(0),
                                           dt=0.01, D=0.5, n_steps=15_000, noise="box-muller"))
    assert np.all(fpt != L.NEVER)
    assert np.mean(fpt) * 0.01 == pytest.approx(P.exact_mfpt(w, -1.0, 1.0, 0.5), rel=0.06)


def test_box_muller_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError, match="noise"):
        N.draw(jax.random.key(0), (3,), jnp.float16, "box-muller")
    with pytest.raises(ValueError, match="noise"):
        N.draw(jax.random.key(0), (3,), jnp.float32, "ziggurat")
