"""Training diagnostics of seed 002: the consolidation ratio C(t) and friends.

``C(t) = ‖∇ℒ(θ)‖² / (D·d)`` with ``d`` the number of parameters. At the Gibbs
stationary state of ``dθ = −∇ℒ dt + sqrt(2D) dW``, integration by parts gives
``E‖∇ℒ‖² = D·E[Δℒ]``, so ``E[C] → E[tr ∇²ℒ]/d`` (the mean curvature), not a
universal constant such as 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from shld_jax import _validate as v


def consolidation_ratio(grad, D):
    """``C = ‖g‖² / (D·d)`` over a pytree ``grad`` (``d`` = total number of elements).

    Args:
        grad: pytree of gradient arrays (one particle / one model).
        D: diffusion coefficient (> 0; python scalars are checked eagerly).

    Returns:
        scalar ``C``.

    Reference: seed 002, "The Signal-to-Noise Consolidation Ratio".
    """
    if isinstance(D, (int, float)):
        v.positive("consolidation_ratio", "D", D)
    leaves = jax.tree_util.tree_leaves(grad)
    if not leaves:
        raise ValueError("`consolidation_ratio`: grad must hold at least one array, got an empty pytree.")
    sq = sum(jnp.sum(jnp.square(g)) for g in leaves)
    d = sum(g.size for g in leaves)
    return sq / (D * d)
