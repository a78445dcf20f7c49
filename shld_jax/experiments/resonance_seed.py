"""Notebook 06, part 1: does seed 000's printed example follow from its own gain law?

The law is multiplicative: after ``n`` updates of which ``a`` stagnate and none touches a
clamp, :math:`g = g_0\\,1.15^a\\,0.96^{n-a}`. The seed prints the losses at steps 0, 10, 20,
190 and 200 and the gain at each; :func:`replay_law` runs the law on those losses (the gaps
filled by :func:`seed_example_interpolated`, geometrically or linearly) under either reading
of "improvement" (absolute ``prev − cur``, or relative ``(prev − cur)/|prev|``).
"""

from __future__ import annotations

import math

import numpy as np

from shld_jax import _validate as v
from shld_jax import _resonance as R
from shld_jax import stats

# The seed's printed `--verbose` example (steps 200), as (step, gain, loss).
SEED_EXAMPLE = [(0, 0.020000, 2.841937), (10, 0.020000, 2.179442), (20, 0.020000, 1.652183),
                (190, 0.005000, 0.001347), (200, 0.005000, 0.001204)]
PRINT_RESOLUTION = 5e-7        # the seed prints six decimals
INTERPOLATIONS = ("geometric", "linear")


def gain_after(n, *, n_grow, config=R.DEFAULT_CONFIG, g0=None):
    """Gain after ``n`` law updates of which ``n_grow`` are stagnation steps, in the order
    that avoids clamps (exact when neither clamp is touched, else an upper/lower bound)."""
    g = config.base_gain if g0 is None else g0
    return g * config.gain_growth**n_grow * config.gain_decay ** (n - n_grow)


def replay_law(losses, config=R.DEFAULT_CONFIG):
    """Gains produced by the law on a metric sequence (numpy float64 reference implementation)."""
    g, prev, out = config.base_gain, None, []
    for m in losses:
        m = float(m)
        if math.isfinite(m) and prev is not None:
            d = (m - prev) if config.maximize else (prev - m)
            if config.relative:
                d = d / abs(prev)
            if math.isfinite(d):
                g = min(g * config.gain_growth, config.max_gain) if d < config.stagnation_threshold \
                    else max(g * config.gain_decay, config.min_gain)
        if math.isfinite(m):
            prev = m
        out.append(g)
    return np.array(out)


def seed_example_interpolated(kind: str = "geometric"):
    """Losses at every step 0..200 interpolated between the seed's printed points,
    geometrically (constant relative decrease) or linearly (constant absolute decrease)."""
    v.one_of("seed_example_interpolated", "kind", kind, INTERPOLATIONS)
    s = np.array([p[0] for p in SEED_EXAMPLE], float)
    L = np.array([p[2] for p in SEED_EXAMPLE], float)
    steps = np.arange(0, 201)
    if kind == "linear":
        return steps, np.interp(steps, s, L)
    return steps, np.exp(np.interp(steps, s, np.log(L)))


def reachable_gap(n_updates: int, target: float = 0.02, config=R.DEFAULT_CONFIG) -> float:
    """``min_a |g₀·growth^a·decay^(n−a) − target|`` over every sequence of ``n_updates`` updates
    (no clamp is reachable within 10 updates of ``g₀ = 0.02``)."""
    return float(min(abs(gain_after(n_updates, n_grow=a, config=config) - target) for a in range(n_updates + 1)))


def step10_outcome(n_updates: int) -> stats.Outcome:
    """Can the gain print as 0.020000 after ``n_updates`` updates? (deterministic)"""
    gap = reachable_gap(n_updates)
    return stats.threshold(gap, bool(gap < PRINT_RESOLUTION),
                           test=f"some sequence of {n_updates} law updates prints as 0.020000 "
                                f"(min |g − 0.02| < {PRINT_RESOLUTION:g})")


def final_gain(relative: bool, interpolation: str = "geometric") -> float:
    """Gain the law prints at step 200 on the seed's losses (it has seen the losses of steps 0..199)."""
    _, loss = seed_example_interpolated(interpolation)
    return float(replay_law(loss, R.StochasticResonanceConfig(relative=relative))[199])


def final_gain_outcome(relative: bool, interpolation: str = "geometric") -> stats.Outcome:
    """Does the replayed final gain print as the seed's 0.005000? (deterministic)"""
    g = final_gain(relative, interpolation)
    return stats.threshold(g, bool(abs(g - 0.005) < PRINT_RESOLUTION),
                           test=f"replayed gain prints as 0.005000 (|g − 0.005| < {PRINT_RESOLUTION:g})")
