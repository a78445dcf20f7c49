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
returns an ``(init_fn, step_fn)`` pair with jax-md's argument order ``init_fn(key, x0)``.
``euler_maruyama`` and ``first_passage_times`` run whole ensembles in one compiled program.

Ensembles carry a leading particle axis ``[n, ...]``; ``grad_fn`` sees one
particle. Step ``t``'s noise for leaf ``j`` is ``normal(fold_in(fold_in(key, t), j),
(n, ...))`` with element ``e`` a function of ``(key, t, j, e)`` only (counter-based
threefry, :mod:`shld_jax._normal`): particle ``i``'s noise is the same whatever the
number of particles after it or of devices the ensemble is sharded over. The default
``noise="threefry"`` is ``jax.random.normal`` bit for bit, drawn by an unrolled threefry
that XLA fuses into the step; ``noise="box-muller"`` is a faster, validated option.

Bookkeeping costs only when asked for: first passage with ``target_fn``, the boost with
``boost``, the per-step NaN/inf record with ``track_nonfinite=True``. The default
``check_finite=True`` needs no per-step work: a non-finite coordinate stays non-finite
under the update ``x − f·dt + s·ξ`` (NaN − a = NaN, ±inf − finite = ±inf, inf − inf = NaN),
so a particle that ever left the floats is non-finite at the end; only then is the run
repeated with the per-step record to name the first bad step.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from shld_jax import _normal as normal_gen
from shld_jax import _sharding as sharding
from shld_jax import _validate as v

NEVER = -1
"""Marker in first-passage outputs for a particle that never reached the target."""

NOISE = normal_gen.GENERATORS
"""Accepted values of ``noise=``: ``"threefry"`` (default, ``jax.random.normal``'s stream) and
``"box-muller"`` (Box–Muller on threefry words, a different stream)."""


def _all_leaves(x, pred):
    """``pred`` on every leaf of one particle's pytree ``x``, and-reduced to one bool."""
    leaves = jax.tree_util.tree_leaves(x)
    out = jnp.all(pred(leaves[0]))
    for l in leaves[1:]:
        out = out & jnp.all(pred(l))
    return out


class Above(NamedTuple):
    """Target region ``x ≥ level`` for one particle (all coordinates of every leaf); hashable."""

    level: float

    def __call__(self, x):
        return _all_leaves(x, lambda l: l >= self.level)


class Below(NamedTuple):
    """Target region ``x ≤ level`` for one particle (all coordinates of every leaf)."""

    level: float

    def __call__(self, x):
        return _all_leaves(x, lambda l: l <= self.level)


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


# --------------------------------------------------------------------------- checks


def _is_traced(x) -> bool:
    return any(isinstance(l, jax.core.Tracer) for l in jax.tree_util.tree_leaves(x))


def _show(value) -> str:
    """``repr`` for messages; a tracer is named as traced, not printed as ``JitTracer(...)``."""
    if isinstance(value, jax.core.Tracer):
        return f"a traced value (shape {tuple(value.shape)}, dtype {value.dtype})"
    return repr(value)


def _check_key(call: str, key):
    """A single PRNG key: typed (``jax.random.key``) or raw ``uint32[2]`` (``jax.random.PRNGKey``)."""
    hint = "pass jax.random.key(seed) (or the raw jax.random.PRNGKey(seed))"
    if isinstance(key, (bool, int, float, np.integer, np.floating)) or not hasattr(key, "dtype"):
        raise TypeError(f"`{call}`: key must be a PRNG key, got key = {_show(key)} "
                        f"({type(key).__name__}); {hint}.")
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise TypeError(f"`{call}`: key must be one PRNG key, got a key array of shape {key.shape}; "
                            "vmap over keys or pass one key.")
        return key
    if key.dtype != jnp.uint32 or tuple(key.shape) != (2,):
        raise TypeError(f"`{call}`: key must be a PRNG key, got an array of dtype {key.dtype} and shape "
                        f"{tuple(key.shape)}; {hint}.")
    return key


def _scalar(call, name, value, *, positive):
    """Validate a concrete number; a traced one passes unchecked (it is checked in the program)."""
    if isinstance(value, jax.core.Tracer):
        return value
    return v.positive(call, name, value) if positive else v.non_negative(call, name, value)


def _check_D(call, D, n):
    """``D``: a number ≥ 0 or a per-particle array ``[n]`` of them; traced values pass unchecked."""
    if isinstance(D, jax.core.Tracer):
        if D.ndim not in (0, 1) or (D.ndim == 1 and D.shape[0] != n):
            raise ValueError(f"`{call}`: D must be a number or a per-particle array [{n}], got "
                             f"{_show(D)}.")
        return D
    if np.ndim(D) == 0:
        return v.non_negative(call, "D", D)
    a = np.asarray(D)
    if a.shape != (n,) or not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"`{call}`: D must be a number or a per-particle array [{n}], got an array of "
                         f"shape {a.shape} and dtype {a.dtype}.")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        bad = int(np.flatnonzero(~np.isfinite(a) | (a < 0))[0])
        raise ValueError(f"`{call}`: D must be finite and >= 0 for every particle, got D[{bad}] = {a[bad]!r}.")
    return a.astype(np.float32)


def _check_grad_shapes(call, grad_fn, x0):
    """``jax.eval_shape`` of ``vmap(grad_fn)`` on ``x0``: ∇U must have x0's structure and shapes.

    Checked once per (grad_fn, x0 structure, shapes, dtypes): tracing costs milliseconds per call.
    """
    leaves, tree = jax.tree_util.tree_flatten(x0)
    sig = (tree, tuple((tuple(jnp.shape(l)), str(jnp.result_type(l))) for l in leaves))
    try:
        hash(grad_fn)
    except TypeError:
        return _grad_shapes_uncached(call, grad_fn, x0)
    if (grad_fn, sig) not in _CHECKED:
        _grad_shapes_uncached(call, grad_fn, x0)
        if len(_CHECKED) > 1024:
            _CHECKED.clear()
        _CHECKED.add((grad_fn, sig))


_CHECKED: set = set()


def _grad_shapes_uncached(call, grad_fn, x0):
    spec = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(jnp.shape(a), jnp.result_type(a)), x0)
    shapes = jax.tree_util.tree_map(lambda a: tuple(a.shape), spec)
    try:
        out = jax.eval_shape(jax.vmap(grad_fn), spec)
    except Exception as e:  # a raw broadcasting/trace error: say which call and what it was given
        raise ValueError(
            f"`{call}`: grad_fn failed on one particle of x0 (x0 leaf shapes {shapes}, one particle is "
            f"x0[i]); check that x0 is [n, ...] with the particle axis first. Error: {type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''}"
        ) from e
    got = jax.tree_util.tree_map(lambda a: tuple(a.shape), out)
    if jax.tree_util.tree_structure(out) != jax.tree_util.tree_structure(spec) or got != shapes:
        raise ValueError(
            f"`{call}`: grad_fn must return ∇U with the structure and shapes of one particle of x0, got "
            f"output shapes {got} for x0 leaf shapes {shapes} (vmapped over particles); did you pass U "
            "instead of ∇U (use jax.grad(U)), or x0 transposed (the particle axis must be first)?"
        )


def _check_boost(call, boost, D):
    if boost is None:
        return
    if not isinstance(boost, Boost):
        raise ValueError(f"`{call}`: boost must be a `Boost` or None, got boost = {boost!r}.")
    if not isinstance(D, jax.core.Tracer) and np.any(np.asarray(D) == 0):
        raise ValueError(f"`{call}`: a boost needs D > 0 (C divides by D), got D = {D}.")
    v.positive(call, "boost.factor", boost.factor)
    v.positive_int(call, "boost.duration", boost.duration)
    v.non_negative(call, "boost.threshold", boost.threshold)
    if isinstance(boost.warmup, bool) or int(boost.warmup) != boost.warmup or boost.warmup < 0:
        raise ValueError(f"`{call}`: boost.warmup must be an integer >= 0, got {boost.warmup!r}.")


def _static_int(call, name, value):
    if isinstance(value, jax.core.Tracer):
        raise TypeError(f"`{call}`: {name} must be a concrete Python int, got {_show(value)}; it sets the "
                        "length of the compiled loop, so pass it outside jit (e.g. functools.partial or "
                        "static_argnames).")
    return v.positive_int(call, name, value)


# --------------------------------------------------------------------------- the step


def _noise(key, step, x, noise="threefry"):
    kt = jax.random.fold_in(key, step)
    leaves, tree = jax.tree_util.tree_flatten(x)
    eps = [normal_gen.draw(jax.random.fold_in(kt, j), l.shape, l.dtype, noise) for j, l in enumerate(leaves)]
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


def _raise_if_negative_D(D):
    if np.any(np.asarray(D) < 0):
        raise FloatingPointError(f"`step_fn`: D must be >= 0, got a traced D with min {float(np.min(D))}.")


def overdamped_langevin(grad_fn: Callable, *, dt: float, D: float, noise: str = "threefry"):
    """Euler–Maruyama simulator for ``dx = −∇U dt + sqrt(2D) dW`` as ``(init_fn, step_fn)``.

    Args:
        grad_fn: ``∇U`` for one particle, pytree → pytree of the same structure.
        dt: time step (> 0).
        D: diffusion coefficient (≥ 0; ``D = 0`` is gradient descent).
        noise: normal generator, one of :data:`NOISE`.

    Returns:
        ``init_fn(key, x0) -> LangevinState`` (jax-md's order) with ``x0`` leaves ``[n, ...]``,
        and ``step_fn(state, D=None) -> LangevinState``; ``D`` may override the coefficient
        per call, as a scalar or per particle ``[n]`` (checked ≥ 0: eagerly when concrete,
        by a host callback in the program when traced).
    """
    call = "overdamped_langevin"
    _check_grad_fn(call, grad_fn)
    dt = v.positive(call, "dt", dt)
    D0 = v.non_negative(call, "D", D)
    v.one_of(call, "noise", noise, NOISE)
    g = jax.vmap(grad_fn)

    def init_fn(key, x0):
        if hasattr(x0, "dtype") and jnp.issubdtype(x0.dtype, jax.dtypes.prng_key):
            raise TypeError("`init_fn`: the argument order is init_fn(key, x0) (jax-md's init_fn(key, R)), "
                            "got the key second.")
        key = _check_key("init_fn", key)
        v.stacked_leaves("init_fn", "x0", x0, axis="leading particle axis [n, ...]")
        return LangevinState(x0, jnp.zeros((), jnp.int32), key)

    def step_fn(state, D=None):
        if D is None:
            Dt = D0
        else:
            n = jax.tree_util.tree_leaves(state.position)[0].shape[0]
            Dt = _check_D("step_fn", D, n)
            if isinstance(Dt, jax.core.Tracer):
                jax.debug.callback(_raise_if_negative_D, Dt)
        x = state.position
        x = _em_update(x, g(x), _noise(state.key, state.step, x, noise), Dt, dt)
        return LangevinState(x, state.step + 1, state.key)

    return init_fn, step_fn


# --------------------------------------------------------------------------- ensembles


class SimulationResult(NamedTuple):
    """Everything one ensemble run reports (fields are ``None`` when not asked for)."""

    position: object  # final positions, leaves [n, ...]
    trajectory: object  # leaves [n_saves + 1, n, ...] (includes x0), or None
    first_passage: jax.Array | None  # int32 [n]: first step inside the target (0: x0 inside), NEVER if none
    boosted_steps: jax.Array | None  # int32 [n]: steps spent with a boosted D
    first_nonfinite: jax.Array | None  # int32 [n]: first step with NaN/inf, NEVER if none (see simulate)


def _finite(x):
    leaves = jax.tree_util.tree_leaves(x)
    ok = [jnp.all(jnp.isfinite(l).reshape(l.shape[0], -1), axis=1) for l in leaves]
    return jnp.stack(ok).all(axis=0)


def _init_carry(x0, n, target_fn, boost, track_nonfinite):
    """The scan carry: only the bookkeeping asked for (a carried, unused array still costs a copy per step)."""
    never = jnp.full((n,), NEVER, jnp.int32)
    carry = {"x": x0, "t": jnp.zeros((), jnp.int32)}
    if track_nonfinite:
        carry["bad"] = never
    if target_fn is not None:
        carry["fpt"] = jnp.where(jax.vmap(target_fn)(x0), 0, never)
    if boost is not None:
        carry["remaining"] = jnp.zeros((n,), jnp.int32)
        carry["boosted"] = jnp.zeros((n,), jnp.int32)
    return carry


def _boosted_D(c, f, D, d, boost):
    """The corrected seed-002 intervention: C = ‖∇U‖²/(D·d) < threshold starts ``duration`` steps of D·factor."""
    sq = sum(jnp.sum(l.reshape(l.shape[0], -1) ** 2, axis=1) for l in jax.tree_util.tree_leaves(f))
    C = sq / (D * d)
    start = (C < boost.threshold) & (c["remaining"] == 0) & (c["t"] >= boost.warmup)
    remaining = jnp.where(start, boost.duration, c["remaining"])
    on = remaining > 0
    c["boosted"] = c["boosted"] + on.astype(jnp.int32)
    c["remaining"] = jnp.maximum(remaining - 1, 0)
    return jnp.where(on, D * boost.factor, D)


def _make_step(grad_fn, key, dt, D, d, target_fn, boost, track_nonfinite, noise):
    """One Euler–Maruyama step of the whole ensemble, with its bookkeeping, as a ``lax.scan`` body."""
    gvm = jax.vmap(grad_fn)

    def one(c, _):
        c = dict(c)
        x, t = c["x"], c["t"]
        f = gvm(x)  # the drift, and with a boost also the gradient in C
        Dt = D if boost is None else _boosted_D(c, f, D, d, boost)
        x = _em_update(x, f, _noise(key, t, x, noise), Dt, dt)
        t = t + 1
        if track_nonfinite:
            c["bad"] = jnp.where((c["bad"] == NEVER) & ~_finite(x), t, c["bad"])
        if target_fn is not None:
            inside = jax.vmap(target_fn)(x)
            c["fpt"] = jnp.where((c["fpt"] == NEVER) & inside, t, c["fpt"])
        c["x"], c["t"] = x, t
        return c, None

    return one


@partial(jax.jit, static_argnames=("grad_fn", "n_steps", "save_every", "target_fn", "boost", "track_nonfinite",
                                   "noise", "fill_nonfinite"))
def _simulate(grad_fn, x0, key, dt, D, n_steps, save_every, target_fn, boost, track_nonfinite=True,
              noise="threefry", fill_nonfinite=False):
    n = jax.tree_util.tree_leaves(x0)[0].shape[0]
    d = sum(int(np.prod(l.shape[1:])) for l in jax.tree_util.tree_leaves(x0))
    x0 = sharding.constrain_leading(x0)
    carry = _init_carry(x0, n, target_fn, boost, track_nonfinite)
    one = _make_step(grad_fn, key, dt, D, d, target_fn, boost, track_nonfinite, noise)
    if save_every is None:
        carry, _ = jax.lax.scan(one, carry, None, length=n_steps)
        traj = None
    else:
        def block(c, _):
            c, _ = jax.lax.scan(one, c, None, length=save_every)
            return c, c["x"]

        carry, traj = jax.lax.scan(block, carry, None, length=n_steps // save_every)
        traj = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), x0, traj)
    x = carry["x"]
    # non-finite values are absorbing under the update, so the final state tells every particle
    n_bad = jnp.sum(~_finite(x))
    bad = carry.get("bad")
    if bad is None and fill_nonfinite:  # an eager checked call raises on any bad particle: all NEVER then
        bad = jnp.full((n,), NEVER, jnp.int32)
    res = SimulationResult(x, traj, carry.get("fpt"), carry.get("boosted"), bad)
    return res, n_bad


def _check_grad_fn(call, grad_fn):
    if not callable(grad_fn):
        raise TypeError(f"`{call}`: grad_fn must be a callable x -> ∇U(x) for one particle, "
                        f"got grad_fn = {grad_fn!r} of type {type(grad_fn).__name__}.")


def _check_inputs(call, grad_fn, x0, key, dt, D, n_steps, save_every, boost, noise):
    _check_grad_fn(call, grad_fn)
    dt = _scalar(call, "dt", dt, positive=True)
    n_steps = _static_int(call, "n_steps", n_steps)
    if save_every is not None:
        save_every = _static_int(call, "save_every", save_every)
        v.multiple_of(call, "n_steps", n_steps, save_every, "save_every")
    key = _check_key(call, key)
    v.one_of(call, "noise", noise, NOISE)
    leaves = v.stacked_leaves(call, "x0", x0, axis="leading particle axis [n, ...]")
    for l in leaves:
        if not (jnp.issubdtype(l.dtype, jnp.floating) or jnp.issubdtype(l.dtype, jnp.integer)
                or l.dtype == jnp.bool_):
            raise ValueError(f"`{call}`: x0 must hold real numbers, got a leaf of dtype {l.dtype}.")
    if not all(isinstance(l, jax.core.Tracer) or bool(jnp.all(jnp.isfinite(l))) for l in leaves):
        raise ValueError(f"`{call}`: x0 must be finite, got NaN or inf in x0.")
    D = _check_D(call, D, leaves[0].shape[0])
    _check_boost(call, boost, D)
    return dt, D, n_steps, save_every, key


def _nonfinite_message(call, grad_fn, x0, bad, dt, D):
    """Name the first bad step and the likely cause: x0/∇U, the noise amplitude (D), or the step (dt)."""
    s = int(bad[bad != NEVER].min())
    k = int(np.sum(bad != NEVER))
    head = f"`{call}`: the state became NaN/inf at step {s} in {k} of {bad.size} particles (dt = {dt}, D = {D}); "
    g0_ok = bool(np.all(_gather(jax.jit(lambda x: _finite(jax.vmap(grad_fn)(x)))(x0))))
    if not g0_ok:
        return head + ("grad_fn returns NaN/inf at x0 itself: the potential is undefined or overflows there "
                       "(check grad_fn and x0; not a step-size problem).")
    Dmax = float(np.max(np.asarray(D)))
    amp = np.sqrt(2.0 * Dmax * dt)
    if not np.isfinite(np.float32(6.0 * amp)):
        return head + (f"the noise amplitude sqrt(2·D·dt) = {amp:.3g} overflows float32: reduce D "
                       "(or dt).")
    kicked = jax.tree_util.tree_map(lambda a: a + np.float32(6.0 * amp), x0)
    if not bool(np.all(_gather(jax.jit(lambda x: _finite(jax.vmap(grad_fn)(x)))(kicked)))):
        return head + (f"one noise kick of 6 standard deviations, 6·sqrt(2·D·dt) = {6 * amp:.3g}, carries a "
                       "particle from x0 to where ∇U overflows float32: D is too large for this potential "
                       "(reduce D).")
    if s == 1:
        return head + ("the first step already overflows: dt·|∇U(x0)| or the kick sqrt(2·D·dt)·ξ leaves the "
                       f"float32 range (noise amplitude sqrt(2·D·dt) = {amp:.3g}); reduce dt, or D if the "
                       "amplitude is large against the scale of x0.")
    return head + ("the explicit Euler–Maruyama step is unstable where dt exceeds about 2/U''(x); particles "
                   f"reach such regions either because dt is too large or because the noise (amplitude "
                   f"sqrt(2·D·dt) = {amp:.3g} per step) kicks them there: reduce dt, or D.")


def _gather(a):
    if jax.process_count() > 1:  # no single host can read a global array: gather it
        from jax.experimental import multihost_utils

        if a.ndim == 0:  # a replicated scalar: every process holds it
            return np.asarray(a.addressable_data(0))
        return np.asarray(multihost_utils.process_allgather(a, tiled=True))
    return np.asarray(a)


def _raise_nonfinite_traced(n_bad, n):
    n_bad = int(np.sum(n_bad))
    if n_bad:
        raise FloatingPointError(
            f"`simulate`: the state became NaN/inf in {n_bad} of {n} particles (checked inside jit/vmap; "
            "run eagerly, or pass check_finite=False, track_nonfinite=True and read first_nonfinite, to get "
            "the step)."
        )


def simulate(grad_fn: Callable, x0, *, key, dt: float, D, n_steps: int, save_every: int | None = None,
             target_fn: Callable | None = None, boost: Boost | None = None, check_finite: bool = True,
             track_nonfinite: bool = False, noise: str = "threefry") -> SimulationResult:
    """Run an ensemble ``x0`` (leaves ``[n, ...]``) for ``n_steps`` Euler–Maruyama steps.

    The ensemble is sharded over all visible devices (``shld_jax._sharding``);
    results do not depend on the device count (nor on the number of processes).

    Usable inside ``jit``/``vmap`` with traced ``x0``, ``key``, ``dt`` or ``D`` (``n_steps``,
    ``save_every``, ``target_fn``, ``boost`` and ``noise`` must be static); the finiteness
    check then runs inside the program (a host callback that raises, surfacing as JAX's
    runtime error carrying the ``FloatingPointError`` message).

    Args:
        grad_fn: ``∇U`` for one particle (hashable: a module-level function or a
            bound method of a NamedTuple potential); its output structure and shapes are
            checked against one particle of ``x0`` with ``jax.eval_shape``.
        x0: pytree with leaves ``[n, ...]``.
        key: PRNG key, typed (``jax.random.key``) or raw (``jax.random.PRNGKey``); same stream.
        dt, D, n_steps: step, diffusion coefficient (a number or per particle ``[n]``), number of steps.
        save_every: record positions every ``save_every`` steps (``n_steps`` must
            be a multiple); the trajectory has ``n_steps // save_every + 1`` frames.
        target_fn: ``x -> bool`` for one particle; records first-passage steps, 0 for a particle
            that starts inside the target.
        boost: optional :class:`Boost` (the corrected seed-002 intervention).
        check_finite: raise ``FloatingPointError`` naming the first step at which a particle became
            NaN/inf and the likely cause (``grad_fn`` at ``x0``, ``D``, or ``dt``). Costs nothing per
            step (a final-state check; the run is repeated with the per-step record only on failure).
            Under ``jit`` the check is a ``jax.debug.callback`` and the error arrives as a
            ``JaxRuntimeError`` holding it; with several devices JAX then keeps re-raising it from
            ``jax.effects_barrier()`` and at interpreter exit (an upstream bug, jax-ml/jax#37587;
            later runs are unaffected).
        track_nonfinite: record every particle's first non-finite step in ``first_nonfinite``
            (a per-step cost of about 2 %). With ``check_finite=True`` and an eager call the field
            is filled (all :data:`NEVER`, since a failure raises); otherwise it is ``None``
            unless this is set.
        noise: the normal generator, one of :data:`NOISE`.

    Returns:
        :class:`SimulationResult`.
    """
    return _run("simulate", grad_fn, x0, key, dt, D, n_steps, save_every, target_fn, boost, check_finite,
                track_nonfinite, noise)


def _run(call, grad_fn, x0, key, dt, D, n_steps, save_every, target_fn, boost, check_finite, track_nonfinite,
         noise):
    """:func:`simulate`, with errors naming ``call`` (the public function the user called)."""
    dt, D, n_steps, save_every, key = _check_inputs(call, grad_fn, x0, key, dt, D, n_steps, save_every,
                                                    boost, noise)
    x0 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32)
                                if not jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating) else jnp.asarray(a), x0)
    _check_grad_shapes(call, grad_fn, x0)
    traced = _is_traced((x0, key, dt, D))
    if not traced:
        x0 = sharding.shard_leading(x0)
    Dj = jnp.asarray(D, jnp.float32)
    n = jax.tree_util.tree_leaves(x0)[0].shape[0]
    eager_check = check_finite and not traced
    res, n_bad = _simulate(grad_fn, x0, key, jnp.asarray(dt, jnp.float32), Dj, n_steps, save_every, target_fn,
                           boost, track_nonfinite, noise, eager_check)
    if check_finite and traced:
        jax.debug.callback(partial(_raise_nonfinite_traced, n=n), n_bad)
    if eager_check:
        if int(_gather(n_bad)) > 0:
            bad = res.first_nonfinite
            if not track_nonfinite:  # repeat the same (deterministic) run with the per-step record
                bad = _simulate(grad_fn, x0, key, jnp.asarray(dt, jnp.float32), Dj, n_steps, None, None, boost,
                                True, noise)[0].first_nonfinite
            raise FloatingPointError(_nonfinite_message(call, grad_fn, x0, _gather(bad), dt, D))
    return res


def euler_maruyama(grad_fn, x0, *, key, dt, D, n_steps, save_every=None, ensemble=False, noise="threefry"):
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
        noise: the normal generator, one of :data:`NOISE`.

    Returns:
        the final state, or ``(times, trajectory)``.

    Raises:
        ValueError: bad ``dt``, ``D``, ``n_steps``, ``save_every`` or shapes.
        FloatingPointError: the run produced NaN/inf (with the step).
    """
    if not ensemble:
        x0 = jax.tree_util.tree_map(lambda a: jnp.asarray(a)[None], x0)
    res = _run("euler_maruyama", grad_fn, x0, key, dt, D, n_steps, save_every, None, None, True, False, noise)
    unbatch = (lambda t: t) if ensemble else (lambda t: jax.tree_util.tree_map(lambda a: a[0], t))
    if save_every is None:
        return unbatch(res.position)
    traj = res.trajectory
    if not ensemble:
        traj = jax.tree_util.tree_map(lambda a: a[:, 0], traj)
    times = np.arange(n_steps // save_every + 1) * save_every * float(dt)
    return times, traj


def first_passage_times(grad_fn, x0, target_fn, *, key, dt, D, n_steps, boost=None, noise="threefry"):
    """First step at which each particle of ``x0`` (leaves ``[n, ...]``) satisfies ``target_fn``.

    Returns:
        int32 ``[n]``: steps (multiply by ``dt`` for time), 0 for a particle starting inside the
        target, :data:`NEVER` (−1) for particles that did not reach it within ``n_steps``
        (right-censored).
    """
    if target_fn is None or not callable(target_fn):
        raise ValueError(f"`first_passage_times`: target_fn must be a callable x -> bool, got {target_fn!r}.")
    res = _run("first_passage_times", grad_fn, x0, key, dt, D, n_steps, None, target_fn, boost, True, False,
               noise)
    return res.first_passage
