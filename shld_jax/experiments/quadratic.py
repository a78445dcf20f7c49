"""Experiments of notebook 02: Langevin on ``ℒ(θ) = ½ Σ λ_i θ_i²`` and seed 002's theorems.

Closed forms for ``dθ = −∇ℒ dt + sqrt(2D) dW`` (Ornstein–Uhlenbeck per coordinate,
all particles started at the same ``θ0``):

* mean ``m_i(t) = θ0_i e^{−λ_i t}``, variance ``v_i(t) = (D/λ_i)(1 − e^{−2λ_i t})``,
  ``E[ℒ(t)] − ℒ* = Σ_i ½λ_i (m_i² + v_i)`` → ``D·d/2`` (equipartition);
* Euler–Maruyama with step ``dt`` (``r_i = 1 − λ_i dt``): ``m_i(k) = r_i^k θ0_i``,
  ``v_i(k) = D/(λ_i(1 − λ_i dt/2))·(1 − r_i^{2k})``;
* at stationarity ``E[C] = E‖∇ℒ‖²/(D·d) = tr(H)/d`` (EM: ``mean λ_i/(1 − λ_i dt/2)``).

Every runner returns numpy arrays; the simulations use :func:`shld_jax._langevin.simulate`
(sharded over devices).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import integrate

from shld_jax import _validate as v
from shld_jax import _diagnostics as dg
from shld_jax import _langevin as L
from shld_jax import _potentials as P


def log_spectrum(d: int, lam_min: float, lam_max: float) -> np.ndarray:
    """``d`` eigenvalues geometrically spaced in ``[lam_min, lam_max]`` (float64 ``[d]``)."""
    d = v.positive_int("log_spectrum", "d", d)
    lo = v.positive("log_spectrum", "lam_min", lam_min)
    hi = v.positive("log_spectrum", "lam_max", lam_max)
    if hi < lo:
        raise ValueError(f"`log_spectrum`: lam_max must be >= lam_min, got lam_min = {lo}, lam_max = {hi}.")
    return np.geomspace(lo, hi, d) if d > 1 else np.array([lo])


def _eigs(call, eigs):
    lam = np.asarray(eigs, dtype=np.float64).reshape(-1)
    if lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError(f"`{call}`: eigs must be finite and > 0, got eigs = {eigs!r}.")
    return lam


def exact_mean_loss(eigs, theta0, D, t) -> np.ndarray:
    """Continuum ``E[ℒ(t)] − ℒ* = Σ_i ½λ_i(θ0_i² e^{−2λ_i t} + (D/λ_i)(1 − e^{−2λ_i t}))`` for times ``t``."""
    lam = _eigs("exact_mean_loss", eigs)
    D = v.non_negative("exact_mean_loss", "D", D)
    th = np.broadcast_to(np.asarray(theta0, np.float64), lam.shape)
    t = np.asarray(t, np.float64)[..., None]
    e = np.exp(-2 * lam * t)
    return np.sum(0.5 * lam * th**2 * e + 0.5 * D * (1 - e), axis=-1)


def exact_mean_loss_em(eigs, theta0, D, dt, steps) -> np.ndarray:
    """Exact ``E[ℒ_k] − ℒ*`` of the Euler–Maruyama chain after ``steps`` steps of size ``dt``."""
    lam = _eigs("exact_mean_loss_em", eigs)
    D = v.non_negative("exact_mean_loss_em", "D", D)
    dt = v.positive("exact_mean_loss_em", "dt", dt)
    if np.any(lam * dt >= 2):
        raise ValueError(f"`exact_mean_loss_em`: need λ·dt < 2 for a stationary chain, got max λ·dt = "
                         f"{lam.max() * dt}.")
    th = np.broadcast_to(np.asarray(theta0, np.float64), lam.shape)
    k = np.asarray(steps, np.float64)[..., None]
    r2k = (1 - lam * dt) ** (2 * k)
    var = D / (lam * (1 - lam * dt / 2)) * (1 - r2k)
    return np.sum(0.5 * lam * (th**2 * r2k + var), axis=-1)


def seed_convergence_bound(L0, lam_min, D, d, t) -> np.ndarray:
    """Seed 002, Theorem 4 as written: ``(ℒ0 − ℒ*)e^{−λ_min t} + D·d/λ_min``."""
    lam_min = v.positive("seed_convergence_bound", "lam_min", lam_min)
    return L0 * np.exp(-lam_min * np.asarray(t, float)) + D * d / lam_min


def corrected_convergence_bound(L0, lam_min, D, d, t) -> np.ndarray:
    """A bound that holds for every quadratic: ``(ℒ0 − ℒ*)e^{−2λ_min t} + D·d/2`` (tight as t → ∞)."""
    lam_min = v.positive("corrected_convergence_bound", "lam_min", lam_min)
    return L0 * np.exp(-2 * lam_min * np.asarray(t, float)) + D * d / 2


def convergence_run(eigs, *, theta0, D, dt, n_steps, n_particles, key, save_every):
    """Ensemble of ``n_particles`` started at ``θ0``; per-frame losses and consolidation ratios.

    Returns a dict with ``t [T]``, ``loss [T, n]`` (``ℒ − ℒ*``), ``C [T, n]``, the exact
    continuum and EM mean losses ``exact [T]``, ``exact_em [T]``, ``L0`` and the spectrum.
    """
    lam = _eigs("convergence_run", eigs)
    q = P.quadratic(lam)
    d = lam.size
    x0 = jnp.broadcast_to(jnp.asarray(theta0, jnp.float32), (n_particles, d))
    res = L.simulate(q.grad, x0, key=key, dt=dt, D=D, n_steps=n_steps, save_every=save_every)
    x = np.asarray(res.trajectory, np.float64)  # [T, n, d]
    loss = 0.5 * np.sum(lam * x**2, axis=-1)
    C = np.sum((lam * x) ** 2, axis=-1) / (D * d)
    steps = np.arange(x.shape[0]) * save_every
    t = steps * dt
    th = np.broadcast_to(np.asarray(theta0, np.float64), lam.shape)
    return {"t": t, "loss": loss, "C": C, "exact": exact_mean_loss(lam, th, D, t),
            "exact_em": exact_mean_loss_em(lam, th, D, dt, steps), "L0": float(np.sum(0.5 * lam * th**2)),
            "eigs": lam, "D": float(D), "d": d}


def stationary_floor(eigs, *, D, dt, n_steps, n_particles, key, save_every, burn_frac=0.5):
    """Stationary ``E[ℒ] − ℒ*`` and ``E[C]`` from an ensemble started at the minimum.

    Frames after ``burn_frac`` of the run are pooled. Returns a dict with the
    measured ``floor``, its standard error over particles ``floor_se``, ``C``, ``C_se`` and
    the closed forms ``D·d/2``, EM ``Σ D/(2(1 − λdt/2))``, ``tr H/d`` and EM ``mean λ/(1 − λdt/2)``.
    """
    lam = _eigs("stationary_floor", eigs)
    r = convergence_run(lam, theta0=0.0, D=D, dt=dt, n_steps=n_steps, n_particles=n_particles, key=key,
                        save_every=save_every)
    k0 = int(math.ceil(burn_frac * (r["t"].size - 1)))
    lp = r["loss"][k0:].mean(0)  # per particle time average
    cp = r["C"][k0:].mean(0)
    n = lp.size
    return {"floor": lp.mean(), "floor_se": lp.std(ddof=1) / math.sqrt(n), "C": cp.mean(),
            "C_se": cp.std(ddof=1) / math.sqrt(n),
            "floor_exact": D * lam.size / 2, "floor_em": float(np.sum(D / (2 * (1 - lam * dt / 2)))),
            "C_exact": float(lam.mean()), "C_em": float(np.mean(lam / (1 - lam * dt / 2)))}


def uncertainty_quadratic(eigs, *, theta0, D, dt, n_steps, n_particles, key, save_every):
    """Theorem 1 along a relaxation from a point mass at ``θ0``, per coordinate.

    Returns ``t [T]``, ``product [T, d]`` (``√Var θ_i·√Var ∂_iℒ`` over the ensemble),
    ``cov [T, d]`` and the exact EM stationary product ``D/(1 − λdt/2)`` ``[d]``.
    """
    lam = _eigs("uncertainty_quadratic", eigs)
    q = P.quadratic(lam)
    x0 = jnp.broadcast_to(jnp.asarray(theta0, jnp.float32), (n_particles, lam.size))
    res = L.simulate(q.grad, x0, key=key, dt=dt, D=D, n_steps=n_steps, save_every=save_every)
    x = np.asarray(res.trajectory, np.float64)
    prod, cov = [], []
    for xt in x:
        u = dg.uncertainty_relation(xt, lam * xt)
        prod.append(np.asarray(u.product))
        cov.append(np.asarray(u.covariance))
    t = np.arange(x.shape[0]) * save_every * dt
    return {"t": t, "product": np.array(prod), "cov": np.array(cov), "eigs": lam,
            "exact_em": D / (1 - lam * dt / 2), "D": float(D)}


def gibbs_moments_double_well(potential, D, *, lim=4.0, n_grid=40001):
    """Exact Gibbs ``Var θ``, ``Var u'``, ``Cov(θ, u')`` of a 1-D potential by quadrature."""
    D = v.positive("gibbs_moments_double_well", "D", D)
    x = np.linspace(-lim, lim, n_grid)
    p = P.gibbs_density(potential, x, D)
    g = np.asarray(potential.grad(x), np.float64)
    m = integrate.trapezoid(x * p, x)
    mg = integrate.trapezoid(g * p, x)
    var = integrate.trapezoid((x - m) ** 2 * p, x)
    varg = integrate.trapezoid((g - mg) ** 2 * p, x)
    cov = integrate.trapezoid((x - m) * (g - mg) * p, x)
    return {"var_theta": var, "var_grad": varg, "cov": cov, "product": math.sqrt(var * varg)}


def uncertainty_double_well(potential, Ds, *, dt, n_steps, n_particles, key, groups=20):
    """Theorem 1 at stationarity in a 1-D double well for several ``D``.

    Particles start half in each well (``±a``, the Gibbs law is symmetric), run
    ``n_steps``; returns per-D measured ``product``, ``cov`` with standard errors from
    ``groups`` independent particle groups, and the quadrature values.
    """
    Ds = np.asarray(Ds, float)
    a = potential.minima[1]
    out = {k: [] for k in ("product", "product_se", "cov", "cov_se", "product_exact", "cov_exact")}
    keys = jax.random.split(key, Ds.size)
    for D, k in zip(Ds, keys):
        x0 = jnp.where(jnp.arange(n_particles) % 2 == 0, -a, a).astype(jnp.float32)
        x = np.asarray(L.simulate(potential.grad, x0, key=k, dt=dt, D=float(D), n_steps=n_steps).position,
                       np.float64)
        g = np.asarray(potential.grad(x), np.float64)
        grp = [dg.uncertainty_relation(xx, gg) for xx, gg in zip(np.array_split(x, groups), np.array_split(g, groups))]
        u = dg.uncertainty_relation(x, g)
        out["product"].append(float(u.product))
        out["cov"].append(float(u.covariance))
        out["product_se"].append(float(np.std([float(q.product) for q in grp], ddof=1) / math.sqrt(groups)))
        out["cov_se"].append(float(np.std([float(q.covariance) for q in grp], ddof=1) / math.sqrt(groups)))
        ex = gibbs_moments_double_well(potential, float(D))
        out["product_exact"].append(ex["product"])
        out["cov_exact"].append(ex["cov"])
    return {"D": Ds, **{k: np.asarray(val) for k, val in out.items()}}


def em_variance_sweep(k, D, dts, *, n_particles, key, efolds=30.0, min_steps=100):
    """Stationary variance of Euler–Maruyama OU chains vs ``dt``.

    Each chain starts at 0 and runs until the variance's distance to stationarity
    has decayed by ``efolds`` e-folds. Returns ``dt``, measured ``var`` with standard error ``var_se`` (``var·sqrt(2/(n−1))``),
    the exact discrete ``D/(k(1 − k·dt/2))`` and the continuum ``D/k``.
    """
    k = v.positive("em_variance_sweep", "k", k)
    D = v.positive("em_variance_sweep", "D", D)
    dts = np.asarray(dts, float)
    if np.any(dts <= 0) or np.any(k * dts >= 2):
        raise ValueError(f"`em_variance_sweep`: need 0 < k·dt < 2, got dts = {dts.tolist()} with k = {k}.")
    q = P.quadratic([k])
    var = []
    for dt, kk in zip(dts, jax.random.split(key, dts.size)):
        # the variance relaxes as r^{2n}, r = 1 − k·dt: run ``efolds`` e-folds of it
        r = abs(1.0 - k * dt)
        n_steps = min_steps if r < 1e-12 else max(int(math.ceil(efolds / (-2.0 * math.log(r)))), min_steps)
        x = L.simulate(q.grad, jnp.zeros((n_particles, 1)), key=kk, dt=float(dt), D=D, n_steps=n_steps).position
        var.append(float(np.var(np.asarray(x, np.float64), ddof=1)))
    var = np.asarray(var)
    return {"dt": dts, "var": var, "var_se": var * math.sqrt(2 / (n_particles - 1)),
            "exact_em": D / (k * (1 - k * dts / 2)), "continuum": np.full_like(dts, D / k)}
