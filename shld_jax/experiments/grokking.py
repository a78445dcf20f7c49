"""Experiments of notebook 03: grokking on modular addition and the consolidation ratio C(t).

Training: full-batch AdamW on :mod:`shld_jax.models.grok_mlp`, several seeds in one
compiled program (``vmap`` over seeds, ``lax.scan`` over the ``log_every`` steps of a
chunk, ``lax.scan`` over chunks); the seed axis is sharded over all devices. Seed
``s`` draws its own split (``fold_in(key(s), 0)``) and its own init (``fold_in(key(s), 1)``).

**What D and C mean here.** Seed 002 defines ``C = ‖∇ℒ‖²/(D·d)`` for Langevin
dynamics and estimates ``D ≈ Var[g]/2`` from the gradient variance ("method 1").
Full-batch training has no sampling noise at all (its true D is 0 and C = ∞), so
we use the seed's estimator on the per-example gradients ``g_i = ∇ℓ_i`` over the
whole training set::

    σ² = tr Σ / d,   tr Σ = (1/n) Σ_i ‖g_i − ḡ‖² = (1/n) Σ_i ‖g_i‖² − ‖ḡ‖²,   D = σ²/2,
    C = ‖ḡ‖² / (D·d) = 2‖ḡ‖² / tr Σ.

This is the noise a batch-size-1 SGD step would add, per coordinate, halved as the seed
says: a dimensionless gradient signal-to-noise ratio, independent of ``d`` and lr.
The SGD-equivalent ``D_B = η·σ²/(2B)`` for batch ``B`` and lr ``η`` (time in units of
``η`` per step) would give ``C_B = (B/η)·C``: a constant factor, so *every absolute
threshold on C (1, 2, …) depends on this convention*, and only scale-free criteria
(relative drops) are convention-free. ``‖ḡ‖²`` and ``tr Σ`` are logged separately so any
other convention is one line away. ``‖g_i‖²`` is exact for every training example
(:func:`shld_jax.models.grok_mlp.per_example_sq_norms`).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from shld_jax import _validate as v
from shld_jax import _sharding as sharding
from shld_jax.data import modular
from shld_jax.models import grok_mlp as M
from shld_jax.models import _losses
from shld_jax._langevin import NEVER  # one sentinel for an event that did not happen



class TrainConfig(NamedTuple):
    """Full-batch AdamW settings and the C-triggered lr boost (off when ``boost_factor == 1``).

    The boost (once per run): at the first log point after fitting (train acc ≥ ``acc``)
    at which ``C ≤ boost_threshold`` (the seed's rule "raise lr when C drops", with the
    threshold in this module's convention for D) or ``C ≤ C_max_since_fit / boost_drop``
    (a scale-free "sharp drop"), lr is multiplied by ``boost_factor`` for ``boost_steps``
    steps. ``boost_threshold = 0`` or ``boost_drop = inf`` switch either test off.
    """

    lr: float = 1e-2
    wd: float = 1.0
    b1: float = 0.9
    b2: float = 0.98
    train_frac: float = 0.3
    log_every: int = 10
    boost_factor: float = 1.0
    boost_steps: int = 200
    boost_threshold: float = 1.0
    boost_drop: float = 2.0
    acc: float = 0.99

    def validate(self) -> "TrainConfig":
        c = "TrainConfig"
        v.positive(c, "lr", self.lr)
        v.non_negative(c, "wd", self.wd)
        v.in_range(c, "b1", self.b1, 0.0, 1.0, closed="[)")
        v.in_range(c, "b2", self.b2, 0.0, 1.0, closed="[)")
        v.in_range(c, "train_frac", self.train_frac, 0.0, 1.0, closed="()")
        v.positive_int(c, "log_every", self.log_every)
        v.positive(c, "boost_factor", self.boost_factor)
        v.positive_int(c, "boost_steps", self.boost_steps)
        v.non_negative(c, "boost_threshold", self.boost_threshold)
        if not (self.boost_drop > 1.0):  # inf allowed: switches the relative test off
            raise ValueError(f"`{c}`: boost_drop must be > 1 (inf switches it off), got boost_drop = {self.boost_drop!r}.")
        v.in_range(c, "acc", self.acc, 0.0, 1.0, closed="(]")
        return self


class RunState(NamedTuple):
    """One seed's training state: params, AdamW state, step, boost bookkeeping."""

    params: dict
    opt_state: object
    step: jax.Array
    boost_left: jax.Array   # steps of raised lr still to run
    boosted_at: jax.Array   # step at which the boost fired (NEVER if not yet)
    c_max: jax.Array        # running max of C since fitting (0 before)


class Metrics(NamedTuple):
    """Logged every ``log_every`` steps (leading axes ``[seeds, logs]`` once stacked)."""

    step: jax.Array
    train_loss: jax.Array
    train_acc: jax.Array
    test_loss: jax.Array
    test_acc: jax.Array
    weight_norm: jax.Array   # ‖θ‖₂ over all parameters
    grad_norm: jax.Array     # ‖ḡ‖₂, full-batch gradient of the mean train loss
    trace_var: jax.Array     # tr Σ, per-example gradient variance summed over coordinates
    C: jax.Array             # 2‖ḡ‖²/tr Σ (D = σ²/2, σ² = tr Σ/d)
    lr_scale: jax.Array      # lr multiplier in force during the chunk that ended here


def optimizer(tc: TrainConfig):
    """AdamW (decoupled weight decay, Loshchilov & Hutter 2019) with ``tc``'s lr, betas and wd."""
    return optax.adamw(tc.lr, b1=tc.b1, b2=tc.b2, weight_decay=tc.wd)


def measure(params, split: modular.Split, p: int, lr_scale=1.0) -> Metrics:
    """Every logged quantity for one seed at ``params`` (``step`` is filled in by the caller)."""
    a, b, y = modular.pairs(split.train, p)
    lv, g = jax.value_and_grad(M.loss)(params, a, b, y)
    g2 = optax.tree.norm(g, squared=True)
    tr = jnp.mean(M.per_example_sq_norms(params, a, b, y)) - g2
    logits = M.apply_grid(params)
    _, _, y_all = modular.all_pairs(p)
    nll = _losses.nll(logits, y_all)
    hit = (jnp.argmax(logits, -1) == y_all).astype(jnp.float32)
    test = split.test
    return Metrics(
        step=jnp.zeros((), jnp.int32), train_loss=lv, train_acc=jnp.mean(hit[split.train]),
        test_loss=jnp.mean(nll[test]), test_acc=jnp.mean(hit[test]),
        weight_norm=jnp.sqrt(optax.tree.norm(params, squared=True)), grad_norm=jnp.sqrt(g2), trace_var=tr,
        C=2.0 * g2 / tr, lr_scale=jnp.asarray(lr_scale, jnp.float32),
    )


def init_state(seed, mc: M.Config, tc: TrainConfig):
    """``(RunState, Split)`` of one seed (traceable in ``seed``)."""
    key = jax.random.key(seed)
    sp = modular.split(jax.random.fold_in(key, 0), mc.p, tc.train_frac)
    params = M.init(jax.random.fold_in(key, 1), mc)
    z = jnp.zeros((), jnp.int32)
    st = RunState(params, optimizer(tc).init(params), z, z, z + NEVER, jnp.zeros(()))
    return st, sp


_DYNAMIC = ("lr", "wd", "b1", "b2", "boost_factor", "boost_steps", "boost_threshold", "boost_drop", "acc")


def _hyper(tc: TrainConfig) -> dict:
    """The traced hyperparameters (changing them does not recompile)."""
    return {k: jnp.asarray(getattr(tc, k), jnp.int32 if k == "boost_steps" else jnp.float32) for k in _DYNAMIC}


def _chunk(st: RunState, sp: modular.Split, p: int, log_every: int, hp: dict):
    opt = optax.adamw(hp["lr"], b1=hp["b1"], b2=hp["b2"], weight_decay=hp["wd"])
    a, b, y = modular.pairs(sp.train, p)

    def step(st, _):
        g = jax.grad(M.loss)(st.params, a, b, y)
        upd, opt_state = opt.update(g, st.opt_state, st.params)
        scale = jnp.where(st.boost_left > 0, hp["boost_factor"], 1.0)
        # AdamW's update is −lr·(adam + wd·θ): scaling it is exactly raising lr.
        upd = jax.tree_util.tree_map(lambda u: scale * u, upd)
        st = st._replace(params=optax.apply_updates(st.params, upd), opt_state=opt_state,
                         step=st.step + 1, boost_left=jnp.maximum(st.boost_left - 1, 0))
        return st, scale

    st, scales = jax.lax.scan(step, st, None, length=log_every)
    m = measure(st.params, sp, p, jnp.max(scales))._replace(step=st.step)
    fitted = m.train_acc >= hp["acc"]
    c_max = jnp.where(fitted, jnp.maximum(st.c_max, m.C), st.c_max)
    dropped = (m.C <= hp["boost_threshold"]) | (m.C * hp["boost_drop"] <= c_max)
    fire = (hp["boost_factor"] != 1.0) & fitted & (st.boosted_at == NEVER) & dropped
    st = st._replace(c_max=c_max, boost_left=jnp.where(fire, hp["boost_steps"], st.boost_left),
                     boosted_at=jnp.where(fire, st.step, st.boosted_at))
    return st, m


@partial(jax.jit, static_argnames=("p", "log_every", "n_chunks"))
def _segment(st, sp, hp, *, p, log_every, n_chunks):
    def one(st, sp):
        return jax.lax.scan(lambda s, _: _chunk(s, sp, p, log_every, hp), st, None, length=n_chunks)

    st, ms = jax.vmap(one)(sharding.constrain_leading(st), sp)
    return st, ms


@partial(jax.jit, static_argnames=("mc", "train_frac"))
def _init(seeds, *, mc, train_frac):
    tc = TrainConfig(train_frac=train_frac)
    st, sp = jax.vmap(lambda s: init_state(s, mc, tc))(seeds)
    m0 = jax.vmap(lambda s, p: measure(s.params, p, mc.p))(st, sp)
    return st, sp, m0


class History(NamedTuple):
    """Logged metrics as numpy arrays ``[seeds, logs]`` (``step [logs]``), final states, boost steps."""

    metrics: Metrics
    seeds: np.ndarray
    boosted_at: np.ndarray
    state: RunState


def train(seeds, n_steps: int, mc: M.Config = M.Config(), tc: TrainConfig = TrainConfig(), *,
          segment: int | None = None, stop_when_grokked: bool = False, after_grok: int = 0,
          progress: bool = False) -> History:
    """Train every seed in ``seeds`` for ``n_steps`` full-batch AdamW steps in one program.

    Runs compiled segments of ``segment`` steps (a multiple of ``log_every``; default: all)
    so a progress bar can advance; ``stop_when_grokked`` ends after the first segment that
    completes ``after_grok`` steps past the step by which every seed reached
    ``test acc ≥ tc.acc`` (or at ``n_steps``). Lr, wd, betas and the boost settings are
    traced: changing them reuses the compiled program. Returns :class:`History` with the
    metrics at step 0 and every ``log_every`` steps.
    """
    mc, tc = mc.validate(), tc.validate()
    n_steps = v.positive_int("train", "n_steps", n_steps)
    seeds = np.atleast_1d(np.asarray(seeds, dtype=np.int32))
    if seeds.ndim != 1 or seeds.size == 0:
        raise ValueError(f"`train`: seeds must be a non-empty 1-D list of integers, got seeds = {seeds!r}.")
    v.multiple_of("train", "n_steps", n_steps, tc.log_every, "log_every")
    segment = n_steps if segment is None else v.positive_int("train", "segment", segment)
    after_grok = int(v.non_negative("train", "after_grok", after_grok))
    v.multiple_of("train", "segment", segment, tc.log_every, "log_every")
    st, sp, m0 = _init(sharding.shard_leading(jnp.asarray(seeds)), mc=mc, train_frac=float(tc.train_frac))
    hp = _hyper(tc)
    parts = [jax.tree_util.tree_map(lambda x: np.asarray(x)[:, None], m0)]
    done = 0
    from tqdm.auto import tqdm

    with tqdm(total=n_steps, disable=not progress, desc="train") as bar:
        while done < n_steps:
            k = min(segment, n_steps - done)
            st, ms = _segment(st, sp, hp, p=mc.p, log_every=tc.log_every, n_chunks=k // tc.log_every)
            ms = jax.tree_util.tree_map(np.asarray, ms)
            parts.append(ms)
            done += k
            bar.update(k)
            if stop_when_grokked:
                acc = np.concatenate([p_.test_acc for p_ in parts], axis=1)
                steps = np.concatenate([np.broadcast_to(p_.step, p_.test_acc.shape)[0] for p_ in parts])
                g = grok_step(steps, acc, tc.acc)
                if np.all(g != NEVER) and done >= g.max() + after_grok:
                    break
    m = Metrics(*(np.concatenate([getattr(p_, f) for p_ in parts], axis=1) for f in Metrics._fields))
    m = m._replace(step=m.step[0])
    if not np.all(np.isfinite(m.train_loss)):
        bad = np.argwhere(~np.isfinite(m.train_loss))[0]
        raise FloatingPointError(f"`train`: non-finite train loss for seed {seeds[bad[0]]} at step {m.step[bad[1]]}.")
    return History(m, seeds, np.asarray(st.boosted_at), st)


# ---------------------------------------------------------------- event detection

def first_crossing(steps, x, level, *, above=True, start=None):
    """First logged step at which ``x ≥ level`` (``above``) or ``x ≤ level``; ``NEVER`` if none.

    ``steps [T]``, ``x [..., T]`` → ``[...]`` int. ``start`` (scalar or ``[...]``) ignores
    earlier steps (``NEVER`` entries of ``start`` give ``NEVER``).
    """
    steps = np.asarray(steps)
    x = np.asarray(x, dtype=float)
    hit = x >= level if above else x <= level
    if start is not None:
        start = np.broadcast_to(np.asarray(start), x.shape[:-1])
        hit = hit & (steps >= start[..., None]) & (start[..., None] != NEVER)
    idx = np.argmax(hit, axis=-1)
    return np.where(np.any(hit, axis=-1), steps[idx], NEVER)


def grok_step(steps, test_acc, acc=0.99):
    """Step at which test accuracy first reaches ``acc`` (``NEVER`` if it does not)."""
    return first_crossing(steps, test_acc, acc)


def fit_step(steps, train_acc, acc=0.99):
    """Step at which train accuracy first reaches ``acc``."""
    return first_crossing(steps, train_acc, acc)


def sharp_drop_step(steps, C, start, *, factor=2.0):
    """First logged step ≥ ``start`` at which ``C ≤ max(C since start)/factor`` (the boost rule, offline).

    ``steps [T]``, ``C [..., T]``, ``start [...]`` (e.g. the fit step) → ``[...]``.
    Scale-free: unlike "C < 1" it does not depend on the convention for D.
    """
    steps = np.asarray(steps)
    C = np.asarray(C, dtype=float)
    start = np.broadcast_to(np.asarray(start), C.shape[:-1])
    valid = (steps >= start[..., None]) & (start[..., None] != NEVER)
    run_max = np.maximum.accumulate(np.where(valid, C, -np.inf), axis=-1)
    hit = valid & (C * factor <= run_max)
    idx = np.argmax(hit, axis=-1)
    return np.where(np.any(hit, axis=-1), steps[idx], NEVER)


# ---------------------------------------------------------------- lead-time analysis

def sgd_equivalent_factor(lr: float, batch: int) -> float:
    """``C_B / C = B/η``: C under the SGD convention ``D_B = η·σ²/(2B)`` (see the module docstring)."""
    return v.positive_int("sgd_equivalent_factor", "batch", batch) / v.positive("sgd_equivalent_factor", "lr", lr)


def rise_step(steps, C, start, *, factor=2.0):
    """First logged step ≥ ``start`` at which ``C ≥ factor·min(C since start)`` (mirror of :func:`sharp_drop_step`)."""
    return sharp_drop_step(steps, 1.0 / np.asarray(C, dtype=float), start, factor=factor)


def alarms(steps, C, fit, *, levels=(1.0, 2.0), drop=2.0, scale=1.0):
    """Steps ``[seeds]`` at which each early-warning rule first fires after the fit step.

    ``C < level`` for each level (on ``scale·C``: pass :func:`sgd_equivalent_factor` for the SGD
    convention), and ``"drop"``: C ≤ (max of C since fit)/``drop``. ``NEVER`` where a rule does not
    fire, or where the run never fitted.
    """
    C = scale * np.asarray(C, dtype=float)
    out = {f"C<{lv:g}": first_crossing(steps, C, lv, above=False, start=fit) for lv in levels}
    out[f"drop×{drop:g}"] = sharp_drop_step(steps, C, fit, factor=drop)
    return out


def lead_times(alarm, grok):
    """``grok − alarm`` per seed (float; NaN where either is ``NEVER``); positive = warned in advance."""
    alarm, grok = np.asarray(alarm), np.asarray(grok)
    ok = (alarm != NEVER) & (grok != NEVER)
    return np.where(ok, (grok - alarm).astype(float), np.nan)


def alarm_outcomes(alarm, grok, horizon):
    """Classify each seed's alarm: ``hit`` (0 ≤ lead ≤ horizon), ``early`` (lead > horizon),
    ``late`` (at/after grokking), ``missed`` (no alarm, grokked), ``false`` (alarm, never grokked),
    ``quiet`` (no alarm, never grokked). Returns ``{outcome: count}``."""
    alarm, grok = np.asarray(alarm), np.asarray(grok)
    lead = grok - alarm
    a, g = alarm != NEVER, grok != NEVER
    return {
        "hit": int(np.sum(a & g & (lead > 0) & (lead <= horizon))),
        "early": int(np.sum(a & g & (lead > horizon))),
        "late": int(np.sum(a & g & (lead <= 0))),
        "missed": int(np.sum(~a & g)),
        "false": int(np.sum(a & ~g)),
        "quiet": int(np.sum(~a & ~g)),
    }


def window_median(steps, x, lo, hi):
    """Median of ``x [seeds, T]`` over logged steps in ``[lo, hi]`` per seed (NaN where the window is empty)."""
    steps = np.asarray(steps)
    x = np.asarray(x, dtype=float)
    lo, hi = np.broadcast_to(lo, x.shape[:1]), np.broadcast_to(hi, x.shape[:1])
    out = np.full(x.shape[0], np.nan)
    for s in range(x.shape[0]):
        sel = (steps >= lo[s]) & (steps <= hi[s])
        if np.any(sel):
            out[s] = np.median(x[s, sel])
    return out


def transition_C(steps, C, fit, grok, *, post=200):
    """Pre- and post-transition C per seed.

    pre: median C over the memorised plateau's first half, ``[fit, fit + (grok − fit)/2]``;
    post: median C over ``[grok, grok + post]``. NaN where the run did not fit or grok.
    """
    fit, grok = np.asarray(fit), np.asarray(grok)
    ok = (fit != NEVER) & (grok != NEVER)
    pre = window_median(steps, C, fit, fit + (grok - fit) / 2)
    post_ = window_median(steps, C, grok, grok + post)
    return np.where(ok, pre, np.nan), np.where(ok, post_, np.nan)
