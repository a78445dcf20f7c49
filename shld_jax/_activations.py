"""Stochastic activations (seed 003; Lomeli et al. 2025, arXiv 2509.22358).

In the feed-forward layer, each activation is SiLU with probability ``p`` and ReLU
otherwise, by a Bernoulli draw during training::

    StochA(x) = m·SiLU(x) + (1 − m)·ReLU(x),     m ~ Bernoulli(p)

Assumptions (the paper does not pin these down; see the reference notes):

* **Where the draw applies.** The paper's Figure 1 caption says the activation
  "randomly selects one of two activations when x < 0". For ``x ≥ 0``,
  ``ReLU(x) = x`` while ``SiLU(x) = x·σ(x) < x``, so the choice matters there too.
  Default ``where="negative"`` follows the caption: for ``x ≥ 0`` the output is
  ``ReLU(x) = x`` always; ``where="all"`` mixes on every element.
* **Granularity of the draw.** ``"element"`` (default: one draw per activation
  value, fresh at every call), ``"token"`` (one per position: all features of a
  token share the draw), ``"layer"`` (one per call, i.e. per layer per forward pass).
  A per-step draw is ``"layer"`` with the same key for every layer.
* **Eval mode** (``train=False``) is deterministic: ``eval_act`` (ReLU by default, for
  sparse inference after fine-tuning; ``"silu"`` possible), or, with
  ``stochastic_eval=True``, the same random mix (the paper's generation-diversity use).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from shld_jax import _validate as v

GRANULARITIES = ("element", "token", "layer")
WHERE = ("negative", "all")
EVAL_ACTS = {"relu": jax.nn.relu, "silu": jax.nn.silu}


def _mask_shape(shape, granularity):
    if granularity == "element":
        return shape
    if granularity == "token":
        return shape[:-1] + (1,)
    return (1,) * len(shape)


def _check_options(call, p, granularity, where, eval_act):
    v.in_range(call, "p", p, 0.0, 1.0)
    v.one_of(call, "granularity", granularity, GRANULARITIES)
    v.one_of(call, "where", where, WHERE)
    v.one_of(call, "eval_act", eval_act, EVAL_ACTS)


def stochastic_activation(x, *, key, p: float, train: bool, granularity: str = "element",
                          where: str = "negative", eval_act: str = "relu", stochastic_eval: bool = False):
    """SiLU with probability ``p``, ReLU otherwise (Bernoulli per ``granularity``); see module docstring.

    Args:
        x: pre-activations ``[..., features]``.
        key: PRNG key (may be ``None`` in deterministic eval mode).
        p: probability of SiLU, in [0, 1].
        train: draw the mix if true; otherwise apply ``eval_act`` (or the mix if
            ``stochastic_eval``).

    Returns:
        array of ``x``'s shape.
    """
    _check_options("stochastic_activation", p, granularity, where, eval_act)
    if not train and not stochastic_eval:
        return EVAL_ACTS[eval_act](x)
    if key is None:
        raise ValueError("`stochastic_activation`: a key is required when the draw is random "
                         "(train=True or stochastic_eval=True), got key = None.")
    m = jax.random.bernoulli(key, p, _mask_shape(x.shape, granularity))
    mixed = jnp.where(m, jax.nn.silu(x), jax.nn.relu(x))
    if where == "negative":
        return jnp.where(x < 0, mixed, x)
    return mixed


class _StochAFields(NamedTuple):
    p: float = 0.5
    granularity: str = "element"
    where: str = "negative"
    eval_act: str = "relu"
    stochastic_eval: bool = False


class StochA(_StochAFields):
    """Hashable stochastic activation for ``GPTConfig(act=StochA(p))``: ``act(x, key, train)``.

    The options are those of :func:`stochastic_activation`, checked at construction.
    """

    __slots__ = ()

    def __new__(cls, p: float = 0.5, granularity: str = "element", where: str = "negative",
                eval_act: str = "relu", stochastic_eval: bool = False):
        _check_options("StochA", p, granularity, where, eval_act)
        return super().__new__(cls, p, granularity, where, eval_act, stochastic_eval)

    def __call__(self, x, key, train):
        return stochastic_activation(x, key=key, p=self.p, train=train, granularity=self.granularity,
                                     where=self.where, eval_act=self.eval_act,
                                     stochastic_eval=self.stochastic_eval)
