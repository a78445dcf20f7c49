# %% [markdown] tags=[]
# # 08 · Learning rate, batch size and the diffusion coefficient of SGD
#
# **Question.** Seed 002 gives practitioners rules derived from its Langevin picture of SGD. We test them on a real
# minibatch problem small enough to run in minutes: scikit-learn's bundled 8×8 digits (1797 images, fixed split, no
# download) and a 64–64–10 tanh MLP with weight decay, trained by SGD with minibatches drawn *with replacement*
# (so the minibatch noise covariance is exactly `Σ/B`, `Σ` the per-example gradient covariance). Claims under test:
#
# * **Learning-rate formula**: `α_opt ≈ 2D/λ_max` with `λ_max` from power iteration and `D ≈ Var[g]/2`; on ImageNet it
#   is said to land within 5.4 % of a grid search at −0.1 % accuracy and 1000× less compute.
# * **`D_eff ≈ α²·σ²/B`** and the rule **"α ∝ √B (linear scaling)" maintains constant `D_eff`** across batch sizes.
# * **Batch size**: small batches find flatter minima and generalise better.
# * **Adaptive learning rate**: `C < 0.5 → lr ×1.5`, `C > 20 → lr ×0.7`.
# * **Estimating D**: method 1 `D ≈ Var[g]/2` (minibatch gradients), method 2 `D ≈ Var[θ]/T` (trajectory).
#
# **Theory used beside the measurements.** SGD `θ ← θ − α·g_B` is the Euler–Maruyama chain of
# `dθ = −∇ℒ dt + √(2D) dW` with `dt = α` and `D = α·σ²/(2B)` (`σ² = tr Σ/d`): one step adds noise of variance
# `α²σ²/B = 2D·dt` per coordinate, which is the seed's `D_eff` (a per-*step* quantity). Near a minimum with Hessian `H`
# the stationary excess loss is `½ tr(H·Cov θ) = ½ tr(αΣ/(2B))`, i.e. `α·d·σ²/(4B)`, whatever `H` is. So the
# temperature is set by `α/B` (the linear scaling rule of Goyal et al. 2017), not by `α²/B`.

# %% tags=["parameters"]
quick = False
seed = 0
wd = 1e-3
sizes = (64, 64, 10)
iters = 30                # power-iteration steps for λ_max
# A: learning-rate formula vs grid search
grid = [0.01, 0.0226, 0.051, 0.115, 0.26, 0.59, 1.33, 3.0]
B_A = 32
steps_A = 2000
seeds_A = 4
# a minimum θ* for the stationary experiments
adam_steps = 1500
gd_steps = 1000
# B: lr–batch rules at equal SDE time α·steps
base_lr = 0.2
base_B = 32
batches_B = [8, 32, 128]
sde_time = 40.0
n_chains = 8
# C: batch-size effects at one lr
lr_C = 0.3
batches_C = [8, 32, 128, 512]
steps_C = 2000
seeds_C = 6
batches_C_epochs = [8, 512]   # same-epochs reading: only the two ends enter the ledger
# D: adaptive rule vs constant vs cosine
lr_D = 0.3
B_D = 32
steps_D = 3000
seeds_D = 4
every_D = 100
# E: all D estimators on one run from θ*
lr_E = 0.2
B_E = 32
steps_E = 400
chains_E = 8
# replicate: every measurement again from an independent master seed (init, minibatch order, noise)
replicate = True
rep_seed = 1000

# %% tags=[]
import jax
import matplotlib.pyplot as plt
import numpy as np

from shld_jax import cache, claims, plotting
from shld_jax.experiments import lr_batch as E

plotting.use_style()
keys = iter(jax.random.split(jax.random.key(seed), 16))
SEED = "002_fce6d19739f26158.txt"
rows = []
data = E.load_digits_data()
print(f"digits: {data.x_train.shape[0]} train / {data.x_test.shape[0]} test images; "
      f"MLP {sizes}: d = {sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))} parameters")

# %% [markdown] tags=[]
# ## The learning-rate formula against the stability limit and a grid search
#
# Following the seed's procedure, `λ_max` (power iteration on Hessian-vector products) and `D = Var[g]/2` are measured at
# the initialisation. The seed leaves `Var[g]` open; three readings: the per-coordinate variance of sampled minibatch
# gradients (its method 1), of per-example gradients (`B = 1`), and the total variance `tr Cov[g_B]` (a vector's variance
# read as one number); the formula's `α` and the
# classical stability limit `2/λ_max` then train beside every grid point, on the same initialisations and batch
# orders. Final metrics are means over seeds; runs that diverged are counted and left out.

# %% tags=[]
A = cache.memoize(E.lr_comparison)(data, key=next(keys), grid=grid, batch_size=B_A, n_steps=steps_A, n_seeds=seeds_A, wd=wd,
                    sizes=sizes, iters=iters)
acc = np.nanmean(A["test_acc"], 1)
acc_se = np.nanstd(A["test_acc"], 1, ddof=1) / np.sqrt(seeds_A)
ce = np.nanmean(A["train_ce"], 1)
n_grid = A["n_grid"]
ok = np.isfinite(acc[:n_grid])
i_best = int(np.nanargmax(np.where(ok, acc[:n_grid], -np.inf)))
a_grid = A["lrs"][i_best]
print(f"λ_max at init = {A['lam_max0']:.4f};  σ² (per-example) = {A['sigma2']:.3e};  Var[g_B] = {A['var_minibatch']:.3e} "
      f"(σ²/B = {A['sigma2']/B_A:.3e});  seed D = Var[g_B]/2 = {A['seed_D']:.3e}")
for k_, a_ in A["alpha_seed"].items():
    print(f"α = 2D/λ_max with D = {k_}/2: {a_:.3e}")
print(f"2/λ_max = {A['alpha_stab']:.4f};  grid optimum α = {a_grid:.4g}")
print("      α        kind            test acc ± se      train CE   diverged")
for i, (a, k) in enumerate(zip(A["lrs"], A["kind"])):
    print(f"{a:10.4g}  {k:14s}  {acc[i]:.4f} ± {acc_se[i]:.4f}   {ce[i]:9.4f}   {int(A['diverged'][i].sum())}/{seeds_A}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
g = slice(0, n_grid)
fin = np.isfinite(acc[g])
axes[0].errorbar(A["lrs"][g][fin], acc[g][fin], yerr=2 * acc_se[g][fin], fmt="o-", label="grid")
axes[1].plot(A["lrs"][g][np.isfinite(ce[g])], ce[g][np.isfinite(ce[g])], "o-", label="grid")
for ax, y in ((axes[0], acc), (axes[1], ce)):
    for j, c in zip(range(n_grid, len(A["lrs"])), ("C3", "C1", "C4", "C2")):
        ax.axvline(A["lrs"][j], color=c, ls="--", label=A["kind"][j])
        if np.isfinite(y[j]):
            ax.plot(A["lrs"][j], y[j], "*", color=c, ms=12)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate α")
axes[0].set(ylabel="test accuracy", title=f"B = {B_A}, {steps_A} steps")
axes[1].set(ylabel="final train cross-entropy", yscale="log")
axes[0].legend(fontsize=7)
plotting.savefig(fig, "08_lr_formula")
plt.show()

# %% [markdown] tags=[]
# **Reading.** Read as the per-coordinate variance of minibatch gradients (the seed's method 1), `Var[g]/2` is a
# squared gradient, not a step size, and `2D/λ_max` lands four orders of magnitude below the useful range: the network
# barely trains; read per example (`B = 1`) it is still ~100× too small. Read as the *total* variance `tr Cov[g_B]`
# (summed over the 4810 coordinates), the same formula gives α ≈ 0.28, on the plateau of the grid (0.26–0.59 are all
# within a point of the best): a coincidence of scales for this network and batch size rather than a unit-consistent
# rule (`tr Cov[g_B]/λ_max` has units of gradient² × θ²/loss, not of a step), but an lr that trains. The classical
# stability limit `2/λ_max` from the same power iteration is also close to the optimum. The grid's argmax itself moves
# between 0.115, 0.26 and 0.59 across seed sets (a flat optimum), so the ledger compares with the near-optimal range.

# %% [markdown] tags=[]
# ## D_eff against batch size and learning rate: which rule keeps the noise constant?
#
# A minimum `θ*` of the regularised objective (Adam, then gradient descent at `1/λ_max`) is the starting point of
# `n_chains` SGD chains per setting. Two rules scale the learning rate with the batch size from `(α₀, B₀)`: the seed's
# `α ∝ √B` (which keeps `α²/B`, the seed's `D_eff`, fixed) and `α ∝ B` (which keeps `α/B`, the continuum `D`, fixed).
# All settings run the same SDE time `α·steps`. Measured: the stationary excess objective (second half of the run),
# against the prediction `α·d·σ²/(4B)` with `σ²` measured at `θ*`.

# %% tags=[]
mn = cache.memoize(E.find_minimum)(data, key=next(keys), wd=wd, sizes=sizes, adam_steps=adam_steps, gd_steps=gd_steps, iters=iters)
theta = mn["params"]
print(f"θ*: objective {mn['loss']:.5f}, ‖∇ℒ‖ = {mn['grad_norm']:.2e}, λ_max = {mn['lam_max']:.4f} (2/λ_max = {2/mn['lam_max']:.3f})")
S = cache.memoize(E.batch_scaling)(data, theta, key=next(keys), base_lr=base_lr, base_batch=base_B, batches=batches_B,
                    sde_time=sde_time, n_chains=n_chains, wd=wd)
print(f"σ² at θ* = {S['sigma2']:.3e}, d = {S['d']}")
print("rule     B     α     steps   excess ± se            predicted αdσ²/(4B)  ratio   msd/d per step   α²σ²/B (seed D_eff)")
for r in S["rows"]:
    print(f"{r['rule']:6s} {r['B']:4d} {r['lr']:6.3f} {r['steps']:6d}   {r['excess']:.3e} ± {r['excess_se']:.1e}   "
          f"{r['excess_pred']:.3e}            {r['excess']/r['excess_pred']:.3f}   {r['msd_per_coord']:.3e}        {r['seed_D_eff']:.3e}")
spread = {}
for rule in ("sqrt", "linear"):
    ex = np.array([r["excess"] for r in S["rows"] if r["rule"] == rule])
    spread[rule] = ex.max() / ex.min()
    print(f"{rule:6s}: max/min stationary excess over B = {spread[rule]:.3f}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for rule, mk in (("sqrt", "o"), ("linear", "s")):
    rr = [r for r in S["rows"] if r["rule"] == rule]
    lab = "α ∝ √B (seed)" if rule == "sqrt" else "α ∝ B (linear)"
    (ln,) = axes[0].plot([], [])
    axes[0].errorbar([r["B"] for r in rr], [r["excess"] for r in rr], yerr=[3 * r["excess_se"] for r in rr],
                     fmt=mk, color=ln.get_color(), label=lab + ": measured")
    axes[0].plot([r["B"] for r in rr], [r["excess_pred"] for r in rr], "--", color=ln.get_color(),
                 label=lab + ": α·d·σ²/(4B)")
    for r in rr:  # frame 0 (θ*, zero excess) is left out of the log plot
        axes[1].plot(r["t"][1:], r["curve"][1:], color=ln.get_color(), ls=["-", "--", ":", "-."][batches_B.index(r["B"]) % 4],
                     label=f"{lab}, B = {r['B']}")
axes[0].set(xscale="log", yscale="log", xlabel="batch size B", ylabel="stationary excess objective",
            title=f"from θ*, α₀ = {base_lr} at B₀ = {base_B}")
axes[0].legend(fontsize=7, loc="lower left")
axes[1].set(xlabel="SDE time α·steps", ylabel="excess objective (mean over chains)", yscale="log")
axes[1].legend(fontsize=7, ncol=2)
plotting.savefig(fig, "08_batch_scaling")
plt.show()

# %% [markdown] tags=[]
# **Reading.** Under `α ∝ B` the stationary excess loss stays close to `α·d·σ²/(4B)` and nearly constant across batch
# sizes; the largest step (where `α·λ_max` approaches 1, so discrete-time corrections of order `α·λ/2` are no longer
# small) sits above it. Under the seed's `α ∝ √B` it changes as `1/√B`, as predicted.
# The seed's `D_eff = α²σ²/B` is the variance of one step's noise, a real quantity, but the temperature of the
# stationary state is `D = α·σ²/(2B)`. The seed also mislabels `α ∝ √B` "linear scaling": linear scaling is `α ∝ B`
# (Goyal et al. 2017); `α ∝ √B` is square-root scaling (Krizhevsky 2014; Hoffer et al. 2017).

# %% [markdown] tags=[]
# ## Batch-size effects: sharpness and generalisation
#
# The same initialisations train at one learning rate for the same number of steps (so the same SDE time) with each
# batch size; sharpness is `λ_max` of the training objective at the end (power iteration).
# A second reading of "the same budget" trains every batch size for the same number of *epochs* (examples seen),
# so small batches take more steps.

# %% tags=[]
C = cache.memoize(E.batch_size_effects)(data, key=next(keys), lr=lr_C, batches=batches_C, n_steps=steps_C, n_seeds=seeds_C, wd=wd,
                         sizes=sizes, iters=iters)
C_ep = cache.memoize(E.batch_size_effects)(data, key=next(keys), lr=lr_C, batches=batches_C_epochs, n_steps=steps_C,
                                            n_seeds=seeds_C, wd=wd, sizes=sizes, iters=iters, budget="epochs")
se = lambda a: a.std(1, ddof=1) / np.sqrt(a.shape[1])
print("   B   λ_max ± se        test acc ± se      train CE   test CE")
for i, B in enumerate(C["batches"]):
    print(f"{B:4d}   {C['lam_max'][i].mean():.4f} ± {se(C['lam_max'])[i]:.4f}   {C['test_acc'][i].mean():.4f} ± "
          f"{se(C['test_acc'])[i]:.4f}   {C['train_ce'][i].mean():.4f}   {C['test_ce'][i].mean():.4f}")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
axes[0].errorbar(C["batches"], C["lam_max"].mean(1), yerr=2 * se(C["lam_max"]), fmt="o-")
axes[0].axhline(C["stability"], color="k", ls=":", label="2/α")
axes[0].set(xscale="log", xlabel="batch size B", ylabel="final λ_max (sharpness)", title=f"α = {lr_C}, {steps_C} steps")
axes[0].legend()
axes[1].errorbar(C["batches"], C["test_acc"].mean(1), yerr=2 * se(C["test_acc"]), fmt="o-", label="test")
axes[1].set(xscale="log", xlabel="batch size B", ylabel="test accuracy")
plotting.savefig(fig, "08_batch_size_effects")
plt.show()
d_flat = C["lam_max"][-1] - C["lam_max"][0]      # paired: same initialisations
d_gen = C["test_acc"][0] - C["test_acc"][-1]
print(f"same steps, paired over {seeds_C} seeds: λ_max(B={C['batches'][-1]}) − λ_max(B={C['batches'][0]}) = {d_flat.mean():.4f} ± "
      f"{d_flat.std(ddof=1) / np.sqrt(seeds_C):.4f};  test acc(B={C['batches'][0]}) − test acc(B={C['batches'][-1]}) = "
      f"{d_gen.mean():.4f} ± {d_gen.std(ddof=1) / np.sqrt(seeds_C):.4f}")
print("same number of epochs (steps", C_ep["steps"].tolist(), "):")
for i, B in enumerate(C_ep["batches"]):
    print(f"{B:4d}   λ_max {C_ep['lam_max'][i].mean():.4f} ± {se(C_ep['lam_max'])[i]:.4f}   test acc {C_ep['test_acc'][i].mean():.4f} ± "
          f"{se(C_ep['test_acc'])[i]:.4f}")

# %% [markdown] tags=[]
# **Reading.** At a fixed learning rate, more noise (small `B`) ends in flatter regions under both budgets, as the
# Langevin picture suggests (a larger `D` weights wide basins more). Whether that buys test accuracy depends on the
# budget: at the same number of steps (same SDE time) `B = 8` is *worse* than `B = 512` by about half a point; at the same
# number of epochs `B = 512` gets only 120 steps, is under-trained and sharp, and `B = 8` wins by about a point. The
# sharpness–generalisation link the seed takes for granted is a statement about the budget, not about the batch.

# %% [markdown] tags=[]
# ## The adaptive rule by C thresholds against constant and cosine schedules
#
# The rule is `sj.consolidation_lr_rule` (an optax `GradientTransformationExtraArgs`) acting every
# `every_D` steps on `C = ‖g_B‖²/(D·d)`. It needs `D`; following the seed's method 1 we pass `D = Var[g_B]/2`
# estimated from the per-example gradients of the current minibatch (`C rule, D per step`), or once on the first
# minibatch (`C rule, D fixed`). Since `E‖g_B‖² = ‖∇ℒ‖² + d·σ²/B`, the per-step choice gives `C ≥ 2` in expectation. The steelman feeds the
# continuum SGD diffusion `D = α·σ²/(2B)` at the rule's current learning rate (`C rule, D = ασ²/(2B)`).

# %% tags=[]
Dres = cache.memoize(E.adaptive_lr_comparison)(data, key=next(keys), lr=lr_D, batch_size=B_D, n_steps=steps_D, n_seeds=seeds_D,
                                wd=wd, every=every_D, sizes=sizes)
names = {"constant": "constant", "cosine": "cosine", "consolidation": "C rule, D per step",
         "consolidation_fixed": "C rule, D fixed", "consolidation_sgd": "C rule, D = ασ²/(2B)"}
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
fired = {}
for k, lab in names.items():
    r = Dres[k]
    (ln,) = axes[0].plot(Dres["steps"], np.median(r["curve"], 0), label=lab)
    if k.startswith("consolidation"):
        axes[1].plot(Dres["steps"], np.median(r["lr"], 0), color=ln.get_color(), label=lab)
        axes[2].plot(Dres["steps"], np.median(r["C"], 0), color=ln.get_color(), label=lab)
        fired[k] = int(np.sum(np.abs(r["lr"] - lr_D) > 1e-6 * lr_D))
axes[0].set(yscale="log", xlabel="step", ylabel="train objective (median over seeds)")
axes[0].legend(fontsize=8)
axes[1].axhline(2 / mn["lam_max"], color="k", ls=":", label="2/λ_max at θ*")
axes[1].set(yscale="log", xlabel="step", ylabel="learning rate")
axes[1].legend(fontsize=8)
for y in (0.5, 20.0):
    axes[2].axhline(y, color="k", ls=":")
axes[2].set(yscale="log", xlabel="step", ylabel="median C in the last block")
plotting.savefig(fig, "08_adaptive_lr")
plt.show()
print("schedule               test acc ± se        train CE")
for k, lab in names.items():
    a = Dres[k]["test_acc"]
    print(f"{lab:20s}  {a.mean():.4f} ± {a.std(ddof=1)/np.sqrt(a.size):.4f}   {Dres[k]['train_ce'].mean():.4f}")
print("frames (of runs × frames) where the rule's lr differs from the initial lr:", fired)

# %% [markdown] tags=[]
# **Reading.** With `D` re-estimated from the minibatch, `C` hovers near its noise value and the thresholds are
# never crossed, so the rule reduces to a constant learning rate. With `D` frozen at its initial value, `C` falls below
# 0.5 as the gradient noise shrinks during training and the rule keeps multiplying the learning rate, past the stability
# limit, until `C > 20` pulls it back: an oscillating, harmful schedule. With the continuum SGD `D = α·σ²/(2B)`,
# `C ≥ 2/α` never drops below 0.5; where `C > 20` the rule cuts the lr (the printed frame counts), and the runs end
# indistinguishable from the constant lr. The thresholds have no scale-free meaning (notebook 02: stationary `C` is the mean curvature).

# %% [markdown] tags=[]
# ## Both D estimators on the same run
#
# `chains_E` SGD chains from `θ*` at `(α, B) = (lr_E, B_E)`; the full-batch gradient is stored at every step. Estimators: the
# seed's method 1 (`Var[g_B]/2`) and method 2 (`Var[θ]/T`, `T` in steps as written), the seed's `D_eff = α²σ²/B`,
# the continuum `α·σ²/(2B)`, the one-step increment estimator `⟨‖Δθ‖²⟩/(2α·d)` (with and without removing the drift
# `α∇ℒ`), and the stationary (virial) estimator `Σᵢ Cov(θᵢ, ∂ᵢℒ)/d` over the second half of the run.

# %% tags=[]
Est = cache.memoize(E.d_estimators_same_run)(data, theta, key=next(keys), lr=lr_E, batch_size=B_E, n_steps=steps_E, wd=wd,
                                      n_chains=chains_E)
labels = {"seed_method1": "seed method 1: Var[g]/2", "seed_method2": "seed method 2: Var[θ]/T",
          "seed_method2_time": "method 2, T = α·steps",
          "seed_D_eff": "seed D_eff = α²σ²/B", "sgd_D": "continuum ασ²/(2B)",
          "increments": "increments ‖Δθ‖²/(2αd)", "increments_drift": "increments, drift removed",
          "virial": "virial Cov(θ, ∇ℒ)/d"}
for k, lab in labels.items():
    print(f"{lab:30s} {Est[k].mean():.3e} ± {Est[k].std(ddof=1) / np.sqrt(chains_E):.1e}   "
          f"(/ continuum: {np.mean(Est[k] / Est['sgd_D']):.3g})")
fig, ax = plt.subplots(figsize=(7, 3.6))
ax.barh(list(labels.values()), [Est[k].mean() for k in labels], color=["C3", "C3", "C3", "C3", "C0", "C2", "C2", "C2"])
ax.set(xscale="log", xlabel="D estimate", title=f"SGD from θ*: α = {lr_E}, B = {B_E}, {steps_E} steps, mean of {chains_E} chains")
ax.invert_yaxis()
plotting.savefig(fig, "08_d_estimators")
plt.show()

# %% [markdown] tags=[]
# **Reading.** The trajectory-based estimators that account for the step (increments, virial) agree with the
# continuum `α·σ²/(2B)` computed from the gradient noise: the two routes to `D` meet once the units are right. The
# seed's two methods as written do not agree with each other or with anything: method 1 has no `α` (it is a squared
# gradient, ×α it is the continuum `D`), method 2 divides a saturated variance by the run length, so it falls as `1/T`
# whether `T` counts steps or SDE time; from one-step increments it is the increment estimator.

# %% [markdown] tags=[]
# ## Replicate
#
# Every measurement again from an independent master seed (`rep_seed`): other initialisations (θ* included), other
# minibatch orders, other power-iteration starts. The digits split is part of the problem and stays fixed. A reading
# whose outcome differs between the two is inconclusive (unstable). Quick mode skips it (`replicate: False`).

# %% tags=[]
REP = bool(replicate)
if REP:
    rkeys = iter(jax.random.split(jax.random.key(rep_seed), 16))
    A_r = cache.memoize(E.lr_comparison)(data, key=next(rkeys), grid=grid, batch_size=B_A, n_steps=steps_A, n_seeds=seeds_A,
                                         wd=wd, sizes=sizes, iters=iters)
    mn_r = cache.memoize(E.find_minimum)(data, key=next(rkeys), wd=wd, sizes=sizes, adam_steps=adam_steps, gd_steps=gd_steps,
                                         iters=iters)
    S_r = cache.memoize(E.batch_scaling)(data, mn_r["params"], key=next(rkeys), base_lr=base_lr, base_batch=base_B,
                                         batches=batches_B, sde_time=sde_time, n_chains=n_chains, wd=wd)
    k_ = next(rkeys)
    C_r = cache.memoize(E.batch_size_effects)(data, key=k_, lr=lr_C, batches=batches_C_epochs, n_steps=steps_C,
                                              n_seeds=seeds_C, wd=wd, sizes=sizes, iters=iters)
    C_ep_r = cache.memoize(E.batch_size_effects)(data, key=k_, lr=lr_C, batches=batches_C_epochs, n_steps=steps_C,
                                                 n_seeds=seeds_C, wd=wd, sizes=sizes, iters=iters, budget="epochs")
    D_r = cache.memoize(E.adaptive_lr_comparison)(data, key=next(rkeys), lr=lr_D, batch_size=B_D, n_steps=steps_D,
                                                  n_seeds=seeds_D, wd=wd, every=every_D, sizes=sizes)
    Est_r = cache.memoize(E.d_estimators_same_run)(data, mn_r["params"], key=next(rkeys), lr=lr_E, batch_size=B_E,
                                                   n_steps=steps_E, wd=wd, n_chains=chains_E)
    print(f"replicate (seed {rep_seed}): θ* objective {mn_r['loss']:.5f}, λ_max {mn_r['lam_max']:.4f}")
else:
    print("replicate skipped (replicate = False: quick mode)")

# %% [markdown] tags=[]
# ## Claims ledger
#
# Rules, stated before the data (`shld_jax.stats`; two-sided 90 % intervals, one-sided α = 0.05; a failure to reject is
# inconclusive, never refuted). Every seed claim here is *seed-substantive*.
#
# * **`α_opt ≈ 2D/λ_max`**: the formula's α within a factor 2 of the grid optimum (deterministic) *and* its per-seed test
#   accuracy difference to the grid optimum with lower t bound ≥ −1 point (fail: upper bound below −1 point).
#   Readings: the three readings of `Var[g]` above. *Revised after the first full run:* the grid optimum is the
#   near-optimal range (grid points within 1 point of the best by the same bound), because the argmax of a flat grid
#   moved between 0.115, 0.26 and 0.59 with the seed set and a ratio to it decided nothing.
# * **`D_eff ≈ α²σ²/B`**: TOST on the mean log ratio over chains within ±log 1.25. Readings: `D_eff` as the per-step
#   noise variance (`2D·dt`, from drift-removed increments) or as the diffusion coefficient (virial estimator).
# * **`α ∝ √B` keeps `D_eff` constant**: TOST on the log–log slope against B (chains give its s.e.), within a change of
#   ±25 % over the B range. Readings: `D_eff` as the per-step noise, or as the temperature (stationary excess loss).
# * **Small batches are flatter / generalise better**: paired t over seeds (same initialisations), `B = 8` vs
#   `B = 512`; flatter passes iff `λ_max(512) − λ_max(8)` is significantly > 0; "generalises better" fails only if a gain
#   of half a point of test accuracy is ruled out. Readings: same steps, or same epochs.
# * **Adaptive C rule improves training**: paired t against the constant lr it starts from; test accuracy (a gain of
#   half a point ruled out → fail) and final train objective (a 10 % reduction ruled out → fail). Readings: the three
#   ways to feed D.
# * **Two D estimators agree**: TOST on the mean log ratio over chains within ±log 2. As written (T in steps or in SDE
#   time); and the steelman row with each method's unit fixed.

# %% tags=[]
common = dict(seed_file=SEED, notebook="08", kind=claims.SEED_SUBSTANTIVE)
P = E.lr_readings(A, S, C, C_ep, Dres, Est)
R = E.lr_readings(A_r, S_r, C_r, C_ep_r, D_r, Est_r) if REP else {}


def readings(row):
    return [claims.reading(name, P[(r_, name)], R.get((r_, name))) for (r_, name) in P if r_ == row]


rows = [
    claims.judge("08-alpha-opt-formula", **common, random=True, readings=readings("alpha-opt"),
        claim="α_opt ≈ 2D/λ_max (D ≈ Var[g]/2, λ_max by power iteration) is close to the grid-search optimum (5.4 %, −0.1 % accuracy)",
        unit="binding test: α/α_grid, or test-accuracy difference to the grid optimum",
        rule="α within ×2 of the near-optimal grid range and accuracy within 1 point of the best (one-sided t over seeds)",
        reason=f"B = {B_A}, {steps_A} steps, {seeds_A} seeds; the classical 2/λ_max gives test acc {acc[-1]:.3f} at α = {A['alpha_stab']:.3g}"),
    claims.judge("08-alpha-opt-1000x", **common, claim="SHLD formula: 1000× cheaper than grid search on ImageNet/ResNet-50",
        unit="", rule="needs ImageNet-scale runs",
        reason=f"not testable at our scale; here the formula costs {A['cost_formula']:.2e} per-example gradients vs "
               f"{A['cost_grid']:.2e} for the grid ({A['cost_grid']/A['cost_formula']:.0f}×)"),
    claims.judge("08-D-eff-per-step", **common, random=True, readings=readings("D-eff"), claim="D_eff ≈ α²·σ²/B",
        unit="mean log(measured / (α²σ²/B)) over chains", rule="TOST within ±log 1.25",
        reason=f"{chains_E} chains from θ*, α = {lr_E}, B = {B_E}; the continuum SDE has D = ασ²/(2B), so α²σ²/B = 2D·dt"),
    claims.judge("08-sqrt-B-rule", **common, random=True, readings=readings("sqrt-B"),
        claim="α ∝ √B ('linear scaling') maintains constant D_eff across batch sizes",
        unit="log–log slope against B", rule="TOST: slope within ±log 1.25 / log(B_max/B_min)",
        reason=f"B = {batches_B}, {n_chains} chains each from θ*, same SDE time; linear scaling is α ∝ B (Goyal et al. 2017), "
               "which keeps the temperature α/B fixed"),
    claims.judge("08-small-batch-flatter", **common, random=True, readings=readings("flatter"),
        claim="small batches find flatter minima", unit=f"λ_max(B={max(batches_C)}) − λ_max(B={min(batches_C)}), paired",
        rule="paired t over seeds: pass iff the lower bound > 0, fail iff the upper bound < 0",
        reason=f"α = {lr_C}, {seeds_C} seeds, same initialisations"),
    claims.judge("08-small-batch-generalises", **common, random=True, readings=readings("generalises"),
        claim="small batches generalise better", unit=f"test acc(B={min(batches_C)}) − test acc(B={max(batches_C)}), paired",
        rule="paired t over seeds: pass iff the lower bound > 0, fail iff the upper bound < 0.005 (half a point)",
        reason=f"α = {lr_C}, {seeds_C} seeds, same initialisations; test set of {data.x_test.shape[0]} images"),
    claims.judge("08-adaptive-C-lr", **common, random=True, readings=readings("adaptive"),
        claim="adaptive lr: C < 0.5 → lr×1.5, C > 20 → lr×0.7 (improves training)",
        unit="paired difference to the constant lr (accuracy; log objective ratio)",
        rule="paired t over seeds: pass iff significantly better; fail iff a gain of 0.5 point / 10 % objective is ruled out",
        reason=f"α₀ = {lr_D}, B = {B_D}, {steps_D} steps, {seeds_D} seeds, rule every {every_D} steps; frames where the lr "
               f"moved: {fired}"),
    claims.judge("08-D-two-methods", **common, random=True, readings=readings("two-methods"),
        claim="D ≈ Var[g]/2 (method 1) and D ≈ Var[θ]/T (method 2) estimate the diffusion coefficient",
        unit="mean log(method 1 / method 2) over chains", rule="TOST within ±log 2",
        reason=f"{chains_E} chains from θ*, α = {lr_E}, B = {B_E}, {steps_E} steps; method 1 lacks the time step α, "
               "method 2 divides a saturated variance by the run length"),
    claims.judge("08-D-two-methods-corrected", **common, random=True, readings=readings("two-methods-corrected"),
        claim="(steelman) each of the seed's two D estimators, after one unit fix (method 1 × α; method 2 from one-step "
              "increments), estimates the same D",
        unit="mean log ratio over chains", rule="TOST within ±log 2",
        reason="α·Var[g_B]/2 = ασ²/(2B), the continuum SGD diffusion coefficient"),
]
path = claims.write("08", rows)
for r in rows:
    print(f"{r.id:28s} {r.verdict}")
    for x_ in r.readings:
        rep_ = "" if x_.replicate_outcome is None else f" | replicate {x_.replicate:.4g} → {x_.replicate_outcome}"
        m_ = "–" if x_.measured is None else f"{x_.measured:.4g}"
        print(f"    {x_.name:66s} {m_:>10s} → {x_.outcome}{rep_}")

# %% [markdown] tags=[]
# ## Verdict
#
# * The **learning-rate formula** `2D/λ_max` is *reading-dependent*. With `D = Var[g]/2` read as the seed's method 1
#   (per-coordinate minibatch variance) or per example it mixes units and gives a learning rate 10²–10⁴× too small to
#   train (fail); read with the total variance `tr Cov[g_B]` it lands on the grid's plateau (pass, primary and
#   replicate). The ImageNet cost claim cannot be tested here. Its ingredient `λ_max` (power iteration) is useful:
#   `2/λ_max` is a cheap, good learning rate.
# * **`D_eff = α²σ²/B`** is right as the per-step noise variance (`2D·dt`, pass) and wrong as the diffusion coefficient
#   that sets the stationary loss, `D = α·σ²/(2B)` (fail): reading-dependent. Batch-size transfer needs `α ∝ B` (linear
#   scaling), not the seed's `α ∝ √B` (which the seed also misnames): under `α ∝ √B` the temperature falls as `1/√B`
#   (fail), while the measured per-step noise (drift-removed step, per coordinate) changes by about 20 % over the 16×
#   range of B, right at the ±25 % margin (the gradient noise σ² along the path depends on how far the chain wanders,
#   i.e. on the temperature): inconclusive. So `08-sqrt-B-rule` is inconclusive, not refuted as before.
# * **Small batches** reach flatter minima at a fixed learning rate under both budgets (supported, 6 paired seeds and a
#   replicate). They generalise better only at an equal number of epochs; at an equal number of steps they generalise
#   worse (reading-dependent; previously recorded as refuted from a 3-seed null result).
# * The **C-threshold rule** does not improve training however `D` is fed to it: inert (D per step, continuum D) or
#   harmful (D fixed: test accuracy 27 points lower on the primary seeds, 21 on the replicate). A gain of half a point
#   of accuracy or 10 % of the objective is ruled out under every reading but one: with D fixed, the primary seeds'
#   accuracy loss varies so much (90 % interval −60 to +6 points over 6 seeds) that a small gain is not excluded, so
#   the row is *inconclusive*, not refuted. A render with the earlier log-softmax cross-entropy (gradients within
#   4·10⁻⁹) had that interval's upper end at +0.48 points, just inside the half-point margin, and read *refuted*.
# * The seed's **two D estimators** disagree as written (refuted); each is right after one unit fix (method 1 × α;
#   method 2 from one-step increments), and then they agree with each other and with the virial estimator (supported).
#
# The printed tables above carry the numbers; `figures/CLAIMS.md` carries the verdicts.
