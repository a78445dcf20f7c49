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
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from shld_jax import _validate as v
from shld_jax import stats
from shld_jax._activations import StochA
from shld_jax.data import text
from shld_jax.models import gpt
from shld_jax.models._losses import cross_entropy


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


def _optimizer(rc: RunConfig, lr=None):
    """AdamW, linear warm-up then cosine decay to 5 % of the peak ``lr`` (default ``rc.lr``; may be traced)."""
    unit = optax.warmup_cosine_decay_schedule(0.0, 1.0, rc.warmup, rc.n_steps, end_value=0.05)
    peak = rc.lr if lr is None else lr
    return optax.adamw(lambda t: peak * unit(t), b1=0.9, b2=0.95, weight_decay=rc.weight_decay)


def _train_phase(params, opt_state, keys, data, cfg, rc, n, start, lr=None):
    """``n`` AdamW steps for one seed; batch/activation keys fold in the global step index."""
    opt = _optimizer(rc, lr)
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
    logits, hidden = gpt.forward(params, x, cfg, return_hidden=True)
    return logits, jnp.mean(jnp.stack([jnp.mean(a == 0) for a in hidden]))


def _evaluate(params, val, cfg, rc, key):
    keys = jax.random.split(key, rc.n_val_batches)

    def one(k):
        x, y = text.get_batch(k, val, rc.batch_size, rc.block_size)
        logits, z = ffn_hidden_zero_fraction(params, x, cfg)
        return cross_entropy(logits, y), z

    l, z = jax.lax.map(one, keys)
    return l.mean(), z.mean()


def _one_run(k, lr, *, train, val, cfgs, rc, n_pre, n_ft):
    """Train one model (seed key ``k``, peak learning rate ``lr``) and evaluate it."""
    cfg_pre, cfg_ft, cfg_relu, native = cfgs
    k_init, k_data, k_eval = jax.random.split(k, 3)
    p = gpt.init(k_init, cfg_pre)
    s = _optimizer(rc, lr).init(p)
    if cfg_pre == cfg_ft:  # one phase: same program, half the compile time
        p, s, l1 = _train_phase(p, s, k_data, train, cfg_pre, rc, rc.n_steps, 0, lr)
    else:
        p, s, l1 = _train_phase(p, s, k_data, train, cfg_pre, rc, n_pre, 0, lr)
        if n_ft:
            p, s, l2 = _train_phase(p, s, k_data, train, cfg_ft, rc, n_ft, n_pre, lr)
            l1 = jnp.concatenate([l1, l2])
    vr, z = _evaluate(p, val, cfg_relu, rc, k_eval)
    vn = vr if native == cfg_relu else _evaluate(p, val, native, rc, k_eval)[0]
    return p, l1, vr, vn, z


def train_variant(pre_act, ft_act, rc: RunConfig, *, seeds, lrs=None, corpus=None) -> dict:
    """Train one variant for every ``(lr, seed)`` pair in one vmapped program and evaluate it.

    Seed ``s`` uses ``jax.random.key(s)`` for the initialisation, the batches and the activation
    draws, so the same seed means the same start and data across variants and learning rates
    (paired comparisons), and distinct seeds are independent replicates. ``lrs`` are peak
    learning rates (default ``(rc.lr,)``).

    Returns numpy arrays with leading axes ``[n_lr, n_seeds]``: ``train_loss [.., n_steps]``,
    ``val_relu`` (validation loss at ReLU inference), ``val_native`` (at the fine-tune
    activation's own deterministic form), ``zero_frac`` (FFN sparsity at ReLU inference), the
    trained ``params`` and ``lr [n_lr]``.
    """
    seeds = [int(x) for x in np.atleast_1d(seeds)]
    v.positive_int("train_variant", "n_seeds", len(seeds))
    v.positive_int("train_variant", "n_steps", rc.n_steps)
    v.in_range("train_variant", "ft_frac", rc.ft_frac, 0.0, 1.0, closed="[)")
    lrs = np.asarray([rc.lr] if lrs is None else lrs, float).ravel()
    for x in lrs:
        v.positive("train_variant", "lr", x)
    corpus = text.load_corpus() if corpus is None else corpus
    V = corpus.vocab_size
    n_ft = int(round(rc.ft_frac * rc.n_steps))
    cfgs = (_cfg(rc, V, pre_act), _cfg(rc, V, ft_act), _cfg(rc, V, "relu"),
            _cfg(rc, V, "silu" if ft_act == "silu" else "relu"))
    run = partial(_one_run, train=jnp.asarray(corpus.train), val=jnp.asarray(corpus.val), cfgs=cfgs, rc=rc,
                  n_pre=rc.n_steps - n_ft, n_ft=n_ft)
    keys = jnp.stack([jax.random.key(x) for x in seeds])
    nl, ns = lrs.size, len(seeds)
    flat = jax.jit(jax.vmap(run))(jnp.tile(keys, nl), jnp.repeat(jnp.asarray(lrs, jnp.float32), ns))
    p, l, vr, vn, z = jax.tree.map(lambda x: x.reshape(nl, ns, *x.shape[1:]), flat)
    return {"params": p, "train_loss": np.asarray(l), "val_relu": np.asarray(vr), "val_native": np.asarray(vn),
            "zero_frac": np.asarray(z), "lr": lrs}


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


def distinct_per_sample(ids, n: int = 3) -> np.ndarray:
    """Distinct-n within each sample: unique n-grams / n-grams of that sample, ``ids [..., L] -> [...]``
    (a per-sample diversity, so that samples can be resampled in a bootstrap)."""
    ids = np.asarray(ids)
    flat = ids.reshape(-1, ids.shape[-1])
    out = [len({tuple(r[i:i + n]) for i in range(len(r) - n + 1)}) / max(len(r) - n + 1, 1) for r in flat]
    return np.asarray(out, float).reshape(ids.shape[:-1])


@partial(jax.jit, static_argnames=("cfg", "n_new", "stochastic"))
def sample_grid(params, prompts, temperatures, key, *, cfg: gpt.GPTConfig, n_new: int, stochastic: bool):
    """Continuations ``[M, nT, B, n_new]`` of ``prompts [B, T0]`` by ``M`` seed-stacked models at
    every temperature (one program; ``stochastic`` passes ``train=True`` to the activation)."""
    M, nT = jax.tree.leaves(params)[0].shape[0], temperatures.shape[0]
    keys = jax.random.split(key, (M, nT))

    def one(p, T, k):
        return gpt.generate(p, prompts, n_new, cfg, key=k, temperature=T, train=stochastic)[:, prompts.shape[1]:]

    return jax.vmap(lambda p, ks: jax.vmap(lambda T, k: one(p, T, k))(temperatures, ks))(params, keys)


@partial(jax.jit, static_argnames=("cfg",))
def score_grid(params, prompts, samples, *, cfg: gpt.GPTConfig):
    """Per-sample mean NLL (nats/char) of ``samples [M, nT, B, L]`` given ``prompts`` under ``M``
    seed-stacked reference models (model ``m`` scores row ``m``): ``[M, nT, B]``."""
    def one(p, smp):
        full = jnp.concatenate([prompts, smp], axis=1)[:, -cfg.block_size - 1:]
        logits = gpt.forward(p, full[:, :-1], cfg)
        nll = optax.losses.softmax_cross_entropy_with_integer_labels(logits, full[:, 1:])
        return nll[:, -smp.shape[1]:].mean(-1)

    return jax.vmap(lambda p, s: jax.vmap(lambda x: one(p, x))(s))(params, samples)


class CharNGram:
    """Interpolated Witten–Bell character n-gram model (order ``order``, uniform base) fitted on ``ids``.

    :math:`P_k(c|h) = (C(h,c) + N_{1+}(h)\\,P_{k-1}(c|h')) / (C(h) + N_{1+}(h))`, with ``h'`` the
    context shortened by one character (Witten & Bell 1991; Chen & Goodman 1998). A scorer that
    shares no parameters, architecture or training data with the GPTs when fitted on held-out text.
    """

    def __init__(self, ids, vocab: int, order: int = 4):
        self.vocab, self.order = v.positive_int("CharNGram", "vocab", vocab), v.positive_int("CharNGram", "order", order)
        ids = [int(i) for i in np.asarray(ids).ravel()]
        self.counts = [dict() for _ in range(order)]           # k: context tuple (len k) -> {char: count}
        for i, c in enumerate(ids):
            for k in range(order):
                if i - k < 0:
                    break
                d = self.counts[k].setdefault(tuple(ids[i - k:i]), {})
                d[c] = d.get(c, 0) + 1

    def prob(self, history, c: int) -> float:
        p = 1.0 / self.vocab
        for k in range(self.order):
            if k > len(history):
                break
            d = self.counts[k].get(tuple(history[len(history) - k:]), None)
            if d:
                tot, types = sum(d.values()), len(d)
                p = (d.get(c, 0) + types * p) / (tot + types)
        return p

    def nll(self, prompt, sample) -> float:
        """Mean NLL (nats/char) of ``sample`` after ``prompt``."""
        seq = [int(i) for i in np.r_[np.asarray(prompt).ravel(), np.asarray(sample).ravel()]]
        n0 = len(seq) - np.asarray(sample).size
        return float(np.mean([-math.log(self.prob(seq[max(0, i - self.order + 1):i], seq[i]))
                              for i in range(n0, len(seq))]))


def matched_gap(silu_d, silu_q, stoch_d, stoch_q) -> float | None:
    """Quality gap at matched diversity: ``stoch_q`` minus the SiLU temperature curve
    ``(silu_d, silu_q)`` interpolated at ``stoch_d`` (None if ``stoch_d`` is outside the curve)."""
    d, q = np.asarray(silu_d, float), np.asarray(silu_q, float)
    o = np.argsort(d)
    if not d[o][0] <= stoch_d <= d[o][-1]:
        return None
    return float(stoch_q - np.interp(stoch_d, d[o], q[o]))


def pair_gaps(silu_div, silu_nll, stoch_div, stoch_nll, *, n_boot: int = 1000, seed: int = 0):
    """Matched-diversity gap per model pair, and a hierarchical bootstrap of their mean.

    Inputs are per-sample arrays: ``silu_* [P, nT, B]`` (SiLU pair member at each temperature),
    ``stoch_* [P, B]`` (StochA member); the samples of one pair share their prompts. Each
    bootstrap draw resamples the pairs, then the prompts within each pair, and recomputes
    :func:`matched_gap` from the means. Returns ``(gaps [P] or None, boot [n_boot])``.
    """
    sd, sq, td, tq = (np.asarray(x, float) for x in (silu_div, silu_nll, stoch_div, stoch_nll))
    P, _, B = sd.shape

    def gap(i, idx):
        return matched_gap(sd[i][:, idx].mean(-1), sq[i][:, idx].mean(-1), td[i, idx].mean(), tq[i, idx].mean())

    every = np.arange(B)
    gaps = [gap(i, every) for i in range(P)]
    if any(g is None for g in gaps):
        return None, None
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        g = [gap(i, rng.integers(0, B, B)) for i in rng.integers(0, P, P)]
        boot.append(np.mean([np.nan if x is None else x for x in g]))
    return np.asarray(gaps), np.asarray(boot)


def interval_outcome(estimate: float, lo: float, hi: float, *, low: float | None = None,
                     high: float | None = None, test: str = "") -> stats.Outcome:
    """Outcome of a claim ``low ≤ Δ ≤ high`` (either end may be open) from an interval ``[lo, hi]``:
    pass iff the interval lies inside the region, fail iff it lies entirely outside, else inconclusive."""
    for name, x in (("estimate", estimate), ("lo", lo), ("hi", hi)):
        if not math.isfinite(float(x)):
            raise ValueError(f"`interval_outcome`: {name} must be finite, got {name} = {x!r}")
    inside = (low is None or lo >= low) and (high is None or hi <= high)
    outside = (low is not None and hi < low) or (high is not None and lo > high)
    out = stats.PASS if inside else stats.FAIL if outside else stats.INCONCLUSIVE
    return stats.Outcome(out, float(estimate), float(hi - lo) / 2, f"{test} [{lo:.4g}, {hi:.4g}]".strip())


def gap_outcome(gaps, boot, *, low: float | None, high: float, alpha: float = 0.05) -> stats.Outcome:
    """:func:`interval_outcome` of the mean gap with the percentile bootstrap interval at level 1 − 2α."""
    boot = np.asarray(boot, float)
    boot = boot[np.isfinite(boot)]
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    region = f"{'' if low is None else f'{low:g} ≤ '}Δ ≤ {high:g}"
    return interval_outcome(float(np.mean(gaps)), float(lo), float(hi), low=low, high=high,
                            test=f"{region}, {len(gaps)} pairs, {100 * (1 - 2 * alpha):g} % hierarchical bootstrap")


def better_by(a, b, *, margin: float, alpha: float = 0.05) -> stats.Outcome:
    """Paired t: is ``a`` lower than ``b`` by at least ``margin`` (per seed)? Pass iff the
    :math:`1-2\\alpha` interval of the mean of ``a − b`` lies below ``−margin``; fail iff it lies above."""
    m, se, df = stats.mean_se(np.asarray(a, float) - np.asarray(b, float))
    out = stats.bound(m, se, at_most=-float(margin), alpha=alpha, df=df)
    return out._replace(test=f"paired t over {df + 1} seeds, {out.test}")


def sparsity_outcome(zero_frac, *, at_least: float = 0.5, alpha: float = 0.05) -> stats.Outcome:
    """One-sample t over seeds: is the FFN zero fraction at least ``at_least``?"""
    m, se, df = stats.mean_se(zero_frac)
    return stats.bound(m, se, at_least=at_least, alpha=alpha, df=df)


def moving_average(y, k: int):
    """Valid-mode moving average over the last axis and the centred step index of each value
    (no zero padding at the edges, unlike ``np.convolve(mode="same")``): ``(x, y_smooth)``."""
    y = np.asarray(y, float)
    k = v.positive_int("moving_average", "k", k)
    c = np.cumsum(np.concatenate([np.zeros(y.shape[:-1] + (1,)), y], axis=-1), axis=-1)
    sm = (c[..., k:] - c[..., :-k]) / k
    x = np.arange(1, y.shape[-1] + 1)[k - 1:] - (k - 1) / 2
    return x, sm


def generation_experiment(stoch_params, silu_params, ref_params, rc: RunConfig, vocab: int, *, p: float,
                          temperatures, n_samples: int, n_new: int, key, corpus=None, ngram_order: int = 4) -> dict:
    """Samples of ``P`` model pairs and their diversity and quality, per sample.

    Pair ``i``: the StochA(``p``) model ``stoch_params[i]`` (stochastic activation at generation,
    temperature 1) and the SiLU model ``silu_params[i]`` at every temperature, continuing the same
    ``n_samples`` 16-character prompts from the first half of the validation text. Quality is the
    NLL under two scorers that are not SiLU models: the ReLU model ``ref_params[i]`` (another
    seed) and a :class:`CharNGram` fitted on the second half of the validation text (held out
    from every GPT). Diversity is :func:`distinct_per_sample` (n = 3).

    Returns arrays ``silu_{div,gpt,ngram} [P, nT, B]``, ``stoch_{div,gpt,ngram} [P, B]`` and
    example strings.
    """
    corpus = text.load_corpus() if corpus is None else corpus
    val = np.asarray(corpus.val)
    half = val.size // 2
    prompts, _ = text.get_batch(jax.random.fold_in(key, 0), jnp.asarray(val[:half]), n_samples, 16)
    temps = jnp.asarray(temperatures, jnp.float32)
    kw = dict(n_new=int(n_new))
    s_silu = sample_grid(silu_params, prompts, temps, jax.random.fold_in(key, 1), cfg=_cfg(rc, vocab, "silu"),
                         stochastic=False, **kw)
    s_st = sample_grid(stoch_params, prompts, jnp.ones(1), jax.random.fold_in(key, 2),
                       cfg=_cfg(rc, vocab, StochA(float(p), stochastic_eval=True)), stochastic=True, **kw)
    relu = _cfg(rc, vocab, "relu")
    ng = CharNGram(val[half:], vocab, ngram_order)
    pr = np.asarray(prompts)
    ngram = lambda S: np.array([[[ng.nll(pr[b], S[m, t, b]) for b in range(S.shape[2])]
                                 for t in range(S.shape[1])] for m in range(S.shape[0])])
    s_silu_np, s_st_np = np.asarray(s_silu), np.asarray(s_st)
    return {"silu_div": distinct_per_sample(s_silu_np), "stoch_div": distinct_per_sample(s_st_np)[:, 0],
            "silu_gpt": np.asarray(score_grid(ref_params, prompts, s_silu, cfg=relu), np.float64),
            "stoch_gpt": np.asarray(score_grid(ref_params, prompts, s_st, cfg=relu), np.float64)[:, 0],
            "silu_ngram": ngram(s_silu_np), "stoch_ngram": ngram(s_st_np)[:, 0],
            "example_silu": text.decode(s_silu_np[0, list(np.asarray(temperatures)).index(1.0) if 1.0 in list(temperatures) else -1, 0][:120]),
            "example_stoch": text.decode(s_st_np[0, 0, 0][:120]), "prompt": text.decode(pr[0])}


def tree_index(tree, i):
    """Seed ``i`` of a seed-stacked pytree, as JAX arrays (cached results come back as numpy)."""
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a[i]), tree)


def paired_difference(a, b):
    """Mean and standard error of ``a − b`` over paired seeds."""
    d = np.asarray(a, float) - np.asarray(b, float)
    se = d.std(ddof=1) / math.sqrt(d.size) if d.size > 1 else float("nan")
    return float(d.mean()), float(se)
