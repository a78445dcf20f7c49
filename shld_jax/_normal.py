"""Counter-based normal draws for the Langevin engine, fused into the step.

Two generators, both functions of ``(key, flat index)`` only, so element ``i`` of a draw
is the same whatever the array's size or the number of devices it is sharded over:

* :func:`normal` (the engine's default, ``noise="threefry"``): **bit for bit**
  ``jax.random.normal(key, shape, float32)`` under JAX's partitionable threefry
  (``jax_threefry_partitionable=True``, the default since JAX 0.5). Element ``e`` is

  .. math::

     b_e = y_0 \\oplus y_1,\\quad (y_0, y_1) = \\mathrm{Threefry2x32_{20}}(k, (0, e)),\\qquad
     u_e = \\max(\\ell, 2(1.m_e - 1) - 1),\\qquad z_e = \\sqrt{2}\\,\\mathrm{erf}^{-1}(u_e),

  with :math:`m_e` the top 23 bits of :math:`b_e` and :math:`\\ell` the float32 after −1
  (``jax._src.random``: ``_threefry_random_bits_partitionable``, ``_uniform``,
  ``_normal_real``). Only the lowering differs: on CPU JAX emits threefry as a
  rolled 5-iteration loop that XLA cannot fuse with its consumer, so the bits are
  written to memory and read back; here the 20 rounds are plain unrolled ``uint32``
  operations (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3",
  SC'11, the Threefry-2x32-20 of Random123) that fuse into the Euler–Maruyama step.

* :func:`box_muller` (``noise="box-muller"``, an option): one Threefry-2x32-20 call per
  element, its two 32-bit words made into uniforms :math:`u_1, u_2 \\in (0, 1)` and
  then (Box & Muller 1958)

  .. math::

     z_e = \\sqrt{-2\\log u_1}\\;\\cos(2\\pi u_2),

  with a polynomial cosine on the reduced quarter turn (max abs error ~4e−7). It avoids
  ``erfinv`` and the XOR of the two words (each word feeds one uniform). A different
  stream from ``jax.random.normal``; validated in ``tests/test_normal.py`` (moments, KS,
  lag correlations across steps and particles, a spectral test; 10⁶ samples) and
  ``benchmarks/validate_normal.py`` (10⁸ samples).

Both are restricted to float32 and fewer than 2³² elements per draw; :func:`draw` falls
back to ``jax.random.normal`` otherwise (same stream for ``"threefry"``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

_ROT = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)
GENERATORS = ("threefry", "box-muller")
"""Values of the engine's ``noise=`` argument."""


def _rotl(x, r):
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(k0, k1, x0, x1):
    """Threefry-2x32 with 20 rounds, unrolled; equals ``jax.extend.random.threefry2x32_p``.

    ``k0, k1``: uint32 scalars (the key); ``x0, x1``: uint32 counter arrays. Returns the
    two uint32 output words.
    """
    ks = (k0, k1, k0 ^ k1 ^ _PARITY)
    x0 = x0 + ks[0]
    x1 = x1 + ks[1]
    for s in range(5):
        for r in _ROT[s % 2]:
            x0 = x0 + x1
            x1 = _rotl(x1, r)
            x1 = x0 ^ x1
        x0 = x0 + ks[(s + 1) % 3]
        x1 = x1 + ks[(s + 2) % 3] + np.uint32(s + 1)
    return x0, x1


def _flat_index(shape):
    """uint32 row-major flat index of an array of ``shape``, built from broadcasted iotas
    (as JAX's ``iota_2x32_shape`` does) so that XLA's SPMD partitioner splits it."""
    idx = jnp.zeros(shape, jnp.uint32)
    stride = 1
    for ax in range(len(shape) - 1, -1, -1):
        idx = idx + jax.lax.broadcasted_iota(jnp.uint32, shape, ax) * np.uint32(stride)
        stride *= shape[ax]
    return idx


def _raw_key(key):
    """``(k0, k1)`` uint32 words of a threefry key (typed ``jax.random.key`` or raw ``uint32[2]``)."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return key[0], key[1]


def _supported(key, shape, dtype) -> bool:
    if np.dtype(dtype) != np.float32 or math.prod(shape) >= 2**32:
        return False
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return str(jax.random.key_impl(key)) == "threefry2x32" and key.shape == ()
    # a raw uint32 key is read with the default implementation
    return (key.shape == (2,) and key.dtype == jnp.uint32
            and jax.config.jax_default_prng_impl == "threefry2x32")


def normal(key, shape, dtype=jnp.float32):
    """``jax.random.normal(key, shape, dtype)`` bit for bit (threefry, float32), fusible on CPU."""
    shape = tuple(int(s) for s in shape)
    if not _supported(key, shape, dtype):
        return jax.random.normal(key, shape, dtype)
    k0, k1 = _raw_key(key)
    y0, y1 = threefry2x32(k0, k1, jnp.zeros(shape, jnp.uint32), _flat_index(shape))
    bits = y0 ^ y1
    one = np.array(1.0, np.float32).view(np.uint32)
    f = jax.lax.bitcast_convert_type((bits >> np.uint32(9)) | one, jnp.float32) - np.float32(1.0)
    lo = np.nextafter(np.float32(-1.0), np.float32(0.0))
    u = jax.lax.max(lo, f * (np.float32(1.0) - lo) + lo)
    return np.float32(np.sqrt(2)) * jax.lax.erf_inv(u)


def _open_unit(b):
    """uint32 → float32 uniform on the open interval (0, 1): the top 24 bits, centred in their cell."""
    return ((b >> np.uint32(8)).astype(jnp.float32) + np.float32(0.5)) * np.float32(2.0**-24)


def cos_2pi(u):
    """``cos(2πu)`` for ``u ∈ [0, 1)``: quarter-turn reduction and degree-8/9 Taylor polynomials.

    On the reduced argument ``|f| ≤ π/4`` the truncation error is below 4e−8 (sin) and 3e−9 (cos);
    float32 rounding gives a max abs error of about 4e−7 against ``numpy.cos`` in float64.
    """
    q = jnp.floor(u * np.float32(4.0) + np.float32(0.5))
    f = (u - q * np.float32(0.25)) * np.float32(2 * np.pi)
    f2 = f * f
    s = f + f * f2 * (np.float32(-1 / 6) + f2 * (np.float32(1 / 120) + f2 * (
        np.float32(-1 / 5040) + f2 * np.float32(1 / 362880))))
    c = np.float32(1.0) + f2 * (np.float32(-0.5) + f2 * (np.float32(1 / 24) + f2 * (
        np.float32(-1 / 720) + f2 * np.float32(1 / 40320))))
    qi = q.astype(jnp.int32) & 3  # cos(f + qπ/2) = c, −s, −c, s
    return jnp.where(qi == 0, c, jnp.where(qi == 1, -s, jnp.where(qi == 2, -c, s)))


def box_muller(key, shape, dtype=jnp.float32):
    """Standard normals by Box–Muller on Threefry-2x32-20 words; element ``e`` uses counter ``(e, 0)``."""
    shape = tuple(int(s) for s in shape)
    if not _supported(key, shape, dtype):
        raise ValueError(
            f"`box_muller`: needs a threefry key, float32 and fewer than 2**32 elements, got key dtype "
            f"{key.dtype}, shape {shape}, dtype {np.dtype(dtype)}."
        )
    k0, k1 = _raw_key(key)
    y0, y1 = threefry2x32(k0, k1, _flat_index(shape), jnp.zeros(shape, jnp.uint32))
    return jnp.sqrt(np.float32(-2.0) * jnp.log(_open_unit(y0))) * cos_2pi(_open_unit(y1))


def draw(key, shape, dtype, generator: str = "threefry"):
    """Normals of ``shape``/``dtype`` from ``generator`` (one of :data:`GENERATORS`)."""
    if generator == "threefry":
        return normal(key, shape, dtype)
    if generator == "box-muller":
        if not _supported(key, tuple(shape), dtype):
            raise ValueError(
                f"`noise`: 'box-muller' needs float32 states and a threefry key, got dtype "
                f"{np.dtype(dtype)} for a leaf of shape {tuple(shape)}; use noise='threefry'."
            )
        return box_muller(key, shape, dtype)
    raise ValueError(f"`noise`: must be one of {GENERATORS}, got noise = {generator!r}.")
