"""Eager argument checks shared by the package (optax style: echo the bad value).

Messages name the call, the parameter and the value; a traced value (an argument of a
function under ``jit``/``vmap``/``grad``) is named as traced, never printed as
``JitTracer(...)``. With ``traced_ok=True`` a scalar check lets a tracer through unchecked
(the value is only known inside the program), so the function stays usable under ``jit``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

F32_MAX = float(np.finfo(np.float32).max)
F32_TINY = float(np.finfo(np.float32).tiny)


def is_traced(x: Any) -> bool:
    """True for a JAX tracer (a value only known inside a ``jit``/``vmap``/``grad`` program)."""
    import jax

    return isinstance(x, jax.core.Tracer)


def show(value: Any) -> str:
    """``repr`` for messages; a tracer is named as traced with its shape and dtype."""
    if is_traced(value):
        return f"a traced value (shape {tuple(value.shape)}, dtype {value.dtype}) under jit/vmap/grad"
    return repr(value)


def _is_number(x: Any) -> bool:
    if isinstance(x, (str, bytes)) or is_traced(x):
        return False
    try:
        float(x)
    except (TypeError, ValueError):
        return False
    return True


def _traced_scalar(call: str, name: str, value: Any) -> bool:
    """True when ``value`` is a scalar tracer (let through); raise for a non-scalar one."""
    if not is_traced(value):
        return False
    if value.shape != ():
        raise ValueError(f"`{call}`: {name} must be a scalar, got {name} = {show(value)}.")
    return True


def positive(call: str, name: str, value: Any, *, traced_ok: bool = False) -> Any:
    """Return ``float(value)`` or raise ``ValueError`` unless it is finite and > 0."""
    if traced_ok and _traced_scalar(call, name, value):
        return value
    if not _is_number(value) or not math.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"`{call}`: {name} must be a finite number > 0, got {name} = {show(value)}.")
    return float(value)


def non_negative(call: str, name: str, value: Any, *, traced_ok: bool = False) -> Any:
    """Return ``float(value)`` or raise ``ValueError`` unless it is finite and >= 0."""
    if traced_ok and _traced_scalar(call, name, value):
        return value
    if not _is_number(value) or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"`{call}`: {name} must be a finite number >= 0, got {name} = {show(value)}.")
    return float(value)


def finite(call: str, name: str, value: Any) -> float:
    """Return ``float(value)`` or raise ``ValueError`` unless it is a finite real number."""
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ValueError(f"`{call}`: {name} must be a finite number, got {name} = {show(value)}.")
    return float(value)


def float32(call: str, name: str, value: float) -> float:
    """Check that a finite ``value`` survives the cast to float32 (no overflow to inf, no
    underflow of a non-zero value to 0 or a denormal); return it."""
    a = abs(value)
    if a > F32_MAX or (0 < a < F32_TINY):
        raise ValueError(
            f"`{call}`: {name} must be representable in float32 (|x| in [{F32_TINY:.3g}, {F32_MAX:.3g}] "
            f"or 0), got {name} = {value!r}."
        )
    return value


def positive_int(call: str, name: str, value: Any) -> int:
    """Return ``int(value)`` or raise ``ValueError`` unless it is an integer >= 1."""
    if (isinstance(value, bool) or not _is_number(value) or not math.isfinite(float(value))
            or int(value) != value or int(value) < 1):
        raise ValueError(f"`{call}`: {name} must be an integer >= 1, got {name} = {show(value)}.")
    return int(value)


def real_finite(call: str, name: str, x: Any, *, why: str, or_none: bool = False) -> float:
    """``float(x)``, or ``TypeError`` (not a real number) / ``ValueError`` (NaN/inf, ``why`` it matters)."""
    alt = " or None" if or_none else ""
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"`{call}`: {name} must be a real number{alt}, got {name} = {x!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"`{call}`: {name} must be finite{alt} ({why}), got {name} = {x!r}")
    return value


def one_of(call: str, name: str, value: Any, allowed) -> Any:
    """Return ``value`` or raise ``ValueError`` unless it is one of ``allowed`` (listed in the message)."""
    try:
        ok = value in allowed
    except TypeError:  # an unhashable value against a dict/set of names
        ok = False
    if not ok:
        shown = sorted(allowed) if isinstance(allowed, (dict, set, frozenset)) else list(allowed)
        raise ValueError(f"`{call}`: {name} must be one of {shown}, got {name} = {show(value)}.")
    return value


def multiple_of(call: str, name: str, value: int, of: int, of_name: str) -> int:
    """Return ``value`` or raise ``ValueError`` unless ``of`` divides it (both named in the message)."""
    if value % of:
        raise ValueError(f"`{call}`: {name} must be a multiple of {of_name}, got {name} = {value}, "
                         f"{of_name} = {of}.")
    return value


def in_range(call: str, name: str, value: Any, lo: float, hi: float, *, closed: str = "[]") -> float:
    """Check ``lo <= value <= hi`` (``closed`` picks open/closed ends: "[]", "(]", "[)", "()")."""
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ValueError(f"`{call}`: {name} must be a finite number, got {name} = {show(value)}.")
    v = float(value)
    ok_lo = v >= lo if closed[0] == "[" else v > lo
    ok_hi = v <= hi if closed[1] == "]" else v < hi
    if not (ok_lo and ok_hi):
        raise ValueError(
            f"`{call}`: {name} must lie in {closed[0]}{lo}, {hi}{closed[1]}, got {name} = {value!r}."
        )
    return v


def stacked_leaves(call: str, name: str, tree, *, axis: str = "leading axis", min_len: int = 1,
                   check_axis: bool = True) -> list:
    """Leaves of ``tree`` as arrays, non-empty, sharing a leading axis of length ``>= min_len``.

    ``axis`` names the leading axis in messages (e.g. "leading particle axis [n, ...]");
    with ``check_axis=False`` only non-emptiness is checked.
    """
    import jax
    import jax.numpy as jnp

    leaves = [jnp.asarray(l) for l in jax.tree_util.tree_leaves(tree)]
    if not leaves:
        raise ValueError(f"`{call}`: {name} must hold at least one array, got an empty pytree.")
    if not check_axis:
        return leaves
    shapes = [l.shape for l in leaves]
    if any(l.ndim == 0 for l in leaves):
        raise ValueError(f"`{call}`: every leaf of {name} needs a {axis}, got shapes {shapes}.")
    ns = {l.shape[0] for l in leaves}
    if len(ns) != 1:
        raise ValueError(f"`{call}`: all leaves of {name} must share the leading axis, got shapes {shapes}.")
    if ns.pop() < min_len:
        raise ValueError(
            f"`{call}`: {name} needs at least {min_len} entries along its leading axis, got shapes {shapes}."
        )
    return leaves


def scalar_value(call: str, name: str, value: Any):
    """``value`` as a float32 scalar array (traced or not); ``TypeError``/``ValueError`` naming it
    when it is not a real number or not a scalar (shapes are static, so this works under ``jit``)."""
    import jax.numpy as jnp

    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"`{call}`: {name} must be a real scalar (the loss), got {name} = {value!r}.")
    try:
        a = jnp.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{call}`: {name} must be a real scalar (the loss), got {name} = {show(value)}.") from None
    if not (jnp.issubdtype(a.dtype, jnp.floating) or jnp.issubdtype(a.dtype, jnp.integer)):
        raise TypeError(f"`{call}`: {name} must be a real scalar, got dtype {a.dtype} ({name} = {show(value)}).")
    if a.shape != ():
        raise ValueError(
            f"`{call}`: {name} must be a scalar (reduce per-example losses with a mean first), got "
            f"{name} of shape {a.shape}."
        )
    return a.astype(jnp.float32)


def prng_key(call: str, name: str, key: Any, *, allow_int: bool = False):
    """A typed PRNG key from ``key``: a typed key (shape ``()``), a raw ``uint32[2]`` key, or
    (``allow_int``) a Python int seed in ``[0, 2**32)``. Raises ``TypeError`` otherwise."""
    import jax
    import jax.numpy as jnp

    if allow_int and isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if not 0 <= int(key) < 2**32:
            raise ValueError(f"`{call}`: an int {name} must lie in [0, 2**32), got {name} = {key!r}.")
        return jax.random.key(int(key))
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
        if jnp.shape(key) != ():
            raise ValueError(f"`{call}`: {name} must be a single PRNG key (shape ()), got shape {jnp.shape(key)}.")
        return key
    if dtype is not None and dtype == jnp.uint32 and jnp.shape(key) == (2,):
        return jax.random.wrap_key_data(key)
    kind = "an int seed, " if allow_int else ""
    raise TypeError(
        f"`{call}`: {name} must be {kind}a JAX PRNG key (jax.random.key(seed)), got {name} = {show(key)}"
        + (f" of dtype {dtype}" if dtype is not None else "") + "."
    )


def finite_result(call: str, out: Any, why: str) -> Any:
    """Return ``out``; raise ``ValueError`` if it is concrete and holds NaN/inf (``why`` says what
    the caller should check). Traced results (under ``jit``) are returned unchecked."""
    import jax

    leaves = jax.tree_util.tree_leaves(out)
    if any(is_traced(l) for l in leaves):
        return out
    if not all(bool(np.all(np.isfinite(np.asarray(l, dtype=np.float64)))) for l in leaves):
        raise ValueError(f"`{call}`: the result is not finite ({why}); a NaN/inf must not pass silently.")
    return out
