# %% [markdown] tags=[]
# # 04 · Double descent with random features: closed-form theory, real data, and C(t)
#
# **Question.** Seed 002 says double descent is a phase transition that its consolidation ratio
# $C(t)=\|\nabla\mathcal L\|^2/(D\,d)$ can see: as model size grows, $C$ "collapses" at the
# interpolation threshold and "recovers" in the over-parameterised regime, with transitions
# predicted at sizes 1247 / 1580 / 2100 against 1203 / 1621 / 2089 observed ("CIFAR-10 with ResNet,
# varying width"). We test what can be tested on a CPU without downloads:
#
# 1. **Ground truth.** The isotropic linear model $y=x^\top\beta+\sigma\varepsilon$ fitted by min-norm
#    least squares has a closed-form ridgeless risk (Hastie, Montanari, Rosset & Tibshirani 2019):
#    $\sigma^2\gamma/(1-\gamma)$ for $\gamma=d/n<1$ and $r^2(1-1/\gamma)+\sigma^2/(\gamma-1)$ for $\gamma>1$; for
#    Gaussian designs the exact finite-$n$ mean is also known. We simulate and overlay both.
# 2. **Real data.** Random-features regression ($Z=\varphi(XW/\sqrt d)$, fixed random $W$, ReLU and tanh)
#    on scikit-learn's bundled handwritten digits (no download), second layer fitted by min-norm least
#    squares and ridge; where is the peak relative to $n_\text{train}$, how does label noise sharpen it,
#    how does ridge remove it; condition number of $Z$ and the norm of the fitted weights.
# 3. **C(t).** The second layer trained by full-batch Langevin dynamics; $C(t)$ along training and at its
#    end against model size, beside its exact expectation for this quadratic loss.
#
# Seed claims under test (seed 002, "Experimental Validation §2" and "Phenomena Explained §2"):
# the peak of the test error at the interpolation threshold; $C$ collapses there and recovers beyond;
# the table of predicted / observed transition sizes.

# %% tags=["parameters"]
seed = 0
# linear model (ground truth)
lin_n = 100
lin_gammas = [0.1, 0.25, 0.5, 0.7, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0]
lin_draws = 1000
lin_r2, lin_sigma2 = 1.0, 0.25
# random features on digits
n_train, n_test, n_draws = 150, 300, 20
size_ratios = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.35, 1.5,
               1.75, 2.0, 2.5, 3.0, 4.0, 5.0]
ridges = [0.0, 1e-8, 1e-6, 1e-4, 1e-2, 1e-1, 1.0, 10.0]
label_noise = [0.0, 0.1, 0.3]
activations = ["relu", "tanh"]
# C(t) along Langevin training of the second layer
c_n_train = 80
c_size_ratios = [0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.5, 2.0, 3.0, 5.0]
c_draws = 20
c_D = [1e-5, 1e-3]
c_steps, c_save = 300, 20
c_horizons = [3 * 10**4, 10**6, 10**8]  # exact expectation only: far beyond what we can simulate
c_gd_horizons = [300, 3 * 10**4]      # noise-free GD under notebook 03's D (closed form)
# replicate: every random draw again from an independent master seed (data split, features, noise)
replicate = True
rep_seed = 1000
quick = False

# %% tags=[]
import jax
import matplotlib.pyplot as plt
import numpy as np

from shld_jax import cache, claims, plotting, stats
from shld_jax.experiments import double_descent as dd

plotting.use_style()


def size_axis(ax, label="p / n_train"):
    ax.set_xscale("log")
    ticks = [t for t in (0.1, 0.25, 0.5, 1, 2, 5) if ax.get_xlim()[0] <= t <= ax.get_xlim()[1] * 1.01]
    ax.set_xticks(ticks, labels=[f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel(label)


SEED = "002_fce6d19739f26158.txt"
key = jax.random.key(seed)
k_lin, k_rf, k_c = jax.random.split(key, 3)

# %% [markdown] tags=[]
# ## 1 · Ground truth: the isotropic linear model
#
# $n$ samples, $d=\gamma n$ Gaussian features, $\|\beta\|^2=r^2$, label noise $\sigma^2$; risk
# $\|\hat\beta-\beta\|^2$ of the min-norm fit, over independent draws. The asymptotic curve diverges at
# $\gamma=1$; the finite-$n$ mean ($\sigma^2 d/(n-d-1)$, resp. $r^2(1-n/d)+\sigma^2 n/(d-n-1)$) is the
# sharper reference. **Tolerance:** the simulated mean must lie within 4 standard errors of the
# exact finite-$n$ mean at every simulated $\gamma$; the gap to the asymptotic formula is the
# finite-size effect, printed alongside.

# %% tags=[]
lin = cache.memoize(dd.linear_sweep)(k_lin, n=lin_n, gammas=lin_gammas, n_draws=lin_draws, r2=lin_r2, sigma2=lin_sigma2)
mean = lin["risk"].mean(0)
se = lin["risk"].std(0, ddof=1) / np.sqrt(lin_draws)
z_finite = (mean - lin["finite"]) / se
rel_asym = mean / lin["theory"] - 1
lin_ok = bool(np.all(np.abs(z_finite) <= 4))
print(f"n = {lin_n}, draws = {lin_draws}")
print(" γ      mean ± se          finite-n   asymptotic  z(finite)  rel.dev(asym)")
for g, m, s, f, t, z, r in zip(lin["gamma"], mean, se, lin["finite"], lin["theory"], z_finite, rel_asym):
    print(f"{g:5.2f}  {m:8.3f} ± {s:6.3f}   {f:8.3f}   {t:8.3f}    {z:+6.2f}     {r:+7.3f}")
print("all within 4 s.e. of the finite-n mean:", lin_ok)

fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
gg = np.linspace(0.05, 5.2, 600)
gg = gg[np.abs(gg - 1) > 0.03]
th = dd.linear_risk_theory(gg, r2=lin_r2, sigma2=lin_sigma2)
for side in (gg < 1, gg > 1):
    ax.plot(gg[side], th[side], color="k", lw=1.2, label="HMRT asymptotic" if side[0] else None)
fin_ok = np.isfinite(lin["finite"])
ax.plot(lin["gamma"][fin_ok], lin["finite"][fin_ok], "s", mfc="none", color="C3", label=f"exact mean, n = {lin_n}")
ax.errorbar(lin["gamma"], mean, yerr=2 * se, fmt="o", ms=4, color="C0", label="simulation (mean ± 2 s.e.)")
ax.fill_between(lin["gamma"], np.quantile(lin["risk"], 0.1, 0), np.quantile(lin["risk"], 0.9, 0),
                color="C0", alpha=0.15, lw=0, label="10–90 % of draws")
ax.axvline(1, color="grey", ls=":", lw=1)
ax.set(xlabel="γ = d / n", ylabel="test risk ‖β̂ − β‖²", yscale="log",
       title=f"Min-norm least squares, r² = {lin_r2}, σ² = {lin_sigma2}")
ax.legend(fontsize=8)
plotting.savefig(fig, "04_linear_theory")
plt.show()

# %% [markdown] tags=[]
# The simulation follows the closed form on both sides of the threshold, and the risk blows up as
# $\gamma\to1$ where the smallest singular value of $X$ goes to zero. The printed z-scores compare the mean
# with the exact finite-$n$ value; the relative deviation from the asymptotic formula grows near $\gamma=1$
# because the finite-$n$ correction $\propto 1/|d-n|$ does, and the spread of draws widens there (the
# inverse-Wishart trace has heavy tails).

# %% [markdown] tags=[]
# ## 2 · Random features on handwritten digits
#
# One-hot regression of the 10 classes, $n_\text{train}$ training images, clean test labels.
# Model sizes are nested (size $p$ uses the first $p$ of a draw's random features); every ridge value and
# label-noise level reuses the same draws. Label noise $\rho$: each training label is replaced by a
# uniformly random class with probability $\rho$ (Nakkiran et al. 2019).

# %% tags=[]
data = dd.digits_data(seed, n_train=n_train, n_test=n_test, label_noise=label_noise)
sizes = np.unique(np.maximum(1, np.round(np.array(size_ratios) * n_train).astype(int)))
rf = {act: cache.memoize(dd.rf_sweep)(jax.random.fold_in(k_rf, i), data["x_tr"], data["ys_tr"], data["x_te"], data["y_te"],
                       sizes=sizes, n_draws=n_draws, activation=act, ridge=ridges)
      for i, act in enumerate(activations)}
ratio = sizes / n_train
i0 = 0  # λ = 0 (min-norm) is ridges[0]
assert ridges[0] == 0.0
for act in activations:
    for arr in ("test_mse", "test_err", "weight_norm"):
        assert np.all(np.isfinite(rf[act][arr])), (act, arr)
peaks = {act: dd.bootstrap_peak(sizes, rf[act]["test_mse"][i0, 0], seed=seed) / n_train for act in activations}
print(f"n_train = {n_train}, draws = {n_draws}, label noise actually flipped: {np.round(data['flipped'], 3)}")
for act in activations:
    m = np.median(rf[act]["test_mse"][i0, 0], 0)
    print(f"{act:5s} peak of median test MSE at p/n = {dd.peak_location(sizes, rf[act]['test_mse'][i0, 0]) / n_train:.3f} "
          f"(bootstrap over draws: {np.median(peaks[act]):.3f} ± {peaks[act].std():.3f}); "
          f"median test MSE at peak {m.max():.3g}, at p = {sizes[-1]}: {m[-1]:.3g}")

fig, axs = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for act in activations:
    plotting.band(axs[0], ratio, rf[act]["test_mse"][i0, 0], label=act, log=True)
    plotting.band(axs[1], ratio, rf[act]["test_err"][i0, 0], label=act)
for ax, yl in zip(axs, ["test MSE (one-hot)", "test classification error"]):
    ax.axvline(1, color="grey", ls=":", lw=1)
    ax.set(ylabel=yl)
    size_axis(ax)
    ax.legend(fontsize=8)
axs[0].set_title("Min-norm random features, digits (median, 10–90 %)")
plotting.savefig(fig, "04_digits_double_descent")
plt.show()

# %% [markdown] tags=[]
# Both activations show the classical U at small $p$, a sharp peak where the number of features
# reaches the number of training points, and a second descent beyond it; the printed bootstrap spread
# says how firmly the peak is pinned to $p=n_\text{train}$ across draws.

# %% tags=[]
act = activations[0]
r = rf[act]
excess_noise = np.array([dd.peak_excess(sizes, r["test_mse"][i0, l], n_train) for l in range(len(label_noise))])
excess_ridge = {l: np.array([dd.peak_excess(sizes, r["test_mse"][j, l], n_train) for j in range(len(ridges))])
                for l in range(len(label_noise))}
print(f"{act}: peak excess = max median MSE in [0.8n, 1.25n] / min median MSE at p ≤ n/2")
print("label noise ρ :", "  ".join(f"{x:6.2f}" for x in label_noise))
print("min-norm      :", "  ".join(f"{x:6.2f}" for x in excess_noise))
for l in range(len(label_noise)):
    print(f"ridge, ρ = {label_noise[l]:.2f}:", "  ".join(f"λ={lam:.0e}: {e:.2f}" for lam, e in zip(ridges, excess_ridge[l])))

fig, axs = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for l, rho in enumerate(label_noise):
    plotting.band(axs[0], ratio, r["test_mse"][i0, l], label=f"ρ = {rho}", log=True)
axs[0].set_title(f"Label noise sharpens the peak ({act}, min-norm)")
lmax = len(label_noise) - 1
for j, lam in enumerate(ridges):
    plotting.band(axs[1], ratio, r["test_mse"][j, lmax], label="min-norm" if lam == 0 else f"λ = {lam:.0e}",
                  log=True, color=plt.cm.viridis(j / max(1, len(ridges) - 1)))
axs[1].set_title(f"Ridge removes it ({act}, ρ = {label_noise[lmax]})")
for ax in axs:
    ax.axvline(1, color="grey", ls=":", lw=1)
    ax.set(ylabel="test MSE")
    size_axis(ax)
    ax.legend(fontsize=7, ncol=2)
plotting.savefig(fig, "04_label_noise_and_ridge")
plt.show()

# %% [markdown] tags=[]
# Label noise raises the peak relative to the best under-parameterised model: the interpolating fit
# must thread through the corrupted labels, and at $p=n$ it can only do so with huge weights. A small
# ridge ($\lambda\to0$) leaves the min-norm curve unchanged, as it must; larger $\lambda$ flattens the peak, and
# the printed excesses say from which $\lambda$ on no bump remains. The usual explanation is in the next
# figure: the smallest singular value of $Z$ vanishes at $p=n$, so $\mathrm{cond}(Z)$ and the norm of the
# min-norm weights peak there.

# %% tags=[]
fig, axs = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for act in activations:
    plotting.band(axs[0], ratio, rf[act]["cond"], label=act, log=True)
    plotting.band(axs[1], ratio, rf[act]["weight_norm"][i0, 0], label=f"{act}, min-norm", log=True)
r = rf[activations[0]]
for j in [j for j, lam in enumerate(ridges) if lam >= 1e-2]:
    plotting.band(axs[1], ratio, r["weight_norm"][j, 0], label=f"{activations[0]}, λ = {ridges[j]:.0e}", log=True, ls="--")
axs[0].set(ylabel="cond(Z_train) = s_max / s_min", title="Condition number of the feature matrix")
axs[1].set(ylabel="‖a‖_F", title="Norm of the fitted second layer (ρ = 0)")
for ax in axs:
    ax.axvline(1, color="grey", ls=":", lw=1)
    size_axis(ax)
    ax.legend(fontsize=7)
plotting.savefig(fig, "04_condition_and_norm")
plt.show()
for act in activations:
    c = np.median(rf[act]["cond"], 0)
    w = np.median(rf[act]["weight_norm"][i0, 0], 0)
    print(f"{act:5s} argmax cond at p/n = {ratio[np.argmax(c)]:.3f}, argmax ‖a‖ at p/n = {ratio[np.argmax(w)]:.3f}")

# %% [markdown] tags=[]
# ## 3 · C(t) along Langevin training, against model size
#
# The second layer (ReLU features, one-hot targets, $d=10p$ parameters) is trained from $a=0$ by
# $a\leftarrow a-\eta\nabla\mathcal L+\sqrt{2D\eta}\,\xi$ on $\mathcal L=\|Za-Y\|^2/(2n)$ with the largest safe step
# $\eta=1/\lambda_\max(Z^\top Z/n)$ for each draw, for the same number of steps at every size. The loss is
# quadratic, so $\mathbb E\|\nabla\mathcal L(a_t)\|^2$ is known exactly from the spectrum of $Z$ (module
# docstring): its transient part carries the slow modes that crowd near zero at $p=n$, and its
# stationary part gives $C_\infty\approx\operatorname{tr}\nabla^2\mathcal L/d$, the mean curvature, which does not
# know where the threshold is. Solid lines: simulation (median and 10–90 % of draws); dashed: the exact
# expectation averaged over the same draws.

# %% tags=[]
cdata = dd.digits_data(seed + 1, n_train=c_n_train, n_test=n_test, label_noise=[0.0])
c_sizes = np.unique(np.maximum(1, np.round(np.array(c_size_ratios) * c_n_train).astype(int)))
cs = cache.memoize(dd.consolidation_sweep)(k_c, cdata["x_tr"], cdata["ys_tr"][0], cdata["x_te"], cdata["y_te"], sizes=c_sizes,
                            n_draws=c_draws, D=c_D, n_steps=c_steps, save_every=c_save, activation="relu",
                            horizons=c_horizons)
gd = cache.memoize(dd.gd_consolidation_sweep)(k_c, cdata["x_tr"], cdata["ys_tr"][0], sizes=c_sizes, n_draws=c_draws,
                                              horizons=c_gd_horizons, activation="relu")
assert np.all(np.isfinite(cs["C"])) and np.all(np.isfinite(cs["C_theory"])) and np.all(np.isfinite(gd["C_pe"]))
c_ratio = c_sizes / c_n_train
c_end = cs["C"][..., -1]          # [ND, draws, P]
c_end_th = cs["C_theory"][..., -1]

fig, axs = plt.subplots(1, 4, figsize=(17, 4.0), layout="constrained")
pick = [int(np.argmin(np.abs(c_ratio - q))) for q in (0.5, 1.0, 2.0, 5.0)]
for j in dict.fromkeys(pick):
    ln = plotting.band(axs[0], cs["steps"], cs["C"][0, :, j], label=f"p/n = {c_ratio[j]:.2f}", log=True)
    axs[0].plot(cs["steps"], cs["C_theory"][0, :, j].mean(0), ls="--", color=ln.get_color(), lw=1)
axs[0].set(xlabel="step", ylabel="C(t)", title=f"C(t) along training, D = {c_D[0]:g}")
for i, D in enumerate(c_D):
    ln = plotting.band(axs[1], c_ratio, c_end[i], label=f"D = {D:g}", log=True)
    axs[1].plot(c_ratio, c_end_th[i].mean(0), ls="--", color=ln.get_color(), lw=1)
axs[1].plot(c_ratio, np.median(cs["mean_curvature"], 0), color="k", lw=1, label="tr ∇²ℒ / d")
axs[1].set(ylabel=f"C at step {c_steps}", title="End-of-training C vs size")
for i, D in enumerate(c_D):
    plotting.band(axs[2], c_ratio, cs["test_mse"][i], label=f"Langevin, D = {D:g}", log=True)
axs[2].set(ylabel="test MSE at the end", title="Test risk of the trained models")
for h, hor in enumerate(c_horizons):
    axs[3].plot(c_ratio, cs["C_long"][0, :, :, h].mean(0), marker="o", ms=3, label=f"Langevin D = {c_D[0]:g}, t = {hor:.0e}")
for h, hor in enumerate(c_gd_horizons):
    axs[3].plot(c_ratio, np.exp(np.log(gd["C_pe"][:, :, h]).mean(0)), marker="s", ms=3, ls="--",
                label=f"GD, D = σ²/2 (nb 03), t = {hor:.0e}")
axs[3].set(ylabel="C (Langevin: exact E[C]; GD: geometric mean)", yscale="log", title="Longer training, other D conventions")
for ax in axs:
    ax.legend(fontsize=7)
for ax in axs[1:]:
    ax.axvline(1, color="grey", ls=":", lw=1)
    size_axis(ax)
plotting.savefig(fig, "04_consolidation_vs_size")
plt.show()

def at(q):
    return int(np.argmin(np.abs(c_ratio - q)))

j_half, j_one, j_two, j_max = at(0.5), at(1.0), at(2.0), len(c_sizes) - 1
print(f"n_train = {c_n_train}, draws = {c_draws}, steps = {c_steps}")
print("  D        C_end(n/2)   C_end(n)   C_end(2n)   C_end(max p)   [median; theory mean in brackets]")
for i, D in enumerate(c_D):
    med, th = np.median(c_end[i], 0), c_end_th[i].mean(0)
    print(f"{D:8.0e}  " + "  ".join(f"{med[j]:.3g} [{th[j]:.3g}]" for j in (j_half, j_one, j_two, j_max)))
diff = c_end - c_end_th  # per draw: simulated minus its own exact expectation
z_c = diff.mean(1) / (diff.std(1, ddof=1) / np.sqrt(c_draws))
print(f"simulation vs exact expectation: largest |z| over sizes and D = {np.max(np.abs(z_c)):.2f}")
for h, hor in enumerate(c_gd_horizons):
    g_ = np.exp(np.log(gd["C_pe"][:, :, h]).mean(0))
    print(f"GD, D = per-example σ²/2 (notebook 03), t = {hor:.0e}: n/2 {g_[j_half]:.3g}, n {g_[j_one]:.3g}, "
          f"2n {g_[j_two]:.3g}, max p {g_[j_max]:.3g}  (geometric mean over draws)")
c_long = cs["C_long"][0].mean(0)  # [P, H], D = c_D[0]
for h, hor in enumerate(c_horizons):
    print(f"exact E[C] at t = {hor:.0e}, D = {c_D[0]:g}: n/2 {c_long[j_half, h]:.3g}, n {c_long[j_one, h]:.3g}, "
          f"2n {c_long[j_two, h]:.3g}, max p {c_long[j_max, h]:.3g}")

# %% [markdown] tags=[]
# Read the second panel against the seed's picture. The simulation agrees with the exact
# expectation (printed z-score), and with injected Langevin noise $C$ neither collapses at $p=n$ nor recovers
# beyond it: the near-zero singular values that make the min-norm test risk explode contribute gradients
# $\propto\sqrt{\lambda_i}$, which are small, while the level of $C$ is set by $D$ (the transient part scales as $1/D$),
# the step budget and the mean curvature $\operatorname{tr}\nabla^2\mathcal L/d$. The exact expectation follows training far
# beyond what we can simulate (fourth panel): at every horizon $C$ at $p=n$ stays at the level of its neighbours.
#
# The seed does not say which $D$ enters $C$. Under notebook 03's convention (noise-free descent, $D=\sigma^2/2$ from the
# per-example gradient variance, so $C=2\|\bar g\|^2/\operatorname{tr}\Sigma$ is a gradient signal-to-noise ratio) the
# picture changes with the horizon $T$ (dashed lines, fourth panel; exact, from the closed form of gradient descent on a
# quadratic): under-parameterised fits converge to a least-squares solution whose mean gradient vanishes while the
# per-example gradients do not, so $C(n/2)\to0$; beyond the threshold both vanish, more slowly at $p=n$, where the
# slowest modes sit. $C$ then *grows monotonically with $p$*: $C(5n)/C(n)$ exceeds 2 (≈ 3 at $T=300$, ≈ 80 at $T=3\cdot10^4$),
# but $C(n)$ is above, not below, its neighbour at $n/2$: there is no collapse to recover from. The third panel is a caveat
# for the whole test: after a finite budget, gradient descent from zero is implicitly regularised (its spectral filter
# $1-(1-\eta\lambda_i)^t$ acts like a ridge $\lambda\sim1/(\eta t)$), so the trained models do not show the interpolation peak.

# %% [markdown] tags=[]
# ## Replicate
#
# Every random measurement again, from an independent master seed (`rep_seed`): another train/test split
# of the digits, other first-layer features, other Langevin noise, other linear-model draws. A reading whose
# outcome differs between the two is inconclusive (unstable). Quick mode skips it (`replicate: False` in `quick.yml`).

# %% tags=[]
REP = bool(replicate)
if REP:
    r_lin, r_rf, r_c = jax.random.split(jax.random.key(rep_seed), 3)
    lin_rep = cache.memoize(dd.linear_sweep)(r_lin, n=lin_n, gammas=lin_gammas, n_draws=lin_draws, r2=lin_r2, sigma2=lin_sigma2)
    data_rep = dd.digits_data(rep_seed, n_train=n_train, n_test=n_test, label_noise=label_noise)
    rf_rep = {act: cache.memoize(dd.rf_sweep)(jax.random.fold_in(r_rf, i), data_rep["x_tr"], data_rep["ys_tr"], data_rep["x_te"],
                                              data_rep["y_te"], sizes=sizes, n_draws=n_draws, activation=act, ridge=ridges)
              for i, act in enumerate(activations)}
    cdata_rep = dd.digits_data(rep_seed + 1, n_train=c_n_train, n_test=n_test, label_noise=[0.0])
    cs_rep = cache.memoize(dd.consolidation_sweep)(r_c, cdata_rep["x_tr"], cdata_rep["ys_tr"][0], cdata_rep["x_te"],
                                                   cdata_rep["y_te"], sizes=c_sizes, n_draws=c_draws, D=c_D, n_steps=c_steps,
                                                   save_every=c_save, activation="relu", horizons=c_horizons)
    gd_rep = cache.memoize(dd.gd_consolidation_sweep)(r_c, cdata_rep["x_tr"], cdata_rep["ys_tr"][0], sizes=c_sizes,
                                                      n_draws=c_draws, horizons=c_gd_horizons, activation="relu")
    for a_ in (lin_rep["risk"], cs_rep["C"], cs_rep["C_long"], gd_rep["C_pe"], *(r_["test_mse"] for r_ in rf_rep.values())):
        assert np.all(np.isfinite(a_))
    print("replicate measured (seed", rep_seed, ")")
else:
    print("replicate skipped (replicate = False: quick mode)")

# %% [markdown] tags=[]
# ## Claims ledger
#
# Rules, stated before the data (`shld_jax.stats`; intervals are two-sided 90 %, i.e. one-sided α = 0.05):
#
# * **Peak at the threshold** (seed-substantive, per activation): the bootstrap (over draws) of the peak location
#   $p^*/n$ of the median curve, TOST within ±0.1 of 1. Readings: the seed's "test error" as the test MSE of the
#   one-hot regression, or as the test classification error.
# * **C collapses / recovers** (seed-substantive): per draw, $C(n)/\min(C(n/2),C(2n))$ and $C(5n)/C(n)$; a one-sided
#   t bound on the mean $\log_{10}$ ratio over draws: collapse passes iff its upper bound is below $\log_{10}0.5$,
#   recovery iff its lower bound is above $\log_{10}2$ (fail: the bound on the other side). Readings: every
#   convention for D the seed leaves open — Langevin with injected $D$ (two values), notebook 03's $D=\sigma^2/2$
#   from the per-example gradient variance under noise-free descent, and the SGD-equivalent $D_B=\eta\sigma^2/(2B)$
#   with $B=n$ — each at two training horizons $T$.
# * **Label noise sharpens the peak** / **ridge removes it** (anchors: Nakkiran et al. 2019, Mei & Montanari 2019):
#   per-draw peak excess (max MSE in $[0.8n,1.25n]$ / min MSE at $p\le n/2$); paired t on $\log$ excess between
#   consecutive noise levels (each must increase); for ridge every consecutive step in $\lambda$ must have its upper
#   bound ≤ log 1.05 and the largest $\lambda$ must leave no bump (upper bound ≤ log 1.05). Readings: both activations.
# * **Linear model = HMRT closed form** (anchor): TOST at every $\gamma$, simulated mean within ±10 % of the exact
#   finite-$n$ mean.
# * **Table errors** (seed-consistency: the seed's own numbers): deterministic, per normalisation convention.

# %% tags=[]
pred, obs, stated = np.array([1247, 1580, 2100]), np.array([1203, 1621, 2089]), np.array([3.7, 2.6, 0.5])
common = dict(seed_file=SEED, notebook="04")
P = {**dd.rf_readings(rf, sizes, n_train, seed=seed), **dd.c_readings(cs, gd, n_train=c_n_train, steps=c_steps, horizon=c_horizons[0]),
     ("linear", "exact finite-n mean"): dd.linear_outcome(lin["risk"], lin["finite"])}
R = ({**dd.rf_readings(rf_rep, sizes, n_train, seed=seed), **dd.c_readings(cs_rep, gd_rep, n_train=c_n_train, steps=c_steps, horizon=c_horizons[0]),
      ("linear", "exact finite-n mean"): dd.linear_outcome(lin_rep["risk"], lin_rep["finite"])} if REP else {})


def readings(row):
    return [claims.reading(name, P[(r_, name)], R.get((r_, name))) for (r_, name) in P if r_ == row]


rows = [
    claims.judge("002-dd-table-transitions", kind=claims.SEED_SUBSTANTIVE, **common,
        claim="double-descent transitions predicted at n = 1247 / 1580 / 2100 vs observed 1203 / 1621 / 2089 "
              "(first peak, valley, second descent; CIFAR-10 / ResNet, varying width)",
        unit="model size", rule="needs the seed's setup",
        reason="the seed gives no formula for the predictions and no input dimension, data subset, widths, "
               "optimiser or epochs; CIFAR-10 needs a download and ResNet width sweeps exceed this CPU budget. "
               "Tested at our scale instead: rows 002-dd-peak-* and 002-dd-C-*"),
    claims.judge("002-dd-table-errors", kind=claims.SEED_CONSISTENCY, **common,
        claim="stated errors 3.7 % / 2.6 % / 0.5 % follow from the table's own predicted and observed sizes",
        unit="percentage points, worst row's gap after rounding",
        rule="deterministic: the recomputed relative error, rounded to 0.1, reproduces every stated error",
        readings=[claims.reading(k, o) for k, o in dd.table_error_outcomes(pred, obs, stated).items()],
        reason="a 0.1-point rounding question about the seed's own table, not a claim about double descent"),
    claims.judge("002-dd-cifar-resnet", kind=claims.SEED_SUBSTANTIVE, **common,
        claim="validation on CIFAR-10 with ResNet, varying width", unit="–",
        rule="needs CIFAR-10 and GPU-scale training",
        reason="no download at run time and no GPU budget; digits + random features is our stand-in"),
]
for act in activations:
    rows.append(claims.judge(f"002-dd-peak-{act}", kind=claims.SEED_SUBSTANTIVE, **common, random=True,
        claim="the test-error peak sits at the interpolation threshold (model size ≈ number of training points)",
        unit=f"p*/n_train, {act} random features on digits (bootstrap mean ± sd over draws)",
        rule="TOST: bootstrap p*/n within 1 ± 0.1", readings=readings(f"peak-{act}"),
        reason=f"min-norm, n_train = {n_train}, {n_draws} draws, clean labels; sizes every 5 % near p = n"))
rows.append(claims.judge("002-dd-C-collapse", kind=claims.SEED_SUBSTANTIVE, **common, random=True,
    claim="C(t) collapses at the interpolation threshold", readings=readings("collapse"),
    unit="log₁₀ of C(n) / min(C(n/2), C(2n)), mean over draws",
    rule="one-sided t bound on the mean log₁₀ ratio vs log₁₀ 0.5 (pass: upper bound below; fail: lower bound above)",
    reason=f"second layer of relu random features, n_train = {c_n_train}, {c_draws} draws, η = 1/λ_max; "
           "every convention for D and two horizons T"))
rows.append(claims.judge("002-dd-C-recovery", kind=claims.SEED_SUBSTANTIVE, **common, random=True,
    claim="C(t) recovers in the over-parameterised regime (beyond the threshold)", readings=readings("recovery"),
    unit=f"log₁₀ of C(p = {c_ratio[j_max]:.0f}n) / C(n), mean over draws",
    rule="one-sided t bound on the mean log₁₀ ratio vs log₁₀ 2 (pass: lower bound above; fail: upper bound below)",
    reason="under injected Langevin noise the stationary C is the mean curvature, flat in p; under noise-free "
           "descent with D from the gradient variance, C at p = n decays slowest, so the ratio depends on T"))
rows.append(claims.judge("002-dd-label-noise", kind=claims.ANCHOR, **common, random=True,
    claim="(literature: Nakkiran et al. 2019) label noise sharpens the double-descent peak",
    unit="log peak excess, binding step in ρ (paired over draws)",
    rule="paired t on log excess between consecutive ρ; every step must be > 0", readings=readings("label-noise"),
    reason=f"ρ = {label_noise}; peak excess = max median MSE in [0.8n, 1.25n] / min at p ≤ n/2, per draw"))
rows.append(claims.judge("002-dd-ridge", kind=claims.ANCHOR, **common, random=True,
    claim="(literature: Mei & Montanari 2019; Nakkiran et al. 2020) a large enough ridge removes the peak, "
          "flattening it monotonically as λ grows",
    unit="log peak excess (binding test)", readings=readings("ridge"),
    rule="every consecutive λ step: upper bound of the mean log ratio ≤ log 1.05; largest λ: upper bound of the "
         "mean log excess ≤ log 1.05",
    reason=f"λ = {ridges}, ρ = {label_noise[-1]}"))
rows.append(claims.judge("002-dd-linear-theory", kind=claims.ANCHOR, **common, random=True,
    claim="(ground truth, not a seed claim) min-norm risk of the isotropic linear model = exact finite-n mean "
          "(Hastie et al. 2019 closed form at finite n)",
    unit="mean risk at the binding γ", rule="TOST at every γ: simulated mean within ±10 % of the exact mean",
    readings=readings("linear"), reason=f"n = {lin_n}, {lin_draws} draws per γ; γ = {lin_gammas}"))
claims.write("04", rows)
for r_ in rows:
    print(f"{r_.id:26s} {r_.kind:17s} {r_.verdict}")
    for x_ in r_.readings:
        rep_ = "" if x_.replicate_outcome is None else f" | replicate {x_.replicate:.4g} → {x_.replicate_outcome}"
        m_ = "–" if x_.measured is None else f"{x_.measured:.4g}"
        print(f"    {x_.name:58s} {m_:>10s} → {x_.outcome}{rep_}")

# %% [markdown] tags=[]
# ## Verdict
#
# * **Double descent is real at our scale and sits where theory puts it.** The linear-model simulation matches the exact
#   finite-$n$ risk of the Hastie et al. closed form within ±10 % at every $\gamma$ (anchor), and random-features regression
#   on real digits peaks at $p=n_\text{train}$ for both activations, whether "test error" is read as the test MSE or the
#   classification error, in both the primary and the replicate measurement (`002-dd-peak-*`: supported). Label noise
#   sharpens the peak (anchor, supported); ridge flattens it, and at the largest $\lambda$ no bump is left for tanh, but for
#   ReLU the replicate cannot pin the per-draw excess within the 5 % slack (`002-dd-ridge`: inconclusive).
# * **C(t) does not mark the threshold.** `002-dd-C-collapse` is refuted under every reading: no convention for $D$ and
#   no horizon makes $C(n)$ drop below half of its neighbours. `002-dd-C-recovery` is *reading-dependent*: with injected
#   Langevin noise (either $D$, simulated or exact expectation) $C$ is flat in $p$ (fail); with notebook 03's
#   per-example $D$ (or its SGD-equivalent) under noise-free descent $C(5n)/C(n) > 2$ at both horizons (pass), but there
#   $C$ simply grows with $p$ through the threshold, so the "recovery" is not from a collapse. The seed's mechanism
#   (collapse at $p=n$, recovery beyond) is not what any reading shows; the conventional explanation (ill-conditioning of
#   the interpolating fit: cond($Z$) and $\|a\|$ peak at $p=n$) is.
# * **The seed's table (1247 / 1580 / 2100 vs 1203 / 1621 / 2089) cannot be re-run:** no formula, no input dimension, no
#   data or training details, and CIFAR-10/ResNet is out of reach here. Its stated errors do not follow from its own
#   numbers under any single normalisation (a 0.1–0.2-point rounding mismatch), but each row does under some
#   normalisation: a *seed-consistency* row (reading-dependent), not a refutation of a claim about double descent.
