"""A one-hidden-layer MLP over learned token embeddings, for modular arithmetic.

    x = [E[a], E[b]]                  (2·d_e)       shared embedding E [p, d_e]
    z = x·W1 + b1,  h = relu(z)       (d_h)
    o = h·W2 + b2                     (p logits)

Because ``x·W1 = E[a]·W1a + E[b]·W1b``, the first layer is evaluated as two gathers
from ``E·W1a`` and ``E·W1b`` ([p, d_h] each): a full-batch step then costs about one
``[n, d_h] × [d_h, p]`` product forward and two backward (nanoGPT-style file: math
names, no framework). Settings follow the "embedding MLP" probes of the grokking
literature (Liu et al. 2022; Gromov 2023 uses one-hot inputs instead of E).

:func:`per_example_sq_norms` returns ``‖∇_θ ℓ_i‖²`` for every example without
materialising per-example gradients: for a linear layer ``y = x·W`` the per-example
weight gradient is the outer product ``x_i ⊗ δ_i`` whose squared norm is
``‖x_i‖²·‖δ_i‖²`` (Goodfellow 2015, "Efficient per-example gradient computations").
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from shld_jax import _validate as v
from shld_jax.models._losses import cross_entropy


class Config(NamedTuple):
    """Sizes and init scale: modulus ``p``, embedding ``d_e``, hidden width ``d_h``, init multiplier."""

    p: int = 113
    d_e: int = 128
    d_h: int = 128
    init_scale: float = 1.0

    def validate(self) -> "Config":
        for name in ("p", "d_e", "d_h"):
            v.positive_int("grok_mlp.Config", name, getattr(self, name))
        v.positive("grok_mlp.Config", "init_scale", self.init_scale)
        return self


def init(key, cfg: Config) -> dict:
    """Parameters ``{E [p,d_e], W1 [2d_e,d_h], b1 [d_h], W2 [d_h,p], b2 [p]}``.

    ``E ~ N(0, 1)``, weights ``N(0, 1/fan_in)`` (LeCun), biases 0; all times ``init_scale``.
    """
    cfg.validate()
    kE, k1, k2 = jax.random.split(key, 3)
    s = cfg.init_scale
    return {
        "E": s * jax.random.normal(kE, (cfg.p, cfg.d_e)),
        "W1": s * jax.random.normal(k1, (2 * cfg.d_e, cfg.d_h)) / jnp.sqrt(2 * cfg.d_e),
        "b1": jnp.zeros((cfg.d_h,)),
        "W2": s * jax.random.normal(k2, (cfg.d_h, cfg.p)) / jnp.sqrt(cfg.d_h),
        "b2": jnp.zeros((cfg.p,)),
    }


def n_params(params) -> int:
    """Number of parameters (``optax.tree.size``)."""
    return int(optax.tree.size(params))


def _tables(params):
    d_e = params["E"].shape[1]
    return params["E"] @ params["W1"][:d_e], params["E"] @ params["W1"][d_e:]  # [p, d_h] each


def apply(params, a, b):
    """Logits ``[n, p]`` for operand indices ``a, b [n]``."""
    Ua, Ub = _tables(params)
    h = jax.nn.relu(Ua[a] + Ub[b] + params["b1"])
    return h @ params["W2"] + params["b2"]


def apply_grid(params):
    """Logits for every pair, ``[p·p, p]`` in flat order ``a·p + b`` (one broadcast, no gather)."""
    Ua, Ub = _tables(params)
    h = jax.nn.relu(Ua[:, None, :] + Ub[None, :, :] + params["b1"])
    return (h @ params["W2"] + params["b2"]).reshape(-1, params["b2"].shape[0])


def loss(params, a, b, y):
    """Mean cross-entropy ``(1/n) Σ_i ℓ_i`` (natural log; ``ln p`` at uniform logits)."""
    return cross_entropy(apply(params, a, b), y)


def per_example_sq_norms(params, a, b, y):
    """``‖∇_θ ℓ_i‖²`` for each example, ``[n]``, exactly, in one forward and one backward pass.

    With ``δo = softmax(o) − onehot(y)``, ``δz = (δo·W2ᵀ)⊙[z > 0]`` and ``[u, w] = δz·W1ᵀ``:
    ``‖h‖²‖δo‖² + ‖δo‖²`` (W2, b2) ``+ ‖x‖²‖δz‖² + ‖δz‖²`` (W1, b1)
    ``+ ‖u‖² + ‖w‖² + 2[a = b]⟨u, w⟩`` (E: rows ``a`` and ``b`` receive ``u`` and ``w``).
    """
    d_e = params["E"].shape[1]
    xa, xb = params["E"][a], params["E"][b]
    z = xa @ params["W1"][:d_e] + xb @ params["W1"][d_e:] + params["b1"]
    h = jax.nn.relu(z)
    o = h @ params["W2"] + params["b2"]
    do = jax.nn.softmax(o) - jax.nn.one_hot(y, o.shape[-1], dtype=o.dtype)
    dz = (do @ params["W2"].T) * (z > 0)
    dx = dz @ params["W1"].T
    u, w = dx[:, :d_e], dx[:, d_e:]
    sq = lambda t: jnp.sum(t * t, axis=-1)
    do2, dz2 = sq(do), sq(dz)
    n_out = sq(h) * do2 + do2
    n_hid = (sq(xa) + sq(xb)) * dz2 + dz2
    n_emb = sq(u) + sq(w) + 2.0 * (a == b) * jnp.sum(u * w, axis=-1)
    return n_out + n_hid + n_emb
