"""A small tanh MLP classifier with softmax cross-entropy (notebook 08).

    h_0 = x                                   [n, sizes[0]]
    h_l = tanh(h_{l−1}·W_l + b_l)             hidden layers
    o   = h_{L−1}·W_L + b_L                   [n, sizes[-1]] logits
    ℒ(θ) = mean_i CE(o_i, y_i) + (wd/2)·Σ_l ‖W_l‖²

Weights ``N(0, 1/fan_in)`` (LeCun), biases 0. Parameters are a dict
``{"W0", "b0", "W1", "b1", ...}`` so any pytree tool (``ravel_pytree``, optax) applies.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from shld_jax import _validate as v
from shld_jax.models import _losses


def init(key, sizes=(64, 64, 10)) -> dict:
    """Parameters for layer widths ``sizes`` (input, hidden..., classes)."""
    sizes = tuple(v.positive_int("mlp.init", "sizes", s) for s in sizes)
    if len(sizes) < 2:
        raise ValueError(f"`mlp.init`: sizes needs at least (inputs, classes), got sizes = {sizes}.")
    p = {}
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        key, k = jax.random.split(key)
        p[f"W{l}"] = jax.random.normal(k, (a, b), jnp.float32) / jnp.sqrt(a)
        p[f"b{l}"] = jnp.zeros((b,), jnp.float32)
    return p


def apply(p: dict, x):
    """Logits ``[n, classes]`` for inputs ``x [n, sizes[0]]`` (or one example ``[sizes[0]]``)."""
    L = len(p) // 2
    h = x
    for l in range(L - 1):
        h = jnp.tanh(h @ p[f"W{l}"] + p[f"b{l}"])
    return h @ p[f"W{L - 1}"] + p[f"b{L - 1}"]


def cross_entropy(p: dict, x, y):
    """Mean softmax cross-entropy of integer labels ``y [n]``."""
    return _losses.cross_entropy(apply(p, x), y)


def l2(p: dict):
    """``½ Σ_l ‖W_l‖²`` (biases are not decayed)."""
    return 0.5 * sum(jnp.sum(w**2) for k, w in p.items() if k.startswith("W"))


def loss(p: dict, x, y, wd=0.0):
    """Training objective ``mean CE + wd·½Σ‖W‖²``."""
    return cross_entropy(p, x, y) + wd * l2(p)


def example_loss(p: dict, example, wd=0.0):
    """Objective of ONE example ``(x [sizes[0]], y [])``, for ``vmap(grad)`` per-example gradients."""
    x, y = example
    return loss(p, x[None], y[None], wd)


def accuracy(p: dict, x, y):
    """Fraction of ``argmax`` predictions equal to ``y``."""
    return jnp.mean(jnp.argmax(apply(p, x), axis=-1) == y)
