"""A tiny character-level GPT in pure JAX (nanoGPT's ``model.py`` structure, no flax).

The model is a params pytree (nested dicts of arrays) plus pure functions:

    cfg = GPTConfig(vocab_size=96)                     # hashable: pass as a static jit arg
    params = init(jax.random.key(0), cfg)
    logits = forward(params, idx, cfg)                 # idx [B, T] int -> [B, T, V]
    l = loss(params, x, y, cfg, key=k, train=True)    # mean next-token cross-entropy

Architecture (Radford et al. 2019, GPT-2; Karpathy's nanoGPT): token + learned position
embeddings, ``n_layer`` pre-LayerNorm blocks ``x += attn(ln1(x)); x += mlp(ln2(x))`` with
causal multi-head self-attention and a ``4·d`` feed-forward layer, a final LayerNorm, and an
output head tied to the token embedding. No dropout (the runs here are far from overfitting).

The feed-forward activation is a config field so that other experiments can swap it:
either a name in :data:`ACTIVATIONS` (``'gelu'`` default, ``'relu'``, ``'silu'``, ``'tanh'``)
or a callable ``act(x, key, train) -> array`` (same shape as ``x``). ``key`` is a fresh PRNG
key per layer per call (``None`` when :func:`forward` got no key) and ``train`` is the flag
passed to :func:`forward`; a stochastic activation (e.g. a Bernoulli mix of SiLU and ReLU)
draws from ``key`` when ``train`` is true. A callable must be hashable (a module-level
function or a NamedTuple with ``__call__``), since ``cfg`` is a static jit argument.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Union

import jax
import jax.numpy as jnp
import optax

from shld_jax import _validate as v
from shld_jax.models._losses import cross_entropy

Params = dict
Activation = Callable[[jax.Array, Any, bool], jax.Array]


def _plain(f):
    def act(x, key, train):
        del key, train
        return f(x)
    act.__name__ = f.__name__
    return act


ACTIVATIONS: dict[str, Activation] = {
    "gelu": _plain(lambda x: jax.nn.gelu(x, approximate=True)),
    "relu": _plain(jax.nn.relu),
    "silu": _plain(jax.nn.silu),
    "tanh": _plain(jnp.tanh),
}


class GPTConfig(NamedTuple):
    """Model shape and FFN activation (hashable, so it can be a static jit argument)."""

    vocab_size: int = 96
    block_size: int = 64   # context length T_max
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64       # d; the feed-forward width is 4·d
    act: Union[str, Activation] = "gelu"

    def validate(self) -> "GPTConfig":
        """``self``, or a ``ValueError`` naming the bad field (the package's config convention)."""
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            v.positive_int("GPTConfig", name, getattr(self, name))
        if self.n_embd % self.n_head:
            raise ValueError(f"`GPTConfig`: n_embd must be divisible by n_head, got n_embd = "
                             f"{self.n_embd}, n_head = {self.n_head}.")
        get_activation(self.act)
        return self


def get_activation(act) -> Activation:
    """The ``act(x, key, train)`` callable for a name in :data:`ACTIVATIONS` or a callable."""
    if callable(act):
        return act
    if act not in ACTIVATIONS:
        raise ValueError(f"`GPTConfig`: act must be one of {sorted(ACTIVATIONS)} or a callable "
                         f"act(x, key, train), got act = {act!r}.")
    return ACTIVATIONS[act]


def init(key, cfg: GPTConfig) -> Params:
    """GPT-2 initialisation: N(0, 0.02²) weights, zero biases, residual projections scaled by
    ``1/sqrt(2·n_layer)``, LayerNorm gain 1. Returns the params pytree."""
    cfg.validate()
    d, V, T, L = cfg.n_embd, cfg.vocab_size, cfg.block_size, cfg.n_layer
    std, std_res = 0.02, 0.02 / math.sqrt(2 * L)
    keys = iter(jax.random.split(key, 2 + 4 * L))
    normal = lambda shape, s: s * jax.random.normal(next(keys), shape, jnp.float32)
    ln = lambda: {"g": jnp.ones((d,)), "b": jnp.zeros((d,))}
    blocks = []
    for _ in range(L):
        blocks.append({
            "ln1": ln(),
            "attn": {"w_qkv": normal((d, 3 * d), std), "b_qkv": jnp.zeros((3 * d,)),
                     "w_o": normal((d, d), std_res), "b_o": jnp.zeros((d,))},
            "ln2": ln(),
            "mlp": {"w_fc": normal((d, 4 * d), std), "b_fc": jnp.zeros((4 * d,)),
                    "w_proj": normal((4 * d, d), std_res), "b_proj": jnp.zeros((d,))},
        })
    return {"wte": normal((V, d), std), "wpe": normal((T, d), std), "blocks": blocks, "ln_f": ln()}


def n_params(params: Params) -> int:
    """Number of parameters (``optax.tree.size``)."""
    return int(optax.tree.size(params))


def layer_norm(p, x, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return p["g"] * (x - mu) * jax.lax.rsqrt(var + eps) + p["b"]


def attention(p, x, n_head):
    """Causal multi-head self-attention: ``x [B, T, d] -> [B, T, d]``."""
    B, T, d = x.shape
    hd = d // n_head
    q, k, vv = jnp.split(x @ p["w_qkv"] + p["b_qkv"], 3, axis=-1)
    heads = lambda t: t.reshape(B, T, n_head, hd).transpose(0, 2, 1, 3)   # [B, h, T, hd]
    q, k, vv = heads(q), heads(k), heads(vv)
    att = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(hd)                   # [B, h, T, T]
    mask = jnp.tril(jnp.ones((T, T), bool))
    att = jax.nn.softmax(jnp.where(mask, att, -jnp.inf), axis=-1)
    y = (att @ vv).transpose(0, 2, 1, 3).reshape(B, T, d)
    return y @ p["w_o"] + p["b_o"]


def mlp(p, x, act, key, train):
    """FFN ``act(x W_fc + b_fc) W_proj + b_proj``; returns the output and the hidden layer."""
    h = act(x @ p["w_fc"] + p["b_fc"], key, train)
    return h @ p["w_proj"] + p["b_proj"], h


def forward(params: Params, idx, cfg: GPTConfig, *, key=None, train: bool = False,
            return_hidden: bool = False):
    """Logits ``[B, T, V]`` for token ids ``idx [B, T]`` (``T ≤ block_size``).

    ``key`` (optional) is split into one key per layer for the FFN activation. With
    ``return_hidden=True`` also the FFN hidden activations, one ``[B, T, 4·n_embd]`` per layer.
    """
    B, T = idx.shape
    if T > cfg.block_size:
        raise ValueError(f"`forward`: sequence length {T} exceeds block_size = {cfg.block_size}.")
    act = get_activation(cfg.act)
    keys = [None] * cfg.n_layer if key is None else list(jax.random.split(key, cfg.n_layer))
    x = params["wte"][idx] + params["wpe"][:T]
    hidden = []
    for blk, k in zip(params["blocks"], keys):
        x = x + attention(blk["attn"], layer_norm(blk["ln1"], x), cfg.n_head)
        y, h = mlp(blk["mlp"], layer_norm(blk["ln2"], x), act, k, train)
        x = x + y
        hidden.append(h)
    x = layer_norm(params["ln_f"], x)
    logits = x @ params["wte"].T   # weight tying (as in GPT-2 / nanoGPT)
    return (logits, hidden) if return_hidden else logits


def loss(params: Params, x, y, cfg: GPTConfig, *, key=None, train: bool = False):
    """Mean next-token cross-entropy (nats) of targets ``y [B, T]`` given inputs ``x [B, T]``."""
    logits = forward(params, x, cfg, key=key, train=train)
    return cross_entropy(logits, y)


def generate(params: Params, prompt, n_new: int, cfg: GPTConfig, *, key, temperature=1.0,
             train: bool = False):
    """Sample ``n_new`` tokens after ``prompt [B, T0]``; returns ``[B, T0 + n_new]``.

    One ``lax.scan`` over new tokens; each step reads the last ``block_size`` known tokens
    (the zeros still to be filled lie to the right of the read position, and causal
    attention never looks right, so they cannot influence it). ``train`` is passed to the
    activation (stochastic activations at generation time).
    """
    B, T0 = prompt.shape
    v.positive_int("generate", "n_new", n_new)
    total = T0 + n_new
    L = max(total, cfg.block_size)
    buf = jnp.zeros((B, L), jnp.int32).at[:, :T0].set(prompt.astype(jnp.int32))

    def step(buf, inp):
        pos, k = inp                                      # pos: index of the last known token
        start = jnp.clip(pos - cfg.block_size + 1, 0, L - cfg.block_size)
        window = jax.lax.dynamic_slice_in_dim(buf, start, cfg.block_size, axis=1)
        k_act, k_tok = jax.random.split(k)
        logits = forward(params, window, cfg, key=k_act, train=train)
        last = jnp.take(logits, pos - start, axis=1)      # [B, V]
        tok = jax.random.categorical(k_tok, last / temperature, axis=-1)
        return buf.at[:, pos + 1].set(tok.astype(jnp.int32)), None

    pos = jnp.arange(T0 - 1, total - 1)
    buf, _ = jax.lax.scan(step, buf, (pos, jax.random.split(key, n_new)))
    return buf[:, :total]
