"""Potentials with known physics, and the escape-rate formulas tested against them.

Every potential acts element-wise and sums, so a state of any shape (one
particle, a vector of ``d`` coordinates) has energy ``U(x) = Σ_k u(x_k)``.
The 1-D landmarks (minima, saddle, curvatures, barrier heights) describe ``u``.

Conventions follow the overdamped Langevin equation of seed 002::

    dx = -∇U(x) dt + sqrt(2D) dW        (Itô)

whose stationary density is the Gibbs measure ``exp(-U/D)/Z``.

References:
    Kramers, H. A. (1940). Brownian motion in a field of force. Physica 7, 284.
    Hänggi, Talkner & Borkovec (1990). Reaction-rate theory. Rev. Mod. Phys. 62, 251.
    Gardiner, C. W. (2009). Stochastic Methods, §5.5 (mean first-passage times).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from scipy import integrate

from shld_jax import _validate as v


class DoubleWell(NamedTuple):
    """Quartic double well ``u(x) = barrier·((x/a)² − 1)² + tilt·x`` (tilt > 0 lifts the right well)."""

    a: float = 1.0
    barrier: float = 1.0
    tilt: float = 0.0

    def energy(self, x):
        """``U(x) = Σ_k u(x_k)``; ``x`` of any shape, returns a scalar."""
        y = (x / self.a) ** 2 - 1.0
        return jnp.sum(self.barrier * y**2 + self.tilt * x)

    def grad(self, x):
        """``∇U(x)`` element-wise: ``4·barrier·x·((x/a)² − 1)/a² + tilt``; same shape as ``x``."""
        return 4.0 * self.barrier * x * ((x / self.a) ** 2 - 1.0) / self.a**2 + self.tilt

    def curvature(self, x):
        """``u''(x) = 4·barrier·(3x²/a² − 1)/a²`` element-wise."""
        return 4.0 * self.barrier * (3.0 * (x / self.a) ** 2 - 1.0) / self.a**2

    def u(self, x):
        """The 1-D potential ``u(x)`` element-wise (numpy or jax arrays)."""
        return self.barrier * ((x / self.a) ** 2 - 1.0) ** 2 + self.tilt * x

    def stationary_points(self) -> np.ndarray:
        """Real roots of ``u'(x) = 0``, sorted (3 for a double well, 1 if the tilt kills a well)."""
        b, a = self.barrier, self.a
        # 4b/a⁴·x³ − 4b/a²·x + tilt = 0
        r = np.roots([4 * b / a**4, 0.0, -4 * b / a**2, self.tilt])
        r = np.sort(r[np.abs(r.imag) < 1e-9].real)
        if len(r) != 3:
            raise ValueError(
                f"`DoubleWell`: tilt = {self.tilt} is too large for barrier = {self.barrier}, "
                f"a = {self.a}: the potential has a single minimum."
            )
        return r

    @property
    def minima(self) -> tuple[float, float]:
        """(left minimum, right minimum) of ``u``."""
        r = self.stationary_points()
        return float(r[0]), float(r[2])

    @property
    def saddle(self) -> float:
        """The barrier top (local maximum) of ``u``."""
        return float(self.stationary_points()[1])

    def barrier_from(self, x_min: float) -> float:
        """Barrier height ``u(saddle) − u(x_min)`` seen from a minimum."""
        return float(self.u(self.saddle) - self.u(x_min))


def double_well(a: float = 1.0, barrier: float = 1.0) -> DoubleWell:
    """Symmetric double well ``u(x) = barrier·((x/a)² − 1)²``: minima ±a, saddle 0.

    Landmarks: ``u''(±a) = 8·barrier/a²``, ``u''(0) = −4·barrier/a²``,
    barrier height ``ΔU = barrier``.
    """
    v.positive("double_well", "a", a)
    v.positive("double_well", "barrier", barrier)
    return DoubleWell(float(a), float(barrier), 0.0)


def tilted_double_well(a: float = 1.0, barrier: float = 1.0, tilt: float = 0.25) -> DoubleWell:
    """Double well with a linear tilt: a shallow well (right for ``tilt > 0``) and a deep one."""
    v.positive("tilted_double_well", "a", a)
    v.positive("tilted_double_well", "barrier", barrier)
    w = DoubleWell(float(a), float(barrier), float(tilt))
    w.stationary_points()  # raises if the tilt removes a well
    return w


class Quadratic(NamedTuple):
    """Separable quadratic ``U(θ) = ½ Σ_i λ_i θ_i²`` (``eigenvalues`` has the state's shape)."""

    eigenvalues: tuple  # floats; a tuple keeps the potential hashable (a static jit argument)

    @property
    def lam(self):
        return jnp.asarray(self.eigenvalues, jnp.float32)

    def energy(self, x):
        return 0.5 * jnp.sum(self.lam * x**2)

    def grad(self, x):
        return self.lam * x

    def curvature(self, x):
        return jnp.broadcast_to(self.lam, jnp.shape(x))


def quadratic(eigenvalues) -> Quadratic:
    """``U(θ) = ½ Σ λ_i θ_i²`` with Hessian ``diag(λ)``; all ``λ_i > 0`` required (flattened)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.ndim == 0 or lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError(
            f"`quadratic`: eigenvalues must be a non-empty array of finite numbers > 0, "
            f"got eigenvalues = {eigenvalues!r}."
        )
    return Quadratic(tuple(float(x) for x in lam.reshape(-1)))


# --------------------------------------------------------------------------- rates


def _landmarks(potential: DoubleWell, x_min: float | None):
    lo, hi = potential.minima
    x_min = lo if x_min is None else x_min
    dU = potential.barrier_from(x_min)
    k_min = float(potential.curvature(np.float64(x_min)))
    k_sad = float(potential.curvature(np.float64(potential.saddle)))
    return dU, k_min, k_sad


def kramers_rate(potential: DoubleWell, D: float, *, x_min: float | None = None) -> float:
    """Overdamped Kramers escape rate from the minimum ``x_min`` (default: the left one).

    ``Γ_K = sqrt(u''(x_min)·|u''(x_saddle)|)/(2π) · exp(−ΔU/D)``, valid for ``ΔU/D ≫ 1``
    (relative corrections O(D/ΔU)). ``1/Γ_K`` is the mean time to reach the *other*
    well; the mean time to reach the barrier top is about half of it.
    """
    D = v.positive("kramers_rate", "D", D)
    dU, k_min, k_sad = _landmarks(potential, x_min)
    return math.sqrt(k_min * abs(k_sad)) / (2 * math.pi) * math.exp(-dU / D)


def kramers_rate_seed(potential: DoubleWell, D: float, *, x_min: float | None = None) -> float:
    """Seed 002, theorem 2, as written: ``Γ = (ω₀/2π)·exp(−ΔE/D)`` with ω₀ the curvature at the minimum.

    Kept to be tested: it drops the saddle curvature, so it is off by the factor
    ``sqrt(u''(min)/|u''(saddle)|)`` (√2 for the symmetric quartic well).
    """
    D = v.positive("kramers_rate_seed", "D", D)
    dU, k_min, _ = _landmarks(potential, x_min)
    return k_min / (2 * math.pi) * math.exp(-dU / D)


def exact_mfpt(potential, x_start: float, x_end: float, D: float, *, n_grid: int = 20001,
               pad: float = 3.0) -> float:
    """Exact mean first-passage time of 1-D overdamped Langevin from ``x_start`` to ``x_end``.

    For ``x_end > x_start`` (reflecting boundary at −∞)::

        τ = (1/D) ∫_{x_start}^{x_end} dy e^{u(y)/D} ∫_{−∞}^{y} dz e^{−u(z)/D}

    and the mirror image for ``x_end < x_start``. Evaluated by cumulative trapezoid
    quadrature on ``n_grid`` points, with the inner integral cut ``pad`` length
    units beyond the outer limits (``e^{−u/D}`` is negligible there for confining ``u``).
    Exponents are shifted by ``u(x_min)`` so the products stay in floating range.
    """
    D = v.positive("exact_mfpt", "D", D)
    v.positive_int("exact_mfpt", "n_grid", n_grid)
    if not (math.isfinite(x_start) and math.isfinite(x_end)) or x_start == x_end:
        raise ValueError(
            f"`exact_mfpt`: x_start and x_end must be finite and distinct, got "
            f"x_start = {x_start}, x_end = {x_end}."
        )
    sign = 1.0 if x_end > x_start else -1.0
    # mirror so that we always integrate to the right
    s0, s1 = sign * x_start, sign * x_end

    def u(y):
        return np.asarray(potential.u(sign * y), dtype=np.float64)

    y = np.linspace(min(s0, s1) - pad, s1, n_grid)
    uy = u(y)
    shift = uy.min()
    inner = integrate.cumulative_trapezoid(np.exp(-(uy - shift) / D), y, initial=0.0)
    m = y >= s0
    outer = np.exp((uy[m] - shift) / D) * inner[m] / D
    return float(integrate.trapezoid(outer, y[m]))


def gibbs_density(potential, x, D: float):
    """Normalised Gibbs density ``exp(−u(x)/D)/Z`` on a 1-D grid ``x`` (trapezoid Z)."""
    D = v.positive("gibbs_density", "D", D)
    x = np.asarray(x, dtype=np.float64)
    ux = np.asarray(potential.u(x), dtype=np.float64)
    w = np.exp(-(ux - ux.min()) / D)
    return w / integrate.trapezoid(w, x)
