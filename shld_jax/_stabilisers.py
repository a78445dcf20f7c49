"""Gradient-spike stabilisers as optax transformations: ZClip and SPAM-style spike clipping.

Both are the baselines a practitioner would reach for before an adaptive scheme like ARS
(notebook 05). Everything else in the benchmark is optax's own: ``clip_by_global_norm``,
``adaptive_grad_clip`` (AGC) and ``apply_if_finite``.

ZClip
-----
Kumar et al. 2025, "ZClip: adaptive spike mitigation for LLM pre-training", arXiv 2504.02507;
this is the algorithm of the reference implementation ``zclip/zclip.py`` of bluorion-com/ZClip
(z-score mode, ``clip_option="adaptive_scaling"``). With :math:`g_t = \\lVert\\nabla\\rVert_2`
the global gradient norm:

* **warm-up**: the first ``warmup_steps`` norms are buffered and not clipped (except by the
  optional ``max_grad_norm``); when the buffer is full, :math:`\\mu` is their mean and
  :math:`\\sigma^2` their *population* variance;
* **z-score**: :math:`z_t = (g_t - \\mu)/(\\sigma + \\varepsilon)`; if :math:`z_t > z_\\mathrm{thr}`
  the clip value is

  .. math:: c_t = \\mu + \\frac{z_\\mathrm{thr}\\,\\sigma}{z_t / z_\\mathrm{thr}},

  otherwise :math:`c_t = g_t` (no clipping); with ``max_grad_norm`` the applied bound is
  :math:`\\min(c_t, \\text{max\\_grad\\_norm})`, and the gradient is scaled by
  :math:`c/(g_t + 10^{-6})` when :math:`g_t > c` (the reference's hard-coded 1e-6);
* **EMA update** with the clip value (the raw norm when not clipped), mean first, the variance
  with the *new* mean: :math:`\\mu \\leftarrow \\alpha\\mu + (1-\\alpha)c_t`,
  :math:`\\sigma^2 \\leftarrow \\alpha\\sigma^2 + (1-\\alpha)(c_t - \\mu)^2`.

Kept from the reference: all of the above, the defaults ``alpha=0.97, z_thresh=2.5,
warmup_steps=25, eps=1e-6``, ``clip_factor = 1`` and ``skip_update_on_spike = False``
(the EMA is updated on spikes too). Not kept: the ``percentile`` mode and the ``mean`` clip
option (not exposed), the FSDP/Lightning plumbing. Default ``max_grad_norm=None`` (the
reference's default is 1.0). One addition: a non-finite norm leaves the statistics as they
were and passes the gradient through unchanged (the reference would poison its EMA); use
``optax.apply_if_finite`` to skip such steps.

SPAM
----
Huang et al., ICLR 2025, "SPAM: Spike-Aware Adam with Momentum Reset for Stable LLM
Training", arXiv 2501.06842. Adam whose incoming gradient is first clipped coordinate-wise
where it spikes against the second moment,

.. math:: g_i \\leftarrow \\operatorname{sign}(g_i)\\sqrt{\\theta\\,v_i} \\quad\\text{where}\\quad g_i^2 > \\theta\\,v_i

(:math:`v` the un-debiased second-moment EMA before this step, :math:`\\theta = 5000`), with
both moments reset to zero every ``reset_interval`` steps and the update multiplied by a
cosine warm-up :math:`1 - 0.99\\cdot\\tfrac12\\left(1 + \\cos(\\pi\\,\\tau/N)\\right)` for the
:math:`N` = ``warmup_steps`` steps :math:`\\tau` after each reset. Choices: the bias
correction restarts with the moments (an exact Adam restart); no clipping while :math:`v = 0`
(right after a reset, where every coordinate would be "a spike").
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from shld_jax import _validate as v


class ZClipState(NamedTuple):
    """Warm-up buffer, EMA mean/variance of the gradient norm, counters and the last step's numbers."""

    buffer: jax.Array       # [warmup_steps] norms seen during warm-up
    count: jax.Array        # finite norms seen (int32)
    mean: jax.Array
    var: jax.Array
    n_clipped: jax.Array    # steps clipped by the z-score rule
    norm: jax.Array         # last raw global norm
    clip: jax.Array         # last applied bound (the norm itself when not clipped)
    z: jax.Array            # last z-score (0 during warm-up)


def zclip(alpha: float = 0.97, z_thresh: float = 2.5, warmup_steps: int = 25,
          max_grad_norm: float | None = None, eps: float = 1e-6) -> optax.GradientTransformation:
    """ZClip (z-score mode, adaptive scaling), see the module docstring for the rule.

    Args:
      alpha: EMA factor of the norm's mean and variance, 0 < α < 1.
      z_thresh: z-score threshold :math:`z_\\mathrm{thr} > 0`.
      warmup_steps: norms collected before the EMA starts (≥ 1).
      max_grad_norm: optional hard cap on the global norm at every step (None: none).
      eps: added to σ in the z-score, > 0.

    Returns:
      An ``optax.GradientTransformation`` to put before the optimizer in ``optax.chain``.
    """
    name = "zclip"
    alpha = v.in_range(name, "alpha", alpha, 0.0, 1.0, closed="()")
    z_thresh = v.positive(name, "z_thresh", z_thresh)
    warmup_steps = v.positive_int(name, "warmup_steps", warmup_steps)
    eps = v.positive(name, "eps", eps)
    if max_grad_norm is not None:
        max_grad_norm = v.positive(name, "max_grad_norm", max_grad_norm)

    def init_fn(params):
        del params
        f = lambda x=0.0: jnp.asarray(x, jnp.float32)
        i = jnp.zeros([], jnp.int32)
        return ZClipState(jnp.zeros((warmup_steps,), jnp.float32), i, f(), f(), i, f(), f(), f())

    def update_fn(updates, state, params=None):
        del params
        g = optax.tree.norm(updates).astype(jnp.float32)
        finite = jnp.isfinite(g)
        warm = state.count < warmup_steps
        # warm-up: buffer, initialise from the full buffer (population variance)
        buffer = jnp.where(warm & finite, state.buffer.at[jnp.minimum(state.count, warmup_steps - 1)]
                           .set(g), state.buffer)
        filled = warm & finite & (state.count + 1 == warmup_steps)
        mu0 = buffer.mean()
        var0 = ((buffer - mu0) ** 2).mean()
        # after warm-up: z-score, adaptive clip value, EMA with the clip value
        std = jnp.sqrt(state.var)
        z = (g - state.mean) / (std + eps)
        spike = ~warm & finite & (z > z_thresh)
        c = jnp.where(spike, state.mean + z_thresh * std / (z / z_thresh), g)
        mu1 = alpha * state.mean + (1 - alpha) * c
        var1 = alpha * state.var + (1 - alpha) * (c - mu1) ** 2
        ema = ~warm & finite
        mean = jnp.where(filled, mu0, jnp.where(ema, mu1, state.mean))
        var = jnp.where(filled, var0, jnp.where(ema, var1, state.var))
        bound = jnp.where(warm, g, c)
        if max_grad_norm is not None:
            bound = jnp.minimum(bound, max_grad_norm)
        scale = jnp.where(finite & (g > bound), bound / (g + 1e-6), 1.0)
        new = jax.tree_util.tree_map(lambda u: (u * scale).astype(u.dtype), updates)
        return new, ZClipState(buffer, state.count + finite.astype(jnp.int32), mean, var,
                               state.n_clipped + spike.astype(jnp.int32), g,
                               jnp.where(finite, jnp.minimum(bound, g), g),
                               jnp.where(warm, 0.0, jnp.where(finite, z, 0.0)))

    return optax.GradientTransformation(init_fn, update_fn)


class SpamState(NamedTuple):
    """Adam moments, step counters (global and since the last reset) and the number of clipped coordinates."""

    count: jax.Array          # global steps (int32)
    since_reset: jax.Array    # steps since the last moment reset (int32)
    mu: optax.Updates
    nu: optax.Updates
    n_clipped: jax.Array      # coordinates clipped at the last step


def scale_by_spam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, theta: float = 5000.0,
                  reset_interval: int = 500, warmup_steps: int = 150
                  ) -> optax.GradientTransformation:
    """SPAM's Adam scaling: spike-aware clipping, moment reset, cosine warm-up (module docstring).

    Args:
      b1, b2: Adam's moment decays, in [0, 1).
      eps: Adam's ε > 0.
      theta: spike threshold θ > 0 on :math:`g^2/v`.
      reset_interval: moments are reset to zero every ``reset_interval`` steps (≥ 1).
      warmup_steps: length N ≥ 1 of the cosine warm-up after each reset.
    """
    name = "scale_by_spam"
    b1 = v.in_range(name, "b1", b1, 0.0, 1.0, closed="[)")
    b2 = v.in_range(name, "b2", b2, 0.0, 1.0, closed="[)")
    eps = v.positive(name, "eps", eps)
    theta = v.positive(name, "theta", theta)
    reset_interval = v.positive_int(name, "reset_interval", reset_interval)
    warmup_steps = v.positive_int(name, "warmup_steps", warmup_steps)

    def init_fn(params):
        z = jax.tree_util.tree_map(lambda p: jnp.zeros_like(p, jnp.float32), params)
        i = jnp.zeros([], jnp.int32)
        return SpamState(i, i, z, jax.tree_util.tree_map(jnp.zeros_like, z), i)

    def update_fn(updates, state, params=None):
        del params
        reset = (state.count > 0) & (state.count % reset_interval == 0)
        zero = lambda t: jax.tree_util.tree_map(lambda x: jnp.where(reset, jnp.zeros_like(x), x), t)
        mu, nu = zero(state.mu), zero(state.nu)
        since = jnp.where(reset, 0, state.since_reset)
        spike = jax.tree_util.tree_map(
            lambda g, n: (n > 0) & (jnp.square(g.astype(jnp.float32)) > theta * n), updates, nu)
        g = jax.tree_util.tree_map(
            lambda g, n, s: jnp.where(s, jnp.sign(g) * jnp.sqrt(theta * n), g.astype(jnp.float32)),
            updates, nu, spike)
        mu = jax.tree_util.tree_map(lambda m, x: b1 * m + (1 - b1) * x, mu, g)
        nu = jax.tree_util.tree_map(lambda n, x: b2 * n + (1 - b2) * x * x, nu, g)
        t = since + 1
        c1 = 1 - b1 ** t.astype(jnp.float32)
        c2 = 1 - b2 ** t.astype(jnp.float32)
        tau = jnp.minimum(since, warmup_steps).astype(jnp.float32)
        warm = 1 - 0.99 * 0.5 * (1 + jnp.cos(math.pi * tau / warmup_steps))
        out = jax.tree_util.tree_map(
            lambda m, n, u: (warm * (m / c1) / (jnp.sqrt(n / c2) + eps)).astype(u.dtype),
            mu, nu, updates)
        n_clip = sum(jnp.sum(s) for s in jax.tree_util.tree_leaves(spike)).astype(jnp.int32)
        return out, SpamState(state.count + 1, t, mu, nu, n_clip)

    return optax.GradientTransformation(init_fn, update_fn)


def spam(learning_rate: optax.ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-8, weight_decay: float = 0.0, theta: float = 5000.0,
         reset_interval: int = 500, warmup_steps: int = 150) -> optax.GradientTransformation:
    """SPAM as a full optimizer: :func:`scale_by_spam`, decoupled weight decay, ``-learning_rate``
    (the same chain as ``optax.adamw``). Wrap in ``optax.inject_hyperparams`` to vary the lr."""
    v.non_negative("spam", "weight_decay", weight_decay)
    return optax.chain(scale_by_spam(b1, b2, eps, theta, reset_interval, warmup_steps),
                       optax.add_decayed_weights(weight_decay),
                       optax.scale_by_learning_rate(learning_rate))
