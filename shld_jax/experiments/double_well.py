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
