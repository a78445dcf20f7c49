"""Experiments of notebook 05: ARS (seed 001) against AdamW on a tiny GPT with a data shift.

Provocation (seed 001, "Narcissus failure"): a character-level GPT trains on the shipped
corpus; at ``shift_step`` the vocabulary is relabelled by a fixed random permutation with
no fixed point (:func:`shld_jax.data.text.permutation`), so the trained model is
confidently wrong on every symbol and must re-map its embeddings.

Every run (variant × learning rate × seed) is one ``lax.scan`` over steps; all runs are
``vmap``-ed into a single ``jit``. To compile once, each run carries the states of all
optimizer variants and picks its own with ``lax.switch`` (under ``vmap`` every branch is
evaluated; the optimizers cost a few percent of the model's forward/backward pass). The
optimizers are the package's real :func:`shld_jax._ars.ars` and optax transforms.

A run that produces a non-finite loss or weights is frozen from that step on (params are
kept, the step is marked diverged), so no NaN leaves the scan.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from shld_jax import _validate as v
from shld_jax import _ars as A
from shld_jax import _sharding as sharding
from shld_jax.data import text
from shld_jax.models import gpt

# name: (label, description)
VARIANTS = {
    "adamw": ("AdamW", "baseline optax.adamw"),
    "psi": ("+Ψ", "ARS gate with entropy guard, no jitter (seed ablation 2)"),
    "psi_chi": ("+Ψ+χ", "ARS gate and chronos-jitter (seed ablation 3, the full method)"),
    "corr_betas": ("corr. β", "relative surprise + detrended guard, gate on the betas, jitter"),
    "corr_lr": ("corr. lr", "relative surprise + detrended guard, gate on the lr, jitter"),
    "clip": ("clip 1.0", "optax.clip_by_global_norm(1.0) before AdamW (practitioner's choice)"),
}


class Setup(NamedTuple):
    """Model, data and training schedule of one ablation (hashable: a static jit argument)."""

    cfg: gpt.GPTConfig = gpt.GPTConfig(vocab_size=96, block_size=32, n_layer=2, n_head=2,
                                       n_embd=32)
    batch_size: int = 8
    n_steps: int = 400
    shift_step: int = 200
    b1: float = 0.9
    b2: float = 0.999
    weight_decay: float = 0.01
    window: int = 100
    clip: float = 1.0

    def check(self):
        gpt.check_config(self.cfg)
        for n in ("batch_size", "n_steps", "shift_step", "window"):
            v.positive_int("Setup", n, getattr(self, n))
        if self.shift_step >= self.n_steps:
            raise ValueError(f"`Setup`: shift_step must be < n_steps, got shift_step = "
                             f"{self.shift_step}, n_steps = {self.n_steps}.")
        return self


def make_optimizer(name: str, lr, key, setup: Setup):
    """The optimizer of variant ``name`` (a key of :data:`VARIANTS`) at learning rate ``lr``."""
    adamw = optax.inject_hyperparams(optax.adamw)(learning_rate=lr, b1=setup.b1, b2=setup.b2,
                                                  weight_decay=setup.weight_decay)
    kw = dict(key=key, window=setup.window)
    if name == "adamw":
        return adamw
    if name == "psi":
        return A.ars(adamw, use_jitter=False, **kw)
    if name == "psi_chi":
        return A.ars(adamw, **kw)
    if name == "corr_betas":
        return A.ars(adamw, surprise="relative", guard="diff", gate_on="betas", **kw)
    if name == "corr_lr":
        return A.ars(adamw, surprise="relative", guard="diff", gate_on="lr", **kw)
    if name == "clip":
        return optax.chain(optax.clip_by_global_norm(setup.clip), adamw)
    raise ValueError(f"`make_optimizer`: name must be one of {list(VARIANTS)}, got name = {name!r}.")


def _internals(state):
    if isinstance(state, A.ARSState):
        return state.rho1, state.psi, state.phi, state.jitter
    return jnp.float32(0.0), jnp.float32(1.0), jnp.float32(1.0), jnp.float32(0.0)


def _train_one(key, variant, lr, data, perm, setup: Setup, names: tuple):
    """One run; returns per-step metrics ``[n_steps]`` each."""
    cfg = setup.cfg
    k_init, k_opt, k_data = jax.random.split(key, 3)
    params = gpt.init(k_init, cfg)
    opts = [make_optimizer(n, lr, k_opt, setup) for n in names]
    states = tuple(o.init(params) for o in opts)

    def step(carry, inp):
        params, states, dead = carry
        t, k = inp
        x, y = text.get_batch(k, data, setup.batch_size, cfg.block_size)
        shifted = t >= setup.shift_step
        x, y = jnp.where(shifted, perm[x], x), jnp.where(shifted, perm[y], y)
        loss, g = jax.value_and_grad(gpt.loss)(params, x, y, cfg)

        def branch(i):
            def f(states):
                u, s = opts[i].update(g, states[i], params, value=loss)
                return u, states[:i] + (s,) + states[i + 1:], _internals(s)
            return f

        u, new_states, (rho1, psi, phi, jit) = jax.lax.switch(
            variant, [branch(i) for i in range(len(opts))], states)
        new_params = optax.apply_updates(params, u)
        bad = ~jnp.isfinite(loss) | ~jnp.isfinite(optax.tree.norm(new_params))
        dead = dead | bad
        keep = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(dead, b, a), new, old)
        params, states = keep(new_params, params), keep(new_states, states)
        out = dict(loss=jnp.where(jnp.isfinite(loss), loss, jnp.float32(jnp.inf)),
                   wnorm=optax.tree.norm(params),
                   gnorm=jnp.where(bad, 0.0, optax.tree.norm(g)),
                   unorm=jnp.where(dead, 0.0, optax.tree.norm(u)),
                   rho1=rho1, psi=psi, phi=phi, jitter=jit, dead=dead)
        return (params, states, dead), out

    steps = jnp.arange(setup.n_steps)
    init = (params, states, jnp.bool_(False))
    _, out = jax.lax.scan(step, init, (steps, jax.random.split(k_data, setup.n_steps)))
    return out


@functools.partial(jax.jit, static_argnums=(5, 6))
def _batched(keys, variants, lrs, data, perm, setup, names):
    one = lambda k, vv, lr: _train_one(k, vv, lr, data, perm, setup, names)
    return jax.vmap(one)(keys, variants, lrs)


def run(setup: Setup, specs, *, key) -> dict:
    """Train every run in ``specs`` (a list of ``(variant, lr, seed)``) in one jit.

    Returns ``dict(variant [R], lr [R], seed [R], metrics, setup)``; each metric has shape
    ``[R, n_steps]`` (numpy). Seed ``s`` uses the same initialisation, batches and jitter
    key in every variant and at every lr (paired comparisons); the vocabulary permutation
    is shared by all runs.
    """
    setup.check()
    specs = list(specs)
    if not specs:
        raise ValueError("`run`: specs must hold at least one (variant, lr, seed).")
    names = tuple(dict.fromkeys(s[0] for s in specs))
    for n in names:
        if n not in VARIANTS:
            raise ValueError(f"`run`: variants must be keys of VARIANTS, got {n!r}.")
    lr = np.array([v.positive("run", "lr", s[1]) for s in specs], np.float32)
    seed = np.array([v.positive_int("run", "seed + 1", s[2] + 1) - 1 for s in specs])
    variant = np.array([s[0] for s in specs])
    corpus = text.load_corpus()
    data = jnp.asarray(corpus.train)
    k_perm, k_runs = jax.random.split(key)
    perm = text.permutation(k_perm, corpus.vocab_size)
    keys = jax.random.split(k_runs, int(seed.max()) + 1)[jnp.asarray(seed)]
    vi = jnp.asarray([names.index(n) for n in variant])
    keys, vi, lrj = sharding.shard_leading((keys, vi, jnp.asarray(lr)))
    out = _batched(keys, vi, lrj, data, perm, setup, names)
    out = {k: np.asarray(x) for k, x in out.items()}
    return dict(variant=variant, lr=lr, seed=seed, metrics=out, setup=setup)


def select(res: dict, variant: str, lr: float) -> np.ndarray:
    """Indices of the runs of ``variant`` at learning rate ``lr``, ordered by seed."""
    idx = np.flatnonzero((res["variant"] == variant) & np.isclose(res["lr"], lr, rtol=1e-6))
    return idx[np.argsort(res["seed"][idx])]


def smooth(x, w: int):
    """Trailing moving average over the last axis (window ``w``; shorter at the start)."""
    x = np.asarray(x, float)
    c = np.cumsum(x, axis=-1)
    c = np.concatenate([np.zeros(x.shape[:-1] + (1,)), c], axis=-1)
    idx = np.arange(x.shape[-1])
    lo = np.maximum(idx + 1 - w, 0)
    return (c[..., idx + 1] - c[..., lo]) / (idx + 1 - lo)


def summarize(res: dict, *, w: int = 20, tol: float = 0.05) -> dict:
    """Per-run metrics from :func:`run` (arrays ``[R]``).

    * ``pre``: mean training loss over the ``w`` steps before the shift.
    * ``post_peak``: max of the ``w``-step moving average after the shift.
    * ``final``: mean loss over the last ``w`` steps (inf if the run diverged).
    * ``peak_wnorm``: max global weight norm over training; ``wnorm0`` its value after the first step.
    * ``diverged``: non-finite loss/weights at any step, or ``final`` above the uniform
      predictor's loss ln V (worse than knowing nothing).
    * ``recover``: first step after the shift whose ``w``-step moving average is
      ≤ ``pre + tol`` nats, counted from the shift; ``n_post`` (the horizon) if never or if
      the run diverged. ``recovered``: whether it recovered and did not diverge.
    * ``wasted``: the seed's "wasted compute" in steps: a diverged run must be restarted,
      so all ``n_steps`` are wasted; otherwise the post-shift steps until recovery (the
      whole post-shift budget ``n_post`` if it never recovers).
    """
    m = res["metrics"]
    setup = res["setup"]
    s0, n = setup.shift_step, setup.n_steps
    loss = np.where(np.isfinite(m["loss"]), m["loss"], np.nan)
    dead = m["dead"].any(-1)
    pre = np.nanmean(loss[..., s0 - w:s0], -1)
    ma = smooth(np.nan_to_num(loss, nan=1e3), w)
    post = ma[..., s0 + w - 1:]
    ok = post <= (pre + tol)[..., None]
    final = np.where(dead, np.inf, np.nanmean(loss[..., -w:], -1))
    diverged = dead | (final > math.log(setup.cfg.vocab_size))
    recovered = ok.any(-1) & ~diverged
    rec = np.where(recovered, ok.argmax(-1) + w - 1, n - s0)
    wasted = np.where(diverged, n, rec).astype(float)
    return dict(pre=pre, post_peak=post.max(-1), final=final,
                peak_wnorm=m["wnorm"].max(-1), wnorm0=m["wnorm"][..., 0],
                recover=rec, recovered=recovered, diverged=diverged, wasted=wasted, n_post=n - s0)
