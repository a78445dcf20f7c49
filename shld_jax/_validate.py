"""Eager argument checks shared by the package (optax style: echo the bad value)."""

from __future__ import annotations

import math
from typing import Any


def _is_number(x: Any) -> bool:
    try:
        float(x)
    except (TypeError, ValueError):
        return False
    return True


def positive(call: str, name: str, value: Any) -> float:
    """Return ``float(value)`` or raise ``ValueError`` unless it is finite and > 0."""
    if not _is_number(value) or not math.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"`{call}`: {name} must be a finite number > 0, got {name} = {value!r}.")
    return float(value)


def non_negative(call: str, name: str, value: Any) -> float:
    """Return ``float(value)`` or raise ``ValueError`` unless it is finite and >= 0."""
    if not _is_number(value) or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"`{call}`: {name} must be a finite number >= 0, got {name} = {value!r}.")
    return float(value)


def positive_int(call: str, name: str, value: Any) -> int:
    """Return ``int(value)`` or raise ``ValueError`` unless it is an integer >= 1."""
    if isinstance(value, bool) or not _is_number(value) or int(value) != value or int(value) < 1:
        raise ValueError(f"`{call}`: {name} must be an integer >= 1, got {name} = {value!r}.")
    return int(value)


def in_range(call: str, name: str, value: Any, lo: float, hi: float, *, closed: str = "[]") -> float:
    """Check ``lo <= value <= hi`` (``closed`` picks open/closed ends: "[]", "(]", "[)", "()")."""
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ValueError(f"`{call}`: {name} must be a finite number, got {name} = {value!r}.")
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
