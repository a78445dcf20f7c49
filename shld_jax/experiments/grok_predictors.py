"""Minibatch grokking runs with predictors logged from training data (notebooks 03 and 09).

Training: minibatch SGD with momentum or AdamW on :mod:`shld_jax.models.grok_mlp`, batch ``B``
drawn uniformly **with replacement** from the training split at every step, so that the
minibatch gradient's covariance is exactly :math:`\\Sigma/B` (:math:`\\Sigma` the per-example
covariance) and the SGD diffusion is

.. math:: D_{\\rm SGD} = \\frac{\\eta\\,\\sigma^2}{2B}, \\qquad \\sigma^2 = \\operatorname{tr}\\Sigma/d

(time in units of η per step; :func:`consolidation`). Many runs train in one program:
``vmap`` over runs, each with its own seed and **per-run hyperparameters** (lr, wd, train size,
lr/wd boost window, Grokfast), ``lax.scan`` over steps. Run ``r`` with seed ``s`` draws its split
from ``fold_in(key(s), 0)``, its init from ``fold_in(key(s), 1)``, its batches from
``fold_in(key(s), 2)``, its Hutchinson probes from ``3`` and its SGLD chains from ``4``; a
replicate is the same call with other seeds. Runs that differ only in a boost window are the
same run until the window opens (same key stream), so a boost can be placed at any step
chosen from an unboosted run (:func:`Hyper` ``boost_at``).

Optimisers (traced lr :math:`\\eta_t` and wd :math:`\\lambda_t`, multiplied inside the window):
AdamW ``u = −η_t (adam(g) + λ_t θ)`` (= ``optax.adamw``); SGD+momentum with coupled L2,
``m ← μ m + g + λ_t θ``, ``u = −η_t m`` (= ``optax.chain(add_decayed_weights, sgd)``).
Grokfast (Lee et al. 2024): ``μ ← α μ + (1 − α) g``, ``g ← g + λ_g μ`` before the optimiser;
the EMA is always kept (its norm is a predictor), ``λ_g = 0`` switches the filter off.

Logged every ``log_every`` steps (train split only, except the test accuracy that defines the
grok step): losses and accuracies, ‖θ‖, ‖ḡ‖², tr Σ (exact per-example norms), tr H (Hutchinson,
Rademacher probes), ‖EMA‖, the Fourier concentration of the embedding, and optionally the
LLC (:func:`shld_jax.local_learning_coefficient`, full-batch chains from the current θ).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from shld_jax import _llc
from shld_jax import _sharding as sharding
from shld_jax import _validate as v
from shld_jax.data import modular
from shld_jax.models import grok_mlp as M
from shld_jax.models._losses import nll
from shld_jax._langevin import NEVER  # one sentinel for an event that did not happen

OPTIMISERS = ("adamw", "sgdm", "mixed")  # mixed: per-run Hyper.adam selects AdamW (1) or SGD+momentum (0)


class LLCSettings(NamedTuple):
    """SGLD settings of the LLC predictor (static): step ε, localisation γ, chains, draws, burn-in."""

    step_size: float = 1e-4
    gamma: float = 100.0
    n_chains: int = 2
    n_steps: int = 40
    n_burnin: int = 10


class Static(NamedTuple):
    """Compile-time settings: model, optimiser, batch, logging, probes, largest train size, LLC."""

    mc: M.Config = M.Config()
    opt: str = "adamw"
    batch: int = 512
    log_every: int = 50
    n_logs: int = 40
    n_probes: int = 2          # 0: no Hutchinson trace (tr H logged as 0)
    n_max: int = 3830
    n_test: int = 2000         # test pairs scored per log (a fixed random subset of the test split)
    top_k: int = 4
    llc: LLCSettings | None = None

    def validate(self) -> "Static":
        c = "grok_predictors.Static"
        self.mc.validate()
        v.one_of(c, "opt", self.opt, OPTIMISERS)
        for name in ("batch", "log_every", "n_logs", "n_max", "top_k", "n_test"):
            v.positive_int(c, name, getattr(self, name))
        v.non_negative(c, "n_probes", self.n_probes)
        if self.n_max + self.n_test > self.mc.p ** 2:
            raise ValueError(f"`{c}`: n_max + n_test must be ≤ p² = {self.mc.p ** 2}, got n_max = {self.n_max}, "
                             f"n_test = {self.n_test}")
        return self


class Hyper(NamedTuple):
    """Per-run traced hyperparameters (scalars, or ``[runs]`` arrays once stacked)."""

    lr: float = 1e-3
    wd: float = 1.0
    momentum: float = 0.9
    b1: float = 0.9
    b2: float = 0.98
    n_train: int = 3830
    boost_at: int = NEVER      # first step of the boost window (NEVER: no boost)
    boost_len: int = 0
    boost_lr: float = 1.0      # lr multiplier inside the window
    boost_wd: float = 1.0      # wd multiplier inside the window
    gf_alpha: float = 0.98
    gf_lamb: float = 0.0
    adam: float = 1.0          # with Static.opt == "mixed": 1 → AdamW, 0 → SGD+momentum


class Metrics(NamedTuple):
    """Logged quantities ``[runs, logs]`` (``step [logs]``)."""

    step: jax.Array
    train_loss: jax.Array
    train_acc: jax.Array
    test_acc: jax.Array
    weight_norm: jax.Array
    grad_sq: jax.Array       # ‖ḡ‖², full train-split gradient
    trace_var: jax.Array     # tr Σ of the per-example gradients
    trace_H: jax.Array       # Hutchinson tr ∇²ℒ_train
    ema_norm: jax.Array      # Grokfast slow-gradient EMA norm
    fourier: jax.Array       # power share of the top_k frequencies of E (DC excluded)
    llc: jax.Array           # λ̂ (0 when not estimated)
    lr_t: jax.Array          # lr in force at the logged step
    wd_t: jax.Array


class RunState(NamedTuple):
    """One run's params, optimiser state, Grokfast EMA and step."""

    params: dict
    opt_state: object
    ema: dict
    step: jax.Array


def stack_hypers(hypers) -> Hyper:
    """``[Hyper, ...]`` → one :class:`Hyper` of ``[runs]`` arrays (ints stay int32)."""
    ints = ("n_train", "boost_at", "boost_len")
    return Hyper(*(jnp.asarray([getattr(h, f) for h in hypers], jnp.int32 if f in ints else jnp.float32)
                   for f in Hyper._fields))


def _direction(opt: str, hp: Hyper):
    """The optimiser's direction transform (traced b1/b2/μ): AdamW's Adam part, or SGD's momentum."""
    if opt == "adamw":
        return optax.scale_by_adam(b1=hp.b1, b2=hp.b2)
    return optax.trace(decay=hp.momentum)


def _mixed_update(hp: Hyper, g, opt_state, params, wd_t):
    """Both directions from their own states; ``hp.adam`` picks one (one program for both optimisers)."""
    sa, sm = opt_state
    da, sa = _direction("adamw", hp).update(g, sa, params)
    gm = jax.tree_util.tree_map(lambda gi, w: gi + wd_t * w, g, params)
    dm, sm = _direction("sgdm", hp).update(gm, sm, params)
    d = jax.tree_util.tree_map(lambda a, m, w: jnp.where(hp.adam > 0.5, a + wd_t * w, m), da, dm, params)
    return d, (sa, sm)


def schedule(hp: Hyper, step):
    """``(η_t, λ_t)``: lr and wd at ``step``, multiplied by ``boost_lr``/``boost_wd`` inside the window."""
    on = (hp.boost_at != NEVER) & (step >= hp.boost_at) & (step < hp.boost_at + hp.boost_len)
    return hp.lr * jnp.where(on, hp.boost_lr, 1.0), hp.wd * jnp.where(on, hp.boost_wd, 1.0)


def opt_step(opt: str, hp: Hyper, st: RunState, g):
    """One optimiser step from the minibatch gradient ``g`` (Grokfast filter first)."""
    ema = jax.tree_util.tree_map(lambda m, gi: hp.gf_alpha * m + (1.0 - hp.gf_alpha) * gi, st.ema, g)
    g = jax.tree_util.tree_map(lambda gi, m: gi + hp.gf_lamb * m, g, ema)
    lr_t, wd_t = schedule(hp, st.step)
    if opt == "mixed":
        d, opt_state = _mixed_update(hp, g, st.opt_state, st.params, wd_t)
        params = jax.tree_util.tree_map(lambda w, di: w - lr_t * di, st.params, d)
        return RunState(params, opt_state, ema, st.step + 1)
    tx = _direction(opt, hp)
    if opt == "sgdm":  # coupled L2 goes through the momentum
        g = jax.tree_util.tree_map(lambda gi, w: gi + wd_t * w, g, st.params)
    d, opt_state = tx.update(g, st.opt_state, st.params)
    if opt == "adamw":
        d = jax.tree_util.tree_map(lambda di, w: di + wd_t * w, d, st.params)
    params = jax.tree_util.tree_map(lambda w, di: w - lr_t * di, st.params, d)
    return RunState(params, opt_state, ema, st.step + 1)


def batch_indices(key, train_idx, n_train, batch: int, step):
    """``batch`` flat pair indices drawn uniformly with replacement from the first ``n_train``."""
    j = jax.random.randint(jax.random.fold_in(key, step), (batch,), 0, n_train)
    return train_idx[j]


def _split(seed, S: Static, n_train):
    """Permutation of the pairs; the train split is its first ``n_train`` entries."""
    perm = jax.random.permutation(jax.random.fold_in(jax.random.key(seed), 0), S.mc.p ** 2).astype(jnp.int32)
    return perm[: S.n_max], perm


def train_loss_fn(S: Static, train_idx, n_train):
    """``θ ↦ (1/n) Σ_{i < n_train} ℓ_i``, the mean loss over the run's train split."""
    a, b, y = modular.pairs(train_idx, S.mc.p)
    w = (jnp.arange(S.n_max) < n_train).astype(jnp.float32)

    def f(params):
        return jnp.sum(w * nll(M.apply(params, a, b), y)) / n_train
    return f


def fourier_concentration(E, top_k: int):
    """Share of the embedding's non-DC Fourier power (over tokens, frequencies k ≡ −k merged) in the top ``top_k``."""
    p = E.shape[0]
    pw = jnp.sum(jnp.abs(jnp.fft.rfft(E, axis=0)) ** 2, axis=1)[1:]
    if p % 2 == 0:  # the Nyquist bin has no partner
        pw = pw.at[-1].multiply(0.5)
    return jnp.sum(jax.lax.top_k(pw, top_k)[0]) / jnp.sum(pw)


def hutchinson_trace(f, params, key, n_probes: int):
    """``tr ∇²f`` by Hutchinson with Rademacher probes (Hessian-vector products by forward-over-reverse)."""
    leaves, tree = jax.tree_util.tree_flatten(params)
    g = jax.grad(f)

    def one(k):
        ks = jax.random.split(k, len(leaves))
        vs = jax.tree_util.tree_unflatten(tree, [jax.random.rademacher(ki, l.shape, l.dtype) for ki, l in zip(ks, leaves)])
        hv = jax.jvp(g, (params,), (vs,))[1]
        return sum(jnp.vdot(a, b) for a, b in zip(jax.tree_util.tree_leaves(vs), jax.tree_util.tree_leaves(hv)))
    return jnp.mean(jax.vmap(one)(jax.random.split(key, n_probes)))


def measure(st: RunState, hp: Hyper, seed, train_idx, perm, S: Static) -> Metrics:
    """Every logged quantity of one run (train split only, except ``test_acc``)."""
    p = S.mc.p
    f = train_loss_fn(S, train_idx, hp.n_train)
    lv, g = jax.value_and_grad(f)(st.params)
    g2 = optax.tree.norm(g, squared=True)
    a, b, y = modular.pairs(train_idx, p)
    w = (jnp.arange(S.n_max) < hp.n_train).astype(jnp.float32)
    tr = jnp.sum(w * M.per_example_sq_norms(st.params, a, b, y)) / hp.n_train - g2
    key = jax.random.fold_in(jax.random.key(seed), 3)
    trH = jnp.zeros(())
    if S.n_probes:
        trH = hutchinson_trace(f, st.params, jax.random.fold_in(key, st.step), S.n_probes)
    train_acc = jnp.sum(w * (jnp.argmax(M.apply(st.params, a, b), -1) == y)) / hp.n_train
    ta, tb, ty = modular.pairs(jax.lax.dynamic_slice(perm, (hp.n_train,), (S.n_test,)), p)
    test_acc = jnp.mean(jnp.argmax(M.apply(st.params, ta, tb), -1) == ty)
    llc = jnp.zeros(())
    if S.llc is not None:
        k = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), 4), st.step)
        llc = _llc.local_learning_coefficient(f, st.params, n=hp.n_train, key=k, **S.llc._asdict()).llc
    lr_t, wd_t = schedule(hp, st.step)
    return Metrics(st.step, lv, train_acc, test_acc, optax.tree.norm(st.params),
                   g2, tr, trH, optax.tree.norm(st.ema), fourier_concentration(st.params["E"], S.top_k), llc,
                   lr_t, wd_t)


def init_run(seed, hp: Hyper, S: Static) -> RunState:
    """Initial state of one run (traceable in ``seed``)."""
    params = M.init(jax.random.fold_in(jax.random.key(seed), 1), S.mc)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    if S.opt == "mixed":
        ost = (_direction("adamw", hp).init(params), _direction("sgdm", hp).init(params))
    else:
        ost = _direction(S.opt, hp).init(params)
    return RunState(params, ost, zeros, jnp.zeros((), jnp.int32))


def _run_one(seed, hp: Hyper, S: Static):
    train_idx, perm = _split(seed, S, hp.n_train)
    dkey = jax.random.fold_in(jax.random.key(seed), 2)

    def step(st, _):
        a, b, y = modular.pairs(batch_indices(dkey, train_idx, hp.n_train, S.batch, st.step), S.mc.p)
        return opt_step(S.opt, hp, st, jax.grad(M.loss)(st.params, a, b, y)), None

    def chunk(st, _):
        st = jax.lax.scan(step, st, None, length=S.log_every)[0]
        return st, measure(st, hp, seed, train_idx, perm, S)

    st0 = init_run(seed, hp, S)
    m0 = measure(st0, hp, seed, train_idx, perm, S)
    st, ms = jax.lax.scan(chunk, st0, None, length=S.n_logs)
    return jax.tree_util.tree_map(lambda x0, xs: jnp.concatenate([x0[None], xs]), m0, ms), st.params


@partial(jax.jit, static_argnames=("S",))
def _run(seeds, hp: Hyper, S: Static):
    return jax.vmap(lambda s, h: _run_one(s, h, S))(sharding.constrain_leading(seeds), sharding.constrain_leading(hp))


def run(seeds, hypers, S: Static, *, check_finite: bool = True, return_params: bool = False):
    """Train one run per ``(seed, hyper)`` pair for ``S.n_logs·S.log_every`` steps; metrics as numpy ``[runs, logs]``.

    ``hypers``: one :class:`Hyper` for all seeds, or a list of the same length as ``seeds``.
    Raises ``FloatingPointError`` if a train loss is non-finite (naming the run), unless
    ``check_finite=False`` (a search that reports diverged runs itself). ``return_params``: return
    ``(metrics, final params [runs, ...])``.
    """
    S = S.validate()
    seeds = np.atleast_1d(np.asarray(seeds, np.int32))
    hypers = [hypers] * seeds.size if isinstance(hypers, Hyper) else list(hypers)
    if len(hypers) != seeds.size or seeds.ndim != 1 or seeds.size == 0:
        raise ValueError(f"`grok_predictors.run`: need one Hyper per seed, got {len(hypers)} for seeds = {seeds!r}")
    for h in hypers:
        if not (1 <= h.n_train <= S.n_max) or h.n_train + S.n_test > S.mc.p ** 2:
            raise ValueError(f"`grok_predictors.run`: n_train must lie in [1, n_max = {S.n_max}], got n_train = {h.n_train}")
        v.positive("grok_predictors.Hyper", "lr", h.lr)
        v.non_negative("grok_predictors.Hyper", "wd", h.wd)
    hp = sharding.shard_leading(stack_hypers(hypers))
    m, params = jax.tree_util.tree_map(np.asarray, _run(sharding.shard_leading(jnp.asarray(seeds)), hp, S))
    m = m._replace(step=m.step[0])
    if check_finite and not np.all(np.isfinite(m.train_loss)):
        r, t = np.argwhere(~np.isfinite(m.train_loss))[0]
        raise FloatingPointError(f"`grok_predictors.run`: non-finite train loss in run {r} (seed {seeds[r]}) at step {m.step[t]}")
    return (m, params) if return_params else m


# ---------------------------------------------------------------- D conventions and C

D_READINGS = ("per-example D = Var[g]/2", "SGD D = ησ²/(2B)", "SGD D, η_eff = η/(1−μ)")


def consolidation(m: Metrics, d: int, batch: int, reading: str, momentum: float = 0.0) -> np.ndarray:
    """The seed's ``C = ‖ḡ‖²/(D·d)`` under one reading of D (:data:`D_READINGS`).

    ``σ² = tr Σ/d``. Per example (seed's method 1): ``D = σ²/2``. SGD: ``D = η_t σ²/(2B)``
    (the diffusion of SGD with replacement sampling at the lr in force). SGD with momentum's
    effective step ``η/(1 − μ)`` (for AdamW pass ``momentum = 0``: same as SGD).
    """
    sigma2 = np.asarray(m.trace_var, float) / d
    if reading == D_READINGS[0]:
        D = sigma2 / 2
    elif reading == D_READINGS[1]:
        D = np.asarray(m.lr_t, float) * sigma2 / (2 * batch)
    elif reading == D_READINGS[2]:
        D = np.asarray(m.lr_t, float) / (1.0 - momentum) * sigma2 / (2 * batch)
    else:
        raise ValueError(f"`consolidation`: reading must be one of {D_READINGS}, got reading = {reading!r}")
    return np.asarray(m.grad_sq, float) / (D * d)


def scale_free_C(grad_sq, trace_H, D) -> np.ndarray:
    """``C̃ = ‖∇ℒ‖²/(D·tr H)``: 1 at Langevin equilibrium for any landscape (E‖∇ℒ‖² = D·E tr H)."""
    return np.asarray(grad_sq, float) / (np.asarray(D, float) * np.asarray(trace_H, float))


# ---------------------------------------------------------------- alarm rules, calibrated and scored

class Rule(NamedTuple):
    """Alarm: after the fit step, the predictor's ratio to its value at the fit step crosses ``theta``.

    ``up``: fires at the first log with ``x(t)/x(t_fit) ≥ theta``; otherwise ``≤ 1/theta``
    (``theta > 1``). A ratio is scale-free, so a rule transfers between configurations.
    """

    up: bool
    theta: float


def first_alarm(steps, x, fit, rule: Rule):
    """Step ``[runs]`` at which ``rule`` first fires after ``fit [runs]`` (``NEVER``: not fired / never fitted)."""
    steps, x, fit = np.asarray(steps), np.asarray(x, float), np.asarray(fit)
    if not (rule.theta > 1.0):
        raise ValueError(f"`first_alarm`: theta must be > 1, got theta = {rule.theta!r}")
    j0 = np.clip(np.searchsorted(steps, np.where(fit == NEVER, steps[-1], fit)), 0, steps.size - 1)
    x0 = np.take_along_axis(x, j0[:, None], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = x / x0
    hit = (r >= rule.theta) if rule.up else (r <= 1.0 / rule.theta)
    hit &= (steps[None, :] > np.where(fit == NEVER, np.iinfo(np.int64).max, fit)[:, None]) & np.isfinite(r)
    return np.where(hit.any(axis=1), steps[np.argmax(hit, axis=1)], NEVER)


def score(alarm, grok, grokking) -> dict:
    """Outcomes of alarms ``[runs]`` against grok steps: hits (fired before grokking), misses, false alarms.

    ``grokking [runs]`` marks runs that grok within the run; an alarm in a run that never groks is a
    false alarm; in a grokking run, no alarm before the grok step is a miss. ``lead``: grok − alarm
    over hits (steps); ``rel_lead``: lead / grok.
    """
    alarm, grok, g = np.asarray(alarm), np.asarray(grok), np.asarray(grokking, bool)
    fired = alarm != NEVER
    hit = g & fired & (alarm < grok)
    lead = (grok - alarm)[hit].astype(float)
    return {"hits": int(hit.sum()), "misses": int((g & ~hit).sum()), "false_alarms": int((~g & fired).sum()),
            "n_grok": int(g.sum()), "n_never": int((~g).sum()),
            "lead_median": float(np.median(lead)) if lead.size else float("nan"),
            "rel_lead_median": float(np.median(lead / grok[hit])) if lead.size else float("nan")}


def utility(s: dict) -> float:
    """Calibration objective: hit rate minus false-alarm rate (Youden's J; 0 for a constant rule)."""
    hr = s["hits"] / s["n_grok"] if s["n_grok"] else 0.0
    fr = s["false_alarms"] / s["n_never"] if s["n_never"] else 0.0
    return hr - fr


THETAS = (1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)


def calibrate(steps, x, fit, grok, grokking, thetas=THETAS) -> tuple[Rule, dict]:
    """The rule (direction × θ) of highest :func:`utility` on these runs; ties: smaller θ, 'down' first."""
    best = None
    for up in (False, True):
        for th in thetas:
            r = Rule(up, float(th))
            s = score(first_alarm(steps, x, fit, r), grok, grokking)
            u = utility(s)
            if best is None or u > best[0] + 1e-12:
                best = (u, r, s)
    return best[1], best[2]


def split_configs(n_configs: int, control, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint calibration / scoring halves of ``n_configs`` configurations, stratified by ``control``.

    ``control [n_configs]`` marks configurations chosen *before* training not to grok (wd = 0,
    too small a train fraction); each stratum is shuffled with ``seed`` and dealt alternately.
    """
    control = np.asarray(control, bool)
    if control.shape != (n_configs,):
        raise ValueError(f"`split_configs`: control must have shape ({n_configs},), got {control.shape}")
    rng = np.random.default_rng(seed)
    cal, sc = [], []
    for stratum in (np.flatnonzero(~control), np.flatnonzero(control)):
        perm = rng.permutation(stratum)
        cal += list(perm[0::2])
        sc += list(perm[1::2])
    return np.sort(np.asarray(cal, int)), np.sort(np.asarray(sc, int))


# ---------------------------------------------------------------- events and the ledger's tests

def events(m: Metrics, acc: float = 0.99):
    """``(fit, grok)`` steps ``[runs]``: first log with train / test accuracy ≥ ``acc`` (``NEVER`` if none)."""
    from shld_jax.experiments.grokking import first_crossing
    return first_crossing(m.step, m.train_acc, acc), first_crossing(m.step, m.test_acc, acc)


def seed_trigger(steps, C, fit, *, level: float = 2.0, drop: float = 2.0):
    """The seed's boost trigger: first log after ``fit`` with "C < level and still decreasing",
    or a sharp drop ``C ≤ max(C since fit)/drop`` (scale-free). ``NEVER`` if it does not fire."""
    steps, C, fit = np.asarray(steps), np.asarray(C, float), np.asarray(fit)
    after = (steps[None, :] > np.where(fit == NEVER, np.iinfo(np.int64).max, fit)[:, None])
    dec = np.concatenate([np.zeros_like(C[:, :1], bool), C[:, 1:] < C[:, :-1]], axis=1)
    run_max = np.maximum.accumulate(np.where(after, C, -np.inf), axis=1)
    hit = after & (((C < level) & dec) | (C * drop <= run_max))
    return np.where(hit.any(axis=1), steps[np.argmax(hit, axis=1)], NEVER)


def censored(grok, horizon: int) -> np.ndarray:
    """Grok steps with ``NEVER`` replaced by ``horizon`` (a run that never grokked counts as grokking at the end)."""
    grok = np.asarray(grok)
    return np.where(grok == NEVER, horizon, grok).astype(float)


def value_outcome(x, target: float, margin: float = 0.25):
    """TOST of "mean over seeds ≈ target within ±margin (relative)" (t interval); ``None`` if < 2 finite values."""
    from shld_jax import stats
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return None
    mu, se, df = stats.mean_se(x)
    return stats.equivalence(mu, se, target=target, margin=margin, relative=True, df=df)


def near_one_outcome(C_at_grok):
    """"Grokking occurs near C ≈ 1", read as 0.5 ≤ C ≤ 2: TOST of mean ln C ≈ 0 within ±ln 2."""
    from shld_jax import stats
    x = np.log(np.asarray(C_at_grok, float))
    x = x[np.isfinite(x)]
    if x.size < 2:
        return None
    mu, se, df = stats.mean_se(x)
    return stats.equivalence(mu, se, target=0.0, margin=float(np.log(2.0)), df=df)


def direction_outcome(pre, post):
    """"C falls across the transition": paired t on ln(post) − ln(pre) < 0 (convention-free)."""
    from shld_jax import stats
    pre, post = np.asarray(pre, float), np.asarray(post, float)
    ok = np.isfinite(pre) & np.isfinite(post) & (pre > 0) & (post > 0)
    if ok.sum() < 2:
        return None
    return stats.difference(np.log(post[ok]), np.log(pre[ok]), claim="less")


def timing_outcome(hits, at_least: float = 0.5):
    """A timing claim holding "typically": exact binomial, rate of seeds where it holds ≥ ``at_least``."""
    from shld_jax import stats
    hits = np.asarray(hits, bool)
    if hits.size == 0:
        return None
    return stats.rate(int(hits.sum()), int(hits.size), at_least=at_least)


def earlier_outcome(grok_a, grok_b, horizon: int):
    """"A groks earlier than B" over the same seeds: paired t on (B − A) > 0, censored at ``horizon``."""
    from shld_jax import stats
    a, b = censored(grok_a, horizon), censored(grok_b, horizon)
    if np.all(a == b):
        return stats.Outcome(stats.INCONCLUSIVE, 0.0, 0.0, "paired t: identical grok steps (no difference to test)")
    return stats.difference(b, a, claim="greater")


def c_features(steps, C, fit, grok, *, horizon: int, steps_per_epoch: float = 1.0, post: int = 200) -> dict:
    """Per-run quantities behind the seed's C claims, from one C curve ``[runs, logs]``.

    ``pre``/``post``: median C over the first half of the memorised plateau / ``post`` steps after
    grokking; ``at_grok``; ``t_c1``: first log after fitting with C ≤ 1; ``drop``: the sharp-drop
    step (C ≤ max since fit / 2). Leads are converted to epochs with ``steps_per_epoch``.
    """
    from shld_jax.experiments import grokking as G
    steps = np.asarray(steps)
    g = np.asarray(grok) != NEVER
    pre, post_ = G.transition_C(steps, C, fit, grok, post=post)
    at = np.array([C[r, np.searchsorted(steps, grok[r])] if g[r] else np.nan for r in range(len(grok))])
    t_c1 = G.first_crossing(steps, C, 1.0, above=False, start=fit)
    drop = G.sharp_drop_step(steps, C, fit, factor=2.0)
    lead = np.where(g & (drop != NEVER), (grok - drop) / steps_per_epoch, np.nan)
    err = np.where(g, np.abs(np.where(t_c1 == NEVER, 0, grok - t_c1)) / np.where(g, grok, 1), np.nan)
    err = np.where(g & (t_c1 == NEVER), 1.0, err)   # C < 1 never: the prediction fails (error counted as 100 %)
    return {"grokked": g, "pre": pre, "post": post_, "at_grok": at, "pred_err": err, "lead_epochs": lead,
            "lead_frac": np.where(np.isfinite(lead), lead * steps_per_epoch / horizon, np.nan)}


def c_claim_outcomes(f: dict) -> dict:
    """The seed's C claims on one reading's :func:`c_features` (``None`` where not testable)."""
    g = f["grokked"]
    return {
        "002-grok-epoch-prediction": timing_outcome(f["pred_err"][g] <= 0.021),
        "002-grok-C-pre": value_outcome(f["pre"], 8.7),
        "002-grok-C-post": value_outcome(f["post"], 0.85),
        "002-grok-C-direction": direction_outcome(f["pre"], f["post"]),
        "002-grok-near-C1": near_one_outcome(f["at_grok"]),
        "002-grok-drop-200": timing_outcome(np.nan_to_num(f["lead_epochs"][g], nan=-1.0).clip(-1) > 0
                                            & (np.nan_to_num(f["lead_epochs"][g], nan=-1.0) <= 400)),
        "002-grok-drop-10-20pct": timing_outcome((np.nan_to_num(f["lead_frac"][g], nan=-1.0) >= 0.1)
                                                 & (np.nan_to_num(f["lead_frac"][g], nan=-1.0) <= 0.2)),
    }


def ou_ctilde(key, h, *, D: float, dt: float, n_particles: int, n_steps: int) -> tuple[float, float]:
    """C̃ on a stationary OU ensemble: Langevin on ``U = ½ Σ h_i x_i²`` (engine's ``(init_fn, step_fn)``)
    from 0 for ``n_steps``, then per particle ``‖∇U‖²/(D·tr H)`` with tr H by one Rademacher probe each
    (the ensemble mean of tr H in the denominator). Returns ``(mean, standard error)``; 1 at equilibrium."""
    from shld_jax._langevin import overdamped_langevin
    from shld_jax._llc import _init
    h = jnp.asarray(h, jnp.float32)
    U = lambda x: 0.5 * jnp.sum(h * x["x"] ** 2)
    init_fn, step_fn = overdamped_langevin(jax.grad(U), dt=dt, D=D)
    st = _init(init_fn, {"x": jnp.zeros((n_particles, h.size))}, key)
    xT = jax.lax.fori_loop(0, n_steps, lambda i, s: step_fn(s), st).position
    g2 = jax.vmap(lambda x: optax.tree.norm(jax.grad(U)(x), squared=True))(xT)
    ks = jax.random.split(jax.random.fold_in(key, 1), n_particles)
    trH = jax.vmap(lambda x, k: hutchinson_trace(U, x, k, 1))(xT, ks)
    c = np.asarray(scale_free_C(g2, trH.mean(), D))
    return float(c.mean()), float(c.std(ddof=1) / np.sqrt(n_particles))
