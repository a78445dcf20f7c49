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
  as it was, zeroes the update (the step is skipped) and increments ``n_nonfinite``; so
  does a finite loss with a NaN/±inf gradient leaf (counted in ``n_nonfinite_grad``), so that
  one bad gradient cannot poison the inner Adam moments for good.
  A negative loss (impossible for a cross-entropy) counts as S = 0, so Φ never exceeds 1;
  |loss| is capped at 1e30 (float32 headroom for differences and ratios).
* **Schedules.** ``inject_hyperparams`` recomputes scheduled hyperparameters from their
  schedule on every update, so overriding them in the state has no effect. A scheduled
  ``learning_rate`` is handled by scaling the inner update by the same factor (exact for
  every optax alias, whose update is linear in the learning rate); scheduled ``b1``/``b2``
  with the gate on the betas raise a ``ValueError`` at ``init``.

* **Recorded per step.** ``ARSState.lr``, ``.b1``, ``.b2`` hold the effective learning rate
  and betas of the last step (NaN where the inner optimizer has no such hyperparameter).
* **Under** ``optax.MultiSteps(ars(...), k)``: MultiSteps calls ARS on every micro-batch but
  keeps its new state only on the k-th, so ARS sees one loss per accumulated step, the
  *last* micro-batch's ``value`` (not the mean over the k micro-batches); pass the mean
  yourself if you want it.
* **The code** follows the seed's steps as named functions: ``_guard_step`` (1–3),
  ``_surprise_step`` (4), ``_gate_step`` (5), ``_jitter_step`` (6), ``_modulate`` (7–8) and
  ``_inner_step`` (9–10), composed by ``_step``.

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
import numpy as np
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
    n_nonfinite: jax.Array   # skipped steps: non-finite loss
    loss_ema: jax.Array      # un-debiased EMA of finite losses (surprise="relative")
    rng_key: jax.Array
    surprise: jax.Array      # S_t of the last finite step
    rho1: jax.Array
    psi: jax.Array
    phi: jax.Array
    jitter: jax.Array
    # numpy defaults: a jnp array here would start JAX's backends at `import shld_jax`
    n_nonfinite_grad: jax.Array = np.zeros([], np.int32)  # skipped steps: finite loss, non-finite gradient
    lr: jax.Array = np.float32(np.nan)   # effective learning rate of the last step (NaN: inner has none)
    b1: jax.Array = np.float32(np.nan)   # effective b1 of the last step (NaN: inner has none)
    b2: jax.Array = np.float32(np.nan)   # effective b2 of the last step (NaN: inner has none)


class _Config(NamedTuple):
    """ARS's validated, static hyperparameters."""

    window: int
    alpha: float
    phi_min: float
    eps: float
    jitter_scale: float
    use_gate: bool
    use_jitter: bool
    surprise: str
    guard: str
    gate_on: str
    ema_decay: float


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


def _check_key(name: str, key) -> jax.Array:
    """Accept a typed key (``jax.random.key``) or a raw ``uint32`` key (``jax.random.PRNGKey``)."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"`{name}`: key must be a single PRNG key, got a key array of shape "
                             f"key.shape = {key.shape}.")
        return key
    if (isinstance(key, (jax.Array, np.ndarray)) and key.dtype == np.uint32
            and key.ndim == 1 and key.shape[0] in (2, 4)):
        return jnp.asarray(key)
    raise ValueError(f"`{name}`: key must be a JAX PRNG key (jax.random.key(seed) or "
                     f"jax.random.PRNGKey(seed)), got key = {key!r} of type {type(key).__name__}.")


def _validate(window, alpha, phi_min, eps, jitter_scale, use_gate, use_jitter, surprise, guard,
              gate_on, ema_decay) -> _Config:
    name = "ars"
    window = v.positive_int(name, "window", window)
    if window < 3:
        raise ValueError(f"`{name}`: window must be an integer >= 3, got window = {window}.")
    for flag, val in (("use_gate", use_gate), ("use_jitter", use_jitter)):
        if not isinstance(val, bool):
            raise ValueError(f"`{name}`: {flag} must be a bool, got {flag} = {val!r}.")
    for opt, val, allowed in (("surprise", surprise, _SURPRISE), ("guard", guard, _GUARD),
                              ("gate_on", gate_on, _GATE_ON)):
        v.one_of(name, opt, val, allowed)
    return _Config(
        window, v.positive(name, "alpha", alpha),
        v.in_range(name, "phi_min", phi_min, 0.0, 1.0, closed="(]"),
        v.in_range(name, "eps", eps, 0.0, 1.0, closed="()"),
        v.in_range(name, "jitter_scale", jitter_scale, 0.0, 1.0, closed="[)"),
        use_gate, use_jitter, surprise, guard, gate_on,
        v.in_range(name, "ema_decay", ema_decay, 0.0, 1.0, closed="()"))


# ------------------------------------------------------------------ the named steps of one update
def _guard_step(cfg: _Config, state: ARSState, safe):
    """Steps 1–3: push the loss into the ring, then ρ₁ and Ψ over the window that includes it."""
    W = cfg.window
    buffer = state.buffer.at[state.head].set(safe)
    head = (state.head + 1) % W
    count = state.count + 1
    win, n = _chronological(buffer, head, count)
    if cfg.guard == "diff":
        d = jnp.where(jnp.arange(W - 1) < n - 1, win[1:] - win[:-1], 0.0)
        rho1 = lag1_autocorr(d, n - 1)
    else:
        rho1 = lag1_autocorr(win, n)
    return buffer, head, count, rho1, entropy_guard(rho1, cfg.eps)


def _surprise_step(cfg: _Config, state: ARSState, safe):
    """Step 4's S_t (raw loss, or relative to the debiased loss EMA) and the updated EMA."""
    if cfg.surprise == "relative":
        seen = state.count.astype(jnp.float32)
        mean = state.loss_ema / jnp.maximum(1.0 - cfg.ema_decay ** seen, 1e-30)
        s = jnp.where(state.count > 0,
                      jnp.clip(safe / jnp.maximum(mean, 1e-12) - 1.0, 0.0, 1e30), 0.0)
    else:
        s = jnp.maximum(safe, 0.0)   # a negative loss is no surprise: keeps Φ ≤ 1
    return s, cfg.ema_decay * state.loss_ema + (1.0 - cfg.ema_decay) * safe


def _gate_step(cfg: _Config, s, psi):
    """Step 5: Φ from the surprise gate (1 when the gate is off)."""
    if not cfg.use_gate:
        return jnp.float32(1.0)
    return surprise_gate(s, psi, alpha=cfg.alpha, phi_min=cfg.phi_min)


def _jitter_step(cfg: _Config, rng_key, psi):
    """Step 6: χ = u·scale·(1 − Ψ), u ~ U(−1, 1); the key is split every step (optax.add_noise)."""
    rng_key, sub = jax.random.split(rng_key)
    if not cfg.use_jitter:
        return rng_key, jnp.float32(0.0)
    u = jax.random.uniform(sub, (), jnp.float32, -1.0, 1.0)
    return rng_key, u * cfg.jitter_scale * (1.0 - psi)


def _modulate(cfg: _Config, hp: dict, scheduled: set, phi, jitter):
    """Steps 7–8: the hyperparameters of this step, and a factor for the update when the
    learning rate cannot be overridden (scheduled, or absent)."""
    new_hp, post_scale, lr_factor = dict(hp), None, None
    if cfg.use_jitter:
        lr_factor = 1.0 + jitter
    if cfg.use_gate and cfg.gate_on == "lr":
        lr_factor = phi if lr_factor is None else lr_factor * phi
    if cfg.use_gate and cfg.gate_on == "betas":
        for b in ("b1", "b2"):
            if b in hp:
                new_hp[b] = (hp[b] * phi).astype(jnp.asarray(hp[b]).dtype)
    if lr_factor is not None:
        if "learning_rate" in hp and "learning_rate" not in scheduled:
            new_hp["learning_rate"] = (hp["learning_rate"] * lr_factor).astype(
                jnp.asarray(hp["learning_rate"]).dtype)
        else:
            post_scale = lr_factor   # exact for optax's aliases: their update is linear in the lr
    return new_hp, post_scale


def _inner_step(inner, new_hp, post_scale, updates, inner_state, params, value, extra_args):
    """Steps 9–10: the inner update with ``new_hp``, then the hyperparameters restored.
    Returns the update, the inner state, and the step's effective lr, b1 and b2."""
    hp = inner_state.hyperparams
    scheduled = set(getattr(inner_state, "hyperparams_states", {}) or {})
    stepped = inner_state._replace(hyperparams=new_hp)
    new_updates, stepped = inner.update(updates, stepped, params, value=value, **extra_args)
    used = stepped.hyperparams
    if post_scale is not None:
        new_updates = jax.tree_util.tree_map(lambda u: (u * post_scale).astype(u.dtype), new_updates)
    nan = jnp.float32(jnp.nan)
    f32 = lambda k: jnp.asarray(used[k], jnp.float32) if k in used else nan
    lr = f32("learning_rate") * (1.0 if post_scale is None else post_scale)
    restored = {k: (used[k] if k in scheduled else hp[k]) for k in used}
    return new_updates, stepped._replace(hyperparams=restored), (lr, f32("b1"), f32("b2"))


def _step(cfg: _Config, inner, updates, state: ARSState, params, loss, value, extra_args):
    """One ARS update on a finite loss (the seed's steps 1–10)."""
    # |loss| is capped at 1e30 so that differences and ratios stay finite in float32
    safe = jnp.clip(loss, -1e30, 1e30)
    buffer, head, count, rho1, psi = _guard_step(cfg, state, safe)
    s, loss_ema = _surprise_step(cfg, state, safe)
    phi = _gate_step(cfg, s, psi)
    rng_key, jitter = _jitter_step(cfg, state.rng_key, psi)
    scheduled = set(getattr(state.inner_state, "hyperparams_states", {}) or {})
    new_hp, post_scale = _modulate(cfg, state.inner_state.hyperparams, scheduled, phi, jitter)
    new_updates, inner_state, (lr, b1, b2) = _inner_step(
        inner, new_hp, post_scale, updates, state.inner_state, params, value, extra_args)
    return new_updates, ARSState(
        inner_state=inner_state, buffer=buffer, head=head, count=count,
        n_nonfinite=state.n_nonfinite, loss_ema=loss_ema, rng_key=rng_key, surprise=s,
        rho1=rho1, psi=psi, phi=jnp.asarray(phi, jnp.float32),
        jitter=jnp.asarray(jitter, jnp.float32), n_nonfinite_grad=state.n_nonfinite_grad,
        lr=lr, b1=b1, b2=b2)


def _init(cfg: _Config, inner, key, params) -> ARSState:
    inner_state = inner.init(params)
    _check_inner(inner_state)
    hp = inner_state.hyperparams
    scheduled = set(getattr(inner_state, "hyperparams_states", {}) or {})
    if cfg.use_gate and cfg.gate_on == "betas":
        if scheduled & {"b1", "b2"}:
            raise ValueError("`ars`: b1/b2 are scheduled in inner "
                             f"({sorted(scheduled)}); inject_hyperparams overwrites scheduled "
                             "values, so the gate cannot act on them: use constant betas or "
                             "gate_on='lr'.")
        if not {"b1", "b2"} & set(hp):
            raise ValueError("`ars`: the gate acts on b1/b2 (gate_on='betas'), but inner has "
                             f"neither (its hyperparameters: {sorted(hp)}), so the gate would do "
                             "nothing (e.g. optax.sgd's `momentum` is not a beta): use "
                             "gate_on='lr', or use_gate=False.")
    f32 = lambda x: jnp.asarray(x, jnp.float32)
    nan = f32(jnp.nan)
    return ARSState(inner_state=inner_state, buffer=jnp.zeros((cfg.window,), jnp.float32),
                    head=jnp.zeros([], jnp.int32), count=jnp.zeros([], jnp.int32),
                    n_nonfinite=jnp.zeros([], jnp.int32), loss_ema=f32(0.0), rng_key=key,
                    surprise=f32(0.0), rho1=f32(0.0), psi=f32(1.0), phi=f32(1.0),
                    jitter=f32(0.0), n_nonfinite_grad=jnp.zeros([], jnp.int32),
                    lr=f32(hp["learning_rate"]) if "learning_rate" in hp else nan,
                    b1=f32(hp["b1"]) if "b1" in hp else nan, b2=f32(hp["b2"]) if "b2" in hp else nan)


def _update(cfg: _Config, inner, updates, state: ARSState, params, value, extra_args):
    """The update: validate ``value``, step, and skip (counted) on a non-finite loss or gradient."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"`ars`: value must be the scalar loss of this step (update(..., value=loss)), "
                        f"got value = {value!r}.")
    if jnp.ndim(value) != 0:
        raise ValueError(f"`ars`: value must be a scalar loss, got value of shape "
                         f"{jnp.shape(value)}; pass the mean loss (e.g. loss.mean()).")
    loss = jnp.asarray(value, jnp.float32)
    finite = jnp.isfinite(loss)
    grads_ok = jnp.all(jnp.asarray([jnp.all(jnp.isfinite(u))
                                    for u in jax.tree_util.tree_leaves(updates)]))
    new_updates, new = _step(cfg, inner, updates, state, params,
                             jnp.where(finite, loss, 0.0), value, extra_args)
    # skipped: no step, state as it was, counted. A select rather than lax.cond: measured
    # cheaper on CPU for small models, and what vmap would produce anyway.
    ok = finite & grads_ok
    skipped = state._replace(
        n_nonfinite=state.n_nonfinite + (~finite).astype(jnp.int32),
        n_nonfinite_grad=state.n_nonfinite_grad + (finite & ~grads_ok).astype(jnp.int32))
    out_state = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, skipped)
    out_updates = jax.tree_util.tree_map(lambda u: jnp.where(ok, u, jnp.zeros_like(u)),
                                         new_updates)
    return out_updates, out_state


def ars(inner: optax.GradientTransformation, *, key, window: int = 100, alpha: float = 1.0,
        phi_min: float = 0.1, eps: float = 1e-6, jitter_scale: float = 0.1,
        use_gate: bool = True, use_jitter: bool = True, surprise: str = "loss",
        guard: str = "level", gate_on: str = "betas", ema_decay: float = 0.99
        ) -> optax.GradientTransformationExtraArgs:
    """Adaptive Resonance Suppression around ``inner`` (see the module docstring for the rule).

    Args:
      inner: an optimizer from ``optax.inject_hyperparams(factory)(...)``; its ``b1``/``b2``
        (where present) and ``learning_rate`` are modulated. With ``gate_on="betas"`` it must
        have ``b1`` or ``b2`` (``init`` refuses e.g. ``optax.sgd``, whose gate would do nothing).
      key: PRNG key for the jitter, typed (``jax.random.key``) or raw ``uint32``
        (``jax.random.PRNGKey``); kept in the state and split every step. Ints are refused.
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
      value=loss)`` with a scalar loss (anything else raises ``ValueError``). The state
      (:class:`ARSState`) exposes ρ₁, Ψ, Φ, χ, S and the effective lr, b1, b2 of the step.
      A step with a non-finite loss, or a finite loss and a non-finite gradient, is skipped
      (zero update, state unchanged) and counted (``n_nonfinite``, ``n_nonfinite_grad``).
    """
    cfg = _validate(window, alpha, phi_min, eps, jitter_scale, use_gate, use_jitter, surprise,
                    guard, gate_on, ema_decay)
    key = _check_key("ars", key)
    if not isinstance(inner, optax.GradientTransformation):
        raise ValueError(f"`ars`: inner must be an optax GradientTransformation, got "
                         f"inner = {inner!r}.")
    inner = optax.with_extra_args_support(inner)

    def update_fn(updates, state, params=None, *, value, **extra_args):
        return _update(cfg, inner, updates, state, params, value, extra_args)

    return optax.GradientTransformationExtraArgs(lambda params: _init(cfg, inner, key, params),
                                                 update_fn)


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
        n = optax.tree.size(params)
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
