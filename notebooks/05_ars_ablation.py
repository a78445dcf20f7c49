# %% [markdown] tags=[]
# # 05 · Should I use ARS, or what I already use? A stabiliser benchmark
#
# **Question.** Seed 001 proposes Adaptive Resonance Suppression (ARS): an *entropy guard*
# `Ψ = max(ε, 1 − ρ₁²)` (ρ₁ = lag-1 autocorrelation of the surprise `S_t` = loss over the last `W` steps),
# a *surprise gate* `Φ = Φ_min + (1 − Φ_min)·exp(−α·S/Ψ)` on AdamW's `β₁, β₂`, and *chronos-jitter*
# `lr·(1 + U(−0.1, 0.1)·(1 − Ψ))`, against the "Narcissus failure" (after a data shift the model
# oscillates, surprise falls, ‖w‖ explodes, training diverges). A practitioner's question is whether to use it
# instead of what they already use. This notebook answers it with a benchmark.
#
# **Claims under test (seed 001, "Expected Outcomes").** Peak weight norm ~82 % lower (6.82 → 1.21); no
# training collapse after data shifts; faster recovery; 30–40 % less wasted compute; Φ ≈ 1 in normal
# operation; and the core idea, that a rising ρ₁ is a "canary in the coal mine" before divergence.
#
# **Set-up.** A tiny character-level GPT (1 layer, `n_embd` = 8, context 8, batch 8; `shld_jax.models.gpt`)
# is pretrained once per master key with AdamW (lr 3·10⁻³) on the docstrings of the Python standard library
# (a continual-learning start). Each run restarts from the checkpoint with a fresh optimizer, trains
# `warm_steps` steps, then meets a **provocation** for `horizon` = 300 steps:
# `none` (control), `shift` (the vocabulary relabelled by a permutation without fixed points), `closed_loop`
# (the seed's mechanism literally: the targets become the model's own samples at temperature 0.7 given real
# contexts) and `ramp` (the learning rate multiplied by 100^(τ/300) into instability).
#
# **Divergence** (stated before the data) is a blow-up: a non-finite loss or weights, or the loss on the
# real next characters above 1.5·ln V (6.85 nats) for 50 consecutive steps. Recovery (the 20-step moving
# average back within 0.1 nat of the pre-shift loss) is reported separately.
#
# **Methods**, each a composable optax piece (`shld_jax.experiments.ars_ablation.METHODS`): AdamW;
# AdamW with β₂ = 0.95; the seed's ARS +Ψ and +Ψ+χ; two corrected ARS (surprise relative to a running mean,
# guard on loss differences, gate on β or on the lr); `optax.clip_by_global_norm(1.0)`; `shld_jax.zclip()`
# (ZClip's reference algorithm); `shld_jax.spam` (SPAM spike clipping θ = 5000 with momentum reset every 100
# steps and a 20-step cosine warm-up, scaled to these short runs); `optax.adaptive_grad_clip(0.01)`;
# `optax.apply_if_finite`. Grid: every method × provocation × lr ∈ {3·10⁻³, 10⁻², 3·10⁻², 0.1, 0.3} × 16 seeds
# (the `none` control for AdamW only), all in one `jit` of a `vmap`, sharded over the CPU devices.

# %% tags=["parameters"]
quick = False
seed = 0
methods = ["adamw", "adamw_b2", "psi", "psi_chi", "corr_betas", "corr_lr", "clip", "zclip", "spam",
           "agc", "if_finite"]
lrs = [3e-3, 1e-2, 3e-2, 0.1, 0.3]
provs = ["shift", "closed_loop", "ramp"]
n_seeds = 16
replicate_methods = ["adamw", "psi_chi", "corr_betas"]   # the ledger's methods, re-run with an independent key
n_embd = 8
pretrain_steps = 400
warm_steps = 30
horizon = 300
window = 100            # the seed's W
div_k = 50
smooth_w = 20
tol = 0.1
n_ew_seeds = 64         # early-warning experiment: AdamW ramp vs constant-lr controls
ew_lr = 3e-3
ew_ramp = 1000.0
chunk = 424

# %% tags=[]
import math
import os
import time

import jax
import matplotlib.pyplot as plt
import numpy as np

from shld_jax import cache, claims, plotting, stats
from shld_jax.experiments import ars_ablation as E
from shld_jax.models import gpt

plotting.use_style()
SEED = "001_c98e518e7a3d6aef.txt"
setup = E.Setup(cfg=gpt.GPTConfig(vocab_size=96, block_size=8, n_layer=1, n_head=2, n_embd=n_embd),
                pretrain_steps=pretrain_steps, warm_steps=warm_steps, horizon=horizon, window=window,
                div_k=div_k)
labels = {k: v[0] for k, v in E.METHODS.items()}
lnV = math.log(96)


def fmt(x, spec):
    """A number, or an em dash where no run is left to average over (never a bare nan)."""
    return format(x, spec) if np.isfinite(x) else "—"
rows = []

# %% [markdown] tags=[]
# ## 1 · One compiled run of every configuration
#
# The primary key runs the whole grid and the AdamW `none` control; an independent replicate key (a different
# checkpoint, permutation, batches and optimizer keys) re-runs the ledger's methods; both carry the
# early-warning runs (section 6). The load average of this shared 2-core machine is printed with the time.

# %% tags=[]
grid = [(m, p, lr, s) for m in methods for p in provs for lr in lrs for s in range(n_seeds)]
grid += [("adamw", "none", lr, s) for lr in lrs for s in range(n_seeds)]
ew = [("adamw", p, ew_lr, s, ew_ramp) for p in ("ramp", "none") for s in range(n_ew_seeds)]
rep = [(m, p, lr, s) for m in replicate_methods for p in provs for lr in lrs for s in range(n_seeds)]
t0 = time.perf_counter()
load0 = os.getloadavg()[0]
run = cache.memoize(E.run)
res = run(setup, grid + ew, key=jax.random.key(seed), methods=tuple(methods), chunk=chunk)
res_rep = run(setup, rep + ew, key=jax.random.key(seed + 1000), methods=tuple(methods), chunk=chunk)
wall = time.perf_counter() - t0
n_grid = len(grid)
is_ew = lambda r, n: np.arange(len(r["method"])) >= n
main, ewp = E.subset(res, ~is_ew(res, n_grid)), E.subset(res, is_ew(res, n_grid))
rmain, ewr = E.subset(res_rep, ~is_ew(res_rep, len(rep))), E.subset(res_rep, is_ew(res_rep, len(rep)))
summ = E.summarize(main["metrics"], setup, w=smooth_w, tol=tol)
rsumm = E.summarize(rmain["metrics"], setup, w=smooth_w, tol=tol)
n_runs = len(res["method"]) + len(res_rep["method"])
print(f"{n_runs} runs x {setup.n_steps} steps, {gpt.n_params(gpt.init(jax.random.key(0), setup.cfg))} "
      f"parameters each")

# %% tags=["nbval-skip"]
print(f"wall time of the runs (or cache hits): {wall:.0f} s; load average at the start {load0:.1f} "
      f"on {os.cpu_count()} cores")

# %% [markdown] tags=[]
# ## 2 · Do the provocations provoke a failure in plain AdamW?
#
# Before anything is credited with suppressing a failure, the failure must exist. For AdamW at each lr: the
# loss on the real next characters (median and 10–90 % band over seeds), for the control and each provocation;
# the last panel shows, for the closed loop, the surprise (training loss on the model's own samples) and the
# weight norm.

# %% tags=[]
steps = np.arange(setup.n_steps)
mm = main["metrics"]
fig, axes = plt.subplots(1, 5, figsize=(20, 3.8))
for ax, p in zip(axes, ["none"] + provs):
    for lr in lrs:
        i = E.select(main, "adamw", p, lr)
        plotting.band(ax, steps, E.smooth(np.minimum(mm["real"][i], 50.0), smooth_w), label=f"lr = {lr:g}")
    ax.axvline(warm_steps, color="k", ls="--", lw=1)
    ax.axhline(setup.div_mult * lnV, color="r", ls=":", lw=1, label="divergence level 1.5 ln V")
    ax.set_title(f"AdamW, provocation: {p}")
    ax.set_xlabel("step")
    ax.set_ylabel("real-data loss (moving average, nats)")
axes[0].legend(fontsize="x-small")
ax = axes[4]
for lr in lrs:
    i = E.select(main, "adamw", "closed_loop", lr)
    ax.plot(steps, np.median(E.smooth(mm["loss"][i], smooth_w), 0), label=f"surprise, lr = {lr:g}")
ax.set_ylabel("surprise S (loss on own samples, nats)")
ax.set_xlabel("step")
ax2 = ax.twinx()
for lr in lrs:
    i = E.select(main, "adamw", "closed_loop", lr)
    ax2.plot(steps, np.median(mm["wnorm"][i], 0), ls="--")
ax2.set_ylabel("weight norm ‖w‖ (dashed)")
ax.set_title("closed loop: surprise and ‖w‖")
ax.legend(fontsize="x-small")
plotting.savefig(fig, "05_provocations")
plt.show()
s0 = warm_steps
print(f"{'provocation':12s} {'lr':>6s} {'diverged':>9s} {'final real loss':>16s} {'peak ‖w‖':>9s} "
      f"{'S change':>9s} {'‖w‖ change':>10s}")
for p in ["none"] + provs:
    for lr in lrs:
        i = E.select(main, "adamw", p, lr)
        S = mm["loss"][i]
        dS = np.median(S[:, -smooth_w:].mean(1) - S[:, s0:s0 + smooth_w].mean(1))
        dw = np.median(mm["wnorm"][i][:, -1] - mm["wnorm"][i][:, s0])
        print(f"{p:12s} {lr:6.3g} {int(summ['diverged'][i].sum()):4d}/{len(i):<4d} "
              f"{fmt(np.nanmean(summ['final'][i]) if (~summ['diverged'][i]).any() else np.nan, '.3f'):>16s} "
              f"{np.median(summ['peak_wnorm'][i]):9.1f} {dS:9.3f} {dw:10.2f}")

# %% [markdown] tags=[]
# **Reading.** The control row says what the learning rate does on its own, so a provocation has provoked a
# failure at an lr only where AdamW fails there and not in the control (0/16 at every lr).
#
# * **Shift** (vocabulary permutation): no failure at any lr. AdamW diverges in 0/16 runs everywhere; the
#   real-data loss ends 0.1–0.3 nat above the control and recovers to the pre-shift level in 27–179 steps
#   (table below). The seed's "Narcissus failure" does not follow from an abrupt shift in this model, so the
#   shift cells can test recovery and wasted compute but not "eliminates collapse".
# * **Closed loop** (the seed's mechanism: training on the model's own samples): a real failure. AdamW
#   diverges in 1/16 runs at lr 3·10⁻³ and 16/16 at every lr ≥ 10⁻², and the surprise (loss on its own
#   samples) *falls* by 0.5–2.1 nats while the real-data loss climbs past 1.5·ln V. Half of the seed's
#   picture holds: surprise falls while the model degrades. The other half does not: ‖w‖ changes by +0.9 to
#   +1.1 at lr ≤ 3·10⁻² and shrinks at larger lr, so the weight norm does not explode.
# * **Ramp** (lr × 100 over the horizon): a real blow-up, 16/16 at lr ≥ 3·10⁻² with peak ‖w‖ of 470–1500,
#   0/16 at 3·10⁻³. At 10⁻² no run meets the 50-step divergence criterion, but the loss ends at 19.6 nats:
#   a blow-up censored by the horizon (section 4 counts it as a failure).

# %% [markdown] tags=[]
# ## 3 · Heat maps: divergence rate (method × lr) per provocation
#
# Each cell: diverged runs out of 16 (90 % Clopper–Pearson interval in the table below).

# %% tags=[]
table = E.cell_table(summ, main, methods, provs, lrs)
cell = {(r["method"], r["prov"], r["lr"]): r for r in table}
fig, axes = plt.subplots(1, len(provs), figsize=(6 * len(provs), 5.5))
for ax, p in zip(np.atleast_1d(axes), provs):
    M = np.array([[cell[(m, p, lr)]["div"] for lr in lrs] for m in methods])
    im = ax.imshow(M, vmin=0, vmax=1, cmap="Reds", aspect="auto")
    for a in range(len(methods)):
        for b in range(len(lrs)):
            r = cell[(methods[a], p, lrs[b])]
            ax.text(b, a, f"{r['k_div']}", ha="center", va="center", fontsize=8,
                    color="white" if r["div"] > 0.6 else "black")
    ax.set_xticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
    ax.set_yticks(range(len(methods)), [labels[m] for m in methods])
    ax.set_xlabel("learning rate")
    ax.set_ylabel("method")
    ax.set_title(f"diverged runs of {n_seeds}: {p}")
fig.colorbar(im, ax=axes, label="divergence rate")
plotting.savefig(fig, "05_heatmaps")
plt.show()
for p in provs:
    print(f"--- {p}: divergence k/n [90 % CP], final real loss ± 90 % t-CI (non-diverged), steps to recover, "
          f"median peak ‖w‖")
    for m in methods:
        parts = []
        for lr in lrs:
            r = cell[(m, p, lr)]
            fin = fmt(r['final'], '.2f') + ("±" + fmt(r['final_ci'], '.2f') if np.isfinite(r['final']) else "")
            parts.append(f"{r['k_div']:2d} [{r['div_lo']:.2f},{r['div_hi']:.2f}] {fin:>11s} "
                         f"{fmt(r['recover'], '.0f'):>5s} {r['peak_wnorm']:6.1f}")
        print(f"{labels[m]:16s} " + " | ".join(parts))

# %% [markdown] tags=[]
# ## 4 · The recommendation
#
# Stated before the data: a method is better the more (provocation, lr) cells it survives with **no**
# divergence among 16 seeds; ties are broken by the mean final real-data loss at its best lr per provocation
# (over the non-diverged runs). "Largest safe lr" is the largest lr with no divergence. The per-step overhead
# is the wall-clock time of one jitted optimizer update on this model's parameters (measured here on the
# shared machine; `make bench` times ARS only).
#
# **Amended after the first render (said here, not hidden):** the divergence criterion needs the loss above
# 1.5·ln V for 50 consecutive steps, so a run that blows up in the last 50 steps of the ramp is censored
# by the horizon. The first render counted such cells as safe (clip 1.0 and AGC at lr 0.03 on the ramp,
# whose non-diverged runs *end* at 24 and 61 nats). A cell is now safe only if no run diverged **and**
# every run ends (last 20 steps) below the divergence level 1.5·ln V; the count under the original rule is
# printed beside it, so both readings are visible.
#

# %% tags=[]
overhead = E.step_overhead(setup, methods, n=50 if quick else 200)
level = setup.div_mult * lnV
ended_high = np.nan_to_num(summ["final"], nan=-np.inf) > level   # censored blow-ups (non-diverged runs only)
rec = []
for m in methods:
    n_orig = sum(cell[(m, p, lr)]["k_div"] == 0 for p in provs for lr in lrs)
    safe = {p: [lr for lr in lrs if cell[(m, p, lr)]["k_div"] == 0
                and not ended_high[E.select(main, m, p, lr)].any()] for p in provs}
    n_safe = sum(len(v) for v in safe.values())
    best = [min([cell[(m, p, lr)]["final"] for lr in safe[p]], default=np.nan) for p in provs]
    rec.append(dict(method=m, n_safe=n_safe, n_orig=n_orig, best=best,
                    mean_best=np.nanmean(best) if np.isfinite(best).any() else np.inf,
                    largest={p: (max(safe[p]) if safe[p] else None) for p in provs}))
rec.sort(key=lambda r: (-r["n_safe"], r["mean_best"]))
hdr = (f"{'rank':>4s} {'method':16s} {'safe cells':>10s} {'(orig. rule)':>12s} " +
       " ".join(f"{'max safe lr ' + p:>22s}" for p in provs) + " " +
       " ".join(f"{'best loss ' + p:>21s}" for p in provs) + f" {'µs/update':>9s} {'× AdamW':>7s}")
print(hdr)
for k, r in enumerate(rec, 1):
    lr_s = " ".join(f"{(format(r['largest'][p], 'g') if r['largest'][p] else '—'):>22s}" for p in provs)
    b_s = " ".join(f"{fmt(b, '.3f'):>21s}" for b in r["best"])
    print(f"{k:4d} {labels[r['method']]:16s} {r['n_safe']:4d}/{len(provs) * len(lrs):<5d} {r['n_orig']:8d}     "
          f"{lr_s} {b_s} {overhead[r['method']]:9.1f} {overhead[r['method']] / overhead['adamw']:7.2f}")
for p in provs:
    if all(r["largest"][p] is None for r in rec):
        print(f"{p}: no method is safe at any lr (each diverged, or ended above 1.5 ln V, in at least one "
              f"of {n_seeds} seeds at every lr)")


# %% [markdown] tags=[]
# **Reading.** Three findings are robust to the tie-break.
#
# 1. **No stabiliser survives the closed loop.** At every lr, each of the 11 methods diverges in at least one
#    of 16 seeds (the seed's ARS +Ψ/+Ψ+χ in 16/16 at every lr, AdamW in 1/16 at 3·10⁻³). Once the model's
#    own samples are its data, no optimizer-side piece tested here stops the degradation. The data loop
#    itself has to be fixed.
# 2. **The ramp separates methods by one lr cell.** AGC, AdamW with β₂ = 0.95, SPAM, ZClip and clip 1.0 stay
#    finite, and below 1.5·ln V, up to a starting lr of 10⁻² (7/15 safe cells). AdamW, `apply_if_finite`, both
#    corrected ARS variants and both seed ARS variants do so only at 3·10⁻³ (6/15). With 16 seeds per cell, one
#    such cell is weak evidence: in a render with the earlier log-softmax cross-entropy (gradients within
#    4·10⁻⁹ of optax's) the lr-gated corrected ARS had 7/15 and ranked 5th, here one of its 16 ramp runs at
#    10⁻² ends above the line and it ranks 7th. Within the 7/15 group the order comes from best-loss
#    differences of 0.01–0.15 nat.
# 3. **The seed's ARS ranks last** (10th and 11th). It has AdamW's safe cells, the worst best loss on the ramp
#    (3.94–4.02 against AdamW's 3.40) and 1.3–1.5× AdamW's update cost. Its gate is set by the *level* of
#    the loss (section 5), not by instability.
#
# `apply_if_finite` equals AdamW bit for bit here: these blow-ups stay finite until long after the
# criterion fires, so there is nothing for it to skip. The rule as first stated (no divergence only) would
# add one safe cell each to AGC and clip 1.0 (8/15), namely the censored ramp blow-ups. The overheads are
# single-process timings on a shared machine and vary by ±30 % between renders.

# %% [markdown] tags=[]
# ## 5 · Inside the seed's gate, and the closed loop
#
# Median Φ over seeds for the seed's ARS (+Ψ+χ) and the corrected β variant at each lr, shift provocation: the
# seed's gate is driven by the level of the loss (Φ ≤ Φ_min + (1 − Φ_min)·e^{−S}, since Ψ ≤ 1).

# %% tags=[]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, m in zip(axes, ["psi_chi", "corr_betas"]):
    for lr in lrs:
        i = E.select(main, m, "shift", lr)
        ax.plot(steps, np.median(mm["phi"][i], 0), label=f"lr = {lr:g}")
    ax.axvline(warm_steps, color="k", ls="--", lw=1)
    ax.set_title(f"{labels[m]}: gate Φ (shift provocation)")
    ax.set_xlabel("step")
    ax.set_ylabel("Φ (median over seeds)")
    ax.set_ylim(0, 1.05)
axes[0].legend(fontsize="small")
plotting.savefig(fig, "05_gate")
plt.show()


# %% [markdown] tags=[]
# ## 6 · ARS's core idea on its own: does a rising ρ₁ warn before divergence?
#
# Critical slowing down (Scheffer et al. 2009): before a bifurcation the lag-1 autocorrelation and the
# variance of a detrended signal rise. Here AdamW's learning rate is ramped from 3·10⁻³ by a factor 1000 over
# 300 steps (64 seeds); 64 controls keep the lr constant. Alarms, each online (past and present only):
# ρ₁ and variance of the detrended loss (loss minus its trailing 10-step mean) over a trailing 40-step window;
# ρ₁ of the raw loss over the same window (the seed's guard, read as an alarm); ZClip's z-score of the
# gradient norm; a plain loss spike (loss over its trailing 40-step minimum, minus 1). A ramp run counts as
# alarmed if the statistic exceeds the threshold between step `warm + 50` and its blow-up; a control counts as a
# false alarm if it does over the same steps as its paired ramp run.

# %% tags=[]
def ew_analysis(ew_res):
    e = ew_res["metrics"]
    s = E.summarize(e, setup, w=smooth_w, tol=tol)
    pos, neg = ew_res["prov"] == "ramp", ew_res["prov"] == "none"
    pos_i, neg_i = np.flatnonzero(pos)[np.argsort(ew_res["seed"][pos])], np.flatnonzero(neg)[np.argsort(ew_res["seed"][neg])]
    st_ = E.alarm_statistics(e["loss"], e["gnorm"])
    st_["ar1_raw"] = E._rolling(np.where(np.isfinite(e["loss"]), e["loss"], np.nan), 40, E._ar1)
    div = s["diverged"][pos_i]
    t_end = s["t_div"][pos_i]
    keep = div   # ROC over the ramp runs that blow up (and their paired controls)
    t_start = warm_steps + 50
    out = dict(n_pos=int(pos.sum()), n_div=int(div.sum()), n_ctrl_div=int(s["diverged"][neg_i].sum()),
               t_div=t_end[keep], stats={})
    for k, x in st_.items():
        if not keep.any():
            out["stats"][k] = (dict(fpr=np.zeros(1), tpr=np.zeros(1), auc=0.5, max_pos=np.zeros(0),
                                    max_neg=np.zeros(0)), x[pos_i][keep])
            continue
        r = E.roc(x[pos_i][keep], x[neg_i][keep], t_end[keep], t_start)
        out["stats"][k] = (r, x[pos_i][keep])
    out["t_start"] = t_start
    return out

ew_p, ew_r = ew_analysis(ewp), ew_analysis(ewr)
names_ew = {"ar1": "ρ₁ detrended loss", "var": "variance detrended loss", "ar1_raw": "ρ₁ raw loss (seed's guard)",
            "zscore": "ZClip z-score of ‖g‖", "spike": "loss spike"}
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for k, lab in names_ew.items():
    r, _ = ew_p["stats"][k]
    axes[0].plot(r["fpr"], r["tpr"], label=f"{lab} (AUC {r['auc']:.2f})")
axes[0].plot([0, 1], [0, 1], "k:", lw=1)
axes[0].set_xlabel("false-alarm rate (constant-lr controls)")
axes[0].set_ylabel("fraction of blow-ups alarmed before they start")
axes[0].set_title(f"ROC, primary key ({ew_p['n_div']} blow-ups of {ew_p['n_pos']} ramps)")
axes[0].legend(fontsize="x-small")
for k, lab in names_ew.items():
    r, x = ew_p["stats"][k]
    if not len(r["max_neg"]):
        continue
    th = E.threshold_at_fpr(r["max_neg"], 0.1)
    lead = E.lead_times(x, ew_p["t_div"], th, ew_p["t_start"])
    axes[1].hist(lead[np.isfinite(lead)], bins=20, range=(0, 300), histtype="step", label=lab)
axes[1].set_xlabel("lead time at ≤ 10 % false alarms (steps before the blow-up)")
axes[1].set_ylabel("number of runs")
axes[1].legend(fontsize="x-small")
plotting.savefig(fig, "05_early_warning_roc")
plt.show()
print(f"blow-ups: primary {ew_p['n_div']}/{ew_p['n_pos']} ramps ({ew_p['n_ctrl_div']} controls), "
      f"replicate {ew_r['n_div']}/{ew_r['n_pos']} ({ew_r['n_ctrl_div']} controls); "
      f"median blow-up step {np.median(ew_p['t_div']) if ew_p['n_div'] else float('nan'):.0f}")
print(f"{'alarm':28s} {'AUC':>5s} {'AUC rep.':>8s} {'alarmed @10% FA':>16s} {'median lead':>11s}")
for k, lab in names_ew.items():
    r, x = ew_p["stats"][k]
    rr, _ = ew_r["stats"][k]
    th = E.threshold_at_fpr(r["max_neg"], 0.1) if len(r["max_neg"]) else np.inf
    lead = E.lead_times(x, ew_p["t_div"], th, ew_p["t_start"])
    ok = np.isfinite(lead)
    print(f"{lab:28s} {r['auc']:5.2f} {rr['auc']:8.2f} {ok.sum():7d}/{len(lead):<8d} "
          f"{np.median(lead[ok]) if ok.any() else float('nan'):11.0f}")


# %% [markdown] tags=[]
# ## 7 · Claims ledger
#
# Every row is judged per reading, the learning rate (and the provocation) being the reading the seed leaves
# open; random rows carry the replicate key's outcome (disagreement → inconclusive). The test of each row is
# in `shld_jax.experiments.ars_ablation` (`norm_cut_outcome`, `collapse_outcome`, `recovery_outcome`,
# `wasted_outcome`, `warning_outcome`), stated there and in the row.

# %% tags=[]
def pair(res_, sm, m, p, lr):
    a, b = E.select(res_, m, p, lr), E.select(res_, "adamw", p, lr)
    return {k: (sm[k][a], sm[k][b]) for k in ("peak_wnorm", "diverged", "recover", "wasted")}


def readings_for(m, kind, ps):
    out = []
    for p in ps:
        for lr in lrs:
            name = f"{p}, lr = {lr:g}"
            prim, repl = pair(main, summ, m, p, lr), pair(rmain, rsumm, m, p, lr)
            if kind == "norm":
                o = [E.norm_cut_outcome(*d["peak_wnorm"]) for d in (prim, repl)]
            elif kind == "collapse":
                kb = int(prim["diverged"][1].sum()) + int(repl["diverged"][1].sum())
                if kb == 0:
                    out.append(claims.untestable(name, "AdamW diverged in no run (either key): nothing to eliminate",
                                                 float(prim["diverged"][0].mean())))
                    continue
                o = [E.collapse_outcome(int(d["diverged"][0].sum()), len(d["diverged"][0]),
                                        int(d["diverged"][1].sum()), len(d["diverged"][1])) for d in (prim, repl)]
            elif kind == "recover":
                o = [E.recovery_outcome(*d["recover"]) for d in (prim, repl)]
            else:
                o = [E.wasted_outcome(*d["wasted"]) for d in (prim, repl)]
                if o[0] is None or o[1] is None:
                    out.append(claims.untestable(name, "AdamW wasted no steps"))
                    continue
            out.append(claims.reading(name, o[0], o[1]))
    return out


def ledger(m, suffix, who):
    common = dict(seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True)
    return [
        claims.judge("001-peak-wnorm" + suffix, claim=f"ARS cuts the peak weight norm by ~82 % (6.82 -> 1.21) [{who}]",
                     unit="paired relative reduction of peak ‖w‖ vs AdamW (mean, se over 16 seeds)",
                     rule="TOST: mean reduction within 0.82 ± 0.15, 90 % t interval (α = 0.05)",
                     reason="the seed's 1.21/6.82 = 0.177 as a ratio (absolute norms depend on the model)",
                     readings=readings_for(m, "norm", provs), **common),
        claims.judge("001-no-collapse" + suffix, claim=f"ARS eliminates training collapse after data shifts [{who}]",
                     unit="fraction of runs diverged (blow-up: non-finite or > 1.5 ln V for 50 steps)",
                     rule="pass: 0 divergences and Fisher one-sided p < 0.05 vs AdamW; fail: Fisher shows more "
                          "divergences, or the exact 90 % interval of the rate lies above 0.05; untestable where "
                          "AdamW never diverges",
                     reason="divergence is a blow-up, not a horizon censoring; 16 seeds per cell and key",
                     readings=readings_for(m, "collapse", provs), **common),
        claims.judge("001-faster-recovery" + suffix, claim=f"ARS recovers faster to low loss after the shift [{who}]",
                     unit="steps to recover, ARS − AdamW (paired mean)",
                     rule="paired t, Δ < 0 at α = 0.05; refuted if a speed-up of 10 steps is ruled out",
                     reason=f"recovery: {smooth_w}-step moving average within {tol} nat of the pre-shift loss; "
                            f"a diverged or unrecovered run counts the horizon ({horizon}); defined for the shift",
                     readings=readings_for(m, "recover", ["shift"]), **common),
        claims.judge("001-wasted-compute" + suffix, claim=f"ARS cuts wasted compute by 30-40 % [{who}]",
                     unit="1 − mean wasted steps (ARS) / mean wasted steps (AdamW)",
                     rule="one-sided: reduction ≥ 0.30, 90 % interval from a paired bootstrap se (α = 0.05)",
                     reason="wasted = every step of a diverged run (restart), else the steps to recover (the "
                            "horizon if never)",
                     readings=readings_for(m, "wasted", provs), **common),
    ]


rows += ledger("psi_chi", "", "seed's ARS +Ψ+χ")
# Φ in normal operation: the warm-up phase before any provocation, seed's ARS, per lr
phi_readings = []
for lr in lrs:
    o = []
    for r_, sm_ in ((main, summ), (rmain, rsumm)):
        i = E.select(r_, "psi_chi", "shift", lr)
        ph = np.median(r_["metrics"]["phi"][i][:, :warm_steps], axis=1)
        mu, se, df = stats.mean_se(ph) if np.ptp(ph) > 0 else (float(ph.mean()), 0.0, len(ph) - 1)
        o.append(stats.bound(mu, se, at_least=0.9, df=df))
    phi_readings.append(claims.reading(f"lr = {lr:g}", o[0], o[1]))
rows.append(claims.judge(
    "001-phi-normal", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE,
    claim="In normal operation Φ ≈ 1 (no braking); it brakes only on resonance",
    unit="median Φ over the steps before the provocation (ARS +Ψ+χ), mean over seeds",
    rule="one-sided: mean ≥ 0.9, 90 % t interval (α = 0.05)",
    reason="analytic bound with raw loss S: Φ ≤ 0.1 + 0.9·exp(−S); the seed's S is the raw loss",
    readings=phi_readings, random=True))
rows += ledger("corr_betas", "-corrected", "corrected: relative surprise, detrended guard, gate on β")
ew_readings = []
for k, lab in (("ar1_raw", "ρ₁ of the raw loss (the seed's guard)"), ("ar1", "ρ₁ of the detrended loss (Scheffer)")):
    if min(ew_p["n_div"], ew_r["n_div"]) == 0:
        ew_readings.append(claims.untestable(lab, "no ramp run blew up in one of the keys"))
        continue
    o = []
    for e in (ew_p, ew_r):
        r, x = e["stats"][k]
        o.append(E.warning_outcome(r["max_pos"], r["max_neg"], x, e["t_div"], e["t_start"]))
    ew_readings.append(claims.reading(lab, o[0], o[1]))
rows.append(claims.judge(
    "001-guard-early-warning", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE,
    claim="A high lag-1 autocorrelation of the surprise is a 'canary in the coal mine': it warns before divergence",
    unit="fraction of blow-ups alarmed ≥ 1 step ahead, at ≤ 10 % false alarms on constant-lr controls",
    rule="exact binomial: alarmed fraction ≥ 0.5 (α = 0.05), threshold set on the controls",
    reason=f"AdamW, lr ramped ×{ew_ramp:g} from {ew_lr:g} over {horizon} steps, {n_ew_seeds} seeds per key",
    readings=ew_readings, random=True))
path = claims.write("05", rows)
for r in rows:
    print(f"{r.id:32s} {r.verdict:18s} " + "; ".join(f"{x.name}: {x.outcome}" for x in r.readings))

# %% [markdown] tags=[]
# ## Verdict
#
# **Should I use ARS, or what I already use? What you already use.** On this benchmark (11 methods × 3
# provocations × 5 learning rates × 16 seeds, with a replicate key) the seed's ARS (+Ψ, +Ψ+χ) ranks last.
# Its claims fail:
# * it cuts the peak weight norm by 82 % nowhere (`001-peak-wnorm`: refuted at every lr and provocation);
#   after a shift it *raises* it (18–214 against AdamW's 11–68);
# * it diverges in 16/16 closed-loop runs at every lr where AdamW does in 1/16 at 3·10⁻³
#   (`001-no-collapse`: refuted);
# * its gate sits near Φ_min, not near 1, in normal operation (`001-phi-normal`: refuted), because it follows
#   the loss level;
# * faster recovery depends on the lr (`001-faster-recovery`: reading-dependent);
# * the 30–40 % compute saving is not shown (`001-wasted-compute`: inconclusive).
#
# The corrected ARS variants (surprise relative to a running mean, guard on loss differences) end the ramp at
# lower losses than the seed's (3.32–3.36 against 3.94–4.02), but keep AdamW's safe cells there (the lr-gated one
# gained one cell in an earlier render, see section 4), and neither cuts the weight norm
# (`001-peak-wnorm-corrected`: refuted) or prevents the closed-loop collapse.
#
# **What to use instead.** Gradient clipping in any of its forms (AGC, ZClip, SPAM, global-norm clip 1.0) or
# simply β₂ = 0.95 buys one more safe lr step on an lr ramp at 0.9–1.2× AdamW's update cost. AGC has the
# lowest loss at its safe lrs. None of them, and nothing else tested, survives a closed data loop: that
# failure is in the data, not in the optimizer.
#
# **ARS's core idea** (a rising lag-1 autocorrelation as an early warning) works as a detector. The raw-loss ρ₁
# separates ramps that blow up from constant-lr controls with AUC 0.96 (replicate 0.94). The seed's guard
# row is still inconclusive, because the Scheffer-style detrended ρ₁ reaches only AUC 0.80–0.83 with a median
# lead of 10 steps. Two plainer signals do better: the variance of the detrended loss and a loss spike
# (AUC 0.99–1.00, 40/40 and 39/40 blow-ups alarmed at ≤ 10 % false alarms, median lead 82 and 54 steps). The warning is
# real, but variance beats autocorrelation.
