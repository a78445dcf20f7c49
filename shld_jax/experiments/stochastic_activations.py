"""Experiments of notebook 07: stochastic activations (seed 003) in the tiny GPT.

Protocol (a scaled-down version of Lomeli et al. 2025, arXiv 2509.22358):

* pre-train the character-level GPT of ``shld_jax.models.gpt`` with an FFN activation
  (ReLU, SiLU, or ``StochA(p)``) for ``(1 − ft_frac)·n_steps`` steps, then fine-tune
  with ReLU for the remaining ``ft_frac·n_steps`` steps (the paper's "Swi+FT"; for the
  ReLU-from-scratch baseline the fine-tune phase is just more ReLU training, so
  every variant sees the same number of steps and tokens);
* AdamW with linear warm-up and cosine decay over the whole run (the optimizer
  state continues across the switch);
* every variant trains ``n_seeds`` seeds in one compiled program (``vmap`` over
  seeds, ``lax.scan`` over steps); the same seed index means the same
  initialisation and the same batches across variants (paired comparisons).

Evaluation at ReLU inference: validation loss, the fraction of exactly-zero FFN
hidden activations, and the FFN multiply-adds that sparsity lets one skip (the
down-projection ``h @ W_proj`` skips a row of ``W_proj`` per zero in ``h``: half of
the FFN's multiply-adds scale with the sparsity).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from shld_jax import _validate as v
from shld_jax._activations import StochA
from shld_jax.data import text
from shld_jax.models import gpt


class RunConfig(NamedTuple):
    """Training protocol shared by every variant (hashable)."""

    n_steps: int = 1500
    ft_frac: float = 0.15
    batch_size: int = 32
    block_size: int = 64
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    lr: float = 3e-3
    weight_decay: float = 0.1
    warmup: int = 50
    n_val_batches: int = 16


def variants(ps=(0.5, 0.7)) -> dict:
    """``name -> (pre-training activation, fine-tune activation)``."""
    out = {"ReLU (scratch)": ("relu", "relu"), "SiLU (no FT)": ("silu", "silu"), "SiLU→ReLU FT": ("silu", "relu")}
    for p in ps:
        out[f"StochA p={p}→ReLU FT"] = (StochA(float(p)), "relu")
    return out


def _cfg(rc: RunConfig, vocab: int, act) -> gpt.GPTConfig:
    return gpt.GPTConfig(vocab_size=vocab, block_size=rc.block_size, n_layer=rc.n_layer, n_head=rc.n_head,
                         n_embd=rc.n_embd, act=act)


def _optimizer(rc: RunConfig):
    sched = optax.warmup_cosine_decay_schedule(0.0, rc.lr, rc.warmup, rc.n_steps, end_value=rc.lr * 0.05)
    return optax.adamw(sched, b1=0.9, b2=0.95, weight_decay=rc.weight_decay)


def _train_phase(params, opt_state, keys, data, cfg, rc, n, start):
    """``n`` AdamW steps for one seed; batch/activation keys fold in the global step index."""
    opt = _optimizer(rc)
    grad = jax.value_and_grad(lambda p, x, y, k: gpt.loss(p, x, y, cfg, key=k, train=True))

    def step(carry, t):
        p, s = carry
        kb, ka = jax.random.split(jax.random.fold_in(keys, t))
        x, y = text.get_batch(kb, data, rc.batch_size, rc.block_size)
        l, g = grad(p, x, y, ka)
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), l

    (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), start + jnp.arange(n))
    return params, opt_state, losses


def ffn_hidden_zero_fraction(params, x, cfg: gpt.GPTConfig):
    """Forward at inference (deterministic activation), returning the loss-free logits and the
    fraction of exactly-zero FFN hidden units, averaged over layers. ``x [B, T]``."""
    act = gpt.get_activation(cfg.act)
    B, T = x.shape
    h = params["wte"][x] + params["wpe"][:T]
    zeros = []
    for blk in params["blocks"]:
        h = h + gpt.attention(blk["attn"], gpt.layer_norm(blk["ln1"], h), cfg.n_head)
        m = blk["mlp"]
        a = act(gpt.layer_norm(blk["ln2"], h) @ m["w_fc"] + m["b_fc"], None, False)
        zeros.append(jnp.mean(a == 0))
        h = h + a @ m["w_proj"] + m["b_proj"]
    h = gpt.layer_norm(params["ln_f"], h)
    return h @ params["wte"].T, jnp.mean(jnp.stack(zeros))


def _evaluate(params, val, cfg, rc, key):
    keys = jax.random.split(key, rc.n_val_batches)

    def one(k):
        x, y = text.get_batch(k, val, rc.batch_size, rc.block_size)
        logits, z = ffn_hidden_zero_fraction(params, x, cfg)
        logp = jax.nn.log_softmax(logits, -1)
        return -jnp.take_along_axis(logp, y[..., None], -1).mean(), z

    l, z = jax.lax.map(one, keys)
    return l.mean(), z.mean()


def train_variant(pre_act, ft_act, rc: RunConfig, *, n_seeds: int, seed: int = 0, corpus=None):
    """Train one variant for ``n_seeds`` seeds (vmapped) and evaluate it.

    Returns a dict of numpy arrays over seeds: ``train_loss [S, n_steps]``,
    ``val_relu`` (validation loss at ReLU inference), ``val_native`` (at the
    fine-tune activation's own deterministic form), ``zero_frac`` (FFN sparsity at
    ReLU inference), plus the trained ``params`` (leaves ``[S, ...]``).
    """
    v.positive_int("train_variant", "n_seeds", n_seeds)
    v.positive_int("train_variant", "n_steps", rc.n_steps)
    v.in_range("train_variant", "ft_frac", rc.ft_frac, 0.0, 1.0, closed="[)")
    corpus = text.load_corpus() if corpus is None else corpus
    train, val = jnp.asarray(corpus.train), jnp.asarray(corpus.val)
    V = corpus.vocab_size
    n_ft = int(round(rc.ft_frac * rc.n_steps))
    n_pre = rc.n_steps - n_ft
    cfg_pre, cfg_ft = _cfg(rc, V, pre_act), _cfg(rc, V, ft_act)
    cfg_relu = _cfg(rc, V, "relu")
    native = _cfg(rc, V, "silu" if ft_act == "silu" else "relu")

    def run(k):
        k_init, k_data, k_eval = jax.random.split(k, 3)
        p = gpt.init(k_init, cfg_pre)
        s = _optimizer(rc).init(p)
        if cfg_pre == cfg_ft:  # one phase: same program, half the compile time
            p, s, l1 = _train_phase(p, s, k_data, train, cfg_pre, rc, rc.n_steps, 0)
        else:
            p, s, l1 = _train_phase(p, s, k_data, train, cfg_pre, rc, n_pre, 0)
            if n_ft:
                p, s, l2 = _train_phase(p, s, k_data, train, cfg_ft, rc, n_ft, n_pre)
                l1 = jnp.concatenate([l1, l2])
        vr, z = _evaluate(p, val, cfg_relu, rc, k_eval)
        vn = vr if native == cfg_relu else _evaluate(p, val, native, rc, k_eval)[0]
        return p, l1, vr, vn, z

    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(seed), i))(jnp.arange(n_seeds))
    p, l, vr, vn, z = jax.jit(jax.vmap(run))(keys)
    return {"params": p, "train_loss": np.asarray(l), "val_relu": np.asarray(vr), "val_native": np.asarray(vn),
            "zero_frac": np.asarray(z)}


def ffn_macs(rc: RunConfig, vocab: int) -> dict:
    """Multiply-adds per token: FFN (up + down projection), attention projections, head."""
    d, T = rc.n_embd, rc.block_size
    ffn = rc.n_layer * 2 * d * 4 * d
    attn = rc.n_layer * (4 * d * d + 2 * T * d)  # qkv + out projections, scores + weighted sum (full T)
    head = d * vocab
    return {"ffn": ffn, "ffn_down": ffn // 2, "total": ffn + attn + head}


# ------------------------------------------------------------------ generation diversity


def distinct_n(ids, n: int) -> float:
    """Distinct-n: unique n-grams / total n-grams over all samples ``ids [S, L]`` (Li et al. 2016)."""
    ids = np.asarray(ids)
    grams = [tuple(row[i:i + n]) for row in ids for i in range(len(row) - n + 1)]
    return len(set(grams)) / max(len(grams), 1)


def repetition_rate(ids, n: int = 4) -> float:
    """Fraction of n-grams within a sample that already appeared earlier in the same sample."""
    rep, tot = 0, 0
    for row in np.asarray(ids):
        seen = set()
        for i in range(len(row) - n + 1):
            g = tuple(row[i:i + n])
            rep += g in seen
            tot += 1
            seen.add(g)
    return rep / max(tot, 1)


def sample_texts(params, cfg: gpt.GPTConfig, prompts, n_new: int, *, key, temperature: float, stochastic: bool):
    """Samples ``[B, n_new]`` after ``prompts [B, T0]``; ``stochastic`` passes ``train=True`` to the activation."""
    v.positive("sample_texts", "temperature", temperature)
    out = gpt.generate(params, prompts, n_new, cfg, key=key, temperature=temperature, train=stochastic)
    return np.asarray(out[:, prompts.shape[1]:])


def score_nll(params, cfg: gpt.GPTConfig, prompts, samples) -> float:
    """Mean NLL (nats/char) of ``samples`` given ``prompts`` under a reference model (quality proxy)."""
    full = jnp.concatenate([jnp.asarray(prompts), jnp.asarray(samples)], axis=1)[:, -cfg.block_size - 1:]
    x, y = full[:, :-1], full[:, 1:]
    logp = jax.nn.log_softmax(gpt.forward(params, x, cfg), -1)
    nll = -jnp.take_along_axis(logp, y[..., None], -1)[..., 0]
    k = samples.shape[1]
    return float(nll[:, -k:].mean())


def diversity_table(stoch_params, silu_params, ref_params, rc: RunConfig, vocab: int, *, p: float,
                    temperatures, n_samples: int, n_new: int, key, corpus=None):
    """Diversity (distinct-2/3/4, repetition) and quality (NLL under an independent SiLU model)
    of samples from the StochA model with stochastic activations at generation time, and from the
    SiLU model at each temperature. Returns a list of row dicts."""
    corpus = text.load_corpus() if corpus is None else corpus
    prompts, _ = text.get_batch(jax.random.fold_in(key, 0), jnp.asarray(corpus.val), n_samples, 16)
    silu = _cfg(rc, vocab, "silu")
    stoch = _cfg(rc, vocab, StochA(p, stochastic_eval=True))
    rows = []
    for i, T in enumerate(temperatures):
        for name, prm, cfg, st in (("SiLU", silu_params, silu, False), (f"StochA p={p}", stoch_params, stoch, True)):
            s = sample_texts(prm, cfg, prompts, n_new, key=jax.random.fold_in(key, 1 + i), temperature=T, stochastic=st)
            rows.append({"model": name, "temperature": float(T), "distinct_2": distinct_n(s, 2),
                         "distinct_3": distinct_n(s, 3), "distinct_4": distinct_n(s, 4),
                         "repetition_4": repetition_rate(s, 4), "nll_ref": score_nll(ref_params, silu, prompts, s),
                         "example": text.decode(s[0][:120])})
    return rows


def tree_index(tree, i):
    """Seed ``i`` of a seed-stacked pytree, as JAX arrays (cached results come back as numpy)."""
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a[i]), tree)


def paired_difference(a, b):
    """Mean and standard error of ``a − b`` over paired seeds."""
    d = np.asarray(a, float) - np.asarray(b, float)
    se = d.std(ddof=1) / math.sqrt(d.size) if d.size > 1 else float("nan")
    return float(d.mean()), float(se)
