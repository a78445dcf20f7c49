"""Experiments of notebook 06: does adaptive SR noise help optimisation?

The parts, each in its own module ([2.6]), re-exported here for the notebook:

1. :mod:`shld_jax._sr_bench` — seed 000's benchmark (:func:`benchmark`, also behind the CLI)
   and the constant-noise control :func:`constant_sweep`; here, the verdict arithmetic
   (:func:`log_ratio_outcome`, :func:`constant_baselines`, :func:`paired_log_ratio`);
2. :mod:`~shld_jax.experiments.resonance_net` — a small tanh network started in saturation
   (the seed's story: sub-threshold gradients through saturated layers);
3. :mod:`~shld_jax.experiments.resonance_physics` — classic stochastic resonance, the forced
   quartic double well, and the McNamara–Wiesenfeld adiabatic theory;
4. :mod:`~shld_jax.experiments.resonance_seed` — the seed's printed example replayed
   through its own law.
"""

from __future__ import annotations

import math

import numpy as np

from shld_jax import stats
from shld_jax._sr_bench import (  # noqa: F401
    LR, METHODS, PLATEAU_START, SURFACES, TILTED, Problem, benchmark, benchmark_all, check_method,
    check_surface, constant_sweep, make_problem, sr_optimizer, surface_loss)
from shld_jax.experiments.resonance_net import (  # noqa: F401
    NET_METHODS, NetProblem, make_net_problem, method_seed_grid, net_loss, saturated_net, saturation)
from shld_jax.experiments.resonance_physics import (  # noqa: F401
    SR_WELL, exact_rate, forced_double_well, kramers, log_peak, matching_D, mw_amplitude,
    mw_amplitude_peak, mw_snr)
from shld_jax.experiments.resonance_seed import (  # noqa: F401
    SEED_EXAMPLE, gain_after, replay_law, seed_example_interpolated)


# --------------------------------------------------------------- statistics, verdicts


def paired_log_ratio(a, b):
    """Per-seed ``r = ln(a/b)`` for positive ``a``, ``b`` ``[n_seeds]``: (mean, standard error, P(a<b))."""
    r = np.log(np.asarray(a, float)) - np.log(np.asarray(b, float))
    if not np.all(np.isfinite(r)):
        raise ValueError("`paired_log_ratio`: non-finite ratio (a loss was 0, negative or NaN).")
    se = r.std(ddof=1) / math.sqrt(len(r)) if len(r) > 1 else float("inf")
    return float(r.mean()), float(se), float(np.mean(r < 0))


LOG_FLOOR = 1e-6   # losses floored here before logs: float32 resolution near a minimum
LOG_MARGIN = 0.05  # the smallest loss reduction that counts: 5 % (ln units), stated before the data


def log_ratio_outcome(a, b, *, margin: float = LOG_MARGIN, alpha: float = 0.05) -> stats.Outcome:
    """Is loss ``a`` lower than loss ``b`` by at least ``margin`` (ln units), paired per seed?

    One-sample t interval (level :math:`1-2\\alpha`) of the mean of :math:`d_s = \\ln(a_s/b_s)`
    (losses floored at ``LOG_FLOOR``): pass iff it lies below ``−margin`` (a reduction of at least
    ``margin`` is shown), fail iff it lies above (such a reduction is excluded, including when ``a``
    is significantly worse), else inconclusive. A significant but negligible gain does not pass.
    """
    d = np.log(np.maximum(np.asarray(a, float), LOG_FLOOR)) - np.log(np.maximum(np.asarray(b, float), LOG_FLOOR))
    m, se, df = stats.mean_se(d)
    out = stats.bound(m, se, at_most=-float(margin), alpha=alpha, df=df)
    return out._replace(test=f"paired t on ln ratio over {d.size} seeds, {out.test}")


def constant_baselines(metric) -> dict:
    """Indices of the best and the median constant gain by the mean log of ``metric [nG, n_seeds]``
    (the median of an even number of gains is the lower-middle one)."""
    m = np.mean(np.log(np.maximum(np.asarray(metric, float), LOG_FLOOR)), axis=1)
    order = np.argsort(m, kind="stable")
    return {"best": int(order[0]), "median": int(order[(m.size - 1) // 2])}
