"""Modular addition data: every pair ``(a, b) ∈ [0, p)²`` labelled ``(a + b) mod p``.

The canonical grokking task (Power et al. 2022; Nanda et al. 2023 use ``p = 113``
and a 30 % training fraction: 3,830 of 12,769 pairs). A pair is stored by its flat
index ``i = a·p + b`` so that a split is one integer vector and different seeds'
splits (all of the same size) stack into one ``[n_seeds, n_train]`` array for ``vmap``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from shld_jax import _validate as v


class Split(NamedTuple):
    """Flat pair indices of a train/test split: ``train [n_train]``, ``test [p² − n_train]`` (int32)."""

    train: jax.Array
    test: jax.Array


def n_train(p: int, train_frac: float) -> int:
    """``floor(train_frac·p²)`` (3,830 for ``p = 113``, ``train_frac = 0.3``, as in Nanda et al.)."""
    v.positive_int("n_train", "p", p)
    v.in_range("n_train", "train_frac", train_frac, 0.0, 1.0, closed="()")
    n = int(train_frac * p * p)
    if n < 1 or n >= p * p:
        raise ValueError(f"`n_train`: train_frac·p² must leave both sets non-empty, got train_frac = {train_frac}.")
    return n


def pairs(idx, p: int):
    """Operands and label of flat indices ``idx [...]``: ``(a, b, (a + b) mod p)``, each ``[...]``."""
    idx = jnp.asarray(idx)
    a, b = idx // p, idx % p
    return a, b, (a + b) % p


def all_pairs(p: int):
    """Every pair in flat order: ``a, b, y``, each ``[p²]`` int32."""
    v.positive_int("all_pairs", "p", p)
    return pairs(jnp.arange(p * p, dtype=jnp.int32), p)


def split(key, p: int = 113, train_frac: float = 0.3) -> Split:
    """A uniformly random train/test split of the ``p²`` pairs, drawn from ``key``.

    Traceable in ``key`` (``p`` and ``train_frac`` are static), so it can be
    ``vmap``-ed over seeds: ``jax.vmap(lambda k: split(k, p, f))(keys)``.
    """
    n = n_train(p, train_frac)
    perm = jax.random.permutation(key, p * p).astype(jnp.int32)
    return Split(perm[:n], perm[n:])
