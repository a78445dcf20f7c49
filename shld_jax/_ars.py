"""Adaptive Resonance Suppression (ARS, seed 001) as an optax transformation.

ARS wraps an optimizer built with :func:`optax.inject_hyperparams` and, at every step,
rescales its hyperparameters from the loss history (seed 001, "Complete ARS Update
Rule", steps 1–10)::

    S_t   = loss_t                                       surprise (seed: raw loss)
    ρ₁    = corr(S[:-1], S[1:])  over the last W values  entropy guard input (Pearson)
    Ψ_t   = max(ε, 1 − ρ₁²)                              entropy guard
    S̃_t   = S_t / Ψ_t
    Φ_t   = Φ_min + (1 − Φ_min)·exp(−α·S̃_t)             surprise gate
    χ_t   = u·jitter_scale·(1 − Ψ_t),  u ~ U(−1, 1)       chronos-jitter
    β₁ ← β₁·Φ_t,  β₂ ← β₂·Φ_t,  lr ← lr·(1 + χ_t)        for this step only, then restored

Choices where the seed is silent or ambiguous (all explicit here):

* **S_t and the window.** The seed says "S_t = loss_t (or other surprise metric)"; the raw
  minibatch loss is the default. ``S_history`` includes the current value: the loss is
  pushed into a ring buffer of ``window`` values *before* ρ₁ is computed.
* **ρ₁** is the Pearson correlation of the two lagged slices, exactly the seed's
  ``corr(S_history[:-1], S_history[1:])`` (separate means and variances), not the
  textbook ACF estimator with a common mean. Values are centred on the newest entry
  first, so a constant window gives exactly zero variance.
* **Edge cases.** Fewer than 3 values in the window, or a slice with zero variance
  (a constant window): ρ₁ = 0, so Ψ = 1 (no evidence of resonance). ρ₁ is clipped to
  [−1, 1]. A NaN or ±inf loss leaves the whole state (statistics, inner optimizer, key)
  as it was, zeroes the update (the step is skipped) and increments ``n_nonfinite``.
  A negative loss (impossible for a cross-entropy) counts as S = 0, so Φ never exceeds 1;
  |loss| is capped at 1e30 (float32 headroom for differences and ratios).
* **Schedules.** ``inject_hyperparams`` recomputes scheduled hyperparameters from their
  schedule on every update, so overriding them in the state has no effect. A scheduled
  ``learning_rate`` is handled by scaling the inner update by the same factor (exact for
  every optax alias, whose update is linear in the learning rate); scheduled ``b1``/``b2``
  with the gate on the betas raise a ``ValueError`` at ``init``.

Options beyond the seed (all off by default), for the ablation in notebook 05:

* ``surprise="relative"``: S_t = max(0, loss_t / m_{t−1} − 1) with m an exponential
  moving average of past finite losses (decay ``ema_decay``, bias-corrected; S = 0 on the
  first step). The seed's gate depends on the raw loss scale: at a character-level loss
  of ~2.5 nats, Φ ≤ Φ_min + (1 − Φ_min)e^{−2.5} ≈ 0.17 on *every* step.
* ``guard="diff"``: ρ₁ of the first differences of the window (a detrended guard). A
  steadily falling loss has ρ₁ ≈ 1 at the level, so the seed's guard reports resonance
  during ordinary training; note that differencing white noise gives ρ₁ ≈ −1/2 (Ψ ≈ 3/4).
* ``gate_on="lr"``: lr ← lr·Φ_t instead of β ← β·Φ_t. With β₂·Φ small, Adam's second
  moment tracks g² of the last few steps, |m̂/√v̂| approaches 1 per coordinate and steps
  become *larger*, not smaller (tested in ``tests/test_ars.py``).

:func:`update_regulariser` implements the seed's regulariser
``½ Σᵢ Ωᵢᵢ(ΔWᵢ)² + γ·Tr((I − P_s)ΔW²)`` as an optional proximal transform.

References: seed 001 (``../shared/seeds/001_*.txt``); Scheffer et al. 2009, Nature 461:53
(rising lag-1 autocorrelation as an early-warning signal); optax's
``contrib.reduce_on_plateau`` (loss-taking transforms) and ``add_noise`` (key in state).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import optax

from shld_jax import _validate as v

_SURPRISE = ("loss", "relative")
_GUARD = ("level", "diff")
_GATE_ON = ("betas", "lr")


class ARSState(NamedTuple):
    """Inner state, loss ring buffer, counters, running mean, key, and last step's internals."""

    inner_state: Any
    buffer: jax.Array        # [window] past finite losses (ring)
    head: jax.Array          # next write position in the ring
    count: jax.Array         # finite losses seen (int32)
    n_nonfinite: jax.Array   # skipped steps (non-finite loss)
    loss_ema: jax.Array      # un-debiased EMA of finite losses (surprise="relative")
    rng_key: jax.Array
    surprise: jax.Array      # S_t of the last finite step
    rho1: jax.Array
    psi: jax.Array
    phi: jax.Array
    jitter: jax.Array


def _chronological(buffer, head, count):
    """The ring as an ordered window ``[W]`` (oldest first) and the number ``n`` of valid values."""
    W = buffer.shape[0]
    n = jnp.minimum(count, W)
    start = jnp.where(count >= W, head, 0)
    return buffer[(start + jnp.arange(W)) % W], n


def lag1_autocorr(x, n):
    """Pearson correlation of ``x[:n-1]`` and ``x[1:n]`` for a window ``x [W]`` whose first ``n``
    entries are valid. Returns 0 when ``n < 3`` or either slice has zero variance; clipped to
    [−1, 1]. Values are centred on ``x[n-1]`` first, so a constant window is exactly flat."""
    W = x.shape[0]
    ref = x[jnp.maximum(n - 1, 0)]
    x = jnp.where(jnp.arange(W) < n, x - ref, 0.0)
    # rescale so that squares cannot overflow float32 (losses up to ~1e38 stay finite)
    x = x / jnp.maximum(jnp.max(jnp.abs(x)), 1e-30)
    a, b = x[:-1], x[1:]
    m = (jnp.arange(W - 1) < n - 1).astype(x.dtype)        # pair (j, j+1) valid
    k = jnp.maximum(m.sum(), 1.0)
    ma, mb = (a * m).sum() / k, (b * m).sum() / k
    da, db = (a - ma) * m, (b - mb) * m
    saa, sbb, sab = (da * da).sum(), (db * db).sum(), (da * db).sum()
    ok = (n >= 3) & (saa > 0) & (sbb > 0)
    r = sab / jnp.sqrt(jnp.where(ok, saa * sbb, 1.0))
    return jnp.where(ok, jnp.clip(r, -1.0, 1.0), 0.0)


def entropy_guard(rho1, eps):
    """Ψ = max(ε, 1 − ρ₁²)."""
    return jnp.maximum(eps, 1.0 - rho1 ** 2)


def surprise_gate(s, psi, *, alpha, phi_min):
    """Φ = Φ_min + (1 − Φ_min)·exp(−α·S/Ψ) (seed's variant B)."""
    return phi_min + (1.0 - phi_min) * jnp.exp(-alpha * s / psi)


def _check_inner(inner_state):
    if not (hasattr(inner_state, "hyperparams") and isinstance(inner_state.hyperparams, dict)):
        raise ValueError(
            "`ars`: inner must be built with optax.inject_hyperparams (its state needs a "
            f"`hyperparams` dict), got an inner state of type {type(inner_state).__name__}.")


def ars(inner: optax.GradientTransformation, *, key, window: int = 100, alpha: float = 1.0,
        phi_min: float = 0.1, eps: float = 1e-6, jitter_scale: float = 0.1,
        use_gate: bool = True, use_jitter: bool = True, surprise: str = "loss",
        guard: str = "level", gate_on: str = "betas", ema_decay: float = 0.99
        ) -> optax.GradientTransformationExtraArgs:
    """Adaptive Resonance Suppression around ``inner`` (see the module docstring for the rule).

    Args:
      inner: an optimizer from ``optax.inject_hyperparams(factory)(...)``; its ``b1``/``b2``
        (where present) and ``learning_rate`` are modulated.
      key: PRNG key for the jitter (kept in the state and split every step).
      window: ring-buffer length W ≥ 3 for ρ₁.
      alpha: gate sensitivity α > 0.
      phi_min: floor of the gate, 0 < Φ_min ≤ 1.
      eps: floor ε of Ψ, 0 < ε < 1.
      jitter_scale: jitter amplitude, 0 ≤ scale < 1 (so 1 + χ > 0).
      use_gate: apply Φ (False: Φ ≡ 1).  use_jitter: apply χ (False: χ ≡ 0). With both off
        the update is the inner optimizer's, bit for bit (finite losses).
      surprise: ``"loss"`` (seed) or ``"relative"`` (max(0, loss/EMA − 1)).
      guard: ``"level"`` (seed: ρ₁ of the loss) or ``"diff"`` (ρ₁ of its differences).
      gate_on: ``"betas"`` (seed) or ``"lr"``.
      ema_decay: decay of the loss EMA for ``surprise="relative"``, in (0, 1).

    Returns:
      ``optax.GradientTransformationExtraArgs``; call ``update(grads, state, params,
      value=loss)``. The state (:class:`ARSState`) exposes ρ₁, Ψ, Φ, χ and S of the step.
    """
    name = "ars"
    window = v.positive_int(name, "window", window)
    if window < 3:
        raise ValueError(f"`{name}`: window must be an integer >= 3, got window = {window}.")
    alpha = v.positive(name, "alpha", alpha)
    phi_min = v.in_range(name, "phi_min", phi_min, 0.0, 1.0, closed="(]")
    eps = v.in_range(name, "eps", eps, 0.0, 1.0, closed="()")
    jitter_scale = v.in_range(name, "jitter_scale", jitter_scale, 0.0, 1.0, closed="[)")
    ema_decay = v.in_range(name, "ema_decay", ema_decay, 0.0, 1.0, closed="()")
    for flag, val in (("use_gate", use_gate), ("use_jitter", use_jitter)):
        if not isinstance(val, bool):
            raise ValueError(f"`{name}`: {flag} must be a bool, got {flag} = {val!r}.")
    for opt, val, allowed in (("surprise", surprise, _SURPRISE), ("guard", guard, _GUARD),
                              ("gate_on", gate_on, _GATE_ON)):
        if val not in allowed:
            raise ValueError(f"`{name}`: {opt} must be one of {allowed}, got {opt} = {val!r}.")
    if key is None or not hasattr(key, "dtype"):
        raise ValueError(f"`{name}`: key must be a JAX PRNG key, got key = {key!r}.")
    if not isinstance(inner, optax.GradientTransformation):
        raise ValueError(f"`{name}`: inner must be an optax GradientTransformation, got "
                         f"inner = {inner!r}.")
    inner = optax.with_extra_args_support(inner)

    def init_fn(params):
        inner_state = inner.init(params)
        _check_inner(inner_state)
        scheduled = set(getattr(inner_state, "hyperparams_states", {}) or {})
        if use_gate and gate_on == "betas" and scheduled & {"b1", "b2"}:
            raise ValueError(f"`{name}`: b1/b2 are scheduled in inner ({sorted(scheduled)}); "
                             "inject_hyperparams overwrites scheduled values, so the gate cannot "
                             "act on them: use constant betas or gate_on='lr'.")
        f32 = lambda x: jnp.asarray(x, jnp.float32)
        return ARSState(inner_state=inner_state, buffer=jnp.zeros((window,), jnp.float32),
                        head=jnp.zeros([], jnp.int32), count=jnp.zeros([], jnp.int32),
                        n_nonfinite=jnp.zeros([], jnp.int32), loss_ema=f32(0.0), rng_key=key,
                        surprise=f32(0.0), rho1=f32(0.0), psi=f32(1.0), phi=f32(1.0),
                        jitter=f32(0.0))

    def step(updates, state, params, loss, value, extra_args):
        # |loss| is capped at 1e30 so that differences and ratios stay finite in float32
        safe = jnp.clip(loss, -1e30, 1e30)

        # 1-3: push the loss, then guard over the window including it.
        buffer = state.buffer.at[state.head].set(safe)
        head = (state.head + 1) % window
        count = state.count + 1
        win, n = _chronological(buffer, head, count)
        if guard == "diff":
            d = jnp.where(jnp.arange(window - 1) < n - 1, win[1:] - win[:-1], 0.0)
            rho1 = lag1_autocorr(d, n - 1)
        else:
            rho1 = lag1_autocorr(win, n)
        psi = entropy_guard(rho1, eps)

        # 4-5: surprise and gate.
        if surprise == "relative":
            seen = state.count.astype(jnp.float32)
            mean = state.loss_ema / jnp.maximum(1.0 - ema_decay ** seen, 1e-30)
            s = jnp.where(state.count > 0,
                          jnp.clip(safe / jnp.maximum(mean, 1e-12) - 1.0, 0.0, 1e30), 0.0)
        else:
            s = jnp.maximum(safe, 0.0)   # a negative loss is no surprise: keeps Φ ≤ 1
        loss_ema = ema_decay * state.loss_ema + (1.0 - ema_decay) * safe
        phi = surprise_gate(s, psi, alpha=alpha, phi_min=phi_min) if use_gate else jnp.float32(1.0)

        # 6: jitter (key split every step, like optax.add_noise).
        rng_key, sub = jax.random.split(state.rng_key)
        if use_jitter:
            u = jax.random.uniform(sub, (), jnp.float32, -1.0, 1.0)
            jitter = u * jitter_scale * (1.0 - psi)
        else:
            jitter = jnp.float32(0.0)

        # 7-10: modulate, step, restore.
        inner_state = state.inner_state
        hp = inner_state.hyperparams
        scheduled = set(getattr(inner_state, "hyperparams_states", {}) or {})
        new_hp, post_scale = dict(hp), None
        lr_factor = None
        if use_jitter:
            lr_factor = 1.0 + jitter
        if use_gate and gate_on == "lr":
            lr_factor = phi if lr_factor is None else lr_factor * phi
        if use_gate and gate_on == "betas":
            for b in ("b1", "b2"):
                if b in hp:
                    new_hp[b] = (hp[b] * phi).astype(jnp.asarray(hp[b]).dtype)
        if lr_factor is not None:
            if "learning_rate" in scheduled:
                post_scale = lr_factor
            elif "learning_rate" in hp:
                new_hp["learning_rate"] = (hp["learning_rate"] * lr_factor).astype(
                    jnp.asarray(hp["learning_rate"]).dtype)
            else:
                post_scale = lr_factor   # no lr hyperparameter: scale the update itself
        stepped = inner_state._replace(hyperparams=new_hp)
        new_updates, stepped = inner.update(updates, stepped, params, value=value, **extra_args)
        if post_scale is not None:
            new_updates = jax.tree_util.tree_map(
                lambda u: (u * post_scale).astype(u.dtype), new_updates)
        restored = {k: (stepped.hyperparams[k] if k in scheduled else hp[k])
                    for k in stepped.hyperparams}
        stepped = stepped._replace(hyperparams=restored)

        return new_updates, ARSState(
            inner_state=stepped, buffer=buffer, head=head, count=count,
            n_nonfinite=state.n_nonfinite, loss_ema=loss_ema, rng_key=rng_key, surprise=s,
            rho1=rho1, psi=psi, phi=jnp.asarray(phi, jnp.float32),
            jitter=jnp.asarray(jitter, jnp.float32))

    def update_fn(updates, state, params=None, *, value, **extra_args):
        loss = jnp.asarray(value, jnp.float32)
        finite = jnp.isfinite(loss)
        new_updates, new = step(updates, state, params, jnp.where(finite, loss, 0.0), value,
                                extra_args)
        # non-finite loss: no step, state as it was, counted. A select rather than lax.cond:
        # measured cheaper on CPU for small models, and what vmap would produce anyway.
        skipped = state._replace(n_nonfinite=state.n_nonfinite + 1)
        out_state = jax.tree_util.tree_map(lambda a, b: jnp.where(finite, a, b), new, skipped)
        out_updates = jax.tree_util.tree_map(
            lambda u: jnp.where(finite, u, jnp.zeros_like(u)), new_updates)
        return out_updates, out_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


class RegulariserState(NamedTuple):
    """Inner state, EMA of squared gradients (diagonal Fisher), recent-update ring, counters."""

    inner_state: Any
    fisher: Any              # pytree like params
    history: jax.Array       # [rank, n_params] last updates (flattened)
    head: jax.Array
    count: jax.Array


def update_regulariser(inner: optax.GradientTransformation, *, omega_scale: float = 1.0,
                       gamma: float = 1.0, rank: int = 4, fisher_decay: float = 0.99
                       ) -> optax.GradientTransformationExtraArgs:
    """The seed's update regulariser as a proximal step on ``inner``'s proposed update.

    Seed 001: R(ΔW) = ½ Σᵢ Ωᵢᵢ (ΔWᵢ)² + γ·Tr((I − P_s) ΔW²), read for the flattened update
    vector Δ as ``½ Δᵀ Ω Δ + γ Δᵀ (I − P) Δ``. Given the inner update ``u`` this transform
    returns the proximal point ``argmin_Δ ½‖Δ − u‖² + R(Δ)`` computed by operator splitting
    (exact when Ω is a multiple of the identity):

        Δ' = P u + (I − P) u / (1 + 2γ),      Δ = Δ' / (1 + Ω).

    * Ω = ``omega_scale`` · F̂, with F̂ a bias-corrected EMA (``fisher_decay``) of the squared
      raw gradients (the empirical diagonal Fisher); dimensionless because the proximity
      weight is 1.
    * P projects on the span of the last ``rank`` updates returned by this transform (the
      "safe" subspace P_s of recent motion), from an SVD of the ``[n_params, rank]`` history;
      directions with singular value ≤ 1e-6·max are dropped, so P = 0 before the first step.

    The cost is one thin SVD of an ``[n_params, rank]`` matrix per step. Use it as the
    outermost wrapper: ``update_regulariser(ars(...))``; extra args (``value``) pass through.
    """
    name = "update_regulariser"
    omega_scale = v.non_negative(name, "omega_scale", omega_scale)
    gamma = v.non_negative(name, "gamma", gamma)
    rank = v.positive_int(name, "rank", rank)
    fisher_decay = v.in_range(name, "fisher_decay", fisher_decay, 0.0, 1.0, closed="()")
    inner = optax.with_extra_args_support(inner)

    def init_fn(params):
        n = sum(x.size for x in jax.tree_util.tree_leaves(params))
        return RegulariserState(inner.init(params), jax.tree_util.tree_map(jnp.zeros_like, params),
                                jnp.zeros((rank, n), jnp.float32), jnp.zeros([], jnp.int32),
                                jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None, **extra_args):
        count = state.count + 1
        fisher = jax.tree_util.tree_map(lambda f, g: fisher_decay * f + (1 - fisher_decay) * g * g,
                                        state.fisher, updates)
        debias = 1.0 - fisher_decay ** count.astype(jnp.float32)
        u, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
        flat, unravel = jax.flatten_util.ravel_pytree(u)
        U, S, _ = jnp.linalg.svd(state.history.T.astype(jnp.float32), full_matrices=False)
        keep = (S > 1e-6 * jnp.maximum(S.max(), 1e-30)).astype(jnp.float32)
        pu = U @ (keep * (U.T @ flat.astype(jnp.float32)))
        d = pu + (flat - pu) / (1.0 + 2.0 * gamma)
        omega, _ = jax.flatten_util.ravel_pytree(
            jax.tree_util.tree_map(lambda f: omega_scale * f / debias, fisher))
        d = (d / (1.0 + omega)).astype(flat.dtype)
        history = state.history.at[state.head].set(d)
        return unravel(d), RegulariserState(inner_state, fisher, history,
                                            (state.head + 1) % rank, count)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
