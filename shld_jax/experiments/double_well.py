"""Experiments of notebook 01: noise-assisted barrier crossing in a quartic double well.

Each runner is a pure function of its arguments (a key included) returning plain
numpy arrays / dicts, so it can be cached and unit-tested. Time is in the SDE's
units; one Euler–Maruyama step is ``dt`` time units (``dt = 0.01`` matches the
seed's ``lr = 0.01`` drift step).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import integrate

from shld_jax import _validate as v
from shld_jax import _langevin as L
from shld_jax import _potentials as P
from shld_jax.reference import StochasticHarmonicLearning


Above = L.Above
Below = L.Below


def trajectories(potential, *, D, dt, n_steps, n_particles, key, x0=-1.0, save_every=10):
    """Sample paths of 1-D particles started at ``x0``: returns ``times [T]``, ``x [T, n]``."""
    x0 = jnp.full((n_particles,), x0, jnp.float32)
    times, traj = L.euler_maruyama(potential.grad, x0, key=key, dt=dt, D=D, n_steps=n_steps,
                                   save_every=save_every, ensemble=True)
    return np.asarray(times), np.asarray(traj)


def _bin_probabilities(potential, edges, D):
    fine = np.linspace(edges[0] - 1, edges[-1] + 1, 40001)
    dens = P.gibbs_density(potential, fine, D)
    cdf = integrate.cumulative_trapezoid(dens, fine, initial=0.0)
    return np.diff(np.interp(edges, fine, cdf))


def tv_distance(samples, p, edges):
    """Total-variation distance ``½ Σ_k |p̂_k − p_k|`` between binned samples and bin probabilities.

    Mass outside the bins counts as disagreement. Also returns the Monte-Carlo floor
    ``E[TV] ≈ Σ_k sqrt(p_k(1−p_k)/(2π n))`` for ``n`` exact samples (half-normal mean).
    """
    n = samples.size
    p_hat = np.histogram(samples, bins=edges)[0] / n
    tv = 0.5 * np.sum(np.abs(p_hat - p)) + 0.5 * (1 - p_hat.sum())
    floor = float(np.sum(np.sqrt(p * (1 - p) / (2 * math.pi * n))))
    return float(tv), floor


def stationary_histogram(potential, *, D, dt, n_steps, n_particles, key, bins=80, lim=2.0, groups=4):
    """Histogram of the ensemble after ``n_steps`` against the Gibbs density ``e^{−U/D}/Z`` (theorem 3).

    Particles start spread evenly over ``[−lim/2, lim/2]`` (both wells). Returns bin
    centres, the empirical and the Gibbs density (bin-averaged by quadrature), and
    the total-variation distance per disjoint group of particles with its Monte-Carlo
    floor (``ratio = TV/floor`` ≈ 1 for exact Gibbs samples; spread over groups).
    """
    v.positive_int("stationary_histogram", "groups", groups)
    x0 = jnp.linspace(-lim / 2, lim / 2, n_particles, dtype=jnp.float32)
    x = np.asarray(L.euler_maruyama(potential.grad, x0, key=key, dt=dt, D=D, n_steps=n_steps, ensemble=True))
    edges = np.linspace(-lim, lim, bins + 1)
    p = _bin_probabilities(potential, edges, D)
    width = np.diff(edges)
    tv, floor = tv_distance(x, p, edges)
    # interleaved groups, so each group spans the initial spread
    per = [tv_distance(x[g::groups], p, edges) for g in range(groups)]
    ratios = np.array([a / b for a, b in per])
    return {
        "centres": 0.5 * (edges[1:] + edges[:-1]),
        "empirical": np.histogram(x, bins=edges)[0] / x.size / width,
        "gibbs": p / width,
        "tv": tv,
        "tv_floor": floor,
        "group_ratio": ratios,
        "samples": x,
    }


def escape_rates(potential, inv_D, *, dt, n_particles, key, horizon=12.0, x_start=None, x_end=None,
                 max_steps=400_000):
    """Mean first-passage time from one minimum to the other, per noise level.

    For each ``1/D`` in ``inv_D`` the ensemble runs ``horizon × exact MFPT / dt``
    steps (capped at ``max_steps``), so censoring is negligible (reported anyway).
    Returns arrays over ``inv_D``: simulated MFPT (mean and standard error), the
    exact MFPT, ``1/Γ_Kramers``, ``1/Γ_seed``, the MFPT to the barrier top, and the
    censored fraction.
    """
    lo, hi = potential.minima
    x_start = lo if x_start is None else x_start
    x_end = hi if x_end is None else x_end
    target = Above(x_end) if x_end > x_start else Below(x_end)
    top = Above(potential.saddle) if x_end > x_start else Below(potential.saddle)
    out = {k: [] for k in ("mfpt", "mfpt_se", "exact", "kramers", "seed", "exact_top", "mfpt_top", "censored")}
    x0 = jnp.full((n_particles,), x_start, jnp.float32)
    for i, b in enumerate(np.asarray(inv_D, float)):
        D = 1.0 / b
        exact = P.exact_mfpt(potential, x_start, x_end, D)
        n_steps = int(min(max_steps, math.ceil(horizon * exact / dt)))
        k = jax.random.fold_in(key, i)
        fpt = np.asarray(L.first_passage_times(potential.grad, x0, target, key=k, dt=dt, D=D, n_steps=n_steps))
        fpt_top = np.asarray(L.first_passage_times(potential.grad, x0, top, key=k, dt=dt, D=D, n_steps=n_steps))
        hit = fpt != L.NEVER
        t = fpt[hit] * dt
        out["mfpt"].append(t.mean() if t.size else np.nan)
        out["mfpt_se"].append(t.std(ddof=1) / math.sqrt(t.size) if t.size > 1 else np.nan)
        out["censored"].append(1.0 - hit.mean())
        out["mfpt_top"].append((fpt_top[fpt_top != L.NEVER] * dt).mean())
        out["exact"].append(exact)
        out["exact_top"].append(P.exact_mfpt(potential, x_start, potential.saddle, D))
        out["kramers"].append(1.0 / P.kramers_rate(potential, D, x_min=x_start))
        out["seed"].append(1.0 / P.kramers_rate_seed(potential, D, x_min=x_start))
    return {"inv_D": np.asarray(inv_D, float), **{k: np.asarray(v_) for k, v_ in out.items()}}


def consolidation_near_saddle(potential, x, D, *, width=0.1):
    """C = U'(x)²/D at the sampled states within ``width`` of the barrier top (where crossings happen).

    Returns the array of C values; empty if no state came that close.
    """
    x = np.asarray(x).reshape(-1)
    near = np.abs(x - potential.saddle) < width
    return np.asarray(potential.grad(x[near])) ** 2 / D


def consolidation_along_paths(potential, *, D, dt, n_steps, n_particles, key, x0=-1.0, save_every=10):
    """C(t) = ‖∇U‖²/(D·d) along 1-D paths started at ``x0`` (d = 1).

    Returns times, C ``[T, n]``, and the Gibbs prediction ``E[C] = E[U'']`` (by
    integration by parts, ``E[U'²] = D·E[U'']`` under ``e^{−U/D}``) by quadrature.
    """
    times, x = trajectories(potential, D=D, dt=dt, n_steps=n_steps, n_particles=n_particles, key=key,
                            x0=x0, save_every=save_every)
    C = np.asarray(potential.grad(x)) ** 2 / D
    fine = np.linspace(-4, 4, 40001)
    dens = P.gibbs_density(potential, fine, D)
    EC = float(integrate.trapezoid(dens * np.asarray(potential.curvature(fine)), fine))
    return {"times": times, "x": x, "C": C, "gibbs_EC": EC}


class InterventionResult(NamedTuple):
    """Escape fractions (runs reaching the deep well) per variant, within each step budget."""

    variants: tuple
    budgets: tuple
    fractions: np.ndarray  # [variant, budget]
    std_err: np.ndarray  # [variant, budget] binomial standard error
    boosted_fraction: np.ndarray  # [variant]: mean fraction of steps with boosted D


SEED_TEXT = L.Boost(threshold=0.5, factor=10.0, duration=1, warmup=0)
"""Seed 002's text: "At C(t) < 0.5, increase D by 10×" (memoryless: boosted while C < 0.5)."""

CORRECTED = L.Boost(threshold=0.5, factor=10.0, duration=10, warmup=50)
"""What the seed's code intends: boost once C < 0.5 after step 50, restore after 10 steps."""


def intervention(potential, *, D, dt, n_runs, budgets, key, variants=None):
    """The seed's noise-assisted escape: start in the shallow (right) well, count escapes to the deep one.

    ``variants`` maps names to ``Boost`` or ``None``. Escape means reaching the deep
    minimum (not just the barrier top). Every variant sees the same noise stream.
    """
    v.positive_int("intervention", "n_runs", n_runs)
    variants = {"none": None, "seed text (x10 while C<0.5)": SEED_TEXT,
                "corrected (x10 for 10 steps)": CORRECTED} if variants is None else variants
    deep, shallow = potential.minima
    x0 = jnp.full((n_runs,), shallow, jnp.float32)
    n_steps = int(max(budgets))
    fr, se, bf = [], [], []
    for name, boost in variants.items():
        res = L.simulate(potential.grad, x0, key=key, dt=dt, D=D, n_steps=n_steps, target_fn=Below(deep),
                         boost=boost)
        fpt = np.asarray(res.first_passage)
        hit = [(fpt != L.NEVER) & (fpt <= b) for b in budgets]
        f = np.array([h.mean() for h in hit])
        fr.append(f)
        se.append(np.sqrt(f * (1 - f) / n_runs))
        bf.append(0.0 if boost is None else float(np.asarray(res.boosted_steps).mean() / n_steps))
    return InterventionResult(tuple(variants), tuple(int(b) for b in budgets), np.array(fr), np.array(se),
                              np.array(bf))


def seed_code_intervention(potential, *, D, dt, n_runs, n_steps, seed=0):
    """Run the seed's own ``train(adaptive_noise=True)`` (numpy port) ``n_runs`` times.

    Uses ``lr = dt`` so that the port is the same Euler–Maruyama chain as the engine.
    Returns, per run: whether it reached the deep well, the final D, the number of
    boosts, and whether the state overflowed to NaN/inf.
    """
    deep, shallow = potential.minima
    rng = np.random.default_rng(seed)
    escaped, final_D, n_boosts, overflow = [], [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_runs):
            shl = StochasticHarmonicLearning(
                lambda th: float(np.asarray(potential.energy(th))),
                lambda th: np.asarray(potential.grad(th), dtype=np.float64),
                dim=1, lr=dt, noise_scale=D, normal=rng.standard_normal,
            )
            r = shl.train(np.array([shallow]), n_steps=n_steps, dt=dt, adaptive_noise=True)
            tr = r["trajectory"][:, 0]
            escaped.append(bool(np.any(tr <= deep)))
            final_D.append(shl.D)
            n_boosts.append(len(r["interventions"]))
            overflow.append(not np.all(np.isfinite(tr)))
    return {"escaped": np.array(escaped), "final_D": np.array(final_D), "n_boosts": np.array(n_boosts),
            "overflow": np.array(overflow)}


def explore(D: float = 0.5, barrier: float = 1.0):
    """Figure for the interactive explorer of notebook 01: U, the Gibbs density and the escape rates.

    Analytic only (instant): ``exp(−U/D)/Z`` on a grid, the exact MFPT rate and Kramers' rate.
    Returns ``(fig, rates)`` with ``rates = {"exact": Γ, "kramers": Γ_K, "seed": Γ_seed}`` in 1/time.
    """
    import matplotlib.pyplot as plt

    w = P.double_well(barrier=barrier)
    x = np.linspace(-2.0, 2.0, 801)
    rates = {
        "exact": 1.0 / P.exact_mfpt(w, -1.0, 1.0, D),
        "kramers": P.kramers_rate(w, D),
        "seed": P.kramers_rate_seed(w, D),
    }
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(9, 3.2))
    a0.plot(x, w.u(x))
    a0.set(xlabel="x (a.u.)", ylabel="U(x) (a.u.)", ylim=(-0.2, 2.5 * barrier), title=f"barrier ΔU = {barrier:g}")
    a1.plot(x, P.gibbs_density(w, x, D), color="C1")
    a1.set(xlabel="x (a.u.)", ylabel="Gibbs density (1/a.u.)",
           title=f"D = {D:g}: Γ_exact = {rates['exact']:.3g}, Γ_K = {rates['kramers']:.3g}, Γ_seed = {rates['seed']:.3g}")
    a1.title.set_fontsize("small")
    return fig, rates


# --------------------------------------------------------------------------- the verdict arithmetic ([2.1])
# Every function below turns measurements into a stats.Outcome (pass / fail / inconclusive) or a
# list of claims.Reading; the notebook keeps only the rule's text and the call.

from shld_jax import claims as _claims  # noqa: E402
from shld_jax import stats as _stats  # noqa: E402
from shld_jax.stats import FAIL, INCONCLUSIVE, PASS, Outcome  # noqa: E402


def universal(outcomes, *, measured=None, spread=None, test: str = "") -> Outcome:
    """A claim that must hold in every case: fail if any case fails, pass if all pass, else inconclusive.

    ``measured``/``spread`` default to those of the first failing case (else the first case).
    """
    outcomes = list(outcomes)
    if not outcomes or not all(isinstance(o, Outcome) for o in outcomes):
        raise TypeError(f"`universal`: outcomes must be a non-empty list of stats.Outcome, got {outcomes!r}")
    outs = [o.outcome for o in outcomes]
    out = FAIL if FAIL in outs else PASS if all(o == PASS for o in outs) else INCONCLUSIVE
    rep = next((o for o in outcomes if o.outcome == FAIL), outcomes[0])
    m = rep.measured if measured is None else measured
    s = rep.spread if measured is None and spread is None else spread
    text = test or "every case: " + "; ".join(o.test for o in outcomes)
    return Outcome(out, m, s, text)


def seed_rate_angular(potential, D: float, *, x_min: float | None = None) -> float:
    """Theorem 2 with ω₀ read as the angular frequency ``√u''(min)`` (transition-state-theory form)."""
    D = v.positive("seed_rate_angular", "D", D)
    lo = potential.minima[0] if x_min is None else x_min
    k_min = float(potential.curvature(np.float64(lo)))
    return math.sqrt(k_min) / (2 * math.pi) * math.exp(-potential.barrier_from(lo) / D)


RATE_FORMULAS = {
    "kramers": P.kramers_rate,
    "seed: ω₀ = U''(min)": P.kramers_rate_seed,
    "seed: ω₀ = √U''(min)": seed_rate_angular,
}
"""Escape-rate formulas compared with the exact MFPT (the seed's theorem 2 under both readings of ω₀)."""


def prefactor_table(potential, dU_over_D) -> dict:
    """``Γ_formula / Γ_exact`` for every formula of :data:`RATE_FORMULAS` at each ``ΔU/D``.

    ``Γ_exact = 1/τ`` with τ the exact MFPT from the left minimum to the right one (quadrature).
    Returns ``{"dU_over_D": [m], name: [m] ...}`` (float64).
    """
    lo, hi = potential.minima
    dU = potential.barrier_from(lo)
    r = np.asarray(dU_over_D, np.float64)
    if r.size == 0 or np.any(r <= 0) or not np.all(np.isfinite(r)):
        raise ValueError(f"`prefactor_table`: dU_over_D must be finite and > 0, got {dU_over_D!r}")
    exact = np.array([1.0 / P.exact_mfpt(potential, lo, hi, dU / x) for x in r])
    out = {"dU_over_D": r}
    for name, f in RATE_FORMULAS.items():
        out[name] = np.array([f(potential, dU / x) for x in r]) / exact
    return out


def ratio_within(ratios, *, margin: float = 0.10, where: str = "") -> Outcome:
    """Deterministic: every analytic ratio within ``1 ± margin`` (pass), every one outside (fail)."""
    ratios = np.asarray(ratios, np.float64)
    inside = np.abs(ratios - 1) <= margin
    out = PASS if inside.all() else FAIL if not inside.any() else INCONCLUSIVE
    text = (f"exact quadrature{where}: Γ_formula/Γ_exact within 1 ± {margin:g} at every point "
            f"(range {ratios.min():.4f}–{ratios.max():.4f})")
    worst = ratios[np.argmax(np.abs(ratios - 1))]
    return Outcome(out, float(worst), 0.0, text)


def asymptotic_ratio(dU_over_D, ratios, *, degree: int = 2) -> tuple[float, float]:
    """Intercept of ``Γ_formula/Γ_exact`` as a polynomial in ``D/ΔU`` (Kramers' corrections are a series in it).

    Returns the ``D/ΔU → 0`` limit and its standard error from the least-squares covariance.
    """
    eps = 1.0 / np.asarray(dU_over_D, np.float64)
    y = np.asarray(ratios, np.float64)
    if eps.size < degree + 2:
        raise ValueError(f"`asymptotic_ratio`: need at least degree + 2 = {degree + 2} points, got {eps.size}")
    p, cov = np.polyfit(eps, y, degree, cov=True)
    return float(p[-1]), float(math.sqrt(max(cov[-1, -1], 0.0)))


def censored_rate(first_passage, n_steps: int, dt: float) -> dict:
    """Exponential maximum-likelihood escape rate from right-censored first-passage steps.

    ``Γ̂ = k / Σ_i min(T_i, T_max)`` with ``k`` escapes; standard error ``Γ̂/√k``
    (the first passage is exponential up to an O(relaxation/τ) transient when ``ΔU/D ≫ 1``).
    """
    f = np.asarray(first_passage)
    hit = f != L.NEVER
    k = int(hit.sum())
    if k == 0:
        raise ValueError("`censored_rate`: no particle escaped; the rate cannot be estimated")
    exposure = float(np.where(hit, f, n_steps).sum()) * dt
    rate = k / exposure
    return {"rate": rate, "rate_se": rate / math.sqrt(k), "escaped": k, "n": int(f.size)}


def escape_rate_long(potential, *, D, dt, n_particles, horizon, key) -> dict:
    """Escape rate left → right minimum at small D by the censored exponential MLE.

    Runs ``horizon × exact MFPT / dt`` steps; returns :func:`censored_rate` plus the exact MFPT.
    """
    lo, hi = potential.minima
    exact = P.exact_mfpt(potential, lo, hi, D)
    n_steps = int(math.ceil(horizon * exact / dt))
    x0 = jnp.full((n_particles,), lo, jnp.float32)
    fpt = L.first_passage_times(potential.grad, x0, Above(hi), key=key, dt=dt, D=D, n_steps=n_steps)
    return {**censored_rate(fpt, n_steps, dt), "exact_mfpt": exact, "n_steps": n_steps}


def rate_ratio_outcome(formula_rate: float, sim: dict, *, margin: float = 0.10) -> Outcome:
    """TOST of ``Γ_formula/Γ_sim ≈ 1 ± margin`` with the delta-method standard error ``ratio/√k``."""
    ratio = formula_rate / sim["rate"]
    se = ratio * sim["rate_se"] / sim["rate"]
    o = _stats.equivalence(ratio, se, target=1.0, margin=margin, relative=True)
    return o._replace(test=f"simulation ({sim['escaped']}/{sim['n']} escaped): " + o.test)


def mfpt_outcomes(esc: dict, *, margin: float = 0.05) -> Outcome:
    """Anchor: simulated MFPT ≈ exact quadrature within ``±margin`` (relative TOST) at every ``1/D``."""
    outs = [_stats.equivalence(m / e, se / e, target=1.0, margin=margin, relative=True)
            for m, se, e in zip(esc["mfpt"], esc["mfpt_se"], esc["exact"])]
    worst = int(np.argmax([abs(o.measured - 1) for o in outs]))
    return universal(outs, measured=outs[worst].measured, spread=outs[worst].spread,
                     test=f"TOST MFPT_sim/MFPT_exact = 1 ± {margin:g} at every 1/D (90 % intervals: "
                          + ", ".join(t.test.split("interval ")[1].split(",")[0] for t in outs) + ")")


def arrhenius_slope(inv_D, mfpt, mfpt_se=None) -> tuple[float, float]:
    """``d ln Γ / d(1/D)`` between the two largest ``1/D`` (Γ = 1/MFPT), with its delta-method error."""
    b = np.asarray(inv_D, np.float64)
    j = np.argsort(b)[-2:]
    m = np.asarray(mfpt, np.float64)[j]
    slope = float(-np.diff(np.log(m))[0] / np.diff(b[j])[0])
    se = 0.0 if mfpt_se is None else float(np.hypot(*(np.asarray(mfpt_se)[j] / m)) / np.diff(b[j])[0])
    return slope, se


def arrhenius_outcome(slope: float, se: float, *, dU: float, margin: float = 0.15) -> Outcome:
    """TOST of the Arrhenius slope ``d ln Γ/d(1/D) ≈ −ΔU`` within ``±margin`` (relative)."""
    return _stats.equivalence(slope, se, target=-dU, margin=margin, relative=True)


def gibbs_outcome(group_ratio, *, at_most: float = 1.5) -> Outcome:
    """TV/Monte-Carlo-floor over independent particle groups: one-sided t bound ``mean ≤ at_most``."""
    m, se, df = _stats.mean_se(group_ratio)
    return _stats.bound(m, se, at_most=at_most, df=df)


def consolidation(potential, x, D):
    """``C = u'(x)²/D`` element-wise (d = 1), float64."""
    return np.asarray(potential.grad(np.asarray(x, np.float64)), np.float64) ** 2 / D


def reactive_crossings(x, potential, *, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Frames at which each well-to-well transition crosses the barrier top.

    ``x`` is ``[T, n]``. A transition is a reactive segment: from the last frame in one well
    (``x ≤ lo`` or ``x ≥ hi``, default the minima) to the first frame in the other; its crossing
    frame is the segment's first frame on the far side of the saddle. Returns int ``[k, 2]``
    rows ``(frame, particle)``.
    """
    x = np.asarray(x, np.float64)
    if x.ndim != 2:
        raise ValueError(f"`reactive_crossings`: x must be [T, n], got shape {x.shape}")
    a, b = potential.minima
    lo = a if lo is None else lo
    hi = b if hi is None else hi
    s = potential.saddle
    out = []
    for j in range(x.shape[1]):
        xj = x[:, j]
        lab = np.where(xj <= lo, -1, np.where(xj >= hi, 1, 0))
        idx = np.flatnonzero(lab)
        if idx.size < 2:
            continue
        lb = lab[idx]
        for c in np.flatnonzero(lb[1:] != lb[:-1]):
            start, end, side = idx[c], idx[c + 1], lb[c + 1]
            seg = side * (xj[start:end + 1] - s) > 0
            out.append((start + int(np.argmax(seg)), j))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def event_triggered_C(x, potential, D, *, windows, profile: int = 0) -> dict:
    """Event-triggered consolidation ratio before barrier crossings (the steelman of "C ≈ 1 is critical").

    For every crossing frame ``t_c`` of :func:`reactive_crossings` and every window ``w`` (frames),
    the mean of ``C = u'²/D`` over frames ``[t_c − w, t_c)`` (events too close to the start are
    dropped). Returns ``{"crossings": k, "window_means": {w: [k_w]}, "profile": [2·profile]
    mean C at frames t_c − profile … t_c + profile − 1 (if profile > 0)}``.
    """
    x = np.asarray(x, np.float64)
    C = consolidation(potential, x, D)
    ev = reactive_crossings(x, potential)
    out = {"crossings": int(len(ev)), "window_means": {}}
    for w in windows:
        w = v.positive_int("event_triggered_C", "window", int(w))
        ok = ev[ev[:, 0] >= w]
        cs = np.cumsum(np.vstack([np.zeros((1, C.shape[1])), C]), axis=0)
        out["window_means"][w] = (cs[ok[:, 0], ok[:, 1]] - cs[ok[:, 0] - w, ok[:, 1]]) / w
    if profile:
        ok = ev[(ev[:, 0] >= profile) & (ev[:, 0] + profile <= C.shape[0])]
        offs = np.arange(-profile, profile)
        prof = C[ok[:, 0][:, None] + offs[None, :], ok[:, 1][:, None]]
        out["profile"] = prof.mean(axis=0)
        out["profile_offsets"] = offs
    return out


def crossing_paths(potential, *, D, dt, n_steps, n_particles, key, save_every=1) -> dict:
    """Stationary paths for the event-triggered C: particles start half in each well.

    Returns ``x [T, n]`` (float32), ``dt_frame`` (time between frames) and ``D``.
    """
    a, b = potential.minima
    x0 = jnp.where(jnp.arange(n_particles) % 2 == 0, a, b).astype(jnp.float32)
    _, x = L.euler_maruyama(potential.grad, x0, key=key, dt=dt, D=D, n_steps=n_steps, save_every=save_every,
                            ensemble=True)
    return {"x": np.asarray(x, np.float32), "dt_frame": float(dt * save_every), "D": float(D)}


def near_one_outcome(values, *, factor: float = 2.0, alpha: float = 0.05) -> Outcome:
    """TOST of "C ≈ 1" as ``ln C̄ ∈ [−ln f, ln f]`` (C within a factor ``f`` of 1), ``C̄`` the mean of ``values``.

    The standard error of ``ln C̄`` is ``se(C̄)/C̄`` (delta method, events independent).
    """
    m, se, _ = _stats.mean_se(values)
    if m <= 0:
        raise ValueError(f"`near_one_outcome`: mean C must be > 0, got {m}")
    o = _stats.equivalence(math.log(m), se / m, target=0.0, margin=math.log(factor), alpha=alpha)
    return Outcome(o.outcome, m, se, f"C̄ within ×{factor:g} of 1, TOST on ln C̄ (n = {len(values)}): " + o.test)


def analytic_saddle_outcome(potential, D: float, *, factor: float = 2.0) -> Outcome:
    """Deterministic: C at the barrier top is exactly 0 (u' = 0 there), and C < 1/factor within
    ``|x − x_s| < √(D/factor)/|u''(x_s)|`` (C ≈ u''(x_s)²(x − x_s)²/D)."""
    s = potential.saddle
    c0 = float(consolidation(potential, np.array([s]), D)[0])
    k = abs(float(potential.curvature(np.float64(s))))
    w = math.sqrt(D / factor) / k
    return _stats.threshold(c0, bool(1 / factor <= c0 <= factor),
                            test=f"C(x_s) = u'(x_s)²/D within ×{factor:g} of 1; C < {1 / factor:g} for "
                                 f"|x − x_s| < {w:.3f} (C ≈ {k**2:g}(x − x_s)²/D)")


def richardson_outcome(c_dt, se_dt, c_dt4, se_dt4, target, *, margin: float = 0.03) -> Outcome:
    """Anchor: first-order Richardson extrapolation ``(4·C(dt/4) − C(dt))/3`` ≈ ``target`` (relative TOST)."""
    m = (4 * c_dt4 - c_dt) / 3
    se = math.hypot(4 * se_dt4, se_dt) / 3
    return _stats.equivalence(m, se, target=target, margin=margin, relative=True)


ONCE = L.Boost(threshold=0.5, factor=10.0, duration=2**30, warmup=0)
"""Seed 002's text read as "once C(t) < 0.5, D ×10" (the boost never ends)."""

ESCAPE_VARIANTS = {
    "×10 while C<0.5": SEED_TEXT,
    "once C<0.5, D ×10": ONCE,
    "×10 for 10 steps after step 50 (code's intent)": CORRECTED,
}
"""The readings of the seed's intervention."""


def escape_grid(potential, *, dts, Ds, n_runs, key, stuck_steps=5000, escape_steps=100, variants=None) -> dict:
    """The seed's escape experiment on a ``dt × D`` grid: start in the shallow (right) well.

    Baseline: runs that never reach the deep minimum within ``stuck_steps`` steps ("stuck").
    Each intervention variant: runs reaching the deep minimum within ``warmup + escape_steps``
    steps (100 steps from when the boost can first switch on) without overflowing to NaN/inf
    (the boosted explicit step is unstable where ``dt·u''(x) > 2``). Returns counts ``stuck [dt, D]``,
    ``escaped [dt, D, variant]``, ``diverged [dt, D, variant]``, ``n_runs``, the grids and the
    variant names.
    """
    v.positive_int("escape_grid", "n_runs", n_runs)
    variants = ESCAPE_VARIANTS if variants is None else variants
    deep, shallow = potential.minima
    x0 = jnp.full((n_runs,), shallow, jnp.float32)
    target = Below(deep)
    stuck = np.zeros((len(dts), len(Ds)), np.int64)
    esc = np.zeros((len(dts), len(Ds), len(variants)), np.int64)
    diverged = np.zeros_like(esc)
    base_diverged = np.zeros_like(stuck)
    for i, dt in enumerate(dts):
        for j, D in enumerate(Ds):
            k = jax.random.fold_in(jax.random.fold_in(key, i), j)
            res = L.simulate(potential.grad, x0, key=k, dt=float(dt), D=float(D), n_steps=int(stuck_steps),
                             target_fn=target, check_finite=False, track_nonfinite=True)
            f, bad = np.asarray(res.first_passage), np.asarray(res.first_nonfinite)
            stuck[i, j] = int(((f == L.NEVER) & (bad == L.NEVER)).sum())  # an overflow is not "stuck"
            base_diverged[i, j] = int((bad != L.NEVER).sum())
            for m, boost in enumerate(variants.values()):
                budget = int(boost.warmup + escape_steps)
                # the boosted explicit step can be unstable (dt·u''(x) > 2 far out): a run that overflows
                # within the budget is not an escape, whatever it crossed on the way
                res = L.simulate(potential.grad, x0, key=jax.random.fold_in(k, m + 1), dt=float(dt), D=float(D),
                                 n_steps=budget, target_fn=target, boost=boost, check_finite=False,
                                 track_nonfinite=True)
                f, bad = np.asarray(res.first_passage), np.asarray(res.first_nonfinite)
                esc[i, j, m] = int(((f != L.NEVER) & (bad == L.NEVER)).sum())
                diverged[i, j, m] = int((bad != L.NEVER).sum())
    return {"dts": np.asarray(dts, float), "Ds": np.asarray(Ds, float), "stuck": stuck, "escaped": esc,
            "diverged": diverged, "base_diverged": base_diverged,
            "n_runs": int(n_runs), "variants": list(variants), "dU": potential.barrier_from(shallow),
            "stuck_steps": int(stuck_steps), "escape_steps": int(escape_steps)}


def escape_readings(grid: dict, replicate: dict | None = None, *, stuck_at_least: float = 0.9,
                    escape_at_least: float = 0.95):
    """Readings of the two escape rows on one grid, consistent with each other.

    Baseline (one reading per ``(dt, D)``): exact binomial test of "stuck ≥ 90 %". Intervention
    (one reading per ``(dt, D, variant)``): exact binomial test of "escaped ≥ 95 %" where the
    baseline reading passes, untestable (the seed's setting is not that one) where it does not.
    Returns ``(baseline_readings, intervention_readings)``.
    """
    n = grid["n_runs"]
    base, inter = [], []
    for i, dt in enumerate(grid["dts"]):
        for j, D in enumerate(grid["Ds"]):
            name = f"dt = {dt:g}, D = {D:g} (ΔU/D = {grid['dU'] / D:.1f})"
            rep = None if replicate is None else _stats.rate(int(replicate["stuck"][i, j]), replicate["n_runs"],
                                                              at_least=stuck_at_least)
            rb = _claims.reading(name, _stats.rate(int(grid["stuck"][i, j]), n, at_least=stuck_at_least), rep)
            base.append(rb)
            for m, var in enumerate(grid["variants"]):
                vname = f"{name}, {var}"
                if rb.outcome != PASS:
                    inter.append(_claims.untestable(
                        vname, f"premise (≥ {stuck_at_least:g} stuck) {rb.outcome} at this setting",
                        measured=grid["escaped"][i, j, m] / n))
                    continue
                rep = None if replicate is None else _stats.rate(int(replicate["escaped"][i, j, m]),
                                                                  replicate["n_runs"], at_least=escape_at_least)
                inter.append(_claims.reading(vname, _stats.rate(int(grid["escaped"][i, j, m]), n,
                                                                at_least=escape_at_least), rep))
    return base, inter


def restore_outcome(final_D, D0: float) -> Outcome:
    """The seed's code must restore D after a boost: median final D / initial D = 1 (deterministic)."""
    r = float(np.median(np.asarray(final_D, np.float64)) / D0)
    if not math.isfinite(r):
        raise ValueError(f"`restore_outcome`: final D / initial D is not finite ({r})")
    return _stats.threshold(r, bool(abs(r - 1) < 1e-9), test="median final D / initial D = 1")
