# %% [markdown] tags=[]
# # 01 · Noise-assisted barrier crossing in a double well
#
# **Question.** Seed 002 (SHLD) models training as overdamped Langevin dynamics
# `dθ = −∇ℒ dt + √(2D) dW` and makes four claims we can test exactly on a 1-D double well
# `U(x) = ((x/a)² − 1)²`, where physics gives closed forms:
#
# * **Theorem 3** — the stationary density is the Gibbs measure `ρ* ∝ exp(−U/D)`.
# * **Theorem 2** — the escape rate is `Γ = (ω₀/2π)·exp(−ΔE/D)` with ω₀ the curvature at the minimum.
#   The correct overdamped Kramers rate is `Γ_K = √(U''(min)·|U''(saddle)|)/(2π)·exp(−ΔU/D)`, and the exact
#   mean first-passage time (MFPT) is a double integral (Gardiner §5.5). We compare all three with simulation.
# * **C(t)** — the consolidation ratio `C = ‖∇U‖²/(D·d)`; the seed reads `C ≈ 1` as "critical, transitions occur here".
# * **Noise-assisted escape** — "at C(t) < 0.5, increase D by 10×": without it runs are "stuck for 5000+ steps
#   (90 % of runs)", with it they "escape within 100 steps (95 % of runs)".
#
# Time is in the SDE's units; one Euler–Maruyama step is `dt` (`dt = 0.01` matches the seed's default
# `lr = 0.01`). All simulation runs through `shld_jax.simulate` (one compiled `lax.scan`, particles sharded
# over devices).
#
# **Protocol** ([2.1], `shld_jax.claims`). Every ledger row has a kind (seed-substantive, seed-consistency,
# anchor), one reading per convention the seed leaves open (time step, D, what ω₀ is, how the boost works),
# and a test stated in the markdown *before* the cell that runs it (exact binomial tests for rates, TOST for
# "≈", one-sided bounds). Every random measurement is repeated with an independent master seed
# (`replicate_seed`); a reading whose two runs disagree is inconclusive. The arithmetic that decides an
# outcome lives in `shld_jax.experiments.double_well` (unit-tested in `tests/test_double_well.py`).

# %% tags=["parameters"]
quick = False
seed = 0
replicate_seed = 1
dt = 0.01
# trajectories and potential
D_traj = 0.25
traj_steps = 20_000
n_traj = 4
# theorem 3: stationary histogram
D_hist = 0.5
hist_steps = 5_000
n_hist = 40_000
hist_groups = 8
# theorem 2: escape rate against 1/D (simulation), and at large ΔU/D (quadrature + one long simulation)
inv_D = [1.0, 2.0, 3.0, 4.0]
n_escape = 4_000
escape_horizon = 8.0
kramers_points = [8.0, 10.0, 12.0, 16.0, 24.0, 32.0]
long_inv_D = 8.0
n_long = 2_000
long_horizon = 2.0
# C(t) at stationarity
D_C = 0.5
C_steps = 5_000
n_C = 2_000
# C(t) before barrier crossings (event-triggered)
cross_D = [0.25, 0.5]
cross_time = [400.0, 200.0]
n_cross = 400
cross_save = 2
windows = [0.1, 1.0]
# intervention (tilted well, shallow -> deep), on a dt × D grid
tilt = 0.25
escape_dts = [0.01, 0.1]
escape_Ds = [0.05, 0.075, 0.1, 0.15]
n_runs = 2_000
n_seed_code_runs = 20

# %% [markdown] tags=[]
# Experiments are cached on disk (`shld_jax.cache`, keyed by the runner, its arguments, the package's source
# and the JAX version): a re-run with unchanged code only re-plots; `make figures FRESH=1` recomputes.
# `both(runner, i, ...)` runs a runner with the primary key and with the replicate key (the same stream
# index `i` folded into two independent master keys).

# %% tags=[]
import dataclasses
import functools

import jax
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

import shld_jax as sj
from shld_jax import cache, claims, plotting, stats
from shld_jax.experiments import double_well as E

plotting.use_style()
key, rkey = jax.random.key(seed), jax.random.key(replicate_seed)
well = sj.double_well(a=1.0, barrier=1.0)
tilted = sj.tilted_double_well(a=1.0, barrier=1.0, tilt=tilt)
SEED = "002_fce6d19739f26158.txt"
rows = []

both = functools.partial(cache.replicate_pair, keys=(key, rkey))  # (primary, replicate) of a runner


print("devices:", jax.devices())

# %% [markdown] tags=[]
# ## 1 · The potentials and a few trajectories

# %% tags=[]
times, xs = cache.memoize(E.trajectories)(well, D=D_traj, dt=dt, n_steps=traj_steps, n_particles=n_traj,
                           key=jax.random.fold_in(key, 1), save_every=10)
fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 2]})
xg = np.linspace(-1.8, 1.8, 400)
a0.plot(xg, well.u(xg), label="symmetric")
a0.plot(xg, tilted.u(xg), label=f"tilted (tilt = {tilt})")
a0.set(xlabel="x (parameter, a.u.)", ylabel="U(x) (loss, a.u.)", ylim=(-0.6, 2.5), title="potentials")
a0.legend()
for i in range(n_traj):
    a1.plot(times, xs[:, i], lw=0.6)
a1.set(xlabel="time t (SDE units; 100 steps = 1)", ylabel="x(t) (a.u.)", title=f"trajectories, D = {D_traj}")
plotting.savefig(fig, "01_trajectories")
plt.show()

# %% [markdown] tags=[]
# ## 2 · Theorem 3: the stationary density is the Gibbs measure
#
# **Rule (stated before the run).** Bin the ensemble (particles started evenly over both wells) after
# `hist_steps` steps and compute the total-variation distance to the binned Gibbs density, divided by the
# Monte-Carlo floor of exact Gibbs samples of the same size, in `hist_groups` independent particle groups.
# Supported iff the one-sided 95 % t bound of the mean ratio is ≤ 1.5 (`E.gibbs_outcome`); refuted iff its
# 90 % interval lies above 1.5. Euler–Maruyama at `dt = 0.01` has its own stationary law, slightly off
# Gibbs; its bias is far below the sampling floor here.

# %% tags=[]
h, h_rep = both(E.stationary_histogram, 2, potential=well, D=D_hist, dt=dt, n_steps=hist_steps,
                n_particles=n_hist, groups=hist_groups)
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.step(h["centres"], h["empirical"], where="mid", label=f"simulation ({n_hist} particles)")
ax.plot(h["centres"], h["gibbs"], "k--", label="Gibbs exp(−U/D)/Z")
ax.set(xlabel="x (a.u.)", ylabel="density (1/a.u.)", title=f"stationary density, D = {D_hist}, t = {hist_steps*dt:g}")
ax.legend()
plotting.savefig(fig, "01_gibbs")
plt.show()
for lab, hh in (("primary", h), ("replicate", h_rep)):
    r = hh["group_ratio"]
    print(f"{lab:9s}: TV {hh['tv']:.4f} (floor {hh['tv_floor']:.4f}); TV/floor over {r.size} groups "
          f"{r.mean():.2f} ± {r.std(ddof=1)/np.sqrt(r.size):.2f} (s.e.)")

# %% tags=[]
rows.append(claims.judge(
    "T3-gibbs", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True,
    claim="Theorem 3: stationary distribution ρ* ∝ exp(−ℒ/D)", unit="TV / Monte-Carlo floor",
    rule="mean TV/floor over independent particle groups ≤ 1.5 (one-sided t bound, α = 0.05)",
    readings=[claims.reading(f"continuous-time law (EM at dt = {dt:g}, D = {D_hist:g})",
                             E.gibbs_outcome(h["group_ratio"]), E.gibbs_outcome(h_rep["group_ratio"]))],
    reason=f"symmetric double well, D = {D_hist}, {n_hist} particles after t = {hist_steps*dt:g}, "
           f"{hist_groups} groups"))

# %% [markdown] tags=[]
# ## 3 · Theorem 2: escape rate against 1/D
#
# Each particle starts in the left minimum and we record the first step at which it reaches the **other
# minimum** `x = +1`. 1/Γ is the mean time to cross into the other well; the time to reach the barrier top is
# about half of it (a particle at the top goes either way), so a barrier-top target would be off by a factor 2.
# Each noise level runs `escape_horizon`× the exact MFPT, so censoring is negligible (the censored fraction is
# printed).
#
# **Anchor rule.** The simulation must reproduce the exact MFPT (quadrature): relative TOST, margin ±5 %,
# at every `1/D` (`E.mfpt_outcomes`); both keys.

# %% tags=[]
esc, esc_rep = both(E.escape_rates, 3, potential=well, inv_D=inv_D, dt=dt, n_particles=n_escape,
                    horizon=escape_horizon)
fig, ax = plt.subplots(figsize=(6.4, 4))
b = esc["inv_D"]
ax.errorbar(b, 1 / esc["mfpt"], yerr=esc["mfpt_se"] / esc["mfpt"] ** 2, fmt="o", label=f"simulation ({n_escape} particles)")
bb = np.linspace(b.min(), max(b.max(), long_inv_D), 60)
ax.plot(bb, [1 / sj.exact_mfpt(well, -1.0, 1.0, 1 / x) for x in bb], "k-", label="exact MFPT (quadrature)")
ax.plot(bb, [sj.kramers_rate(well, 1 / x) for x in bb], "--", label="Kramers √(U''ₘ|U''ₛ|)/2π·e^(−ΔU/D)")
ax.plot(bb, [sj.kramers_rate_seed(well, 1 / x) for x in bb], ":", label="seed: (ω₀/2π)·e^(−ΔE/D), ω₀ = U''")
ax.plot(bb, [E.seed_rate_angular(well, 1 / x) for x in bb], "-.", label="seed with ω₀ = √U''")
ax.plot(b, 0.5 / esc["mfpt_top"], "s", mfc="none", label="simulation, ½ / MFPT to barrier top")
ax.set(yscale="log", xlabel="1/D (1/noise level, 1/a.u.)", ylabel="escape rate Γ = 1/MFPT (1/time)",
       title="escape over the barrier ΔU = 1")
ax.legend(fontsize="small")
plotting.savefig(fig, "01_escape_rate")
plt.show()
print(" 1/D   MFPT sim ± se   (replicate)     exact   1/Γ_Kramers  1/Γ_seed   MFPT to top (sim, exact)  censored")
for i in range(len(b)):
    print(f"{b[i]:4.1f}  {esc['mfpt'][i]:8.2f} ± {esc['mfpt_se'][i]:5.2f}  ({esc_rep['mfpt'][i]:8.2f})  {esc['exact'][i]:8.2f}"
          f"  {esc['kramers'][i]:9.2f}  {esc['seed'][i]:9.2f}   {esc['mfpt_top'][i]:7.2f}, {esc['exact_top'][i]:7.2f}"
          f"        {esc['censored'][i]:.4f}")

# %% tags=[]
rows.append(claims.judge(
    "T2-exact-mfpt", seed_file=SEED, kind=claims.ANCHOR, random=True,
    claim="Ground truth: the simulated MFPT equals the exact quadrature τ = (1/D)∫e^{U/D}∫e^{−U/D}",
    unit="MFPT_sim / MFPT_exact (worst 1/D)",
    rule="relative TOST ±5 % at every 1/D ∈ {" + ", ".join(f"{x:g}" for x in inv_D) + "}",
    readings=[claims.reading(f"EM at dt = {dt:g}", E.mfpt_outcomes(esc), E.mfpt_outcomes(esc_rep))],
    reason=f"{n_escape} particles per 1/D, first passage to the other minimum"))

# %% tags=[]
# NBVAL_CHECK_OUTPUT
# analytic values only (independent of the run's size)
for x in (1.0, 2.0, 4.0, 8.0):
    ex = 1 / sj.exact_mfpt(well, -1.0, 1.0, 1 / x)
    print(f"ΔU/D = {x:3.0f}: Γ_Kramers/Γ_exact = {sj.kramers_rate(well, 1/x)/ex:.3f},  Γ_seed/Γ_exact = {sj.kramers_rate_seed(well, 1/x)/ex:.3f}")

# %% [markdown] tags=[]
# **Where a tolerance can discriminate.** At ΔU/D = 4 even the correct Kramers rate is 14 % above the exact
# rate, so a ±10 % rule there would reject Kramers too. The prefactor is therefore judged where the rule
# accepts correct physics: at ΔU/D ≥ 8 by the exact MFPT (quadrature), as the D/ΔU → 0 limit of a
# polynomial fit of `Γ_formula/Γ_exact` in D/ΔU (Kramers' corrections are a series in D/ΔU), and by one long
# simulation at ΔU/D = `long_inv_D` (censored exponential maximum likelihood, both keys).
#
# **Readings of ω₀.** The seed glosses ω₀ as "curvature at local minimum (Hessian eigenvalue)", so
# ω₀ = U''(min); the symbol ω₀/2π is also the transition-state form with the angular frequency ω₀ = √U''(min).
# Both are evaluated.
#
# **Rules.** *Seed prefactor* (seed-substantive): `Γ_seed/Γ_exact` within 1 ± 10 % — exact quadrature: at every
# ΔU/D in `kramers_points` (`E.ratio_within`); asymptote: TOST of the fitted D/ΔU → 0 limit
# (`E.asymptotic_ratio`); simulation: TOST of `Γ_seed/Γ_sim`, 90 % interval (`E.rate_ratio_outcome`).
# *Kramers* (anchor): the same three rules applied to Kramers' formula must pass — this is what shows the
# rules discriminate. *Arrhenius exponent* (seed-substantive): `d ln Γ/d(1/D)` within ±15 % of −ΔU (TOST):
# simulated between the two largest `1/D` of the sweep (both keys), and the exact rate between ΔU/D = 8 and 16.

# %% tags=[]
tab = E.prefactor_table(well, kramers_points)
D_long = 1.0 / long_inv_D
lng, lng_rep = both(E.escape_rate_long, 6, potential=well, D=D_long, dt=dt, n_particles=n_long,
                    horizon=long_horizon)
print("ΔU/D:               ", tab["dU_over_D"])
for name in E.RATE_FORMULAS:
    a, a_se = E.asymptotic_ratio(tab["dU_over_D"], tab[name])
    print(f"{name:22s} Γ/Γ_exact = {np.round(tab[name], 4)}  →  D/ΔU → 0: {a:.4f} ± {a_se:.4f}")
for lab, r in (("primary", lng), ("replicate", lng_rep)):
    print(f"simulation at ΔU/D = {long_inv_D:g} ({lab}): Γ_sim = {r['rate']:.4g} ± {r['rate_se']:.2g} "
          f"({r['escaped']}/{r['n']} escaped in {r['n_steps']} steps); exact 1/MFPT = {1/r['exact_mfpt']:.4g}, "
          f"Γ_sim·MFPT_exact = {r['rate']*r['exact_mfpt']:.3f}")


# %% tags=[]
def prefactor_readings(name):
    a, a_se = E.asymptotic_ratio(tab["dU_over_D"], tab[name])
    f = E.RATE_FORMULAS[name]
    pts = f" at ΔU/D = {tab['dU_over_D'].min():g}–{tab['dU_over_D'].max():g}"
    return [
        claims.reading("exact quadrature, ΔU/D ≥ 8", E.ratio_within(tab[name], where=pts)),
        claims.reading("asymptote D/ΔU → 0 (quadratic fit)",
                       stats.equivalence(a, a_se, target=1.0, margin=0.10, relative=True)),
        claims.reading(f"simulation, ΔU/D = {long_inv_D:g}",
                       E.rate_ratio_outcome(f(well, D_long), lng), E.rate_ratio_outcome(f(well, D_long), lng_rep)),
    ]


seed_readings = [dataclasses.replace(r, name=f"ω₀ = U''(min); {r.name}")
                 for r in prefactor_readings("seed: ω₀ = U''(min)")]
seed_readings += [dataclasses.replace(r, name=f"ω₀ = √U''(min); {r.name}")
                  for r in prefactor_readings("seed: ω₀ = √U''(min)")]
rows.append(claims.judge(
    "T2-prefactor", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True,
    claim="Theorem 2: Γ = (ω₀/2π)·exp(−ΔE/D), ω₀ the curvature at the minimum", unit="Γ_seed / Γ_exact",
    rule="Γ_seed/Γ within 1 ± 10 % where the same rule accepts Kramers (ΔU/D ≥ 8): exact quadrature at every point, "
         "TOST of the D/ΔU → 0 limit, TOST of one long simulation",
    readings=seed_readings,
    reason="the correct overdamped prefactor is √(U''(min)|U''(saddle)|)/2π (Kramers): the seed's is √2× it "
           "(ω₀ = U'') or ½× it (ω₀ = √U''), at every ΔU/D"))
rows.append(claims.judge(
    "T2-kramers", seed_file=SEED, kind=claims.ANCHOR, random=True,
    claim="Ground truth: overdamped Kramers Γ_K = √(U''(min)|U''(saddle)|)/2π·e^(−ΔU/D) for ΔU/D ≫ 1",
    unit="Γ_Kramers / Γ_exact", rule="the T2-prefactor rules applied to Kramers' formula",
    readings=prefactor_readings("kramers"),
    reason=f"shows the ±10 % rules accept correct physics at ΔU/D ≥ 8 (at ΔU/D = 4 Kramers is "
           f"{E.prefactor_table(well, [4.0])['kramers'][0]:.3f}× exact and a 10 % rule would reject it)"))
s1, s1_se = E.arrhenius_slope(esc["inv_D"], esc["mfpt"], esc["mfpt_se"])
s2, s2_se = E.arrhenius_slope(esc_rep["inv_D"], esc_rep["mfpt"], esc_rep["mfpt_se"])
ex_pts = np.array([8.0, 16.0])
s_ex, _ = E.arrhenius_slope(ex_pts, [sj.exact_mfpt(well, -1.0, 1.0, 1 / x) for x in ex_pts])
dU = well.barrier_from(-1.0)
rows.append(claims.judge(
    "T2-arrhenius", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True,
    claim="Escape rate grows exponentially with D: Γ ∝ exp(−ΔE/D)", unit="d ln Γ / d(1/D) (ΔU = 1)",
    rule="slope within ±15 % of −ΔU (TOST, 90 % interval)",
    readings=[claims.reading(f"simulation, 1/D = {sorted(inv_D)[-2]:g}–{sorted(inv_D)[-1]:g}",
                             E.arrhenius_outcome(s1, s1_se, dU=dU), E.arrhenius_outcome(s2, s2_se, dU=dU)),
              claims.reading("exact quadrature, ΔU/D = 8–16", E.arrhenius_outcome(s_ex, 0.0, dU=dU))],
    reason="symmetric double well ΔU = 1; first passage to the other minimum"))
print(f"Arrhenius slope: simulation {s1:.3f} ± {s1_se:.3f} (replicate {s2:.3f} ± {s2_se:.3f}); exact 8–16: {s_ex:.4f}")

# %% [markdown] tags=[]
# **Explore (JupyterLab).** Move D and the barrier height to see the stationary density and the three
# escape rates update (analytic, instant). In a headless run (papermill, nbval, the HTML
# site) the sliders render nothing; the figures of sections 2 and 3 are the static counterparts.

# %% tags=[]
import ipywidgets as widgets

def _show(D=0.5, barrier=1.0):
    fig, _ = E.explore(D=D, barrier=barrier)
    plt.show()

display(widgets.interactive(_show, D=widgets.FloatLogSlider(value=0.5, base=10, min=-1.3, max=0.5, step=0.05),
                            barrier=widgets.FloatSlider(value=1.0, min=0.25, max=3.0, step=0.05)))

# %% [markdown] tags=[]
# ## 4 · The consolidation ratio at stationarity
#
# At stationarity, integration by parts under `exp(−U/D)` gives `E[U'²] = D·E[U'']`, so
# `E[C] → E[U'']` (the mean curvature), a property of the landscape and D, not a universal constant.
# At finite `dt` the Euler–Maruyama chain's stationary law is slightly wider than Gibbs (for the OU process
# exactly `D/(k(1 − k·dt/2))`), so the simulated mean C sits a few per cent above `E[U'']`; the bias is O(dt).
#
# **Anchor rule.** The first-order Richardson extrapolation `(4·C̄(dt/4) − C̄(dt))/3` of the late-time mean C
# equals the Gibbs `E[U'']` (quadrature) within ±3 % (relative TOST; standard errors over particles),
# both keys (`E.richardson_outcome`).

# %% tags=[]
cp, cp_rep = both(E.consolidation_along_paths, 4, potential=well, D=D_C, dt=dt, n_steps=C_steps,
                  n_particles=n_C, save_every=10)
cp4, cp4_rep = both(E.consolidation_along_paths, 5, potential=well, D=D_C, dt=dt / 4, n_steps=4 * C_steps,
                    n_particles=n_C, save_every=40)
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for i in range(3):
    ax.plot(cp["times"][1:], cp["C"][1:, i], lw=0.4, alpha=0.6)
ax.plot(cp["times"][1:], cp["C"][1:].mean(axis=1), "k", lw=1.5, label="ensemble mean")
ax.axhline(cp["gibbs_EC"], color="C3", ls="--", label="Gibbs E[U''] (exact)")
ax.axhline(1.0, color="grey", ls=":", label="seed's 'critical' C = 1")
ax.set(yscale="log", ylim=(1e-4, 1e3), xlabel="time t (SDE units)", ylabel="C(t) = U'(x)²/D (dimensionless)",
       title=f"consolidation ratio, D = {D_C}")
ax.legend(fontsize="small")
plotting.savefig(fig, "01_consolidation")
plt.show()


def late_mean(c):
    late = c["C"][len(c["C"]) // 2:].mean(axis=0)
    return late.mean(), late.std(ddof=1) / np.sqrt(late.size)


rich = [E.richardson_outcome(*late_mean(a), *late_mean(b4), cp["gibbs_EC"]) for a, b4 in ((cp, cp4), (cp_rep, cp4_rep))]
print(f"late-time mean C at dt = {dt:g}: {late_mean(cp)[0]:.3f} ± {late_mean(cp)[1]:.3f};  at dt/4: "
      f"{late_mean(cp4)[0]:.3f} ± {late_mean(cp4)[1]:.3f};  extrapolated: {rich[0].measured:.3f} ± {rich[0].spread:.3f} "
      f"(replicate {rich[1].measured:.3f});  Gibbs E[U''] = {cp['gibbs_EC']:.3f}")
rows.append(claims.judge(
    "C-stationary-mean", seed_file=SEED, kind=claims.ANCHOR, random=True,
    claim="Ground truth: at stationarity E[C] = E[U''] (integration by parts under exp(−U/D))",
    unit="mean C, Richardson-extrapolated to dt → 0", rule="relative TOST ±3 % against the Gibbs E[U''] (quadrature)",
    readings=[claims.reading(f"D = {D_C:g}, dt = {dt:g} and {dt/4:g}", *rich)],
    reason=f"E[U''] = {cp['gibbs_EC']:.3f} at D = {D_C}: C settles at the mean curvature, not at 1"))

# %% [markdown] tags=[]
# ## 5 · Is C ≈ 1 where transitions happen?
#
# **Reading 1 (analytic).** A barrier crossing happens at the barrier top, where `∇U = 0`: `C = 0` exactly there,
# and `C ≈ U''(saddle)²·x²/D = 16x²/D` near it (`32x²` at D = 0.5), so `C < 0.5` within `|x| < √(D/2)/4`.
# Rule: C at the crossing state within a factor 2 of 1 (`E.analytic_saddle_outcome`, deterministic).
#
# **Reading 2 (the steelman: C(t) before crossings).** Perhaps the seed means that C(t) *along a trajectory*
# is near 1 in the run-up to a transition. We simulate stationary paths, mark every well-to-well transition
# (a reactive segment from the last visit of one minimum to the first visit of the other) at its first frame
# beyond the saddle, and average C over a window of τ before each crossing (event-triggered average,
# `E.event_triggered_C`). Rule, for each D ∈ `cross_D` and τ ∈ `windows` (time units): the mean of the
# per-event window means is within a factor 2 of 1 — TOST on `ln C̄` with margin ln 2, 90 % interval
# (`E.near_one_outcome`), both keys. Stated before the run; τ = 0.1 is about the well's relaxation time
# 1/U''(min) = 0.125, τ = 1 is ten of them.

# %% tags=[]
cross = {}
for j, (Dc, T) in enumerate(zip(cross_D, cross_time)):
    p, p_rep = both(E.crossing_paths, 10 + j, potential=well, D=Dc, dt=dt, n_steps=int(round(T / dt)),
                    n_particles=n_cross, save_every=cross_save)
    wf = [int(round(w / p["dt_frame"])) for w in windows]
    prof = int(round(2.0 / p["dt_frame"]))
    cross[Dc] = [E.event_triggered_C(q["x"], well, Dc, windows=wf, profile=prof) for q in (p, p_rep)]
    cross[Dc].append((wf, p["dt_frame"]))
fig, ax = plt.subplots(figsize=(6.4, 3.8))
for Dc, (ev, ev_rep, (wf, dfr)) in cross.items():
    ax.plot(ev["profile_offsets"] * dfr, ev["profile"], label=f"D = {Dc:g} ({ev['crossings']} crossings)")
ax.axhline(1.0, color="grey", ls=":", label="seed's 'critical' C = 1")
for w in windows:
    ax.axvline(-w, color="k", lw=0.6, ls="--")
ax.set(yscale="log", xlabel="time relative to the barrier crossing (SDE units)",
       ylabel="event-triggered mean C (dimensionless)", title="C(t) around well-to-well transitions")
ax.legend(fontsize="small")
plotting.savefig(fig, "01_crossing_C")
plt.show()
for Dc, (ev, ev_rep, (wf, dfr)) in cross.items():
    for w, f in zip(windows, wf):
        print(f"D = {Dc:g}, τ = {w:g}: window-mean C = {ev['window_means'][f].mean():.3f} "
              f"(replicate {ev_rep['window_means'][f].mean():.3f}) over {ev['window_means'][f].size} crossings")

# %% tags=[]
rows.append(claims.judge(
    "C-critical", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE,
    claim="C ≈ 1 is critical: transitions (barrier crossings) occur near C ≈ 1",
    unit="C at the barrier top", rule="C at the crossing state within a factor 2 of 1 (deterministic)",
    readings=[claims.reading(f"analytic, C(x_saddle), D = {D_C:g}", E.analytic_saddle_outcome(well, D_C))],
    reason=f"∇U vanishes at the saddle, so C → 0 where crossings happen; stationary E[C] = E[U''] = "
           f"{cp['gibbs_EC']:.2f} at D = {D_C}. The steelman (C(t) before crossings) is row C-before-crossing"))
rows.append(claims.judge(
    "C-before-crossing", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True,
    claim="Steelman of C-critical: along a trajectory, C(t) is ≈ 1 in the run-up to a barrier crossing",
    unit="event-triggered mean C over τ before a crossing",
    rule="C̄ within a factor 2 of 1: TOST on ln C̄, margin ln 2, 90 % interval, per D and window τ",
    readings=[claims.reading(f"D = {Dc:g}, τ = {w:g}", E.near_one_outcome(ev["window_means"][f]),
                             E.near_one_outcome(ev_rep["window_means"][f]))
              for Dc, (ev, ev_rep, (wf, dfr)) in cross.items() for w, f in zip(windows, wf)],
    reason="C sits at ≈ E[U''] until the last ~0.2 time units and falls to ≈ 0 at the top; a window mean "
           "therefore depends on τ, and C also passes through 1 at every visit of a well bottom"))

# %% [markdown] tags=[]
# ## 6 · The seed's intervention: boost D when C < 0.5
#
# Runs start in the **shallow** (right) well of the tilted potential and count as escaped when they reach the
# deep minimum. The seed fixes neither D nor the time step, and its boost can be read three ways; every
# combination is a reading:
#
# * **dt** ∈ `escape_dts`: "5000 steps" and "100 steps" are 50 and 1 time units at dt = 0.01 (the seed's `lr`),
#   500 and 10 at dt = 0.1.
# * **D** ∈ `escape_Ds` (ΔU_shallow/D is printed).
# * **boost**: "×10 while C < 0.5" (memoryless: D is ×10 on every step with C < 0.5); "once C < 0.5, D ×10" (as the
#   text states: the boost, once on, stays); "×10 for 10 steps after step 50" (what the seed's code intends;
#   its restore test never fires, see below). "Within 100 steps" counts from the step the boost can first start.
#   At dt = 0.1 the boosted explicit step is unstable far out (`dt·U''(x) > 2`): a run that overflows to NaN/inf
#   counts as neither escaped nor stuck (the counts are printed).
#
# **Rules (one grid, both rows).** *Baseline premise*: at each (dt, D), "≥ 90 % stuck for 5000 steps" by the
# exact binomial test (90 % Clopper–Pearson interval: pass iff its lower end ≥ 0.9, fail iff its upper end < 0.9).
# *Intervention*: at each (dt, D) where the premise reading passes, and for each boost, "≥ 95 % escape within
# 100 steps" by the same exact test; at settings where the premise does not hold the seed's experiment is not
# the one described, and the reading is untestable there. Both keys (`E.escape_readings`).

# %% tags=[]
grid, grid_rep = both(E.escape_grid, 7, potential=tilted, dts=escape_dts, Ds=escape_Ds, n_runs=n_runs)
dUs = grid["dU"]
fig, axs = plt.subplots(1, len(escape_dts), figsize=(6 * len(escape_dts), 3.8), sharey=True, squeeze=False)
for i, (ax, dti) in enumerate(zip(axs[0], escape_dts)):
    n = grid["n_runs"]
    f = grid["stuck"][i] / n
    ci = np.array([stats.clopper_pearson(int(k), n) for k in grid["stuck"][i]])
    ax.errorbar(escape_Ds, f, yerr=[f - ci[:, 0], ci[:, 1] - f], fmt="ko-", label="no boost: stuck 5000 steps")
    for m, var in enumerate(grid["variants"]):
        f = grid["escaped"][i, :, m] / n
        ci = np.array([stats.clopper_pearson(int(k), n) for k in grid["escaped"][i, :, m]])
        ax.errorbar(escape_Ds, f, yerr=[f - ci[:, 0], ci[:, 1] - f], fmt="o--", label=f"{var}: escaped ≤ 100 steps")
    ax.axhline(0.9, color="grey", lw=0.7, ls=":")
    ax.axhline(0.95, color="grey", lw=0.7, ls="-.")
    ax.set(xscale="log", xlabel="D (noise level, a.u.)", ylabel="fraction of runs" if i == 0 else None,
           title=f"dt = {dti:g} (5000 steps = {5000*dti:g}, 100 steps = {100*dti:g} time units)", ylim=(-0.02, 1.02))
axs[0][0].legend(fontsize="x-small", loc="center left")
plotting.savefig(fig, "01_intervention")
plt.show()
print(f"ΔU_shallow = {dUs:.3f}")
for i, dti in enumerate(escape_dts):
    for j, Dj in enumerate(escape_Ds):
        e = ", ".join(f"{grid['escaped'][i, j, m] / n:.3f}" for m in range(len(grid["variants"])))
        er = ", ".join(f"{grid_rep['escaped'][i, j, m] / n:.3f}" for m in range(len(grid["variants"])))
        dv = ", ".join(f"{grid['diverged'][i, j, m]}" for m in range(len(grid["variants"])))
        print(f"dt = {dti:5g} D = {Dj:6g} (ΔU/D = {dUs/Dj:5.1f}): stuck {grid['stuck'][i, j] / n:.3f} "
              f"(rep {grid_rep['stuck'][i, j] / n:.3f});  escaped ≤ 100 steps [{e}] (rep [{er}]);"
              f"  overflowed runs: baseline {grid['base_diverged'][i, j]}, boosts [{dv}]")

# %% tags=[]
base_r, inter_r = E.escape_readings(grid, grid_rep)
rows.append(claims.judge(
    "escape-baseline", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True,
    claim="Without intervention: stuck for 5000+ steps in 90 % of runs", unit="fraction stuck for 5000 steps",
    rule="exact binomial test of p ≥ 0.9 (90 % Clopper–Pearson) at every (dt, D) of the grid", readings=base_r,
    reason=f"tilted well, ΔU_shallow = {dUs:.2f}, {n_runs} runs per setting; holds only where ΔU/D is large "
           f"enough for the step size"))
rows.append(claims.judge(
    "escape-intervention", seed_file=SEED, kind=claims.SEED_SUBSTANTIVE, random=True,
    claim="With intervention (D ×10 at C < 0.5): escapes within 100 steps in 95 % of runs",
    unit="fraction escaped within 100 steps of the boost",
    rule="exact binomial test of p ≥ 0.95 at every (dt, D) where the baseline premise passes, for each boost reading",
    readings=inter_r,
    reason="100 steps are 1 time unit at dt = 0.01, too short to cross even with D ×10; 10 time units at dt = 0.1"))

# %% [markdown] tags=[]
# **The seed's own code** compounds the boost (`self.D *= 5.0` on every step with C < 0.5 after step 50) and its
# restore test compares the step with itself, so D is never restored; the explicit Euler step then overflows.
# Rule (seed-consistency, deterministic on each run set): the median final D equals the initial D. Two run sets
# with independent numpy seeds.

# %% tags=[]
sc, sc_rep = (cache.memoize(E.seed_code_intervention)(tilted, D=escape_Ds[1], dt=dt, n_runs=n_seed_code_runs,
                                                      n_steps=5000, seed=s) for s in (seed, 1000 + replicate_seed))
print(f"seed's own code, D = {escape_Ds[1]}: final D / initial D median {np.median(sc['final_D'])/escape_Ds[1]:.3g} "
      f"(replicate {np.median(sc_rep['final_D'])/escape_Ds[1]:.3g}), runs overflowing to NaN/inf "
      f"{sc['overflow'].mean():.2f}, boosts per run {np.median(sc['n_boosts']):.0f}")
rows.append(claims.judge(
    "escape-code-restore", seed_file=SEED, kind=claims.SEED_CONSISTENCY, random=True,
    claim="Reference code: 'temporarily boost exploration ... restore after brief boost'",
    unit="final D / initial D (median over runs)", rule="D restored: median final D / initial D = 1",
    readings=[claims.reading("the seed's train(adaptive_noise=True), lr = dt",
                             E.restore_outcome(sc["final_D"], escape_Ds[1]),
                             E.restore_outcome(sc_rep["final_D"], escape_Ds[1]))],
    reason=f"the restore test compares the step with itself; D compounds ×5, {sc['overflow'].mean():.0%} of runs overflow"))

# %% [markdown] tags=[]
# ## Claims ledger rows

# %% tags=[]
path = claims.write("01", rows)
lines = ["| id | kind | verdict | readings |", "|---|---|---|---|"]
for r in rows:
    rs = "; ".join(f"{x.name}: {x.outcome}" for x in r.readings)
    lines.append(f"| {r.id} | {r.kind} | **{r.verdict}** | {rs} |")
display(Markdown("\n".join(lines)))
for r in rows:
    m = "–" if r.measured is None else f"{r.measured:.4g}"
    print(f"{r.id:22s} {r.kind:17s} {r.verdict:18s} measured {m:>9s}  ({r.unit})")

# %% [markdown] tags=[]
# ## Verdict
#
# * **Theorem 3 (Gibbs)** holds: the ensemble matches `exp(−U/D)/Z` to within sampling noise (both keys).
# * **Theorem 2** has the wrong prefactor under both readings of ω₀ — √2× the true rate with ω₀ = U'' (1.495× exact
#   at ΔU/D = 8, limit 1.416), ½× with ω₀ = √U'' — judged where the same ±10 % rules accept the correct Kramers rate
#   (1.057× exact at ΔU/D = 8, limit 1.001; long simulation 1.00–1.05). The Arrhenius exponent is right. Use
#   `sj.kramers_rate` (overdamped Kramers) and, for any D, `sj.exact_mfpt`.
# * **C(t)** settles at the mean curvature `E[U'']`, not at 1 (the Richardson-extrapolated simulation reproduces the
#   Gibbs value), and is 0 exactly where barrier crossings happen. Along trajectories C stays near `E[U'']` until
#   about 0.3 time units before a crossing and then falls through 1 to ≈ 0 at the top: averaged over the 0.1 time
#   units before a crossing it is 2.0–2.8, over 1 time unit 5.5–6.5. Only one reading sits on the factor-2 edge
#   (D = 0.5, τ = 0.1: 2.01 and 2.04), so the steelman row is inconclusive by the protocol while every other reading fails.
# * **The escape claims** depend on the unspecified time step and D, consistently in both rows: the premise "90 %
#   stuck for 5000 steps" holds for ΔU/D ≳ 7.6 at dt = 0.01 and ≳ 10 at dt = 0.1 and fails above those noise levels.
#   Where it holds, "95 % escape within 100 steps" holds in one reading only — dt = 0.1, D = 0.075, with the boost
#   read as "once C < 0.5, D ×10" (97.9 %, replicate 97.8 %) — and fails in the other 14 (at dt = 0.01 the best is
#   19 %: 100 steps are one time unit). The seed's own code never restores D and blows up. `sj.Boost` is the
#   corrected, bounded intervention.
#
# The printed tables above carry the numbers; `figures/CLAIMS.md` carries the verdicts.
