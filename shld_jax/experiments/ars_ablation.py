"""Experiments of notebook 05: ARS (seed 001) against the stabilisers practitioners use.

A tiny character-level GPT is pretrained once per master key with AdamW on the shipped corpus
(a continual-learning start, as in the seed's "test-time training and continual learning").
Every run then starts from that checkpoint with a fresh optimizer of its method, trains
``warm_steps`` steps on the same data, and meets one **provocation** at ``shift = warm_steps``
for ``horizon`` steps:

* ``none``: nothing changes (the control: what the method and lr do on their own);
* ``shift``: the vocabulary is relabelled by a fixed permutation with no fixed point
  (:func:`shld_jax.data.text.permutation`); the trained model is confidently wrong;
* ``closed_loop``: the seed's mechanism literally ("the model's own predictions become the
  input data"): the targets become the model's own samples at temperature ``tau`` given real
  contexts (one forward pass serves the sampling, the training loss on the samples, and the
  loss on the real next characters);
* ``ramp``: the learning rate is multiplied by ``ramp_factor ** (τ / horizon)`` (τ steps after
  the shift), into instability.

``loss`` is the training loss (the seed's surprise S_t), ``real`` the loss on the real next
characters (equal to ``loss`` except in ``closed_loop``). **Divergence** is a blow-up: a
non-finite loss or weights (the run is then frozen), or ``real`` above ``div_mult · ln V`` for
``div_k`` consecutive steps; recovery is reported separately.

Everything is compiled once: a ``jit`` of a ``vmap`` over runs (method × provocation × lr ×
seed), a ``lax.scan`` over steps, run in fixed-size chunks sharded over devices
(:func:`shld_jax._sharding.shard_leading`). Seeds share the checkpoint and differ in batches and
optimizer keys; the same seed index gives the same batches in every method (paired).
"""

from __future__ import annotations

import functools
import math
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.stats

from shld_jax import _ars as A
from shld_jax import _sharding as sharding
from shld_jax import _stabilisers as S
from shld_jax import _validate as v
from shld_jax import stats
from shld_jax.data import text
from shld_jax.models import gpt
from shld_jax.models._losses import cross_entropy

PROVOCATIONS = ("none", "shift", "closed_loop", "ramp")

# name: (label, description)
METHODS = {
    "adamw": ("AdamW", "optax.adamw (b2 = 0.999)"),
    "adamw_b2": ("AdamW β₂=0.95", "optax.adamw with b2 = 0.95"),
    "psi": ("ARS +Ψ", "seed's gate with entropy guard, no jitter"),
    "psi_chi": ("ARS +Ψ+χ", "seed's full method: gate and chronos-jitter"),
    "corr_betas": ("ARS corr. β", "relative surprise + detrended guard, gate on the betas, jitter"),
    "corr_lr": ("ARS corr. lr", "relative surprise + detrended guard, gate on the lr, jitter"),
    "clip": ("clip 1.0", "optax.clip_by_global_norm(1.0) then AdamW"),
    "zclip": ("ZClip", "shld_jax.zclip() defaults then AdamW"),
    "spam": ("SPAM", "shld_jax.spam: spike clipping θ=5000, reset every 100, warm-up 20"),
    "agc": ("AGC 0.01", "optax.adaptive_grad_clip(0.01) then AdamW"),
    "if_finite": ("apply_if_finite", "optax.apply_if_finite(AdamW, 100)"),
}
ARS_METHODS = ("psi", "psi_chi", "corr_betas", "corr_lr")


class Setup(NamedTuple):
    """Model, data, schedule and provocation settings (hashable: a static jit argument)."""

    cfg: gpt.GPTConfig = gpt.GPTConfig(vocab_size=96, block_size=8, n_layer=1, n_head=2,
                                       n_embd=16)
    batch_size: int = 8
    pretrain_steps: int = 400
    pretrain_lr: float = 3e-3
    warm_steps: int = 40
    horizon: int = 300
    b1: float = 0.9
    b2: float = 0.999
    weight_decay: float = 0.01
    window: int = 100
    tau: float = 0.7
    ramp_factor: float = 100.0
    div_mult: float = 1.5
    div_k: int = 50

    @property
    def n_steps(self) -> int:
        return self.warm_steps + self.horizon

    def validate(self) -> "Setup":
        """``self``, or a ``ValueError`` naming the bad field (the package's config convention)."""
        self.cfg.validate()
        for n in ("batch_size", "pretrain_steps", "warm_steps", "horizon", "window", "div_k"):
            v.positive_int("Setup", n, getattr(self, n))
        for n in ("pretrain_lr", "tau", "ramp_factor", "div_mult"):
            v.positive("Setup", n, getattr(self, n))
        return self


def make_optimizer(name: str, lr, key, setup: Setup) -> optax.GradientTransformationExtraArgs:
    """The optimizer of method ``name`` (a key of :data:`METHODS`) at learning rate ``lr``."""
    kw = dict(b1=setup.b1, b2=setup.b2, weight_decay=setup.weight_decay)
    adamw = optax.inject_hyperparams(optax.adamw)(learning_rate=lr, **kw)
    ars = dict(key=key, window=setup.window)
    corr = dict(surprise="relative", guard="diff", **ars)
    table = {
        "adamw": lambda: adamw,
        "adamw_b2": lambda: optax.adamw(lr, b1=setup.b1, b2=0.95, weight_decay=setup.weight_decay),
        "psi": lambda: A.ars(adamw, use_jitter=False, **ars),
        "psi_chi": lambda: A.ars(adamw, **ars),
        "corr_betas": lambda: A.ars(adamw, gate_on="betas", **corr),
        "corr_lr": lambda: A.ars(adamw, gate_on="lr", **corr),
        "clip": lambda: optax.chain(optax.clip_by_global_norm(1.0), adamw),
        "zclip": lambda: optax.chain(S.zclip(), adamw),
        "spam": lambda: S.spam(lr, b1=setup.b1, b2=setup.b2, weight_decay=setup.weight_decay,
                               reset_interval=100, warmup_steps=20),
        "agc": lambda: optax.chain(optax.adaptive_grad_clip(0.01), adamw),
        "if_finite": lambda: optax.apply_if_finite(adamw, max_consecutive_errors=100),
    }
    v.one_of("make_optimizer", "name", name, list(table))
    return optax.with_extra_args_support(table[name]())


def _internals(state):
    for s in jax.tree_util.tree_leaves(state, is_leaf=lambda x: isinstance(x, A.ARSState)):
        if isinstance(s, A.ARSState):
            return s.rho1, s.phi
    return jnp.float32(0.0), jnp.float32(1.0)


def _losses(params, x, y, k, closed, cfg, tau):
    """Training loss (targets: ``y``, or the model's own samples when ``closed``) and real loss."""
    logits = gpt.forward(params, x, cfg)
    logp = jax.lax.stop_gradient(jax.nn.log_softmax(logits, axis=-1))
    y_self = jax.random.categorical(k, logp / tau, axis=-1)
    tgt = jnp.where(closed, y_self, y)
    real = jax.lax.stop_gradient(cross_entropy(logits, y))
    return cross_entropy(logits, tgt), real


def pretrain(key, setup: Setup):
    """The shared checkpoint: AdamW at ``pretrain_lr`` for ``pretrain_steps`` steps."""
    data = jnp.asarray(text.load_corpus().train)
    cfg = setup.cfg
    k_init, k_data = jax.random.split(key)
    params = gpt.init(k_init, cfg)
    opt = optax.adamw(setup.pretrain_lr, b1=setup.b1, b2=setup.b2, weight_decay=setup.weight_decay)

    def step(carry, k):
        p, s = carry
        x, y = text.get_batch(k, data, setup.batch_size, cfg.block_size)
        l, g = jax.value_and_grad(gpt.loss)(p, x, y, cfg)
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), l

    (params, _), losses = jax.lax.scan(step, (params, opt.init(params)),
                                       jax.random.split(k_data, setup.pretrain_steps))
    return params, losses


def _train_one(key, mi, prov, lr, ramp, params, data, perm, setup: Setup, methods: tuple):
    """One run of method ``methods[mi]`` from the checkpoint; per-step metrics ``[n_steps]``.

    To compile once, each run carries the states of every method and picks its own with
    ``lax.switch`` (under ``vmap`` all branches are evaluated: the optimizers are cheap next
    to the model's forward and backward pass)."""
    cfg = setup.cfg
    k_opt, k_data = jax.random.split(key)
    opts = [make_optimizer(m, lr, k_opt, setup) for m in methods]
    s0 = setup.warm_steps

    def step(carry, inp):
        params, states, dead = carry
        t, k = inp
        kb, ks = jax.random.split(k)
        x, y = text.get_batch(kb, data, setup.batch_size, cfg.block_size)
        post = t >= s0
        shifted = post & (prov == 1)
        x, y = jnp.where(shifted, perm[x], x), jnp.where(shifted, perm[y], y)
        (loss, real), g = jax.value_and_grad(_losses, has_aux=True)(
            params, x, y, ks, post & (prov == 2), cfg, setup.tau)

        def branch(i):
            def f(states):
                u, s = opts[i].update(g, states[i], params, value=loss)
                return u, states[:i] + (s,) + states[i + 1:], _internals(s)
            return f

        u, new_states, (rho1, phi) = jax.lax.switch(mi, [branch(i) for i in range(len(opts))],
                                                    states)
        tau = jnp.maximum(t - s0, 0).astype(jnp.float32) / setup.horizon
        mult = jnp.where(post & (prov == 3), ramp ** tau, 1.0)
        u = jax.tree_util.tree_map(lambda a: a * mult, u)
        new_params = optax.apply_updates(params, u)
        bad = ~jnp.isfinite(loss) | ~jnp.isfinite(optax.tree.norm(new_params))
        dead = dead | bad
        keep = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(dead, b, a), new, old)
        params, states = keep(new_params, params), keep(new_states, states)
        gn = optax.tree.norm(g)
        fin = lambda z: jnp.where(jnp.isfinite(z), z, jnp.float32(jnp.inf))
        out = dict(loss=fin(loss), real=fin(real), wnorm=optax.tree.norm(params), gnorm=fin(gn),
                   rho1=rho1, phi=phi, dead=dead)
        return (params, states, dead), out

    init = (params, tuple(o.init(params) for o in opts), jnp.bool_(False))
    steps = jnp.arange(setup.n_steps)
    _, out = jax.lax.scan(step, init, (steps, jax.random.split(k_data, setup.n_steps)))
    return out


@functools.partial(jax.jit, static_argnums=(8, 9))
def _batched(keys, mis, provs, lrs, ramps, params, data, perm, setup, methods):
    one = lambda k, m, p, lr, r: _train_one(k, m, p, lr, r, params, data, perm, setup, methods)
    return jax.vmap(one)(keys, mis, provs, lrs, ramps)


def run(setup: Setup, specs, *, key, methods: tuple = tuple(METHODS), chunk: int = 424) -> dict:
    """Train every run of ``specs``, a list of ``(method, provocation, lr, seed)`` or
    ``(method, provocation, lr, seed, ramp_factor)``, in chunks of ``chunk`` runs through one
    compiled function (padded to a multiple of ``chunk`` and of the device count).

    ``key`` is the master key: it fixes the checkpoint, the permutation and every run's key
    (seed ``s`` gets the same key in every method, provocation and lr: paired comparisons).
    Returns ``dict(method, prov, lr, seed, ramp [R], metrics {name: [R, n_steps]}, seconds)``.
    """
    setup.validate()
    specs = [tuple(s) + (setup.ramp_factor,) * (5 - len(s)) for s in specs]
    if not specs:
        raise ValueError("`run`: specs must hold at least one (method, provocation, lr, seed).")
    for m, p, lr, _, r in specs:
        v.one_of("run", "method", m, methods)
        v.one_of("run", "provocation", p, PROVOCATIONS)
        v.positive("run", "lr", lr)
        v.positive("run", "ramp_factor", r)
    cols = list(zip(*specs))
    method, prov = np.array(cols[0]), np.array(cols[1])
    lr, seed, ramp = np.array(cols[2], np.float32), np.array(cols[3], int), np.array(cols[4], np.float32)
    k_pre, k_perm, k_runs = jax.random.split(key, 3)
    params, _ = jax.jit(pretrain, static_argnums=1)(k_pre, setup)
    corpus = text.load_corpus()
    perm = text.permutation(k_perm, corpus.vocab_size)
    keys = jax.random.split(k_runs, int(seed.max()) + 1)[jnp.asarray(seed)]
    mi = jnp.asarray([methods.index(m) for m in method])
    pi = jnp.asarray([PROVOCATIONS.index(p) for p in prov])
    n_dev = len(jax.devices())
    chunk = int(math.ceil(min(chunk, len(specs)) / n_dev) * n_dev)
    R = len(specs)
    pad = (-R) % chunk
    cols = [jnp.concatenate([a, a[jnp.zeros(pad, int)]])
            for a in (keys, mi, pi, jnp.asarray(lr), jnp.asarray(ramp))]
    data = jnp.asarray(corpus.train)
    t0 = time.perf_counter()
    parts = []
    for c in range(0, R + pad, chunk):
        args = sharding.shard_leading(tuple(a[c:c + chunk] for a in cols))
        out = _batched(*args, params, data, perm, setup, tuple(methods))
        parts.append({k: np.asarray(x) for k, x in out.items()})
    out = {k: np.concatenate([p[k] for p in parts])[:R] for k in parts[0]}
    return dict(method=method, prov=prov, lr=lr, seed=seed, ramp=ramp, metrics=out,
                seconds=time.perf_counter() - t0)


def subset(res: dict, mask) -> dict:
    """The runs of ``res`` where ``mask`` holds (same layout)."""
    out = {k: res[k][mask] for k in ("method", "prov", "lr", "seed", "ramp")}
    out["metrics"] = {k: x[mask] for k, x in res["metrics"].items()}
    return out


def select(res: dict, method: str, prov: str, lr: float) -> np.ndarray:
    """Indices of the runs of ``method`` at (provocation, lr), ordered by seed."""
    idx = np.flatnonzero((res["method"] == method) & (res["prov"] == prov)
                         & np.isclose(res["lr"], lr, rtol=1e-6))
    return idx[np.argsort(res["seed"][idx])]


def smooth(x, w: int):
    """Trailing moving average over the last axis (window ``w``; shorter at the start)."""
    x = np.asarray(x, float)
    c = np.cumsum(x, axis=-1)
    c = np.concatenate([np.zeros(x.shape[:-1] + (1,)), c], axis=-1)
    idx = np.arange(x.shape[-1])
    lo = np.maximum(idx + 1 - w, 0)
    return (c[..., idx + 1] - c[..., lo]) / (idx + 1 - lo)


def _runs_above(x, k):
    """First index ending a run of ``k`` consecutive True values along the last axis (-1: none)."""
    c = np.zeros(x.shape[:-1], int)
    first = np.full(x.shape[:-1], -1)
    for t in range(x.shape[-1]):
        c = np.where(x[..., t], c + 1, 0)
        first = np.where((first < 0) & (c >= k), t, first)
    return first


def summarize(metrics: dict, setup: Setup, *, w: int = 20, tol: float = 0.1) -> dict:
    """Per-run outcomes (arrays ``[R]``) from the metrics ``[R, n_steps]`` of :func:`run`.

    * ``diverged``: a non-finite loss or weights at any step, or ``real`` above
      ``div_mult·ln V`` for ``div_k`` consecutive steps; ``t_div`` the step the blow-up starts
      (the first step of that stretch, or the first non-finite step; ``n_steps`` if none).
    * ``pre``: mean real loss over the ``w`` steps before the shift; ``final``: mean real loss
      over the last ``w`` steps (NaN if diverged: report it over the runs that did not).
    * ``recover``: steps after the shift until the ``w``-step moving average of ``real`` is
      ≤ ``pre + tol``; the horizon if never or diverged.
    * ``peak_wnorm``: the largest weight norm of the run; ``wasted``: all ``n_steps`` of a
      diverged run (it must be restarted), else ``recover``.
    """
    s0, n, H = setup.warm_steps, setup.n_steps, setup.horizon
    real = np.asarray(metrics["real"], float)
    dead = np.asarray(metrics["dead"], bool)
    nonfin = ~np.isfinite(real) | dead
    high = nonfin | (real > setup.div_mult * math.log(setup.cfg.vocab_size))
    end = _runs_above(high, setup.div_k)
    blow = np.where(end >= 0, end - setup.div_k + 1, n)
    first_nf = np.where(nonfin.any(-1), nonfin.argmax(-1), n)
    t_div = np.minimum(blow, first_nf)
    diverged = t_div < n
    clean = np.where(np.isfinite(real), real, 1e3)
    pre = clean[..., s0 - w:s0].mean(-1)
    final = np.where(diverged, np.nan, clean[..., -w:].mean(-1))
    ma = smooth(clean, w)[..., s0 + w - 1:]
    ok = ma <= (pre + tol)[..., None]
    recovered = ok.any(-1) & ~diverged
    rec = np.where(recovered, ok.argmax(-1) + w - 1, H)
    wasted = np.where(diverged, n, rec).astype(float)
    return dict(diverged=diverged, t_div=t_div, pre=pre, final=final, recover=rec,
                recovered=recovered, peak_wnorm=np.asarray(metrics["wnorm"]).max(-1),
                wasted=wasted)


def cell_table(summ: dict, res: dict, methods, provs, lrs, *, confidence: float = 0.9
               ) -> list[dict]:
    """One row per (provocation, lr): divergence rate with its exact interval, final loss and
    recovery steps (mean and t interval over the runs that did not diverge), peak weight norm."""
    rows = []
    for method, p, lr in ((m, p, lr) for m in methods for p in provs for lr in lrs):
        i = select(res, method, p, lr)
        if not len(i):
            continue
        k, nn = int(summ["diverged"][i].sum()), len(i)
        lo, hi = stats.clopper_pearson(k, nn, confidence)
        ok = i[~summ["diverged"][i]]
        row = dict(method=method, prov=p, lr=float(lr), n=nn, k_div=k, div=k / nn, div_lo=lo, div_hi=hi,
                   peak_wnorm=float(np.median(summ["peak_wnorm"][i])))
        for name in ("final", "recover"):
            x = summ[name][ok].astype(float)
            if len(x) >= 2:
                mean, se, df = stats.mean_se(x)
                q = float(scipy.stats.t.ppf(0.5 + confidence / 2, df))
                row[name], row[name + "_ci"] = mean, q * se
            else:
                row[name], row[name + "_ci"] = (float(x[0]) if len(x) else float("nan")), float("nan")
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- early warning
def _rolling(x, w, f):
    out = np.full(x.shape, np.nan)
    for t in range(w, x.shape[-1] + 1):
        out[..., t - 1] = f(x[..., t - w:t])
    return out


def _ar1(win):
    a, b = win[..., :-1], win[..., 1:]
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    return np.where(den > 0, (a * b).sum(-1) / np.where(den > 0, den, 1.0), 0.0)


def alarm_statistics(loss, gnorm, *, detrend: int = 10, window: int = 40, alpha: float = 0.97,
                     warmup: int = 25) -> dict:
    """Online alarm statistics for traces ``[R, T]`` (each uses only the past and present):

    * ``ar1``, ``var``: lag-1 autocorrelation and variance of the detrended loss (the loss
      minus its trailing ``detrend``-step mean) over a trailing ``window`` (critical slowing
      down, Scheffer et al. 2009; ARS's entropy guard read as an alarm);
    * ``zscore``: ZClip's z-score of the gradient norm against its EMA mean/variance
      (``alpha``, initialised from the first ``warmup`` norms);
    * ``spike``: the plain loss spike, loss / (trailing ``window``-step minimum) − 1.
    """
    loss = np.where(np.isfinite(loss), loss, np.nan)
    T = loss.shape[-1]
    trend = np.concatenate([np.full(loss.shape[:-1] + (detrend,), np.nan),
                            _rolling(loss, detrend, lambda z: z.mean(-1))[..., detrend - 1:-1]], -1)
    resid = loss - trend
    ar1 = _rolling(resid, window, _ar1)
    var = _rolling(resid, window, lambda z: z.var(-1))
    g = np.where(np.isfinite(gnorm), gnorm, np.nan)
    z = np.full(g.shape, np.nan)
    mu = g[..., :warmup].mean(-1)
    va = g[..., :warmup].var(-1)
    for t in range(warmup, T):
        z[..., t] = (g[..., t] - mu) / (np.sqrt(va) + 1e-6)
        x = g[..., t]
        mu = alpha * mu + (1 - alpha) * x
        va = alpha * va + (1 - alpha) * (x - mu) ** 2
    lo = _rolling(loss, window, lambda q: q.min(-1))
    spike = loss / lo - 1.0
    return dict(ar1=ar1, var=var, zscore=z, spike=spike)


def roc(stat_pos, stat_neg, t_end, t_start: int):
    """ROC of an alarm: run ``i`` of the positives (ramp) alarms if its statistic exceeds θ in
    ``[t_start, t_end[i])`` (before its blow-up); control run ``i`` (constant lr) is a false
    alarm if it does in the same interval. Returns ``dict(fpr, tpr, thresholds, auc,
    max_pos, max_neg)``; AUC is the Mann–Whitney probability that a positive's maximum exceeds a
    control's."""
    def mx(s, ends):
        return np.array([np.nanmax(np.where(np.isfinite(r[t_start:e]), r[t_start:e], -np.inf))
                         if e > t_start else -np.inf for r, e in zip(s, ends)])
    mp, mn = mx(stat_pos, t_end), mx(stat_neg, t_end)
    th = np.unique(np.concatenate([mp, mn, [np.inf]]))[::-1]
    tpr = np.array([(mp > t).mean() for t in th])
    fpr = np.array([(mn > t).mean() for t in th])
    auc = float(((mp[:, None] > mn[None]) + 0.5 * (mp[:, None] == mn[None])).mean())
    return dict(fpr=fpr, tpr=tpr, thresholds=th, auc=auc, max_pos=mp, max_neg=mn)


def lead_times(stat_pos, t_end, threshold: float, t_start: int) -> np.ndarray:
    """Steps from the first alarm (statistic > ``threshold`` after ``t_start``) to the blow-up;
    NaN for runs without an alarm before it."""
    out = np.full(len(stat_pos), np.nan)
    for i, (r, e) in enumerate(zip(stat_pos, t_end)):
        hit = np.flatnonzero(np.nan_to_num(r[t_start:e], nan=-np.inf) > threshold)
        if hit.size:
            out[i] = e - (t_start + hit[0])
    return out


def threshold_at_fpr(max_neg, fpr: float) -> float:
    """The smallest threshold whose false-alarm rate on the controls is ≤ ``fpr``."""
    m = np.sort(np.asarray(max_neg))
    k = int(math.floor(fpr * len(m)))      # at most k controls may exceed it
    return float(m[len(m) - k - 1]) if k < len(m) else float(-np.inf)


# ----------------------------------------------------------------------------- overhead
def step_overhead(setup: Setup, methods, *, n: int = 200, key=None) -> dict:
    """Wall-clock µs per optimizer update of each method on the model's params (one run,
    jitted, median of 5 blocks of ``n`` calls): the per-step overhead, measured here because
    ``make bench`` times ARS only."""
    key = jax.random.key(0) if key is None else key
    params = gpt.init(key, setup.cfg)
    g = jax.tree_util.tree_map(lambda p: 1e-3 * jnp.ones_like(p), params)
    out = {}
    for m in methods:
        opt = make_optimizer(m, 1e-3, key, setup)
        upd = jax.jit(lambda g, s, p: opt.update(g, s, p, value=jnp.float32(2.0)))
        s = opt.init(params)
        u, s = upd(g, s, params)
        jax.block_until_ready(u)
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                u, s = upd(g, s, params)
            jax.block_until_ready(u)
            ts.append((time.perf_counter() - t0) / n * 1e6)
        out[m] = float(np.median(ts))
    return out


# ----------------------------------------------------------------------------- ledger tests
def norm_cut_outcome(peak_method, peak_base, *, target: float = 0.82, margin: float = 0.15,
                     alpha: float = 0.05) -> stats.Outcome:
    """"Peak-norm cut ≈ 82 %": paired reduction ``1 − peak_method/peak_base`` per seed, TOST
    against ``target ± margin`` with a t interval."""
    red = 1.0 - np.asarray(peak_method, float) / np.asarray(peak_base, float)
    m, se, df = stats.mean_se(red)
    return stats.equivalence(m, se, target=target, margin=margin, alpha=alpha, df=df)


def collapse_outcome(k_m: int, n_m: int, k_b: int, n_b: int, *, alpha: float = 0.05,
                     tolerated: float = 0.05) -> stats.Outcome:
    """"Eliminates collapse": pass iff the method diverges in no run and significantly less often
    than the baseline (Fisher, one-sided α); fail iff it diverges significantly *more* often, or
    its rate is shown above ``tolerated`` (exact binomial); otherwise inconclusive."""
    f = stats.fisher(int(k_m), int(n_m), int(k_b), int(n_b), claim="less", alpha=alpha)
    r = stats.rate(int(k_m), int(n_m), at_most=tolerated, alpha=alpha)
    if f.outcome == stats.PASS and k_m == 0:
        out = stats.PASS
    elif f.outcome == stats.FAIL or r.outcome == stats.FAIL:
        out = stats.FAIL
    else:
        out = stats.INCONCLUSIVE
    return stats.Outcome(out, k_m / n_m, None, f"{f.test}; {r.test}")


def recovery_outcome(rec_method, rec_base, *, margin: float = 10.0, alpha: float = 0.05
                     ) -> stats.Outcome:
    """"Faster recovery": paired t on recovery steps (method − base < 0); refuted if a speed-up
    of ``margin`` steps is ruled out."""
    a, b = np.asarray(rec_method, float), np.asarray(rec_base, float)
    if np.all(a == b):   # identical (e.g. nobody recovers): no speed-up, exactly
        return stats.Outcome(stats.FAIL, 0.0, 0.0, "identical recovery steps in every seed")
    return stats.difference(a, b, claim="less", margin=margin, alpha=alpha)


def wasted_outcome(w_method, w_base, *, at_least: float = 0.30, alpha: float = 0.05,
                   n_boot: int = 2000, seed: int = 0) -> stats.Outcome | None:
    """"30–40 % less wasted compute", read as a reduction ≥ 30 %: ``1 − mean(w_m)/mean(w_b)`` with
    a paired bootstrap standard error, one-sided bound. None if the baseline wastes nothing."""
    a, b = np.asarray(w_method, float), np.asarray(w_base, float)
    if b.mean() <= 0:
        return None
    red = 1.0 - a.mean() / b.mean()
    idx = np.random.default_rng(seed).integers(0, len(a), (n_boot, len(a)))
    boot = 1.0 - a[idx].mean(1) / np.maximum(b[idx].mean(1), 1e-12)
    return stats.bound(red, float(boot.std(ddof=1)), at_least=at_least, alpha=alpha)


def warning_outcome(max_pos, max_neg, stat_pos, t_end, t_start: int, *, fpr: float = 0.1,
                    at_least: float = 0.5, min_lead: int = 1, alpha: float = 0.05
                    ) -> stats.Outcome:
    """"The alarm warns before divergence": at the threshold with ≤ ``fpr`` false alarms on the
    constant-lr controls, the fraction of blow-ups alarmed ≥ ``min_lead`` steps ahead is
    ≥ ``at_least`` (exact binomial)."""
    th = threshold_at_fpr(max_neg, fpr)
    lead = lead_times(stat_pos, t_end, th, t_start)
    k = int(np.sum(np.nan_to_num(lead, nan=-1) >= min_lead))
    o = stats.rate(k, len(lead), at_least=at_least, alpha=alpha)
    return o._replace(test=f"threshold {th:.3g} (≤ {fpr:g} false alarms on controls); " + o.test)
