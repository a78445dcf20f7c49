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
    sq = np.sum(x**2, axis=-1)
    C = np.sum((lam * x) ** 2, axis=-1) / (D * d)
    steps = np.arange(x.shape[0]) * save_every
    t = steps * dt
    th = np.broadcast_to(np.asarray(theta0, np.float64), lam.shape)
    return {"t": t, "loss": loss, "sq": sq, "C": C, "exact": exact_mean_loss(lam, th, D, t),
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
    sp = r["sq"][k0:].mean(0)
    n = lp.size
    return {"floor": lp.mean(), "floor_se": lp.std(ddof=1) / math.sqrt(n), "C": cp.mean(),
            "C_se": cp.std(ddof=1) / math.sqrt(n), "msd": sp.mean(), "msd_se": sp.std(ddof=1) / math.sqrt(n),
            "msd_exact": float(np.sum(D / lam)), "msd_em": float(np.sum(D / (lam * (1 - lam * dt / 2)))),
            "floor_exact": D * lam.size / 2, "floor_em": float(np.sum(D / (2 * (1 - lam * dt / 2)))),
            "C_exact": float(lam.mean()), "C_em": float(np.mean(lam / (1 - lam * dt / 2)))}


def uncertainty_quadratic(eigs, *, theta0, D, dt, n_steps, n_particles, key, save_every, groups=20):
    """Theorem 1 along a relaxation from a point mass at ``θ0``, per coordinate.

    Returns ``t [T]``, ``product [T, d]`` (``√Var θ_i·√Var ∂_iℒ`` over the ensemble),
    ``cov [T, d]``, ``trace_product [T]`` (``√tr Cov θ·√tr Cov ∇ℒ``), ``group_product [groups, d]``
    (per particle group, averaged over the last quarter of frames) and the exact EM stationary
    product ``D/(1 − λdt/2)`` ``[d]``.
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
    # the trace reading: sqrt(tr Cov θ)·sqrt(tr Cov ∇ℒ), and per-group stationary products (last quarter)
    var = x.var(axis=1, ddof=1)  # [T, d]
    trace = np.sqrt(var.sum(-1)) * np.sqrt((lam**2 * var).sum(-1))
    k0 = x.shape[0] - max(x.shape[0] // 4, 1)
    grp = np.array_split(np.arange(x.shape[1]), groups)
    gprod = np.array([(lam * x[k0:, g].var(axis=1, ddof=1)).mean(0) for g in grp])  # [groups, d]
    return {"t": t, "product": np.array(prod), "cov": np.array(cov), "eigs": lam, "trace_product": trace,
            "group_product": gprod, "exact_em": D / (1 - lam * dt / 2), "D": float(D),
            "n_particles": int(n_particles)}


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


# --------------------------------------------------------------------------- the verdict arithmetic ([2.1])

from shld_jax import stats as _stats  # noqa: E402
from shld_jax.experiments.double_well import universal  # noqa: E402
from shld_jax.stats import Outcome  # noqa: E402

T4_UNITS = ("E[ℒ] − ℒ* (as written)", "E‖θ − θ*‖² (units θ²)")
"""The two readings of Theorem 4's left-hand side: the loss, or the squared distance (steelman)."""


def seed_bound_theta2(sq0, lam_min, D, d, t) -> np.ndarray:
    """Theorem 4 read in units of θ²: ``‖θ0 − θ*‖² e^{−λ_min t} + D·d/λ_min``."""
    lam_min = v.positive("seed_bound_theta2", "lam_min", lam_min)
    return sq0 * np.exp(-lam_min * np.asarray(t, float)) + D * d / lam_min


def _t4_series(run, units):
    lam, D, d, t = run["eigs"], run["D"], run["d"], run["t"]
    if units == T4_UNITS[0]:
        return run["loss"], seed_convergence_bound(run["L0"], lam.min(), D, d, t)
    if units == T4_UNITS[1]:
        return run["sq"], seed_bound_theta2(float(run["sq"][0].mean()), lam.min(), D, d, t)
    raise ValueError(f"`t4`: units must be one of {T4_UNITS}, got units = {units!r}")


def t4_outcome(runs, units) -> Outcome:
    """Theorem 4 as a bound that must hold on every spectrum (a counterexample refutes it).

    Per spectrum: the per-particle time average of ``y(t) − bound(t)`` over the last 20 % of
    frames, one-sided t bound ``≤ 0`` (:func:`stats.bound`); combined with :func:`universal`.
    ``measured`` is the stationary ``y / bound`` of the spectrum that decides.
    """
    outs, ratios = [], []
    for r in runs:
        y, b = _t4_series(r, units)
        k0 = int(0.8 * (len(r["t"]) - 1))
        ex = (y[k0:] - b[k0:, None]).mean(0)
        m, se, df = _stats.mean_se(ex)
        outs.append(_stats.bound(m, se, at_most=0.0, df=df))
        ratios.append(float(y[k0:].mean() / b[k0:].mean()))
    o = universal(outs, test="per spectrum, stationary excess over the bound ≤ 0: " +
                  "; ".join(f"{x.outcome} ({x.test})" for x in outs))
    i = next((j for j, x in enumerate(outs) if x.outcome == o.outcome), 0)
    return o._replace(measured=ratios[i], spread=None)


def frames_above(run, units, *, z: float = 3.0) -> int:
    """Frames where the ensemble mean exceeds the bound by more than ``z`` standard errors."""
    y, b = _t4_series(run, units)
    se = y.std(1, ddof=1) / math.sqrt(y.shape[1])
    return int(np.sum(y.mean(1) - z * se > b))


def floor_equality_outcome(runs, units, *, margin: float = 0.10) -> Outcome:
    """"The error floor is D·d/λ_min": relative TOST of the stationary floor on every spectrum."""
    outs = []
    for r in runs:
        y = r["loss"] if units == T4_UNITS[0] else r["sq"]
        k0 = int(0.8 * (len(r["t"]) - 1))
        m, se, df = _stats.mean_se(y[k0:].mean(0))
        target = r["D"] * r["d"] / r["eigs"].min()
        outs.append(_stats.equivalence(m / target, se / target, target=1.0, margin=margin, relative=True, df=df))
    return universal(outs)


def loglog_slope(x, y, y_se) -> tuple[float, float, int]:
    """Weighted least-squares slope of ``ln y`` on ``ln x`` (weights ``y/y_se``), its standard error and dof."""
    x, y, s = (np.asarray(a, np.float64) for a in (x, y, y_se))
    if x.size < 3 or np.any(y <= 0) or np.any(s <= 0):
        raise ValueError(f"`loglog_slope`: need >= 3 points with y > 0 and y_se > 0, got y = {y}, y_se = {s}")
    p, cov = np.polyfit(np.log(x), np.log(y), 1, w=y / s, cov="unscaled")
    return float(p[0]), float(math.sqrt(cov[0, 0])), int(x.size - 2)


def slope_outcome(x, y, y_se, *, target: float = 1.0, margin: float = 0.05) -> Outcome:
    """TOST of a log–log slope ``≈ target ± margin`` (absolute), standard error from the weighted fit."""
    s, se, _ = loglog_slope(x, y, y_se)
    return _stats.equivalence(s, se, target=target, margin=margin)


def regime(C: float) -> str:
    """The seed's C table: diffusive (< 1), critical (≈ 1, here 1–2), transitional (< 10), deterministic."""
    return "diffusive" if C < 1 else "critical" if C < 2 else "transitional" if C <= 10 else "deterministic"


def equilibrium_diffusive_outcome(C_means, C_ses) -> Outcome:
    """Reading "a thermal equilibrium is the diffusive regime": stationary C ≤ 1 on every spectrum (one-sided)."""
    return universal([_stats.bound(m, s, at_most=1.0) for m, s in zip(C_means, C_ses)])


def scale_outcome(scales, C_means, C_ses) -> Outcome:
    """Reading "the regime is a property of the dynamics": the same Euler–Maruyama chain under
    ``ℒ → sℒ, D → sD, dt → dt/s`` must get one regime. Fail iff the smallest scale is shown
    diffusive (C < 1) and the largest deterministic (C > 10); pass iff every scale is shown in
    one and the same regime band; else inconclusive."""
    i, j = int(np.argmin(scales)), int(np.argmax(scales))
    lo = _stats.bound(C_means[i], C_ses[i], at_most=1.0)
    hi = _stats.bound(C_means[j], C_ses[j], at_least=10.0)
    regimes = {regime(c) for c in C_means}
    if lo.outcome == "pass" and hi.outcome == "pass":
        out = "fail"
    elif len(regimes) == 1:
        out = "pass"
    else:
        out = "inconclusive"
    return Outcome(out, float(C_means[j] / C_means[i]), None,
                   f"C(s = {scales[i]:g}) ≤ 1 [{lo.test}] and C(s = {scales[j]:g}) ≥ 10 [{hi.test}] for one "
                   f"chain ⇒ two regimes; regimes seen: {sorted(regimes)}")


def t1_any_outcome(unc, reading: str) -> Outcome:
    """Theorem 1 "for any distribution": a counterexample is the ensemble shortly after a point mass.

    ``reading`` "per coordinate" uses ``min_i √Var θ_i·√Var ∂_iℒ``, "trace" ``√tr Cov θ·√tr Cov ∇ℒ``;
    both at the first frame after t = 0 (a Gaussian of small variance, no degenerate law).
    Fail iff the product there is below D/2 by more than 3 relative standard errors of a
    variance estimate (``3·√(2/(n−1))``, n particles).
    """
    D = unc["D"]
    val = float(unc["product"][1].min() if reading == "per coordinate" else unc["trace_product"][1]) / D
    n = unc.get("n_particles", 2)
    rel = 3 * math.sqrt(2 / max(n - 1, 1))
    out = "fail" if val * (1 + rel) < 0.5 else "pass" if val * (1 - rel) >= 0.5 else "inconclusive"
    return Outcome(out, val, val * rel / 3,
                   f"product/D ≥ 1/2 at t = {unc['t'][1]:g} after a point mass ({reading}); ±3 rel. s.e. {rel:.3f}")


def t1_stationary_outcome(group_products, D, dw_products, dw_ses) -> Outcome:
    """Theorem 1 at the Gibbs law: product/D ≥ 1/2 in every case (quadratic coordinates, double-well D's)."""
    outs = []
    g = np.asarray(group_products, np.float64) / D  # [groups, d]
    for i in range(g.shape[1]):
        m, se, df = _stats.mean_se(g[:, i])
        outs.append(_stats.bound(m, se, at_least=0.5, df=df))
    for m, s in zip(dw_products, dw_ses):
        outs.append(_stats.bound(m, s, at_least=0.5))
    ms = [o.measured for o in outs]
    k = int(np.argmin(ms))
    return universal(outs, measured=ms[k], spread=outs[k].spread,
                     test=f"one-sided bound product/D ≥ 0.5 in all {len(outs)} cases (smallest: {outs[k].test})")


def _ratio_tost(values, ses, exact, margin: float, text) -> Outcome:
    """TOST of ``value/exact = 1 ± margin`` at every point, reported at the worst point;
    ``text(n, worst_test)`` words the combined test."""
    outs = [_stats.equivalence(v / e, s / e, target=1.0, margin=margin, relative=True)
            for v, s, e in zip(values, ses, exact)]
    k = int(np.argmax([abs(o.measured - 1) for o in outs]))
    return universal(outs, measured=outs[k].measured, spread=outs[k].spread, test=text(len(outs), outs[k].test))


def gibbs_product_outcome(dwu, *, margin: float = 0.05) -> Outcome:
    """Anchor: simulated double-well product ≈ Gibbs quadrature (relative TOST) at every D."""
    return _ratio_tost(dwu["product"], dwu["product_se"], dwu["product_exact"], margin,
                       lambda n, worst: f"TOST product/Gibbs = 1 ± {margin:g} at every D (worst: {worst})")


def em_exact_outcome(em, *, margin: float = 0.02) -> Outcome:
    """Anchor: the measured stationary variance equals the exact discrete ``D/(k(1 − k·dt/2))`` at every dt."""
    return _ratio_tost(em["var"], em["var_se"], em["exact_em"], margin,
                       lambda n, worst: f"TOST Var/Var_EM = 1 ± {margin:g} at all {n} step sizes (worst: {worst})")


def em_order_outcome(em, *, lo: float = 0.05, hi: float = 0.4, target: float = 1.0, margin: float = 0.25) -> Outcome:
    """The continuum limit: the relative bias ``Var/(D/k) − 1`` vanishes at first order in ``k·dt``.

    Weighted log–log slope of the bias against ``k·dt`` over ``[lo, hi]``, TOST ``target ± margin``
    (order 1 against ½ or 2). ``em`` from :func:`em_variance_sweep` with ``k = 1``.
    """
    sel = (em["dt"] >= lo) & (em["dt"] <= hi)
    bias = em["var"][sel] / em["continuum"][sel] - 1
    se = em["var_se"][sel] / em["continuum"][sel]
    if sel.sum() < 3 or np.any(bias <= 0):
        return Outcome("inconclusive", None, None, f"cannot fit the order: {int(sel.sum())} step sizes in "
                       f"[{lo:g}, {hi:g}], biases {np.round(bias, 4).tolist()} (need >= 3, all > 0)")
    o = slope_outcome(em["dt"][sel], bias, se, target=target, margin=margin)
    return o._replace(test=f"weighted log–log slope of Var/(D/k) − 1 in k·dt over [{lo:g}, {hi:g}]: " + o.test)


def seed_code_variance(k: float, D: float, *, lr: float, dt: float, n_particles: int, n_steps: int,
                       seed: int = 0) -> dict:
    """Stationary variance of the seed's own ``step`` (``θ − lr·∇ℒ + √(2D·dt)ξ``) on ``ℒ = kθ²/2``.

    Runs the numpy port (:class:`shld_jax.reference.StochasticHarmonicLearning`) with ``dim =
    n_particles`` independent coordinates. Its exact value is ``(D·dt/lr)/(k(1 − k·lr/2))``: the
    chain is Euler–Maruyama with step ``lr`` at temperature ``D·dt/lr``.
    """
    from shld_jax.reference import StochasticHarmonicLearning

    rng = np.random.default_rng(seed)
    shl = StochasticHarmonicLearning(lambda th: 0.5 * k * float(np.sum(th**2)), lambda th: k * th,
                                     dim=int(n_particles), lr=lr, noise_scale=D, normal=rng.standard_normal)
    th = np.zeros(int(n_particles))
    for _ in range(int(n_steps)):
        th = shl.step(th, dt=dt)
    var = float(np.var(th, ddof=1))
    return {"var": var, "var_se": var * math.sqrt(2 / (n_particles - 1)), "gibbs": D / k,
            "exact": (D * dt / lr) / (k * (1 - k * lr / 2))}


def gibbs_variance_outcome(r: dict, *, margin: float = 0.10) -> Outcome:
    """TOST of the stationary variance against the Gibbs ``D/k`` (relative ``±margin``)."""
    return _stats.equivalence(r["var"] / r["gibbs"], r["var_se"] / r["gibbs"], target=1.0, margin=margin,
                              relative=True)
