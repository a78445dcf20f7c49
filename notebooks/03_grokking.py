# %% [markdown] tags=[]
# # 03 · Grokking with real gradient noise: C(t), the D conventions, and a controlled lr boost
#
# **Question.** Seed 002 (SHLD) says grokking is "a phase transition driven by noise accumulation": stochastic
# fluctuations destabilise the memorised solution, and the consolidation ratio `C(t) = ‖∇ℒ‖²/(D·d)` predicts it.
# On modular arithmetic with a 2-layer MLP it reports
#
# | claim (seed 002, "Experimental validation §1" and "Understanding key phenomena §1") | seed value |
# |---|---|
# | grokking epoch, predicted from C(t) vs observed | 2340 ± 50 vs 2351 |
# | pre-transition C(t), predicted / observed | 8.2 / 8.7 |
# | post-transition C(t), predicted / observed | 0.9 / 0.85 |
# | "C(t) drops sharply ~200 epochs before grokking" | lead ≈ 200 epochs |
# | "grokking occurs near C ≈ 1" | C ≈ 1 |
# | "C(t) drops sharply 10–20 % of total training time before grokking" | 10–20 % |
# | "temporarily increase learning rate when C(t) drops" accelerates grokking | earlier grokking |
#
# **What is new here ([2.2]).** The first version of this notebook trained full-batch AdamW, where the sampling
# noise the seed's story runs on is absent. Now the main runs are **minibatch** SGD with momentum and AdamW at two
# batch sizes, with batches drawn with replacement so that the SGD diffusion is exactly `D = ησ²/(2B)`
# (`σ² = tr Σ/d`, Σ the per-example gradient covariance, computed exactly); this is the **primary** reading of D.
# The other conventions are readings of every C row: the seed's "method 1" `D = Var[g]/2` per example, and for
# SGD with momentum the effective step `η/(1 − μ)`. Full-batch runs with the same model and hyperparameters are the
# zero-noise contrast. The lr boost is tested against controls over the same seeds.
#
# **Setup.** Modular addition mod `p` (all p² pairs, a seeded train split), the embedding MLP of
# `shld_jax/models/grok_mlp.py` (`[E[a], E[b]] → ReLU → p`), trained by `shld_jax/experiments/grok_predictors.py`
# (one compiled program per batch size: `vmap` over runs with per-run optimiser, lr, wd and boost window).
# The modulus (59) and width (64) are smaller than the seed's 113 so that 03 and 09 fit this machine's budget; the regime
# (grokking long after fitting) is what the claims are about, and it is checked below.

# %% tags=["parameters"]
quick = False
seed = 0
replicate_seed = 1000     # independent master seed of the replicate (split, init, batches)
n_seeds = 8
p = 59
d_model = 64              # embedding and hidden width
train_frac = 0.5
batches = [64, 512]
momentum = 0.9
adam_lr, adam_wd = 1e-2, 0.5
sgd_lr, sgd_wd = 0.3, 1e-3
n_logs = 48
log_every = 50
# lr-boost controls, on one setup
boost_setup = "SGD+mom, B=512"
boost_factor = 3.0
boost_steps = 300
# full-batch contrast
fb_steps = 2400
fb_log_every = 50

# %% tags=[]
import time

import jax
import matplotlib.pyplot as plt
import numpy as np

from shld_jax import cache, claims, plotting, stats
from shld_jax.experiments import grok_predictors as P
from shld_jax.experiments import grokking as G
from shld_jax.models import grok_mlp as M

plotting.use_style()
T0 = time.perf_counter()
SEED = "002_fce6d19739f26158.txt"
mc = M.Config(p=p, d_e=d_model, d_h=d_model)
n_train = int(train_frac * p * p)
d = M.n_params(M.init(jax.random.key(0), mc))
horizon = n_logs * log_every
seeds = {"primary": seed + np.arange(n_seeds), "replicate": replicate_seed + np.arange(n_seeds)}
SETUPS = {f"{o}, B={B}": (o, B) for B in batches for o in ("AdamW", "SGD+mom")}
run = cache.memoize(P.run)
rows = []
print("devices:", jax.devices(), "| parameters d =", d, "| n_train =", n_train, "| horizon", horizon, "steps")


def hyper(opt, **kw):
    if opt == "AdamW":
        return P.Hyper(adam=1.0, lr=adam_lr, wd=adam_wd, n_train=n_train, **kw)
    return P.Hyper(adam=0.0, lr=sgd_lr, wd=sgd_wd, momentum=momentum, n_train=n_train, **kw)


def static(B, n_max=n_train):
    return P.Static(mc=mc, opt="mixed", batch=B, log_every=log_every, n_logs=n_logs, n_max=n_max, n_probes=0,
                    n_test=min(2000, p * p - n_max))


# %% [markdown] tags=[]
# ## 1 · The regime: the search for delayed generalisation
#
# The search was run during development with `grok_predictors.run` (one seed per point, p = 59, width 64, 3000–4000
# steps, fit/grok at 0.99 train/test accuracy); it is recorded here rather than re-run, to keep the notebook within
# its budget. "never": no grokking within the run.
#
# | batch | optimiser | lr | wd | train frac | fit step | grok step | grok/fit |
# |---|---|---|---|---|---|---|---|
# | 128 | AdamW | 1e-2 | 0.3 | 0.6 | 450 | 750 | 1.7 |
# | 128 | AdamW | 1e-2 | 1.0 | 0.4 | 1350 | 1800 | 1.3 |
# | 128 | AdamW | 1e-2 | 0.1 / 0.3 | 0.4 | 600 / 950 | never | – |
# | 128 | AdamW | 3e-3 | 0.1–1.0 | 0.4, 0.6 | 850–3350 | never | – |
# | 512 | AdamW | 1e-2 | 0.3 | 0.3 / 0.5 | 125 / 325 | never (test 0.00 / 0.975 at 3000) | – |
# | 512 | AdamW | 1e-2 | 1.0 | 0.3 / 0.5 | 275 / 400 | never / 650 | – / 1.6 |
# | 512 | SGD+mom | 0.3 | 1e-3 | 0.3 / 0.5 | 125 / 250 | never / 1900 | – / 7.6 |
# | 512 | SGD+mom | 0.3 | 3e-3 | 0.3 / 0.5 | 375 / 450 | never | – |
# | 512 | SGD+mom | 1.0 | 1e-3 | 0.3 / 0.5 | 100 / 225 | never / 625 | – / 2.8 |
# | 512 | SGD+mom | 1.0 | 3e-3 | 0.5 | 225 | 425 | 1.9 |
# | 512 (p = 113, width 128) | AdamW | 1e-2 | 0.3 / 1.0 | 0.3 | 350 / 650 | 2700 / 975 | 7.7 / 1.5 |
#
# With minibatches the network needs 50–200 *epochs* to fit (full-batch AdamW at p = 113 fits in ≈ 40 steps), and
# the delay to grokking scales with 1/(lr·wd): the longest delays we could afford were ≈ 8× the fit step
# (SGD+mom, lr 0.3, wd 1e-3, half the pairs; AdamW at wd 0.3), short of the 10×. The parameters cell uses
# the slowest-grokking points that grok within the horizon; the ratio actually reached is printed below and the
# claims are judged in that regime.

# %% [markdown] tags=[]
# ## 2 · Minibatch runs: accuracy, C(t) under each D reading

# %% tags=[]
t0 = time.perf_counter()
MB = {}
for B in batches:
    names = [k for k, (o, b) in SETUPS.items() if b == B]
    runs = [(k, key) for k in names for key in seeds]
    ss = np.concatenate([seeds[key] for k, key in runs])
    hs = [hyper(SETUPS[k][0]) for k, key in runs for _ in seeds[key]]
    ms = run(ss, hs, static(B))
    for i, (k, key) in enumerate(runs):
        sl = slice(i * n_seeds, (i + 1) * n_seeds)
        MB[k, key] = jax.tree_util.tree_map(lambda x: x if x.ndim == 1 else x[sl], ms)
wall_mb = time.perf_counter() - t0
print(f"minibatch runs: {len(MB) * n_seeds} runs × {horizon} steps in {wall_mb:.0f} s")
EV = {kk: P.events(m) for kk, m in MB.items()}
print(f"{'setup':16} {'seeds':9} {'fit (median)':>12} {'grok (median)':>13} {'grokked':>8} {'grok/fit':>8}")
for (k, key), (fit, grok) in EV.items():
    g = grok != P.NEVER
    r = np.median(grok[g] / np.maximum(fit[g], 1)) if g.any() else np.nan
    print(f"{k:16} {key:9} {np.median(fit):12.0f} {np.median(grok[g]) if g.any() else np.nan:13.0f} "
          f"{int(g.sum()):5d}/{n_seeds} {r:8.1f}")


def C_of(k, key, reading):
    o, B = SETUPS[k]
    return P.consolidation(MB[k, key], d, B, reading, momentum=momentum if o == "SGD+mom" else 0.0)


# %% tags=[]
fig, ax = plt.subplots(2, len(SETUPS), figsize=(4 * len(SETUPS), 6.5), sharex=True)
for j, k in enumerate(SETUPS):
    m = MB[k, "primary"]
    x = np.maximum(m.step, 1)
    plotting.band(ax[0, j], x, m.train_acc, label="train")
    plotting.band(ax[0, j], x, m.test_acc, label="test")
    ax[0, j].set(title=k, ylabel="accuracy")
    for reading, ls in zip(P.D_READINGS, ("-", "--", ":")):
        if reading == P.D_READINGS[2] and not k.startswith("SGD"):
            continue
        plotting.band(ax[1, j], x, C_of(k, "primary", reading), log=True, label=reading, ls=ls)
    for lv in (1.0, 2.0):
        ax[1, j].axhline(lv, color="k", lw=0.7, ls=":")
    ax[1, j].set(ylabel="C(t)", xlabel="step", xscale="log")
    fit, grok = EV[k, "primary"]
    for a in ax[:, j]:
        a.axvline(np.median(fit), color="grey", lw=0.8, ls=":")
        if (grok != P.NEVER).any():
            a.axvline(np.median(grok[grok != P.NEVER]), color="grey", lw=0.8)
ax[0, 0].legend(fontsize="small")
ax[1, 0].legend(fontsize="x-small")
fig.suptitle(f"median and 10–90 % band over {n_seeds} seeds; vertical lines: median fit (dotted) and grok step")
plotting.savefig(fig, "03_grokking_curves")
plt.show()

# %% [markdown] tags=[]
# The D readings move C by constant factors (`B/η`, and `(1 − μ)` for the momentum reading): where "1" and "2"
# fall on the C axis is a convention, while the *shape* of C(t) — in particular whether it falls or rises across
# the transition — is not.

# %% [markdown] tags=[]
# ## 3 · The zero-noise contrast: full-batch training, same model and hyperparameters
#
# Full-batch AdamW (`shld_jax.experiments.grokking.train`) has no sampling noise at all: its SGD diffusion is
# D = 0 and C = ∞ in the primary reading.

# %% tags=[]
t0 = time.perf_counter()
fb_tc = G.TrainConfig(lr=adam_lr, wd=adam_wd, train_frac=train_frac, log_every=fb_log_every)
FB = {key: cache.memoize(G.train)(seeds[key], fb_steps, mc, fb_tc, segment=fb_steps) for key in seeds}
wall_fb = time.perf_counter() - t0
fb_ev = {}
for key, h in FB.items():
    fb_ev[key] = (G.fit_step(h.metrics.step, h.metrics.train_acc), G.grok_step(h.metrics.step, h.metrics.test_acc))
    fi, gr = fb_ev[key]
    print(f"full batch ({key}): fit {np.median(fi):.0f}, grokked {int(np.sum(gr != G.NEVER))}/{n_seeds}, "
          f"grok median {np.median(gr[gr != G.NEVER]) if (gr != G.NEVER).any() else np.nan:.0f} steps ({wall_fb:.0f} s)")

# %% [markdown] tags=[]
# If full-batch runs grok, sampling noise is not needed for grokking: the memorised solution is left by
# deterministic dynamics (weight decay shrinking the weight norm under a loss that is already near zero, as in
# Omnigrok's picture), so "noise accumulation destabilises the memorised solution" cannot be the mechanism. At most
# noise could change *when* it happens; the row `002-grok-noise-driven` records this.

# %% [markdown] tags=[]
# ## 4 · The lr boost, with controls over the same seeds
#
# On one setup (parameters cell), for each seed: the unboosted run gives the fit step, the grok step and C(t). Since
# a boosted run is the same run until its window opens (same batches, same init), the boost can be placed at a step
# read off the unboosted run:
#
# * **C trigger** — the seed's rule: the first log after fitting with "C < 2 and still decreasing" (primary D
#   reading), or a sharp drop of C to half its maximum since fitting;
# * **at fit** — the same window at the fit step, without C;
# * **random** — the same window at a uniformly random step between fitting and grokking;
# * **constant lr ×3** — the higher lr throughout;
# * **wd ×3 window** — the same window raising weight decay, lr unchanged (with AdamW, lr·wd is the effective
#   decay, so an lr boost also triples the decay: Omnigrok's grokking time ∝ 1/γ).
#
# Credit goes to C only if the C-triggered window beats the fit-step and random-time windows (paired t, α = 0.05).

# %% tags=[]
bo, bB = SETUPS[boost_setup]
VARIANTS = ("none", "C trigger", "at fit", "random", "constant lr ×3", "wd ×3 window")
t0 = time.perf_counter()
BOOST, TRIG = {}, {}
for key in seeds:
    m0 = MB[boost_setup, key]
    fit, grok = EV[boost_setup, key]
    trig = P.seed_trigger(m0.step, C_of(boost_setup, key, P.D_READINGS[1]), fit)
    rng = np.random.default_rng(seed + (0 if key == "primary" else 1))
    hi = np.where(grok != P.NEVER, grok, horizon)
    rnd = (fit + rng.uniform(size=n_seeds) * np.maximum(hi - fit, 1)).astype(int)
    TRIG[key] = dict(trig=trig, fit=fit, rnd=rnd)
    win = dict(boost_len=boost_steps)
    hs = ([hyper(bo, boost_at=int(t), boost_lr=boost_factor, **win) for t in trig]
          + [hyper(bo, boost_at=int(t), boost_lr=boost_factor, **win) for t in fit]
          + [hyper(bo, boost_at=int(t), boost_lr=boost_factor, **win) for t in rnd]
          + [hyper(bo)._replace(lr=boost_factor * hyper(bo).lr) for _ in fit]
          + [hyper(bo, boost_at=int(t), boost_wd=boost_factor, **win) for t in fit])
    ms = run(np.tile(seeds[key], 5), hs, static(bB))
    grok_v = {"none": grok}
    for i, v in enumerate(VARIANTS[1:]):
        sl = slice(i * n_seeds, (i + 1) * n_seeds)
        grok_v[v] = P.events(jax.tree_util.tree_map(lambda x: x if x.ndim == 1 else x[sl], ms))[1]
    BOOST[key] = grok_v
wall_boost = time.perf_counter() - t0
print(f"boost runs: {wall_boost:.0f} s;  C trigger fired in {[int(np.sum(TRIG[k]['trig'] != P.NEVER)) for k in seeds]} "
      f"of {n_seeds} seeds (primary, replicate)")
for key in seeds:
    tr = TRIG[key]
    print(f"\n{key}: trigger − fit (steps): {np.where(tr['trig'] != P.NEVER, tr['trig'] - tr['fit'], -1)}")
    print(f"{'variant':16} " + " ".join(f"{s:>6d}" for s in seeds[key]) + "   mean (never → horizon)")
    for v in VARIANTS:
        g = BOOST[key][v]
        print(f"{v:16} " + " ".join(f"{x if x != P.NEVER else 'never':>6}" for x in g)
              + f"   {P.censored(g, horizon).mean():.0f}")

# %% tags=[]
fig, ax = plt.subplots(1, 2, figsize=(12, 4))
for j, key in enumerate(seeds):
    base = P.censored(BOOST[key]["none"], horizon)
    for i, v in enumerate(VARIANTS[1:]):
        y = base - P.censored(BOOST[key][v], horizon)
        ax[j].plot(np.full(n_seeds, i) + np.linspace(-0.2, 0.2, n_seeds), y, "o", ms=4)
    ax[j].axhline(0, color="grey", lw=0.8)
    ax[j].set_xticks(range(len(VARIANTS) - 1), VARIANTS[1:], rotation=20)
    ax[j].set(ylabel="steps saved vs no boost", title=f"{boost_setup}, {key} seeds")
plotting.savefig(fig, "03_lr_boost")
plt.show()


# %% [markdown] tags=[]
# ## 5 · The seed's claims against our measurements
#
# Every C row is evaluated under every reading (setup × D convention, and the full-batch runs with the seed's
# per-example D), each on the primary and the replicate seeds (disagreement → inconclusive). Tests, stated before
# the data: values "≈ 8.7 / 0.85" by TOST within ±25 % (t interval over seeds, α = 0.05); "near C ≈ 1" as
# 0.5 ≤ C ≤ 2 by TOST on ln C within ±ln 2; the direction by a paired t test on ln(post/pre) < 0; timing claims
# ("~200 epochs", "10–20 %", "predicted to ±2.1 %") as the rate of grokking seeds where they hold, exact binomial
# against ≥ 50 % ("typically"). Epochs: `n_train/B` steps (minibatch), one step (full batch).

# %% tags=[]
def readings_of(cid):
    out = []
    for k, (o, B) in SETUPS.items():
        for reading in P.D_READINGS:
            if reading == P.D_READINGS[2] and o == "AdamW":
                continue   # no momentum correction for AdamW: the same as the SGD reading
            oc = {}
            for key in seeds:
                fit, grok = EV[k, key]
                f = P.c_features(MB[k, key].step, C_of(k, key, reading), fit, grok, horizon=horizon,
                                 steps_per_epoch=n_train / B)
                oc[key] = P.c_claim_outcomes(f)[cid]
            name = f"{k}; {reading}"
            out.append(claims.untestable(name, "fewer than 2 grokking seeds") if oc["primary"] is None else
                       claims.reading(name, oc["primary"], oc["replicate"]))
    oc = {}
    for key, h in FB.items():
        fi, gr = fb_ev[key]
        f = P.c_features(h.metrics.step, h.metrics.C, fi, gr, horizon=fb_steps)
        oc[key] = P.c_claim_outcomes(f)[cid]
    out.append(claims.untestable("full batch; per-example D", "fewer than 2 grokking seeds") if oc["primary"] is None
               else claims.reading("full batch; per-example D", oc["primary"], oc["replicate"]))
    out.append(claims.untestable("full batch; SGD D", "full batch has no sampling noise: D_SGD = 0, C = ∞"))
    return out


C_ROWS = {
    "002-grok-epoch-prediction": ("grokking epoch predicted from C(t) (first C < 1 after fitting) to ±2.1 % "
                                  "(2340 ± 50 vs 2351 observed)", "fraction of grokking seeds with |t(C≤1) − t_grok|/t_grok ≤ 0.021"),
    "002-grok-C-pre": ("pre-transition C(t) 8.2 predicted / 8.7 observed", "mean over seeds of the median C on the plateau's first half"),
    "002-grok-C-post": ("post-transition C(t) 0.9 predicted / 0.85 observed", "mean over seeds of the median C over 200 steps after grokking"),
    "002-grok-C-direction": ("C(t) falls across the transition (8.7 → 0.85)", "mean ln(post/pre C), convention-free"),
    "002-grok-near-C1": ("grokking occurs near C ≈ 1", "mean ln C at the grok step"),
    "002-grok-drop-200": ("C(t) drops sharply ~200 epochs before grokking",
                          "fraction of grokking seeds whose sharp drop (C ≤ max since fit / 2) comes 0–400 epochs before grokking"),
    "002-grok-drop-10-20pct": ("C(t) drops sharply 10–20 % of total training time before grokking",
                               "fraction of grokking seeds whose sharp-drop lead is 10–20 % of the run"),
}
for cid, (text, unit) in C_ROWS.items():
    rs = readings_of(cid)
    passing = [r.name for r in rs if r.outcome == "pass"]
    rows.append(claims.judge(
        cid, seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, claim=text, unit=unit, readings=rs, random=True,
        rule="per reading as stated above the cell (TOST ±25 %, TOST ln C ±ln 2, paired t, exact binomial ≥ 50 %)",
        reason=f"passes under {len(passing)}/{len(rs)} readings" + (f": {'; '.join(passing)}" if passing else ""),
        notebook="03"))
g_all = np.concatenate([EV[k, "primary"][1] for k in SETUPS])
rows.append(claims.judge(
    "002-grok-epoch-value", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE,
    claim="grokking at epoch 2351 (mod 113, 2-layer MLP)", unit="steps (median over minibatch runs that grokked)",
    measured=float(np.median(g_all[g_all != P.NEVER])) if (g_all != P.NEVER).any() else None,
    rule="not judged: the epoch depends on width, lr, wd, split and batch, which the seed does not give",
    reason="setup under-specified in the seed; our number is for this notebook's setup", notebook="03"))
fb_out = {key: stats.rate(int(np.sum(fb_ev[key][1] != G.NEVER)), n_seeds, at_most=0.5) for key in seeds}
rows.append(claims.judge(
    "002-grok-noise-driven", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE,
    claim="grokking is a phase transition driven by noise accumulation (fluctuations destabilise the memorised solution)",
    unit="fraction of full-batch (zero sampling noise) runs that grok",
    readings=[claims.reading("full-batch AdamW, same model and hyperparameters", fb_out["primary"], fb_out["replicate"])],
    rule="if noise drives grokking, at most half of the noise-free runs grok (exact binomial, p ≤ 0.5, α = 0.05)",
    reason="full-batch training has no sampling noise; grokking there needs no noise", random=True, notebook="03"))


def boost_row(cid, text, a, b, rule, kind=claims.SEED_SUBSTANTIVE, seed_file=SEED, window=f"lr ×{boost_factor:g}"):
    oc = {key: P.earlier_outcome(BOOST[key][a], BOOST[key][b], horizon) for key in seeds}
    rows.append(claims.judge(
        cid, seed_file=seed_file, kind=kind, claim=text, unit=f"steps: grok({b}) − grok({a}), mean over seeds",
        readings=[claims.reading(f"{boost_setup}, {window} for {boost_steps} steps", oc["primary"], oc["replicate"])],
        rule=rule, reason=f"mean grok step {a}: {P.censored(BOOST['primary'][a], horizon).mean():.0f}, {b}: "
        f"{P.censored(BOOST['primary'][b], horizon).mean():.0f} (primary); the C trigger fired a median "
        f"{np.median(np.where(TRIG['primary']['trig'] != P.NEVER, TRIG['primary']['trig'] - TRIG['primary']['fit'], np.nan)):.0f}"
        " steps after the fit step",
        random=True, notebook="03"))


boost_row("002-lr-boost", "temporarily raising the learning rate when C(t) drops accelerates grokking",
          "C trigger", "none", "paired t over seeds (never-grokked runs censored at the horizon): C-triggered boost groks earlier than no boost")
boost_row("002-lr-boost-C-timing-vs-fit", "C(t) times the lr boost: the C-triggered boost beats the same boost at the fit step",
          "C trigger", "at fit", "paired t: C-triggered boost groks earlier than the fit-step boost")
boost_row("002-lr-boost-C-timing-vs-random", "C(t) times the lr boost: the C-triggered boost beats the same boost at a random time after fitting",
          "C trigger", "random", "paired t: C-triggered boost groks earlier than a random-time boost")
boost_row("03-wd-window-accelerates", "Omnigrok: raising the effective decay (wd ×3 window, lr unchanged) accelerates grokking",
          "wd ×3 window", "none", "paired t: wd ×3 window groks earlier than no boost", kind=claims.ANCHOR,
          seed_file="literature: Liu, Michaud & Tegmark 2023 (Omnigrok)", window=f"wd ×{boost_factor:g}, lr unchanged,")
claims.write("03", rows)
print(f"{'id':34s} {'verdict':18s} readings")
for r in rows:
    print(f"{r.id:34s} {r.verdict:18s} " + ", ".join(f"{x.outcome}" for x in r.readings))
print(f"\nnotebook compute: {time.perf_counter() - T0:.0f} s")

# %% [markdown] tags=[]
# ## Verdict
#
# In words (numbers as printed above and in the ledger; p = 59, width 64, half the pairs for training, 8 seeds plus
# an independent replicate of 8):
#
# * **Grokking needs no sampling noise.** Full-batch AdamW with the same model and hyperparameters grokked in 8/8
#   seeds of both replicates, with the longest delay of all (fit ≈ 100 steps, grok ≈ 1150–1275 steps, >10×). The
#   seed's mechanism — noise accumulation destabilising the memorised solution — is therefore not what produces
#   grokking here (`002-grok-noise-driven` refuted); with minibatches the delay in *steps* is shorter relative to
#   fitting (fitting takes 300–1075 steps, grokking 1275–2075; grok/fit 1.3–7.1× in medians), and the 10× was reached
#   only by the full-batch contrast.
# * **C(t) rises, not falls, across the transition** under every reading (it is a ratio, so the direction does not
#   depend on D): it fails in the six B = 512 and full-batch readings and is inconclusive in the five B = 64
#   readings (the primary seeds rise significantly, the replicate's do not), so the row's overall verdict is
#   *inconclusive* by the protocol — no reading supports a fall. The seed's values
#   (8.7 before, 0.85 after, C ≈ 1 at grokking) are reached only where the convention happens to put them:
#   C-post and near-C1 pass under one of twelve readings (SGD + momentum, B = 64, D = ησ²/(2B)), and fail under the
#   others by orders of magnitude (per-example D: C ~ 10⁻³; AdamW with the SGD D: C ~ 30–100). These two rows are
#   *reading-dependent*: statements about the choice of D, not about grokking.
# * **The timing claims hold in no run**: no sharp drop of C ~200 epochs or 10–20 % of the run before grokking, and
#   "first C < 1 after fitting" does not predict the grok step to ±2.1 %. They fail under every reading where enough
#   seeds grok; under the three SGD + momentum, B = 512 readings the replicate grokked in only 4/8 seeds, and 0/4 cannot
#   reject "≥ 50 %" (Clopper–Pearson upper bound 0.53), so the three rows are *inconclusive*. A render of the same
#   code with the earlier log-softmax cross-entropy (gradients within 4·10⁻⁹ of optax's) had 5/8 grokking there and
#   read *refuted*: these rows sit at the edge of the test's power, not near the claim.
# * **The lr boost accelerates grokking, but C does not time it.** Raising lr ×3 for 300 steps at the C trigger
#   brings grokking ≈ 700 steps earlier (supported, both replicates). But the trigger fires ≈ 50 steps after the fit
#   step, and the same window *at* the fit step is as good (C-triggered grokking ≈ 44 steps later on the primary
#   seeds, 90 % interval −93 to +5; ≈ 6 steps earlier on the replicate; neither significant → inconclusive). The C-triggered window
#   beats a window at a random time between fitting and grokking only because earlier is better. A constant lr ×3
#   groks earliest of all, and a wd ×3 window with lr unchanged gives most of the boost's gain (≈ 580 of ≈ 690
#   steps): with coupled weight decay, raising lr raises the effective decay lr·wd, and Omnigrok's 1/γ scaling of
#   the grokking time accounts for most of the "lr boost". C earns no credit for timing.
