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

    def stationary_points(self, call: str = "DoubleWell") -> np.ndarray:
        """Real roots of ``u'(x) = 0``, sorted (3 for a double well; raises if the tilt kills a well)."""
        b, a = self.barrier, self.a
        for name, x in (("a", a), ("barrier", b), ("tilt", self.tilt)):
            v.finite(call, name, x)
        # 4b/a⁴·x³ − 4b/a²·x + tilt = 0; a single minimum when |tilt| ≥ 8b/(3√3·a)
        with np.errstate(all="ignore"):
            a64, b64 = np.float64(a), np.float64(b)  # numpy: overflow gives inf, not an exception
            coef = [float(4 * b64 / a64**4), 0.0, float(-4 * b64 / a64**2), float(self.tilt)]
        msg = (f"`{call}`: u'(x) = 0 cannot be solved in float64 for a = {a!r}, barrier = {b!r}, "
               f"tilt = {self.tilt!r} (the coefficients overflow); rescale the potential.")
        if not all(np.isfinite(coef)) or coef[0] == 0:
            raise ValueError(msg)
        try:
            with np.errstate(all="ignore"):
                r = np.roots(coef)
        except np.linalg.LinAlgError:
            raise ValueError(msg) from None
        r = np.sort(r[np.abs(r.imag) < 1e-9].real)
        if len(r) != 3:
            raise ValueError(
                f"`{call}`: tilt = {self.tilt} is too large for barrier = {self.barrier}, "
                f"a = {self.a}: the potential has a single minimum (|tilt| must be < "
                f"8·barrier/(3√3·a) = {8 * b / (3 * math.sqrt(3) * a):.4g})."
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
    v.finite("tilted_double_well", "tilt", tilt)
    w = DoubleWell(float(a), float(barrier), float(tilt))
    w.stationary_points("tilted_double_well")  # raises if the tilt removes a well
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
    try:
        lam = np.asarray(eigenvalues, dtype=np.float64)
    except (TypeError, ValueError):
        lam = np.zeros(())  # refused below, with the value echoed
    if lam.ndim == 0 or lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError(
            f"`quadratic`: eigenvalues must be a non-empty array of finite numbers > 0, "
            f"got eigenvalues = {eigenvalues!r}."
        )
    for x in lam.reshape(-1):
        v.float32("quadratic", "eigenvalues", float(x))  # the potential computes in float32
    return Quadratic(tuple(float(x) for x in lam.reshape(-1)))


# --------------------------------------------------------------------------- rates


def _landmarks(call: str, potential: DoubleWell, x_min: float | None):
    if not isinstance(potential, DoubleWell):
        raise TypeError(
            f"`{call}`: potential must be a DoubleWell (double_well / tilted_double_well: the rate needs "
            f"two minima and a saddle), got potential = {potential!r}."
        )
    lo, hi = (float(r) for r in potential.stationary_points(call)[[0, 2]])
    if x_min is None:
        x_min = lo
    else:
        x = v.finite(call, "x_min", x_min)
        # the rate is a property of a well: x_min selects one of the two minima
        near = [m for m in (lo, hi) if abs(x - m) <= 1e-6 * max(potential.a, abs(m))]
        if not near:
            raise ValueError(
                f"`{call}`: x_min must be one of the potential's minima ({lo:.10g}, {hi:.10g}), got "
                f"x_min = {x_min!r} (u'(x_min) = {float(potential.grad(np.float64(x))):.3g}, "
                f"u''(x_min) = {float(potential.curvature(np.float64(x))):.3g})."
            )
        x_min = x
    with np.errstate(all="ignore"):
        dU = potential.barrier_from(x_min)
        k_min = float(potential.curvature(np.float64(x_min)))
        k_sad = float(potential.curvature(np.float64(potential.saddle)))
    if not (math.isfinite(dU) and math.isfinite(k_min) and math.isfinite(k_sad) and dU > 0 and k_min > 0
            and k_sad < 0):
        raise ValueError(
            f"`{call}`: the well's landmarks are not finite in float64 (barrier height {dU!r}, curvatures "
            f"{k_min!r} at the minimum and {k_sad!r} at the saddle); rescale the potential, got "
            f"potential = {potential!r}."
        )
    return dU, k_min, k_sad


def kramers_rate(potential: DoubleWell, D: float, *, x_min: float | None = None) -> float:
    """Overdamped Kramers escape rate from the minimum ``x_min`` (default: the left one).

    ``Γ_K = sqrt(u''(x_min)·|u''(x_saddle)|)/(2π) · exp(−ΔU/D)``, valid for ``ΔU/D ≫ 1``
    (relative corrections O(D/ΔU)). ``1/Γ_K`` is the mean time to reach the *other*
    well; the mean time to reach the barrier top is about half of it.
    """
    D = v.positive("kramers_rate", "D", D)
    dU, k_min, k_sad = _landmarks("kramers_rate", potential, x_min)
    return v.finite_result("kramers_rate", math.sqrt(k_min * abs(k_sad)) / (2 * math.pi) * math.exp(-dU / D),
                           f"the prefactor overflows for potential = {potential!r}")


def kramers_rate_seed(potential: DoubleWell, D: float, *, x_min: float | None = None) -> float:
    """Seed 002, theorem 2, as written: ``Γ = (ω₀/2π)·exp(−ΔE/D)`` with ω₀ the curvature at the minimum.

    Kept to be tested: it drops the saddle curvature, so it is off by the factor
    ``sqrt(u''(min)/|u''(saddle)|)`` (√2 for the symmetric quartic well).
    """
    D = v.positive("kramers_rate_seed", "D", D)
    dU, k_min, _ = _landmarks("kramers_rate_seed", potential, x_min)
    return v.finite_result("kramers_rate_seed", k_min / (2 * math.pi) * math.exp(-dU / D),
                           f"the prefactor overflows for potential = {potential!r}")


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
    call = "exact_mfpt"
    D = v.positive(call, "D", D)
    n_grid = v.positive_int(call, "n_grid", n_grid)
    if n_grid < 3:
        raise ValueError(f"`{call}`: n_grid must be an integer >= 3, got n_grid = {n_grid!r}.")
    pad = v.positive(call, "pad", pad)
    x_start = v.finite(call, "x_start", x_start)
    x_end = v.finite(call, "x_end", x_end)
    if x_start == x_end:
        raise ValueError(f"`{call}`: x_start and x_end must be distinct, got x_start = x_end = {x_start}.")
    u_fn = _potential_u(call, potential)
    sign = 1.0 if x_end > x_start else -1.0
    # mirror so that we always integrate to the right
    s0, s1 = sign * x_start, sign * x_end

    def u(y):
        return np.asarray(u_fn(sign * y), dtype=np.float64)

    y = np.linspace(min(s0, s1) - pad, s1, n_grid)
    with np.errstate(all="ignore"):  # an overflow is refused just below, with the reason
        uy = u(y)
    if uy.shape != y.shape or not np.all(np.isfinite(uy)):
        raise ValueError(f"`{call}`: potential.u must be finite element-wise on [{y[0]:.4g}, {y[-1]:.4g}], "
                         f"got shape {uy.shape} with non-finite values.")
    m = y >= s0
    if m.sum() < 3:
        raise ValueError(
            f"`{call}`: n_grid = {n_grid} puts {int(m.sum())} grid points between x_start and x_end "
            f"(need >= 3); raise n_grid."
        )
    shift = uy.min()
    with np.errstate(over="ignore", invalid="ignore"):
        inner = integrate.cumulative_trapezoid(np.exp(-(uy - shift) / D), y, initial=0.0)
        outer = np.exp((uy[m] - shift) / D) * inner[m] / D
        tau = float(integrate.trapezoid(outer, y[m]))
    if not math.isfinite(tau):
        raise ValueError(
            f"`{call}`: the mean first-passage time overflows float64 at D = {D!r} (barrier/D = "
            f"{(uy[m].max() - shift) / D:.4g} > ~700); the time is astronomically long: use kramers_rate, "
            "or a larger D."
        )
    return tau


def _potential_u(call: str, potential):
    u = getattr(potential, "u", None)
    if not callable(u):
        raise TypeError(
            f"`{call}`: potential must have a 1-D element-wise method u(x) (e.g. double_well()), got "
            f"potential = {potential!r}."
        )
    return u


def gibbs_density(potential, x, D: float):
    """Normalised Gibbs density ``exp(−u(x)/D)/Z`` on a 1-D grid ``x`` (trapezoid Z)."""
    call = "gibbs_density"
    D = v.positive(call, "D", D)
    u_fn = _potential_u(call, potential)
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{call}`: x must be a 1-D array of numbers, got x = {x!r}.") from None
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)) or not np.all(np.diff(x) > 0):
        raise ValueError(
            f"`{call}`: x must be a finite, strictly increasing 1-D grid of >= 2 points (the density is "
            f"normalised by the trapezoid rule on it), got x of shape {x.shape}"
            + (f" = {x!r}" if x.size <= 8 else "") + "."
        )
    with np.errstate(all="ignore"):  # an overflow is refused just below, with the reason
        ux = np.asarray(u_fn(x), dtype=np.float64)
    if ux.shape != x.shape or not np.all(np.isfinite(ux)):
        raise ValueError(f"`{call}`: potential.u must be finite on the grid x, got shape {ux.shape} with "
                         "non-finite values.")
    with np.errstate(over="ignore", under="ignore"):
        w = np.exp(-(ux - ux.min()) / D)
        Z = integrate.trapezoid(w, x)
    if not (math.isfinite(Z) and Z > 0):
        raise ValueError(f"`{call}`: the normaliser Z = {Z!r} is not a finite positive number on this grid "
                         f"(x spans [{x[0]:.4g}, {x[-1]:.4g}]).")
    with np.errstate(over="ignore"):
        return v.finite_result(call, w / Z, f"the grid's span {x[-1] - x[0]!r} is too small to normalise on")
