"""Training diagnostics of seed 002: the consolidation ratio C(t) and friends.

``C(t) = ‖∇ℒ(θ)‖² / (D·d)`` with ``d`` the number of parameters. At the Gibbs
stationary state of ``dθ = −∇ℒ dt + sqrt(2D) dW``, integration by parts gives
``E‖∇ℒ‖² = D·E[Δℒ]``, so ``E[C] → E[tr ∇²ℒ]/d`` (the mean curvature), not a
universal constant such as 1.

Conventions (used by every estimator below):

* Langevin: ``dθ = −∇ℒ dt + sqrt(2D) dW``. SGD with learning rate ``α``, batch
  size ``B`` (examples drawn with replacement) and per-example gradient
  covariance ``Σ`` is its Euler–Maruyama discretisation with ``dt = α``: one step
  adds noise of covariance ``α²Σ/B = 2·D·dt``, so ``D = α·σ²/(2B)`` with
  ``σ² = tr Σ / d`` (:func:`sgd_diffusion`; Mandt, Hoffman & Blei 2017, JMLR 18:134;
  Jastrzębski et al. 2017, arXiv 1711.04623). The seed's ``D_eff = α²σ²/B``
  (:func:`seed_effective_diffusion`) is the per-*step* noise variance, i.e. ``2·D·dt``.
* Samples, trajectories and ensembles put the sample / time axis first
  (leaves ``[m, ...]``); every other axis is pooled ("per coordinate" averages).
* Every estimator can be called under ``jit``: concrete arguments are checked eagerly (a
  clear ``ValueError`` naming the call, the parameter and the value); traced scalars
  (``lr``, ``grad_variance``, ``dt``, ``D``, ``lam_max``) pass unchecked, since their value is
  only known inside the program. Integer arguments (``batch_size``, ``iters``) must be static.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from shld_jax import _validate as v


def _leaves(call: str, name: str, tree, *, min_len: int = 1) -> list:
    """Non-empty list of leaves sharing a leading axis of length ``>= min_len`` (checked when > 1)."""
    return v.stacked_leaves(call, name, tree, axis="leading sample/time axis", min_len=min_len,
                            check_axis=min_len > 1)


def _flat(leaves) -> jax.Array:
    """Concatenate leaves ``[m, ...]`` into ``[m, d]`` (float32 or wider)."""
    m = leaves[0].shape[0]
    return jnp.concatenate([l.reshape(m, -1).astype(jnp.result_type(l.dtype, jnp.float32)) for l in leaves],
                           axis=1)


def _check_D(call: str, D) -> None:
    """``D`` > 0 and finite: a number, or an array of them (e.g. one D per particle).

    Concrete values are checked eagerly; a traced ``D`` (under ``jit``) passes unchecked.
    """
    if v.is_traced(D):
        return
    if D is None or isinstance(D, (bool, str, bytes)):
        raise TypeError(f"`{call}`: D must be a number or an array of numbers > 0, got D = {D!r}.")
    if isinstance(D, (int, float, np.number)):
        v.positive(call, "D", D)
        return
    try:
        a = np.asarray(D, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{call}`: D must be a number or an array of numbers > 0, got D = {D!r}.") from None
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(
            f"`{call}`: D must be finite and > 0 everywhere, got D of shape {a.shape} with min "
            f"{np.nanmin(a) if a.size and not np.all(np.isnan(a)) else float('nan')!r}"
            + (f" (D = {a!r})" if a.size <= 8 else "") + "."
        )


def _ratio(call: str, grad, D):
    _check_D(call, D)
    leaves = jax.tree_util.tree_leaves(grad)
    if not leaves:
        raise ValueError(f"`{call}`: grad must hold at least one array, got an empty pytree.")
    sq = optax.tree.norm(grad, squared=True)
    d = optax.tree.size(grad)
    return v.finite_result(call, sq / (D * d), f"grad holds NaN/inf, or ‖g‖²/(D·d) overflows {jnp.result_type(sq)} "
                           f"with D = {v.show(D)}")


def consolidation_ratio(grad, D):
    """``C = ‖g‖² / (D·d)`` over a pytree ``grad`` (``d`` = total number of elements).

    Args:
        grad: pytree of gradient arrays (one particle / one model).
        D: diffusion coefficient, > 0: a number or an array (broadcast against the scalar
            ``‖g‖²``); concrete values are checked eagerly, traced ones (under ``jit``) are not.

    Returns:
        scalar ``C`` (or ``D``'s shape).

    Reference: seed 002, "The Signal-to-Noise Consolidation Ratio".
    """
    return _ratio("consolidation_ratio", grad, D)


# --------------------------------------------------------------------------- gradient noise


def per_example_grads(loss_fn: Callable, params, batch):
    """Per-example gradients ``vmap(grad(loss_fn), (None, 0))(params, batch)``.

    Args:
        loss_fn: ``loss_fn(params, example) -> scalar`` for ONE example (a pytree
            slice of ``batch`` without its leading axis).
        params: parameter pytree.
        batch: pytree whose leaves share a leading example axis ``[n, ...]``.

    Returns:
        pytree like ``params`` with leaves ``[n, *param.shape]``.
    """
    if not callable(loss_fn):
        raise ValueError(f"`per_example_grads`: loss_fn must be callable, got loss_fn = {loss_fn!r}.")
    _leaves("per_example_grads", "params", params)
    _leaves("per_example_grads", "batch", batch, min_len=1)
    return jax.vmap(jax.grad(loss_fn), in_axes=(None, 0))(params, batch)


def gradient_variance(samples) -> jax.Array:
    """Per-coordinate gradient variance ``σ² = tr Cov[g] / d`` over samples.

    Args:
        samples: pytree of gradient samples, leaves ``[m, ...]`` with ``m ≥ 2``
            (per-example gradients, or minibatch gradients).

    Returns:
        scalar: the unbiased (``ddof=1``) variance over the leading axis, averaged
        over the ``d`` coordinates.
    """
    return _gradient_variance("gradient_variance", "samples", samples)


def _gradient_variance(call: str, name: str, samples) -> jax.Array:
    g = _flat(_leaves(call, name, samples, min_len=2))
    return v.finite_result(call, jnp.mean(jnp.var(g, axis=0, ddof=1)), f"{name} holds NaN/inf or overflows")


def seed_diffusion_from_gradients(minibatch_grads) -> jax.Array:
    """Seed 002, FAQ "Method 1" as written: ``D ≈ Var[g]/2`` over minibatch gradients.

    ``minibatch_grads`` leaves ``[m, ...]`` (``m ≥ 2`` minibatch gradients at the
    same parameters). Note that the learning rate does not enter: the result is a
    squared gradient, not a diffusion coefficient of ``θ`` (compare :func:`sgd_diffusion`).
    """
    return _gradient_variance("seed_diffusion_from_gradients", "minibatch_grads", minibatch_grads) / 2.0


def seed_effective_diffusion(lr, grad_variance, batch_size):
    """Seed 002 ("Learning Rate Sensitivity"): ``D_eff = α²·σ²/B``.

    This is the variance per coordinate of the noise one SGD step adds,
    ``α(g_B − ∇ℒ)`` (with replacement), i.e. ``2·D·dt`` in the Langevin convention.
    """
    lr = v.positive("seed_effective_diffusion", "lr", lr, traced_ok=True)
    s2 = v.non_negative("seed_effective_diffusion", "grad_variance", grad_variance, traced_ok=True)
    B = v.positive_int("seed_effective_diffusion", "batch_size", batch_size)
    return v.finite_result("seed_effective_diffusion", lr * lr * s2 / B,  # lr**2 raises on overflow
                           f"lr²·grad_variance/batch_size overflows with lr = {v.show(lr)}, grad_variance = {v.show(s2)}")


def sgd_diffusion(lr, grad_variance, batch_size):
    """Continuum diffusion coefficient of SGD: ``D = α·σ²/(2B)`` (time ``t = α·steps``).

    From ``α²σ²/B = 2·D·dt`` with ``dt = α``; the stationary law near a minimum with
    Hessian ``H`` then has ``E[ℒ] − ℒ* = ½ tr(α Σ/(2B)) = α·d·σ²/(4B)`` (Lyapunov
    equation ``HC + CH = αΣ/B``), whatever ``H`` is.
    """
    lr = v.positive("sgd_diffusion", "lr", lr, traced_ok=True)
    s2 = v.non_negative("sgd_diffusion", "grad_variance", grad_variance, traced_ok=True)
    B = v.positive_int("sgd_diffusion", "batch_size", batch_size)
    return v.finite_result("sgd_diffusion", lr * s2 / (2.0 * B),
                           f"lr·grad_variance/(2·batch_size) overflows with lr = {v.show(lr)}, "
                           f"grad_variance = {v.show(s2)}")


# --------------------------------------------------------------------------- trajectories


def seed_diffusion_from_trajectory(trajectory, *, dt: float = 1.0) -> jax.Array:
    """Seed 002, FAQ "Method 2" as written: ``D ≈ Var[θ_1..θ_T] / T``.

    The variance is over the time axis (leaves ``[T, ...]``, ``T ≥ 2``), averaged over
    every other axis, and ``T`` is the duration ``(T−1)·dt``. For Brownian motion
    (``θ = sqrt(2D)·W``) its expectation is ``D/3`` (``E[time variance] = 2D·T/6``);
    near a minimum the variance saturates at ``D/λ`` and the estimate decays as ``1/T``.
    """
    dt = v.positive("seed_diffusion_from_trajectory", "dt", dt, traced_ok=True)
    x = _flat(_leaves("seed_diffusion_from_trajectory", "trajectory", trajectory, min_len=2))
    T = (x.shape[0] - 1) * dt
    return v.finite_result("seed_diffusion_from_trajectory", jnp.mean(jnp.var(x, axis=0)) / T,
                           f"trajectory holds NaN/inf, or the estimate overflows with dt = {v.show(dt)}")


def diffusion_from_trajectory(trajectory, *, dt: float, drift=None) -> jax.Array:
    """Diffusion coefficient from one-step increments: ``D = ⟨(Δθ + dt·∇ℒ)²⟩ / (2·dt)``.

    Euler–Maruyama (or SGD with ``dt = α``) gives ``Δθ_k = −∇ℒ(θ_k)·dt + sqrt(2D·dt)·ξ_k``,
    so with the drift known the estimate is unbiased. Without it (``drift=None``)
    the drift inflates it by ``dt·⟨‖∇ℒ‖²⟩/(2d)``, i.e. by the relative amount
    ``dt·tr(H)/(2d)`` near a stationary minimum (small when ``α·λ ≪ 1``).

    Args:
        trajectory: leaves ``[T, ...]`` (``T ≥ 2``), consecutive states ``dt`` apart.
        dt: time step (``α`` for SGD).
        drift: optional pytree like ``trajectory``, ``∇ℒ`` at each state (the last
            frame is not used).

    Returns:
        scalar ``D`` (mean over steps and pooled coordinates).
    """
    dt = v.positive("diffusion_from_trajectory", "dt", dt, traced_ok=True)
    x = _flat(_leaves("diffusion_from_trajectory", "trajectory", trajectory, min_len=2))
    inc = x[1:] - x[:-1]
    if drift is not None:
        g = _flat(_leaves("diffusion_from_trajectory", "drift", drift, min_len=2))
        if g.shape != x.shape:
            raise ValueError(
                f"`diffusion_from_trajectory`: drift must have the trajectory's shapes, got "
                f"{g.shape} (flattened) against {x.shape}."
            )
        inc = inc + dt * g[:-1]
    return v.finite_result("diffusion_from_trajectory", jnp.mean(jnp.square(inc)) / (2.0 * dt),
                           f"trajectory or drift holds NaN/inf, or the estimate overflows with dt = {v.show(dt)}")


def diffusion_virial(samples, grads) -> jax.Array:
    """Stationary (virial) estimator ``D = Σ_i Cov(θ_i, ∂_iℒ) / d``.

    At the Gibbs law ``∝ exp(−ℒ/D)`` integration by parts gives ``E[(θ_i − c)·∂_iℒ] = D``
    for any constant ``c``; for a quadratic with anisotropic noise ``2·D_mat`` the
    Lyapunov equation gives ``tr(H·Cov θ) = tr D_mat``, so this returns ``tr D_mat / d``.
    Exact Euler–Maruyama chains on ``λθ²/2`` give ``D/(1 − λ·dt/2)``.

    Args:
        samples: states, leaves ``[m, ...]`` (``m ≥ 2``; a stationary trajectory or an ensemble).
        grads: ``∇ℒ`` at those states, same shapes.
    """
    x = _flat(_leaves("diffusion_virial", "samples", samples, min_len=2))
    g = _flat(_leaves("diffusion_virial", "grads", grads, min_len=2))
    if g.shape != x.shape:
        raise ValueError(
            f"`diffusion_virial`: grads must have the samples' shapes, got {g.shape} against {x.shape} "
            "(flattened)."
        )
    cov = jnp.mean((x - x.mean(0)) * (g - g.mean(0)), axis=0) * x.shape[0] / (x.shape[0] - 1)
    return v.finite_result("diffusion_virial", jnp.mean(cov), "samples or grads hold NaN/inf, or overflow")


class Uncertainty(NamedTuple):
    """Per-coordinate ``√Var θ``, ``√Var ∂ℒ``, their product and ``Cov(θ, ∂ℒ)`` (arrays ``[...]``)."""

    std_theta: jax.Array
    std_grad: jax.Array
    product: jax.Array
    covariance: jax.Array


def uncertainty_relation(samples, grads) -> Uncertainty:
    """Both sides of seed 002's Theorem 1, ``√Var[θ]·√Var[∇ℒ] ≥ D/2``, per coordinate.

    At Gibbs stationarity ``Cov(θ_i, ∂_iℒ) = D`` (integration by parts), so Cauchy–Schwarz gives
    the sharper ``√Var[θ_i]·√Var[∂_iℒ] ≥ |Cov(θ_i, ∂_iℒ)| = D``, with equality for a quadratic.
    Out of equilibrium nothing bounds the product (a point mass has ``Var θ = 0``).

    Args:
        samples: array ``[m, ...]`` of states (``m ≥ 2``); grads: ``∇ℒ`` there, same shape.

    Returns:
        :class:`Uncertainty` with arrays of shape ``[...]`` (unbiased moments).
    """
    x = jnp.asarray(samples)
    g = jnp.asarray(grads)
    if x.ndim == 0 or x.shape[0] < 2:
        raise ValueError(f"`uncertainty_relation`: samples needs a leading axis of length >= 2, got {x.shape}.")
    if g.shape != x.shape:
        raise ValueError(f"`uncertainty_relation`: grads must have shape {x.shape}, got {g.shape}.")
    sx, sg = jnp.std(x, axis=0, ddof=1), jnp.std(g, axis=0, ddof=1)
    m = x.shape[0]
    cov = jnp.sum((x - x.mean(0)) * (g - g.mean(0)), axis=0) / (m - 1)
    return Uncertainty(sx, sg, sx * sg, cov)


# --------------------------------------------------------------------------- curvature, learning rates


def hessian_max_eigenvalue(loss_fn: Callable, params, *, key, iters: int = 50) -> jax.Array:
    """Dominant Hessian eigenvalue of ``loss_fn`` at ``params`` by power iteration.

    Hessian-vector products are forward-over-reverse, ``Hv = jvp(grad(loss_fn), (θ,), (v,))``,
    on any pytree of floating parameters (raveled internally). The iteration
    ``v ← Hv/‖Hv‖`` from a Gaussian start converges to the eigenvalue of largest
    *magnitude* at rate ``|λ₂/λ₁|^iters``; the returned value is the Rayleigh
    quotient ``vᵀHv`` (signed). For losses near a minimum that is ``λ_max``.

    Args:
        loss_fn: ``params -> scalar``.
        params: pytree of floating arrays.
        key: PRNG key for the starting vector.
        iters: number of Hessian-vector products (≥ 1).

    Returns:
        scalar array.

    Reference: Pearlmutter (1994), Neural Computation 6:147; seed 002 "Learning Rate Optimization".
    """
    if not callable(loss_fn):
        raise ValueError(f"`hessian_max_eigenvalue`: loss_fn must be callable, got loss_fn = {loss_fn!r}.")
    iters = v.positive_int("hessian_max_eigenvalue", "iters", iters)
    key = v.prng_key("hessian_max_eigenvalue", "key", key)
    leaves = _leaves("hessian_max_eigenvalue", "params", params)
    if not all(jnp.issubdtype(l.dtype, jnp.floating) for l in leaves):
        raise ValueError(
            f"`hessian_max_eigenvalue`: params must be floating arrays, got dtypes {[l.dtype for l in leaves]}."
        )
    out = jax.eval_shape(loss_fn, params)
    if getattr(out, "shape", None) != ():
        raise ValueError(
            f"`hessian_max_eigenvalue`: loss_fn must return a scalar, got shape {getattr(out, 'shape', out)}."
        )
    flat, unravel = ravel_pytree(params)
    grad_fn = jax.grad(loss_fn)

    def hvp(u):
        return ravel_pytree(jax.jvp(grad_fn, (params,), (unravel(u),))[1])[0]

    def body(_, u):
        w = hvp(u)
        return w / jnp.maximum(jnp.linalg.norm(w), jnp.finfo(w.dtype).tiny)

    u0 = jax.random.normal(key, flat.shape, flat.dtype)
    u = jax.lax.fori_loop(0, iters - 1, body, u0 / jnp.linalg.norm(u0)) if iters > 1 else u0 / jnp.linalg.norm(u0)
    return jnp.vdot(u, hvp(u))


def seed_optimal_lr(D, lam_max) -> float | jax.Array:
    """Seed 002's ``α_opt ≈ 2D/λ_max`` ("Learning Rate Optimization").

    Dimensional note: ``α`` is a time (1/curvature) while ``2D/λ_max`` has units of
    ``D``/curvature; the formula is not scale-invariant. Compare :func:`stability_limit_lr`.
    """
    D = v.positive("seed_optimal_lr", "D", D, traced_ok=True)
    lam = v.positive("seed_optimal_lr", "lam_max", lam_max, traced_ok=True)
    return v.finite_result("seed_optimal_lr", 2.0 * D / lam,
                           f"2·D/lam_max overflows with D = {v.show(D)}, lam_max = {v.show(lam)}")


def stability_limit_lr(lam_max) -> float | jax.Array:
    """Classical stability limit of gradient descent, ``α < 2/λ_max`` (``|1 − αλ| < 1``)."""
    lam = v.positive("stability_limit_lr", "lam_max", lam_max, traced_ok=True)
    return v.finite_result("stability_limit_lr", 2.0 / lam, f"2/lam_max overflows with lam_max = {v.show(lam)}")


# --------------------------------------------------------------------------- the seed's adaptive lr


class ConsolidationLRState(NamedTuple):
    """Current learning rate, last consolidation ratio and step count."""

    lr: jax.Array
    consolidation: jax.Array
    count: jax.Array


def _check_lr_rule(call, learning_rate, low, high, increase, decrease, every, min_lr, max_lr):
    lr0 = v.positive(call, "learning_rate", learning_rate)
    low = v.non_negative(call, "low", low)
    high = v.positive(call, "high", high)
    if not low < high:
        raise ValueError(f"`{call}`: low must be < high, got low = {low}, high = {high}.")
    inc = v.positive(call, "increase", increase)
    dec = v.positive(call, "decrease", decrease)
    every = v.positive_int(call, "every", every)
    min_lr = v.non_negative(call, "min_lr", min_lr)
    if not (isinstance(max_lr, (int, float)) and max_lr > min_lr):
        raise ValueError(f"`{call}`: max_lr must be a number > min_lr = {min_lr}, got max_lr = {max_lr!r}.")
    if not min_lr <= lr0 <= max_lr:
        raise ValueError(
            f"`{call}`: learning_rate must lie in [min_lr, max_lr] = [{min_lr}, {max_lr}], "
            f"got learning_rate = {lr0}."
        )
    return lr0, low, high, inc, dec, every, min_lr, max_lr


def consolidation_lr_rule(learning_rate: float, *, low: float = 0.5, high: float = 20.0,
                          increase: float = 1.5, decrease: float = 0.7, every: int = 1,
                          min_lr: float = 0.0, max_lr: float = math.inf
                          ) -> optax.GradientTransformationExtraArgs:
    """Seed 002's adaptive learning rate as an optax transform: SGD whose lr follows C.

    Every ``every`` steps ``C = ‖g‖²/(D·d)`` is computed on the incoming updates
    (put this transform first in a chain, so it sees the raw gradient) and::

        C < low  (0.5): lr ← increase·lr  (1.5)     "boost exploration"
        C > high (20):  lr ← decrease·lr  (0.7)     "converging too fast, may be stuck"

    then ``lr`` is clipped to ``[min_lr, max_lr]`` and the updates become ``−lr·g``.

    A ``D`` that is not finite and > 0 raises when concrete; when traced (under ``jit``) it leaves
    the lr unchanged for that step and records ``C = NaN`` in the state.

    ``D`` is a required keyword extra argument of ``update`` (``opt.update(g, s, p, D=D)``):
    the transform sees one (minibatch) gradient and cannot estimate the noise itself.
    Any estimator can feed it, e.g. :func:`seed_diffusion_from_gradients` of per-example
    gradients divided by the batch size, or :func:`sgd_diffusion`. With a minibatch
    gradient ``E‖g_B‖² = ‖∇ℒ‖² + d·σ²/B``, so C includes the noise itself.

    Args:
        learning_rate: initial lr (> 0).
        low, high: C thresholds (0 ≤ low < high).
        increase, decrease: multiplicative lr factors (> 0).
        every: apply the rule on steps ``0, every, 2·every, …``.
        min_lr, max_lr: bounds for the lr (the seed has none; defaults leave it unbounded).

    Reference: seed 002, "Practical Recommendations", item 2.
    """
    call = "consolidation_lr_rule"
    lr0, low, high, inc, dec, every, min_lr, max_lr = _check_lr_rule(
        call, learning_rate, low, high, increase, decrease, every, min_lr, max_lr)

    def init_fn(params):
        del params
        return ConsolidationLRState(jnp.asarray(lr0, jnp.float32), jnp.zeros((), jnp.float32),
                                    jnp.zeros((), jnp.int32))

    def update_fn(updates, state, params=None, *, D, **extra_args):
        del params, extra_args
        C = _ratio(call, updates, D).astype(jnp.float32)
        # a traced D cannot be checked eagerly: a bad one (<= 0, NaN) leaves the lr unchanged, C = NaN
        C = jnp.where(jnp.isfinite(D) & (D > 0), C, jnp.nan)
        check = (state.count % every == 0) & ~jnp.isnan(C)
        factor = jnp.where(check & (C < low), inc, jnp.where(check & (C > high), dec, 1.0))
        lr = jnp.clip(state.lr * factor, min_lr, max_lr).astype(jnp.float32)
        updates = jax.tree_util.tree_map(lambda g: (-lr * g).astype(g.dtype), updates)
        return updates, ConsolidationLRState(lr, C, state.count + 1)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
