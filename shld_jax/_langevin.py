"""Overdamped Langevin dynamics by Euler–Maruyama, compiled with ``lax.scan``.

The SDE (seed 002, "The Langevin Dynamics")::

    dx = −∇U(x) dt + sqrt(2D) dW            (Itô)

is stepped with Euler–Maruyama::

    x_{t+1} = x_t − ∇U(x_t)·dt + sqrt(2D·dt)·ξ_t,     ξ_t ~ N(0, I).

Theory: for additive noise Euler–Maruyama converges to the Itô solution with
strong and weak order 1 (Kloeden & Platen 1992, §10.2; diffrax's ``Euler`` states
strong order 0.5 for general noise). The discrete chain has its own stationary
law: for the OU case ``U = k x²/2`` the stationary variance is
``D / (k (1 − k·dt/2))`` rather than ``D/k`` (tested).

Simulators follow jax-md's ``simulate.py`` contract: ``overdamped_langevin(grad_fn, dt=, D=)``
returns an ``(init_fn, step_fn)`` pair. ``euler_maruyama`` and
``first_passage_times`` run whole ensembles in one compiled program.

Ensembles carry a leading particle axis ``[n, ...]``; ``grad_fn`` sees one
particle. Step ``t``'s noise for leaf ``j`` is ``normal(fold_in(fold_in(key, t), j),
(n, ...))``; with JAX's partitionable threefry, particle ``i``'s noise depends only
on ``(key, t, j, i)``: the same whatever the number of particles after it or of
devices the ensemble is sharded over.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from shld_jax import _validate as v
from shld_jax import _sharding as sharding

NEVER = -1
"""Marker in first-passage outputs for a particle that never reached the target."""


class Above(NamedTuple):
    """Target region ``x ≥ level`` for one particle (all coordinates); hashable, so jit caches it."""

    level: float

    def __call__(self, x):
        return jnp.all(x >= self.level)


class Below(NamedTuple):
    """Target region ``x ≤ level`` for one particle (all coordinates)."""

    level: float

    def __call__(self, x):
        return jnp.all(x <= self.level)


class LangevinState(NamedTuple):
    """Ensemble positions ``[n, ...]`` (pytree), step counter and PRNG key."""

    position: object
    step: jax.Array
    key: jax.Array


class Boost(NamedTuple):
    """Consolidation-triggered noise boost: D ← factor·D for ``duration`` steps once C < threshold.

    ``C = ‖∇U(x)‖²/(D·d)`` is evaluated per particle with the *base* D before each
    step; a boost starts only after ``warmup`` steps and when none is running. With
    ``duration=1`` this is the memoryless rule "D is multiplied while C < threshold".
    """

    threshold: float = 0.5
    factor: float = 10.0
    duration: int = 10
    warmup: int = 0


def _noise(key, step, x):
    kt = jax.random.fold_in(key, step)
    leaves, tree = jax.tree_util.tree_flatten(x)
    eps = [jax.random.normal(jax.random.fold_in(kt, j), l.shape, l.dtype) for j, l in enumerate(leaves)]
    return sharding.constrain_leading(jax.tree_util.tree_unflatten(tree, eps))


def _per_particle(D, leaf):
    """Broadcast a per-particle ``[n]`` coefficient against a leaf ``[n, ...]``."""
    D = jnp.asarray(D, leaf.dtype)
    return D.reshape(D.shape + (1,) * (leaf.ndim - D.ndim))


def _em_update(x, f, eps, D, dt):
    """One Euler–Maruyama step ``x − f·dt + sqrt(2·D·dt)·ε`` over pytrees; ``D`` scalar or ``[n]``."""
    return jax.tree_util.tree_map(
        lambda xi, fi, ei: xi - fi * dt + jnp.sqrt(2.0 * _per_particle(D, xi) * dt) * ei, x, f, eps
    )


def overdamped_langevin(grad_fn: Callable, *, dt: float, D: float):
    """Euler–Maruyama simulator for ``dx = −∇U dt + sqrt(2D) dW`` as ``(init_fn, step_fn)``.

    Args:
        grad_fn: ``∇U`` for one particle, pytree → pytree of the same structure.
        dt: time step (> 0).
        D: diffusion coefficient (≥ 0; ``D = 0`` is gradient descent).

    Returns:
        ``init_fn(x0, key) -> LangevinState`` with ``x0`` leaves ``[n, ...]``, and
        ``step_fn(state, D=None) -> LangevinState``; ``D`` may override the
        coefficient per call, as a scalar or per particle ``[n]``.
    """
    dt = v.positive("overdamped_langevin", "dt", dt)
    D0 = v.non_negative("overdamped_langevin", "D", D)
    g = jax.vmap(grad_fn)

    def init_fn(x0, key):
        return LangevinState(x0, jnp.zeros((), jnp.int32), key)

    def step_fn(state, D=None):
        Dt = D0 if D is None else D
        x = state.position
        x = _em_update(x, g(x), _noise(state.key, state.step, x), Dt, dt)
        return LangevinState(x, state.step + 1, state.key)

    return init_fn, step_fn


class SimulationResult(NamedTuple):
    """Everything one ensemble run reports (fields are ``None`` when not asked for)."""

    position: object  # final positions, leaves [n, ...]
    trajectory: object  # leaves [n_saves + 1, n, ...] (includes x0), or None
    first_passage: jax.Array | None  # int32 [n]: first step inside the target, NEVER if none
    boosted_steps: jax.Array | None  # int32 [n]: steps spent with a boosted D
    first_nonfinite: jax.Array  # int32 [n]: first step with NaN/inf, NEVER if none


def _finite(x):
    leaves = jax.tree_util.tree_leaves(x)
    ok = [jnp.all(jnp.isfinite(l).reshape(l.shape[0], -1), axis=1) for l in leaves]
    return jnp.stack(ok).all(axis=0)


@partial(jax.jit, static_argnames=("grad_fn", "n_steps", "save_every", "target_fn", "boost"))
def _simulate(grad_fn, x0, key, dt, D, n_steps, save_every, target_fn, boost):
    gvm = jax.vmap(grad_fn)
    n = jax.tree_util.tree_leaves(x0)[0].shape[0]
    d = sum(int(np.prod(l.shape[1:])) for l in jax.tree_util.tree_leaves(x0))
    never = jnp.full((n,), NEVER, jnp.int32)

    def one(carry, _):
        x, t, fpt, bad, remaining, boosted = carry
        Dt = jnp.full((n,), D, jnp.float32)
        f = gvm(x)  # the drift, and with a boost also the gradient in C
        if boost is not None:
            sq = sum(jnp.sum(l.reshape(n, -1) ** 2, axis=1) for l in jax.tree_util.tree_leaves(f))
            C = sq / (D * d)
            start = (C < boost.threshold) & (remaining == 0) & (t >= boost.warmup)
            remaining = jnp.where(start, boost.duration, remaining)
            on = remaining > 0
            Dt = jnp.where(on, D * boost.factor, D)
            boosted = boosted + on.astype(jnp.int32)
            remaining = jnp.maximum(remaining - 1, 0)
        x = _em_update(x, f, _noise(key, t, x), Dt, dt)
        t = t + 1
        bad = jnp.where((bad == NEVER) & ~_finite(x), t, bad)
        if target_fn is not None:
            inside = jax.vmap(target_fn)(x)
            fpt = jnp.where((fpt == NEVER) & inside, t, fpt)
        return (x, t, fpt, bad, remaining, boosted), None

    carry = (sharding.constrain_leading(x0), jnp.zeros((), jnp.int32), never, never,
             jnp.zeros((n,), jnp.int32), jnp.zeros((n,), jnp.int32))
    if save_every is None:
        carry, _ = jax.lax.scan(one, carry, None, length=n_steps)
        traj = None
    else:
        def block(c, _):
            c, _ = jax.lax.scan(one, c, None, length=save_every)
            return c, c[0]

        carry, traj = jax.lax.scan(block, carry, None, length=n_steps // save_every)
        traj = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), x0, traj)
    x, _, fpt, bad, _, boosted = carry
    return SimulationResult(
        x, traj, fpt if target_fn is not None else None, boosted if boost is not None else None, bad
    )


def _check_inputs(call, x0, dt, D, n_steps, save_every, boost):
    dt = v.positive(call, "dt", dt)
    D = v.non_negative(call, "D", D)
    n_steps = v.positive_int(call, "n_steps", n_steps)
    if save_every is not None:
        save_every = v.positive_int(call, "save_every", save_every)
        if n_steps % save_every:
            raise ValueError(
                f"`{call}`: n_steps must be a multiple of save_every, got n_steps = {n_steps}, "
                f"save_every = {save_every}."
            )
    leaves = v.stacked_leaves(call, "x0", x0, axis="leading particle axis [n, ...]")
    if not all(bool(jnp.all(jnp.isfinite(l))) for l in leaves):
        raise ValueError(f"`{call}`: x0 must be finite, got NaN or inf in x0.")
    if boost is not None:
        if not isinstance(boost, Boost):
            raise ValueError(f"`{call}`: boost must be a `Boost` or None, got boost = {boost!r}.")
        if D == 0:
            raise ValueError(f"`{call}`: a boost needs D > 0 (C divides by D), got D = {D}.")
        v.positive(call, "boost.factor", boost.factor)
        v.positive_int(call, "boost.duration", boost.duration)
        v.non_negative(call, "boost.threshold", boost.threshold)
        if int(boost.warmup) != boost.warmup or boost.warmup < 0:
            raise ValueError(f"`{call}`: boost.warmup must be an integer >= 0, got {boost.warmup!r}.")
    return dt, D, n_steps, save_every


def simulate(grad_fn, x0, *, key, dt, D, n_steps, save_every=None, target_fn=None, boost=None,
             check_finite=True) -> SimulationResult:
    """Run an ensemble ``x0`` (leaves ``[n, ...]``) for ``n_steps`` Euler–Maruyama steps.

    The ensemble is sharded over all visible devices (``shld_jax._sharding``);
    results do not depend on the device count. Raises ``FloatingPointError``
    naming the first step at which a particle became NaN/inf (``dt`` too large),
    unless ``check_finite=False``.

    Args:
        grad_fn: ``∇U`` for one particle (hashable: a module-level function or a
            bound method of a NamedTuple potential).
        x0: pytree with leaves ``[n, ...]``.
        key: PRNG key.
        dt, D, n_steps: step, diffusion coefficient, number of steps.
        save_every: record positions every ``save_every`` steps (``n_steps`` must
            be a multiple); the trajectory has ``n_steps // save_every + 1`` frames.
        target_fn: ``x -> bool`` for one particle; records first-passage steps.
        boost: optional :class:`Boost` (the corrected seed-002 intervention).

    Returns:
        :class:`SimulationResult`.
    """
    dt, D, n_steps, save_every = _check_inputs("simulate", x0, dt, D, n_steps, save_every, boost)
    x0 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32)
                                if not jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating) else jnp.asarray(a), x0)
    x0 = sharding.shard_leading(x0)
    res = _simulate(grad_fn, x0, key, jnp.float32(dt), jnp.float32(D), n_steps, save_every, target_fn, boost)
    if check_finite:
        bad = res.first_nonfinite
        if jax.process_count() > 1:  # no single host can read a global array: gather it
            from jax.experimental import multihost_utils

            bad = multihost_utils.process_allgather(bad)
        bad = np.asarray(bad)
        if np.any(bad != NEVER):
            s = int(bad[bad != NEVER].min())
            raise FloatingPointError(
                f"`simulate`: the state became NaN/inf at step {s} in {int(np.sum(bad != NEVER))} of "
                f"{bad.size} particles (dt = {dt}, D = {D}); the explicit Euler–Maruyama step is "
                f"unstable when dt exceeds about 2/curvature: reduce dt."
            )
    return res


def euler_maruyama(grad_fn, x0, *, key, dt, D, n_steps, save_every=None, ensemble=False):
    """Euler–Maruyama for ``dx = −∇U dt + sqrt(2D) dW`` (Itô), compiled with ``lax.scan``.

    Args:
        grad_fn: ``∇U`` for one state (pytree → pytree).
        x0: initial state, any pytree; with ``ensemble=True`` its leaves carry a
            leading particle axis ``[n, ...]`` and particle ``i`` gets the noise
            stream of index ``i`` (a one-particle run equals particle 0 of an ensemble).
        key: PRNG key; dt > 0; D ≥ 0; n_steps ≥ 1.
        save_every: if given, return ``(times, trajectory)`` sampled every
            ``save_every`` steps, ``times`` ``[n_saves + 1]`` in time units and
            trajectory leaves ``[n_saves + 1, (n,) ...]``.

    Returns:
        the final state, or ``(times, trajectory)``.

    Raises:
        ValueError: bad ``dt``, ``D``, ``n_steps``, ``save_every`` or shapes.
        FloatingPointError: the run produced NaN/inf (with the step).
    """
    if not ensemble:
        x0 = jax.tree_util.tree_map(lambda a: jnp.asarray(a)[None], x0)
    res = simulate(grad_fn, x0, key=key, dt=dt, D=D, n_steps=n_steps, save_every=save_every)
    unbatch = (lambda t: t) if ensemble else (lambda t: jax.tree_util.tree_map(lambda a: a[0], t))
    if save_every is None:
        return unbatch(res.position)
    traj = res.trajectory
    if not ensemble:
        traj = jax.tree_util.tree_map(lambda a: a[:, 0], traj)
    times = np.arange(n_steps // save_every + 1) * save_every * float(dt)
    return times, traj


def first_passage_times(grad_fn, x0, target_fn, *, key, dt, D, n_steps, boost=None):
    """First step at which each particle of ``x0`` (leaves ``[n, ...]``) satisfies ``target_fn``.

    Returns:
        int32 ``[n]``: steps (multiply by ``dt`` for time), :data:`NEVER` (−1) for
        particles that did not reach the target within ``n_steps`` (right-censored).
    """
    if target_fn is None:
        raise ValueError("`first_passage_times`: target_fn must be a callable x -> bool, got None.")
    res = simulate(grad_fn, x0, key=key, dt=dt, D=D, n_steps=n_steps, target_fn=target_fn, boost=boost)
    return res.first_passage
