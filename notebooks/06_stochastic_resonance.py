# %% [markdown] tags=[]
# # 06 · Stochastic-resonance noise injection (seed 000, "epsilon-cli")
#
# **Question.** Seed 000 keeps a noise gain `g ∈ [g_min, g_max]`, grows it (×1.15) when the metric
# improves by less than `1e-3` per step and shrinks it (×0.96) otherwise, and adds `g·ε` to "training
# signal paths". Does this adaptive noise help optimisation, and where does the physics it cites
# (stochastic resonance: Benzi 1981, Gammaitoni 1998) actually live?
#
# Seed claims under test (every number is a hypothesis):
#
# * its printed example (`--steps 200`): gain `0.020000` at steps 0, 10, 20 while the loss falls
#   2.84 → 1.65, and `Final gain: 0.005000` at `Final loss: 0.001204`;
# * "SR-injected optimization reaches lower final loss than a no-noise baseline, particularly on loss
#   surfaces with plateau regions";
# * "noise can help escaping shallow local minima";
# * "injecting calibrated noise into [saturated] signal paths ... improv[es] propagation through
#   saturated layers and accelerat[es] convergence";
# * stochastic resonance itself (literature anchors): a sub-threshold periodic signal in a bistable
#   system is best transmitted at an intermediate noise level, and the "time-scale matching" rule
#   (Kramers time = half the forcing period) against the McNamara–Wiesenfeld theory.
#
# **Protocol** (`shld_jax.claims`). Each row has a kind, names every reading of what the seed leaves
# open, and states its test before the data. Open conventions: "improvement" is absolute
# (`prev − cur`, the table's "delta threshold") or relative (`(prev − cur)/|prev|`); what SR is
# compared against (no noise; constant noise at the best, the median, or SR's RMS gain of a sweep).
# Loss comparisons are t tests on per-seed `ln(L_SR/L_ref)` (paired: same problem and noise key per
# seed), α = 0.05, against the smallest effect that counts, a 5 % lower loss: **pass** if the 90 %
# interval lies below −0.05, **fail** if it lies above −0.05 (a 5 % gain is excluded; a significant but
# negligible gain does not count), else **inconclusive**. Every random row is measured
# again in full mode with an independent replicate (other seeds for problems and noise, another key
# for the double well); a disagreement makes the reading inconclusive. The verdict arithmetic lives in
# `shld_jax.experiments.resonance*` (unit-tested); cells below keep the rules and the calls.

# %% tags=["parameters"]
quick = False
n_seeds = 32
dim = 128
quad_steps = 200
plateau_steps = 400
dw_steps = 400
n_gains = 7
net_steps = 600
net_seeds = 16
# forced double well
A = 0.1
Omegas = [0.1, 0.2, 0.3, 0.4, 0.5]
n_D = 12
n_traj = 256
n_periods = 20
sr_dt = 0.05
n_boot = 200

# %% tags=[]
import math

import jax
import matplotlib.pyplot as plt
import numpy as np

from shld_jax import cache, claims, plotting
from shld_jax import _resonance as R
from shld_jax.experiments import resonance as E
from shld_jax.experiments import resonance_physics as PH
from shld_jax.experiments import resonance_seed as SE

plotting.use_style()
SEED = "000_7580a84631df4de2.txt"
# primary and independent replicate seeds (problems, initial points and noise keys all differ)
KEYS = {"primary": 0} if quick else {"primary": 0, "replicate": 10_000}
seeds = {k: list(range(o, o + n_seeds)) for k, o in KEYS.items()}
nseeds = {k: list(range(o, o + net_seeds)) for k, o in KEYS.items()}
gains = np.geomspace(0.005, 0.3, n_gains)   # the law's own range [g_min, g_max]
cfg = R.StochasticResonanceConfig()
rows = []
COLORS = dict(zip(["none", "sr", "sr-relative", "constant", "annealed"], plotting.sns.color_palette()[:5]))
LAWS = {"absolute improvement": "sr", "relative improvement": "sr-relative"}
RULE = ("paired t on per-seed ln(L_SR/L_ref), 90 % interval: pass if it lies below −0.05 (a reduction of "
        "≥ 5 % shown), fail if it lies above −0.05 (such a reduction excluded), else inconclusive")


def replicated(name, outcome_of, runs):
    """A reading measured on the primary run and, in full mode, on the replicate."""
    rep = outcome_of(runs["replicate"]) if "replicate" in runs else None
    return claims.reading(name, outcome_of(runs["primary"]), rep)


def summary(res, key="loss"):
    for name, r in res.items():
        x = r[key][:, -1] if r[key].ndim == 2 else r[key]
        print(f"  {name:12s} median {np.median(x):.4g}  [10%: {np.quantile(x, .1):.3g}, 90%: {np.quantile(x, .9):.3g}]")


def show(row):
    print(f"{row.id}: {row.verdict}")
    for x in row.readings:
        rep = "" if x.replicate_outcome is None else f" | replicate {x.replicate:+.4g} → {x.replicate_outcome}"
        print(f"  {x.name:40s} {x.measured:+.4g} → {x.outcome}{rep}   [{x.test}]")


# %% [markdown] tags=[]
# ## 1 · The seed's own example output against its own law
#
# The gain law is multiplicative, so after `n` updates without touching a clamp the gain is
# `0.02·1.15^a·0.96^(n−a)` for `a` stagnating steps (no clamp is reachable within 10 updates). The
# gain printed at step 10 follows 9, 10 or 11 updates, depending on whether the first metric counts and
# whether the print comes before or after the step's update: three readings. The final gain is replayed
# on the printed losses (the unprinted steps 20–190 filled in geometrically or linearly) under both
# readings of "improvement". These rows are **seed-consistency** rows (the seed's output against its own
# law) and deterministic: printed to six decimals, a value is reproduced iff it is within 5e-7.

# %% tags=[]
# NBVAL_CHECK_OUTPUT
for n in (9, 10, 11):
    reach = sorted(SE.gain_after(n, n_grow=a) for a in range(n + 1))
    print(f"{n} updates: reachable gains", " ".join(f"{g:.6f}" for g in reach),
          f"| closest to 0.020000: |Δ| = {SE.reachable_gap(n):.2e}")
for interp in SE.INTERPOLATIONS:
    print(f"{interp:9s} fill: final gain, absolute reading {SE.final_gain(False, interp):.6f}, "
          f"relative reading {SE.final_gain(True, interp):.6f} (printed 0.005000)")
imp_last = (SE.SEED_EXAMPLE[-2][2] - SE.SEED_EXAMPLE[-1][2]) / 10
print(f"mean absolute improvement per step over 190-200: {imp_last:.2e} (threshold 1e-3); "
      f"relative: {imp_last / SE.SEED_EXAMPLE[-2][2]:.2e}")

# %% tags=[]
rows.append(claims.judge(
    "000-example-gain-step10", seed_file=SEED, kind=claims.SEED_CONSISTENCY,
    claim="printed example: gain = 0.020000 at step 10 (and 20) while the loss falls 2.84 → 2.18 → 1.65",
    unit="min |reachable gain − 0.02|",
    rule="consistent iff some sequence of n law updates prints as 0.020000 (|Δ| < 5e-7), n = 9, 10, 11",
    readings=[claims.reading(f"{n} updates before the print", SE.step10_outcome(n)) for n in (9, 10, 11)],
    reason="the law is multiplicative: 1.15^a·0.96^b = 1 has no integer solution with a + b ≤ 11"))
rows.append(claims.judge(
    "000-example-final-gain", seed_file=SEED, kind=claims.SEED_CONSISTENCY,
    claim="printed example: Final gain 0.005000 at Final loss 0.001204 (200 steps)",
    unit="gain replayed by the law on the printed losses",
    rule="consistent iff the replayed gain prints as 0.005000 (|g − 0.005| < 5e-7)",
    readings=[claims.reading(f"{imp}, {interp} fill", SE.final_gain_outcome(rel, interp))
              for imp, rel in (("absolute improvement", False), ("relative improvement", True))
              for interp in SE.INTERPOLATIONS],
    reason=f"late absolute improvements ≈ {imp_last:.1e}/step < 1e-3 count as stagnation and drive the gain "
           f"up; relative ones (≈ 1 %/step) count as progress and decay it to g_min = 0.005"))
show(rows[-2]); show(rows[-1])

# %% [markdown] tags=[]
# **Reading.** No sequence of law updates leaves the gain at exactly 0.02 after 9–11 steps, so the
# printed schedule was not produced by the stated law updated every step (refuted under every reading).
# The final `0.005000` is reproduced exactly under the *relative* reading of "improvement", whichever way
# the unprinted steps are filled, and missed under the absolute one: the row is reading-dependent.

# %% [markdown] tags=[]
# ## 2 · The seed's benchmark: gradient descent on a quadratic
#
# `L(θ) = (1/d) Σ λ_i (θ_i − θ*_i)²`, `λ` log-spaced in [0.1, 1], `θ* ~ N(0, 4I)`, `θ₀ = 0`,
# `d = 128`, per-coordinate learning rate 0.1, 200 steps (the seed's printed run; the seed does not
# specify its quadratic, ours starts at a similar loss). SR adds `g·ε` to the iterate each step
# (`optax.chain(optax.sgd, stochastic_resonance_noise)`), exactly what `epsilon-stochastic` runs. On a
# convex quadratic zero-mean noise cannot lower the expected loss: with `θ_{t+1} = θ_t − lr∇L + σξ` the
# mean follows gradient descent and the variance only adds `E L = L(E θ) + tr(Λ Σ)/d`.

# %% tags=[]
bench = cache.memoize(E.benchmark_all)
quad = {k: bench("quadratic", ["none", "sr", "sr-relative", "annealed"], dim=dim, steps=quad_steps, seeds=s)
        for k, s in seeds.items()}
print("final loss over seeds (primary):")
summary(quad["primary"])
rows.append(claims.judge(
    "000-quadratic-lower-loss", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True,
    claim="SR-injected optimization reaches lower final loss than a no-noise baseline (quadratic benchmark)",
    unit="mean over seeds of ln(L_SR/L_none) at the last step",
    rule=RULE,
    readings=[replicated(law, lambda r, m=m: E.log_ratio_outcome(r[m]["loss"][:, -1], r["none"]["loss"][:, -1]), quad)
              for law, m in LAWS.items()],
    reason=f"{n_seeds} seeds per key; near convergence the law reads slow progress as stagnation and ramps g to g_max"))
show(rows[-1])

# %% tags=[]
fig, ax = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
t = np.arange(quad_steps + 1)
for m, r in quad["primary"].items():
    plotting.band(ax[0], t, r["loss"], label=m, color=COLORS[m], log=True)
    plotting.band(ax[1], t, np.maximum(r["gain"], 1e-6), label=m, color=COLORS[m], log=True)
ax[0].set(xlabel="step", ylabel="loss L(θ_t)", title="quadratic: loss")
ax[1].set(xlabel="step", ylabel="parameter-noise std per step", title="noise level (SR: gain g)", ylim=(1e-4, 1))
ax[1].axhline(cfg.max_gain, color="k", lw=0.6, ls=":")
ax[0].legend()
plotting.savefig(fig, "06_quadratic")
plt.show()

# %% [markdown] tags=[]
# **Reading.** Every noisy run ends above plain gradient descent, as it must on a convex quadratic.
# Early on SR's gain decays while the loss drops fast; once the per-step improvement falls below
# `1e-3` the absolute law reads convergence as stagnation and ramps the gain to `g_max = 0.3`, which
# sets a noise floor orders of magnitude above the deterministic run. The relative reading postpones
# this but ends the same way once the loss reaches its own noise floor.

# %% [markdown] tags=[]
# ## 3 · Plateaus and shallow minima, and constant noise swept over gains
#
# * **plateau** — `f(θ_i) = (tanh θ_i − y_i)²`, `y_i ~ U(−½, ½)`, started saturated at `θ_i = 3.5`
#   (gradient `∝ sech²(3.5) ≈ 4e-3`): gradient descent crawls. 400 steps.
# * **shallow minimum** — `f = (θ_i² − 1)² + θ_i/4` (minus its minimum), started in the shallow right well
#   (barrier ≈ 0.76 to the deep left well, loss 0.5 per coordinate there, 0 in the deep well); learning
#   rate 0.05, 400 steps. Gradient descent never leaves.
#
# Besides the loss at the final (noisy) iterate we report the **polished** loss: 100 noise-free gradient
# steps from the final iterate, i.e. which basin the noise left the run in (the measure of escape).
#
# **Constant-noise control.** The point of an adaptive gain is not having to tune one, so the control is
# constant noise swept over 7 gains log-spaced over the law's own range `[g_min, g_max] = [0.005, 0.3]`.
# SR (the seed's absolute law) is compared with the **best** constant gain (chosen on the same seeds: a
# bias in the control's favour), the **median** one (a typical untuned choice), and the constant at SR's
# own RMS gain (same noise power): three readings of "calibrated noise helps", on each surface. The
# metric is the row's own: final loss on the plateau, polished loss in the double well.

# %% tags=[]
METRIC = {"plateau": "loss", "double-well": "polished"}
STEPS = {"plateau": plateau_steps, "double-well": dw_steps}
surf, sweep = {k: {} for k in seeds}, {k: {} for k in seeds}
for k, s in seeds.items():
    for name, steps in STEPS.items():
        res = bench(name, ["none", "sr", "sr-relative", "annealed"], dim=dim, steps=steps, seeds=s)
        g_rms = float(f"{np.sqrt(np.mean(res['sr']['gain'] ** 2)):.3g}")
        res["constant"] = cache.memoize(E.benchmark)(name, "constant", dim=dim, steps=steps, seeds=s, const_gain=g_rms)
        res["constant"]["g"] = g_rms
        surf[k][name] = res
        sweep[k][name] = cache.memoize(E.constant_sweep)(name, gains, dim=dim, steps=steps, seeds=s)


def final(r, name):
    """The row's metric per seed: final loss (plateau) or polished loss (double well)."""
    return r["loss"][..., -1] if METRIC[name] == "loss" else r["polished"]


for name in STEPS:
    res = surf["primary"][name]
    print(f"{name}: constant gain at SR's RMS gain = {res['constant']['g']}")
    print(" final loss (noisy iterate):"); summary(res)
    print(" polished loss:"); summary(res, "polished")
    sw = final(sweep["primary"][name], name)
    print(" constant sweep, geometric-mean metric:", " ".join(
        f"g={g:.3g}: {np.exp(np.mean(np.log(np.maximum(x, E.LOG_FLOOR)))):.3g}" for g, x in zip(gains, sw)))

# %% tags=[]
def vs_none(name, m):
    return lambda r: E.log_ratio_outcome(final(r[name][m], name), final(r[name]["none"], name))


rule = RULE
rows.append(claims.judge(
    "000-plateau-lower-loss", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True,
    claim="... particularly on loss surfaces with plateau regions (saturated tanh plateau)",
    unit="mean over seeds of ln(L_SR/L_none), final loss", rule=rule,
    readings=[replicated(law, vs_none("plateau", m), surf) for law, m in LAWS.items()],
    reason=f"{n_seeds} seeds per key, {plateau_steps} steps"))
rows.append(claims.judge(
    "000-shallow-minimum-escape", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True,
    claim="noise can help escaping shallow local minima (tilted double well, started in the shallow well)",
    unit="mean over seeds of ln(L_SR/L_none), polished loss", rule=rule,
    readings=[replicated(law, vs_none("double-well", m), surf) for law, m in LAWS.items()],
    reason="escape measured after 100 noise-free polishing steps (the basin the run ended in)"))


def vs_constant(name, which):
    def outcome(run):
        r, sw = run
        sr = final(r[name]["sr"], name)
        if which == "RMS-matched":
            return E.log_ratio_outcome(sr, final(r[name]["constant"], name))
        m = final(sw[name], name)
        return E.log_ratio_outcome(sr, m[E.constant_baselines(m)[which]])
    return outcome


rows.append(claims.judge(
    "000-adaptive-beats-constant", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True,
    claim="the adaptive gain (calibrated noise) is what helps: SR beats constant noise",
    unit="mean over seeds of ln(L_SR/L_const)",
    rule=RULE + "; ref = constant noise: best/median of 7 gains in [0.005, 0.3] by geometric-mean metric "
         "on the same seeds, or at SR's RMS gain",
    readings=[replicated(f"{name}, vs {which} constant", vs_constant(name, which),
                         {k: (surf[k], sweep[k]) for k in seeds})
              for name in STEPS for which in ("best", "median", "RMS-matched")],
    reason="SR with the seed's absolute law; plateau: final loss, double well: polished loss"))
for r in rows[-3:]:
    show(r)

# %% tags=[]
fig, ax = plt.subplots(2, 3, figsize=(15, 7), layout="constrained")
for i, name in enumerate(STEPS):
    res = surf["primary"][name]
    t = np.arange(res["none"]["loss"].shape[1])
    for m, r in res.items():
        plotting.band(ax[i, 0], t, r["loss"], label=m, color=COLORS[m])
        plotting.band(ax[i, 1], t, np.maximum(r["gain"], 1e-6), label=m, color=COLORS[m], log=True)
        ax[i, 0].plot(t[-1] + 12, np.median(r["polished"]), "D", color=COLORS[m], ms=5)
    ax[i, 0].set(xlabel="step", ylabel="loss (per coordinate)", title=f"{name}: loss (◆ = polished)")
    ax[i, 1].set(xlabel="step", ylabel="parameter-noise std per step", title=f"{name}: noise level", ylim=(1e-4, 1))
    sw = final(sweep["primary"][name], name)
    q = np.quantile(sw, [0.1, 0.5, 0.9], axis=1)
    ax[i, 2].plot(gains, q[1], "o-", color=COLORS["constant"], label="constant gain (median, 10–90 %)")
    ax[i, 2].fill_between(gains, q[0], q[2], color=COLORS["constant"], alpha=0.2, lw=0)
    for m in ("sr", "sr-relative", "none"):
        x = final(res[m], name)
        ax[i, 2].axhspan(*np.quantile(x, [0.1, 0.9]), color=COLORS[m], alpha=0.15, lw=0)
        ax[i, 2].axhline(np.median(x), color=COLORS[m], lw=1.2, label=m)
    ax[i, 2].set(xscale="log", xlabel="constant gain g (parameter-noise std per step)",
                 ylabel=f"{'final' if METRIC[name] == 'loss' else 'polished'} loss", title=f"{name}: constant noise swept")
ax[0, 0].legend(fontsize="small")
ax[0, 2].legend(fontsize="small")
plotting.savefig(fig, "06_plateau_shallow")
plt.show()

# %% [markdown] tags=[]
# **Reading.** Where gradient descent is stuck (plateau, shallow well) the gain law does what it is
# designed to do: stagnation drives `g` to `g_max` and the noise moves the iterate, so the noisy runs beat
# plain gradient descent. The right-hand panels put the adaptive law among constant gains: the law ends
# up at `g_max` and behaves like the largest constant gains; it has no advantage over tuned constant
# noise. The ledger row records each comparison with its replicate.

# %% [markdown] tags=[]
# ## 4 · A saturated tanh network
#
# Teacher–student regression: 256 inputs `x ~ N(0, I₈)`, teacher `y = a·tanh(W x)` with 4 hidden units,
# student with 16 tanh units whose first-layer weights are drawn with pre-activation std 4 (most units
# saturated: `|z| > 2` where `tanh' < 0.07`). Full-batch gradient descent, learning rate 0.05, loss
# `½·mean (ŷ − y)²`, 600 steps, 16 seeds per key. SR noise `g·ε` is added to the hidden
# **pre-activations** during training (the signal entering the saturating nonlinearity), with `g`
# driven by the training loss exactly as in the seed's loop (`metric = train_step(); injector.step(metric)`),
# under both readings of "improvement"; "constant" is fixed at `g_max = 0.3` (where SR's gain goes);
# "annealed" is `optax.add_noise(0.01, 0.55)` on the gradients. We report the clean (noise-free) loss.
# Readings of "accelerates convergence": the loss at the end of the budget and at half of it.

# %% tags=[]
net = {k: cache.memoize(E.saturated_net)(list(E.NET_METHODS), steps=net_steps, seeds=s, const_gain=cfg.max_gain)
       for k, s in nseeds.items()}
print("final clean loss (primary):"); summary(net["primary"])
for m, r in net["primary"].items():
    print(f"  {m:11s} saturated fraction: start {r['saturation'][:, 0].mean():.2f}, end {r['saturation'][:, -1].mean():.2f}")
half = net_steps // 2


def net_outcome(m, step):
    return lambda r: E.log_ratio_outcome(r[m]["loss"][:, step], r["none"]["loss"][:, step])


rows.append(claims.judge(
    "000-saturated-net-convergence", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True,
    claim="SR noise in saturated signal paths improves propagation through saturated layers and accelerates convergence",
    unit="mean over seeds of ln(L_SR/L_none), clean loss",
    rule=RULE,
    readings=[replicated(f"{law}, step {step}", net_outcome(m, step), net)
              for law, m in LAWS.items() for step in (half, net_steps)],
    reason=f"{net_seeds} seeds per key; saturated fraction at the end: SR "
           f"{net['primary']['sr']['saturation'][:, -1].mean():.2f} vs none {net['primary']['none']['saturation'][:, -1].mean():.2f}"))
show(rows[-1])

# %% tags=[]
fig, ax = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
t = np.arange(net_steps + 1)
for m, r in net["primary"].items():
    plotting.band(ax[0], t, r["loss"], label=m, color=COLORS[m], log=True)
    plotting.band(ax[1], t[:-1], r["saturation"], label=m, color=COLORS[m])
    if m in ("sr", "sr-relative", "constant"):
        plotting.band(ax[2], t[:-1], r["gain"], label=m, color=COLORS[m])
ax[0].set(xlabel="step", ylabel="clean loss", title="saturated net: loss")
ax[1].set(xlabel="step", ylabel="fraction |z| > 2", title="saturated pre-activations")
ax[2].set(xlabel="step", ylabel="activation-noise gain g", title="noise gain")
ax[0].legend()
plotting.savefig(fig, "06_saturated_net")
plt.show()

# %% [markdown] tags=[]
# **Reading.** Gains of at most `g_max = 0.3` are small next to pre-activations of size ~4:
# `E[sech²(z + gε)]` barely moves, so the noise cannot lift a saturated unit's gradient. The loss
# decreases through the read-out weights in every run alike and the fraction of saturated units does
# not move for any of them.

# %% [markdown] tags=[]
# ## 5 · Classic stochastic resonance: the periodically forced double well (anchors)
#
# `dx = −(x³ − x − A cos Ωt) dt + √(2D) dW`, i.e. `U = x⁴/4 − x²/2 − A x cos Ωt`, barrier `ΔV = 1/4`,
# minima `±x_m = ±1`, with `A = 0.1` below the static threshold `2/(3√3) ≈ 0.385` (no hopping without
# noise). Euler–Maruyama (`dt = 0.05`), 256 trajectories per `(Ω, D)`, five forcing frequencies
# `Ω = 0.1 … 0.5` and 12 noise levels `D ∈ [0.05, 1.2]`, all in one array. The output is read as a
# two-state signal `s(t) = ±1` (flips when `x` reaches the other minimum) and, for comparison, as `x(t)`.
#
# **Theory (McNamara & Wiesenfeld 1989, adiabatic two-state, first order in A).** Hopping rates
# `W_∓(t) = r·exp(±A x_m cos Ωt / D)` give the mean response `x̄ cos(Ωt − φ)` with
# `x̄ = 2 r A x_m² / (D·√(4r² + Ω²))` and a telegraph noise spectrum `S_N(ω) = 4 r x_m² / (4r² + ω²)`
# (two-sided). The line at `+Ω` has weight `π x̄²/2`, so **SNR = (π/2)·r·A² x_m²/D²**, independent of Ω,
# with its peak at `D = ΔV/2` (Kramers rate) or 0.121 (exact hopping rate `r = 1/τ(−1→+1)`). The
# amplitude `x̄(D)` does depend on Ω: its maximum solves `ΔV/D − 1 = 4r²/Ω²`. The "time-scale matching"
# rule `2·T_K(D) = T_Ω`, i.e. `r_K = Ω/π`, gives `D_match = ΔV / ln(1/(√2 Ω))`.
#
# **Scaling-law tests.** A single tolerance at one Ω cannot tell the theories apart (at Ω = 0.1,
# `D_match = 0.128` and `ΔV/2 = 0.125`). Across Ω = 0.1 … 0.5 `D_match` grows 5.6-fold while the MW
# SNR peak stays put, so the test is the exponent `b` of `D_peak ∝ D_match(Ω)^b`, fitted over the five Ω
# with a bootstrap standard error (trajectories resampled): the matching rule predicts `b = 1`, MW
# predicts `b = 0` for the SNR peak and its own `b_MW` for the amplitude peak. TOST, margin ±0.25,
# α = 0.05. Readings: the peak of the SNR, and the peak of the response amplitude (the resonance curve
# some texts apply the matching rule to).

# %% tags=[]
# NBVAL_CHECK_OUTPUT
for Om in (0.1, 0.2, 0.3, 0.4, 0.5):
    print(f"Ω = {Om}: forcing period {2 * math.pi / Om:.1f}, D_match = {PH.matching_D(Om):.4f} "
          f"(r_K = Ω/π = {Om / math.pi:.4f})")
print(f"MW SNR peak (Kramers rate): D = ΔV/2 = {0.25 / 2}")

# %% tags=[]
Ds = np.geomspace(0.05, 1.2, n_D)
fdw = {k: cache.memoize(E.forced_double_well)(A=A, Omegas=Omegas, Ds=Ds, n_traj=n_traj, n_periods=n_periods,
                                              dt=sr_dt, n_boot=n_boot, key=jax.random.key(6 + i), boot_seed=i)
       for i, k in enumerate(KEYS)}
Dm = np.array([PH.matching_D(o) for o in Omegas])
D_amp_mw = PH.mw_amplitude_peak(Omegas)
b_mw = float(np.polyfit(np.log(Dm), np.log(D_amp_mw), 1)[0])
Df = np.geomspace(0.04, 1.5, 300)
rK, rX = E.kramers(Df), E.exact_rate(Df)
peak_X = PH.log_peak(Df, E.mw_snr(A, Df, rX))
pk = {k: {c: PH.peak_table(f, c) for c in ("snr", "amp")} for k, f in fdw.items()}
for j, Om in enumerate(Omegas):
    ps, pa = pk["primary"]["snr"], pk["primary"]["amp"]
    print(f"Ω = {Om}: SNR peak D = {ps[0][j]:.3f} (bootstrap sd {ps[1][:, j].std():.3f}); amplitude peak D = "
          f"{pa[0][j]:.3f} (sd {pa[1][:, j].std():.3f}); D_match = {Dm[j]:.3f}; MW amplitude peak {D_amp_mw[j]:.3f}")
print(f"MW SNR peak with the exact rate: D = {peak_X:.3f}; MW amplitude-peak exponent b_MW = {b_mw:.3f}")
for k in pk:
    for c in ("snr", "amp"):
        b, se = PH.scaling_slope(np.log(Dm), *pk[k][c])
        print(f"{k:9s} {c}: exponent b = {b:.3f} ± {se:.3f}")

# %% tags=[]
x_log = np.log(Dm)


def slope(curve, target):
    return lambda p: PH.slope_outcome(x_log, *p[curve], target=target)


rows.append(claims.judge(
    "000-sr-snr-maximum", seed_file=SEED, kind=claims.ANCHOR, random=True,
    claim="stochastic resonance (Benzi 1981, Gammaitoni 1998): the SNR of a sub-threshold periodic signal peaks at intermediate noise",
    unit="ln(peak SNR / max SNR at the two ends of the D grid)",
    rule="one-sided bound ≥ 0 on the bootstrap interval (α = 0.05); a maximum at a grid end fails",
    readings=[replicated(f"Ω = {Om}", lambda f, j=j: PH.snr_maximum_outcome(f["snr_s"][j], f["snr_s_boot"][:, j]), fdw)
              for j, Om in enumerate(Omegas)],
    reason=f"two-state output s(t), {n_traj} trajectories per point, bootstrap over trajectories"))
rows.append(claims.judge(
    "000-sr-timescale-matching", seed_file=SEED, kind=claims.ANCHOR, random=True,
    claim="the SR peak sits where the Kramers time matches half the forcing period, 2T_K(D) = T_Ω: D_peak ∝ D_match(Ω)",
    unit="exponent b of D_peak ∝ D_match(Ω)^b over Ω = 0.1…0.5",
    rule="TOST b ≈ 1 ± 0.25 (bootstrap SE), α = 0.05",
    readings=[replicated(f"{lab} peak", slope(c, 1.0), pk) for lab, c in (("SNR", "snr"), ("amplitude", "amp"))],
    reason=f"D_match spans {Dm[0]:.3f}–{Dm[-1]:.3f}; MW predicts b = 0 (SNR) and b = {b_mw:.2f} (amplitude)"))
rows.append(claims.judge(
    "000-sr-mw-theory", seed_file=SEED, kind=claims.ANCHOR, random=True,
    claim="McNamara–Wiesenfeld adiabatic theory: the SNR peak does not move with Ω; the amplitude peak follows its maximum ΔV/D − 1 = 4r²/Ω²",
    unit="exponent b of D_peak ∝ D_match(Ω)^b over Ω = 0.1…0.5",
    rule=f"TOST b ≈ b_theory ± 0.25 (bootstrap SE), α = 0.05; b_theory = 0 (SNR), {b_mw:.3f} (amplitude, exact rate)",
    readings=[replicated("SNR peak", slope("snr", 0.0), pk), replicated("amplitude peak", slope("amp", b_mw), pk)],
    reason=f"MW SNR peak with the exact rate at D = {peak_X:.3f} for every Ω"))
for r in rows[-3:]:
    show(r)

# %% tags=[]
f0 = fdw["primary"]
lo, hi = np.quantile(f0["snr_s_boot"], [0.1, 0.9], axis=0)
fig, ax = plt.subplots(1, 3, figsize=(16, 4.8), layout="constrained")
pal = plotting.sns.color_palette("viridis", len(Omegas))
for j, Om in enumerate(Omegas):
    ax[0].plot(Ds, f0["snr_s"][j], "o-", color=pal[j], ms=3, label=f"Ω = {Om}")
    ax[0].fill_between(Ds, lo[j], hi[j], color=pal[j], alpha=0.2, lw=0)
    ax[1].plot(Ds, f0["amp_s"][j], "o-", color=pal[j], ms=3, label=f"simulation, Ω = {Om}")
    ax[1].plot(Df, E.mw_amplitude(A, Df, rX, Om), color=pal[j], lw=0.8)
ax[0].plot(Df, E.mw_snr(A, Df, rK), "k-", lw=1.2, label="MW, Kramers rate")
ax[0].plot(Df, E.mw_snr(A, Df, rX), "k--", lw=1.2, label="MW, exact rate")
ax[0].set(xscale="log", xlabel="noise D", ylabel="SNR at Ω (one line, two-sided)", title="SNR of s(t) vs noise")
ax[0].legend(fontsize=7)
ax[1].set(xscale="log", xlabel="noise D", ylabel="response amplitude x̄ of s(t)", title="periodic response (lines: MW, exact rate)")
ax[1].legend(fontsize=7)
for c, mk, lab in (("snr", "o", "SNR peak"), ("amp", "s", "amplitude peak")):
    for k, style in (("primary", "-"), ("replicate", ":")):
        if k in pk:
            p, pb = pk[k][c]
            ax[2].errorbar(Dm, p, yerr=pb.std(axis=0), fmt=mk + style, ms=4, capsize=2,
                           label=f"{lab} ({k})", color="C0" if c == "snr" else "C1")
ax[2].plot(Dm, Dm, "k-", lw=1, label="matching rule D_peak = D_match (b = 1)")
ax[2].axhline(peak_X, color="k", ls="--", lw=1, label="MW SNR peak (b = 0)")
ax[2].plot(Dm, D_amp_mw, "k:", lw=1.2, label=f"MW amplitude peak (b = {b_mw:.2f})")
ax[2].set(xscale="log", yscale="log", xlabel="D_match(Ω) = ΔV / ln(1/(√2 Ω))", ylabel="D at the peak",
          title="where SR peaks, Ω = 0.1 … 0.5")
ax[2].legend(fontsize=7)
plotting.savefig(fig, "06_stochastic_resonance")
plt.show()

# %% [markdown] tags=[]
# **Reading.** The SNR of the forced double well rises and falls with D at every forcing frequency:
# stochastic resonance is real and measured here. The right panel is the scaling test: the matching
# rule (solid diagonal) and the adiabatic MW SNR peak (dashed, flat) make different predictions once Ω
# is varied. Measured: the SNR peak moves little (exponent b = 0.23 ± 0.12, replicate 0.17 ± 0.08: far from the matching rule's 1, not shown to be MW's 0 within ±0.25), and the amplitude peak follows the MW amplitude maximum (b = 0.49 ± 0.07, replicate 0.52 ± 0.04, against b_MW = 0.37), not the matching rule. The matching rule is refuted as a scaling law under both readings; at Ω = 0.1 alone it would have passed.
# None of this involves a feedback gain: SR needs a bistable (threshold) system, a weak periodic signal
# and an *exogenous* noise level, none of which the seed's optimiser has.

# %% [markdown] tags=[]
# ## Claims ledger rows

# %% tags=[]
path = claims.write("06", rows)
for r in rows:
    print(f"{r.id:36s} {r.kind:17s} {r.verdict}")

# %% [markdown] tags=[]
# ## Verdict
#
# * **The printed example** does not come from the stated law as far as the gain at steps 10 and 20 goes
#   (a multiplicative law cannot stay at 0.02 for ten updates under any reading); the final 0.005 follows
#   under the relative reading of "improvement" only.
# * **Quadratic benchmark:** noise cannot help a convex quadratic in expectation, and the gain law makes it
#   worse near convergence under both readings.
# * **Plateaus and shallow minima:** noise does move a stuck iterate, so there the noisy runs beat plain
#   gradient descent. The *adaptive* law is not what matters: set against constant noise swept over the
#   law's own range of gains it does not beat the tuned constant, and the gain stays near `g_max`
#   instead of being "calibrated" (see the ledger for each comparison).
# * **Saturated network:** activation noise of at most 0.3 is small next to saturated pre-activations, so
#   it cannot restore their gradients.
# * **Stochastic resonance** itself is reproduced at every Ω; where its peak sits is decided by the
#   scaling exponent over Ω, not by a tolerance at one point (ledger rows `000-sr-timescale-matching`
#   and `000-sr-mw-theory`). The seed's optimiser has no bistable signal channel, no periodic signal and
#   no exogenous noise level: the name borrows the physics without its mechanism.
#
# `figures/CLAIMS.md` carries the computed verdicts.
