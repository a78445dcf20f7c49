"""Experiments of notebook 04: double descent with random features, and C(t) across model size.

Three pieces, all pure functions of their arguments (a PRNG key included):

* **Ground truth.** The isotropic linear model ``y = xᵀβ + σε``, ``x ~ N(0, I_d)``,
  ``‖β‖ = r``, fitted by min-norm least squares on ``n`` samples. Its excess test risk
  ``R = E‖β̂ − β‖²`` has the proportional-limit closed form (Hastie, Montanari, Rosset &
  Tibshirani 2019, arXiv 1903.08560, Thm 1/2), with ``γ = d/n``::

      R(γ) = σ² γ/(1 − γ)                       γ < 1
      R(γ) = r² (1 − 1/γ) + σ²/(γ − 1)          γ > 1

  and, for Gaussian designs, the exact finite-``n`` expectation (inverse-Wishart means
  ``E tr (XᵀX)⁻¹ = d/(n − d − 1)``; a random ``n``-plane keeps ``n/d`` of ``‖β‖²``)::

      R = σ² d/(n − d − 1)                      d < n − 1
      R = r² (1 − n/d) + σ² n/(d − n − 1)       d > n + 1

* **Random features.** ``Z = φ(X W/√d)`` with a fixed ``W ~ N(0, 1)^{d×p}`` and
  ``φ ∈ {relu, tanh}`` (Belkin, Hsu, Ma & Mandal 2019; Mei & Montanari 2019). The second
  layer is fitted in the dual from one eigendecomposition ``ZZᵀ = Q diag(s²) Qᵀ``: min-norm
  ``a = Zᵀ(ZZᵀ)⁺Y`` (= ``pinv(Z) Y``) and ridge ``a = Zᵀ(ZZᵀ + λI)⁻¹Y`` (= ``(ZᵀZ + λI)⁻¹ZᵀY``,
  minimiser of ``‖Za − Y‖² + λ‖a‖²``), for a whole grid of ``λ`` and of label-noise levels at
  once. (XLA's batched CPU SVD is an order of magnitude slower than ``eigh`` of the ``n × n`` Gram.)

* **Training dynamics.** Full-batch gradient descent / Langevin on
  ``ℒ(a) = ‖Za − Y‖²/(2n)``: ``a ← a − η∇ℒ + sqrt(2Dη) ξ`` from ``a = 0``, with
  ``η = lr_scale/λ_max(ZᵀZ/n)``, recording the seed's consolidation ratio
  ``C(t) = ‖∇ℒ‖²/(D·d)`` (seed 002, ``d`` = number of trained parameters ``p·k``). The loss
  is quadratic, so ``E‖∇ℒ(a_t)‖²`` is known exactly mode by mode (``λ_i = s_i²/n``,
  ``q_i = 1 − ηλ_i``)::

      E‖∇ℒ_t‖² = Σ_i [ q_i^{2t} s_i² ‖u_iᵀY‖²/n² + k · 2Dλ_i (1 − q_i^{2t})/(2 − ηλ_i) ]

  whose ``t → ∞`` limit ``k·Σ_i 2Dλ_i/(2 − ηλ_i) ≈ D·tr ∇²ℒ`` gives ``C_∞ ≈`` mean curvature.

The fits run in float64 (``jax.enable_x64`` locally): at the interpolation threshold
``cond(Z)`` reaches 10⁴–10⁶ and float32 would put rounding error into the peak. The Langevin
runs involve no inversion and stay in float32.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from shld_jax import _validate as v
from shld_jax import stats

ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh}


# --------------------------------------------------------------------------- validation


def _check_activation(call, activation):
    return v.one_of(call, "activation", activation, ACTIVATIONS)


def _check_lams(call, lams):
    lams = np.atleast_1d(np.asarray(lams, dtype=float))
    if lams.ndim != 1 or lams.size == 0:
        raise ValueError(f"`{call}`: ridge must be a scalar or a non-empty 1-D grid, got ridge = {lams!r}.")
    for lam in lams:
        v.non_negative(call, "ridge", lam)
    return lams


def _check_matrix(call, name, z):
    shape = np.shape(z)
    if len(shape) != 2:
        raise ValueError(f"`{call}`: {name} must be a 2-D [n_samples, n_features] array, got shape {shape}.")
    if shape[1] == 0:
        raise ValueError(f"`{call}`: n_features must be an integer >= 1, got n_features = 0 "
                         f"({name} has shape {shape}).")
    if shape[0] == 0:
        raise ValueError(f"`{call}`: n_samples must be >= 1, got {name} with shape {shape}.")


# --------------------------------------------------------------------------- linear model


def linear_risk_theory(gamma, *, r2=1.0, sigma2=1.0):
    """Asymptotic ridgeless risk ``R(γ)`` of the isotropic linear model (HMRT 2019); ``inf`` at ``γ = 1``.

    Args:
        gamma: ``d/n`` (scalar or array, > 0).
        r2: signal energy ``‖β‖²``; sigma2: label-noise variance ``σ²``.

    Returns:
        ``σ²γ/(1−γ)`` for ``γ < 1``, ``r²(1 − 1/γ) + σ²/(γ − 1)`` for ``γ > 1`` (numpy, float64).
    """
    v.non_negative("linear_risk_theory", "r2", r2)
    v.non_negative("linear_risk_theory", "sigma2", sigma2)
    g = np.asarray(gamma, dtype=float)
    if np.any(~np.isfinite(g)) or np.any(g <= 0):
        raise ValueError(f"`linear_risk_theory`: gamma must be finite and > 0, got gamma = {gamma!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        under = sigma2 * g / (1 - g)
        over = r2 * (1 - 1 / g) + sigma2 / (g - 1)
    return np.where(g < 1, under, np.where(g > 1, over, np.inf))


def linear_risk_finite(n, d, *, r2=1.0, sigma2=1.0):
    """Exact ``E‖β̂ − β‖²`` of min-norm least squares for a Gaussian design with ``n`` rows, ``d`` columns.

    ``σ² d/(n−d−1)`` for ``d < n−1``; ``r²(1 − n/d) + σ² n/(d−n−1)`` for ``d > n+1``; ``inf`` for
    ``|d − n| ≤ 1`` (the mean of the inverse Wishart does not exist there).
    """
    n = v.positive_int("linear_risk_finite", "n", n)
    d = v.positive_int("linear_risk_finite", "d", d)
    if d < n - 1:
        return sigma2 * d / (n - d - 1)
    if d > n + 1:
        return r2 * (1 - n / d) + sigma2 * n / (d - n - 1)
    return float("inf")


@partial(jax.jit, static_argnames=("n", "d", "n_draws"))
def _linear_draws(key, r2, sigma2, *, n, d, n_draws):
    def one(k):
        kx, kb, ke = jax.random.split(k, 3)
        x = jax.random.normal(kx, (n, d))
        b = jax.random.normal(kb, (d,))
        b = jnp.sqrt(r2) * b / jnp.linalg.norm(b)
        y = x @ b + jnp.sqrt(sigma2) * jax.random.normal(ke, (n,))
        # Normal equations on the small side (= pinv(x) y away from d = n, where both are ill-posed).
        if d <= n:
            bh = jnp.linalg.solve(x.T @ x, x.T @ y)
        else:
            bh = x.T @ jnp.linalg.solve(x @ x.T, y)
        return jnp.sum((bh - b) ** 2)

    return jax.vmap(one)(jax.random.split(key, n_draws))


def simulate_linear_risk(key, *, n, d, n_draws, r2=1.0, sigma2=1.0):
    """``n_draws`` independent draws of ``‖β̂ − β‖²`` (β̂ = pinv(X) y), vmapped; numpy ``[n_draws]`` (float64).

    ``d = n`` is refused: the min-norm solution then interpolates noise through a square Gaussian
    matrix and the risk has no finite mean.
    """
    n = v.positive_int("simulate_linear_risk", "n", n)
    d = v.positive_int("simulate_linear_risk", "d", d)
    n_draws = v.positive_int("simulate_linear_risk", "n_draws", n_draws)
    r2 = v.non_negative("simulate_linear_risk", "r2", r2)
    sigma2 = v.non_negative("simulate_linear_risk", "sigma2", sigma2)
    if d == n:
        raise ValueError(f"`simulate_linear_risk`: d must differ from n (the risk has no finite mean at "
                         f"d = n), got n = d = {n}.")
    with jax.enable_x64(True):
        return np.asarray(_linear_draws(key, r2, sigma2, n=n, d=d, n_draws=n_draws))


def linear_sweep(key, *, n, gammas, n_draws, r2=1.0, sigma2=1.0):
    """Simulated risk over ``γ = d/n`` beside both closed forms.

    Returns a dict: ``gamma [G]`` (realised ``d/n``), ``d [G]``, ``risk [n_draws, G]``,
    ``theory [G]`` (asymptotic), ``finite [G]`` (exact finite-``n`` mean; inf for ``|d−n| ≤ 1``).
    """
    n = v.positive_int("linear_sweep", "n", n)
    ds = sorted({max(1, int(round(g * n))) for g in np.atleast_1d(gammas)})
    keys = jax.random.split(key, len(ds))
    risk = np.stack([simulate_linear_risk(k, n=n, d=d, n_draws=n_draws, r2=r2, sigma2=sigma2)
                     for k, d in zip(keys, ds)], axis=1)
    gam = np.array(ds) / n
    return {
        "gamma": gam,
        "d": np.array(ds),
        "risk": risk,
        "theory": linear_risk_theory(gam, r2=r2, sigma2=sigma2),
        "finite": np.array([linear_risk_finite(n, d, r2=r2, sigma2=sigma2) for d in ds]),
    }


# --------------------------------------------------------------------------- random features


def random_features(x, w, activation="relu"):
    """``Z = φ(x W/√d)``: ``x [n, d]``, ``w [d, p]`` → ``[n, p]``."""
    _check_activation("random_features", activation)
    if np.ndim(w) != 2 or np.shape(w)[1] == 0:
        raise ValueError(f"`random_features`: n_features must be an integer >= 1 (w must be [d, p] with "
                         f"p >= 1), got w with shape {np.shape(w)}.")
    if np.shape(x)[-1] != np.shape(w)[0]:
        raise ValueError(f"`random_features`: x [n, d] and w [d, p] disagree on d: {np.shape(x)} vs {np.shape(w)}.")
    return ACTIVATIONS[activation](x @ w / jnp.sqrt(x.shape[-1]))


def draw_features(key, x, n_features, activation="relu"):
    """Draw ``W ~ N(0, 1)^{d×p}`` and return ``(W, φ(xW/√d))``."""
    p = v.positive_int("draw_features", "n_features", n_features)
    w = jax.random.normal(key, (x.shape[-1], p), dtype=x.dtype)
    return w, random_features(x, w, activation)


def _filter(mu, lams, cutoff):
    """``[Λ, r]`` spectral filter on Gram eigenvalues ``μ = s²``: ``1/(μ + λ)``; for ``λ = 0``, ``1/μ`` above ``cutoff``."""
    mu = mu[None, :]
    lams = lams[:, None]
    keep = mu > cutoff
    inv = jnp.where(keep, 1.0 / jnp.where(keep, mu, 1.0), 0.0)
    return jnp.where(lams == 0, inv, 1.0 / (jnp.maximum(mu, 0.0) + lams))


def gram_cutoff(mu_max, n, p, dtype):
    """Eigenvalues of ``ZZᵀ`` below ``10·max(n, p)·eps·μ_max`` are rounding noise and treated as 0.

    This resolves ``cond(Z) = sqrt(μ_max/μ_min)`` up to ``1/sqrt(10·max(n, p)·eps)`` (≈ 2·10⁶ in
    float64 for ``max(n, p) = 1000``); rarer, worse-conditioned draws are regularised by the cut.
    """
    return 10 * jnp.maximum(n, p) * jnp.finfo(dtype).eps * mu_max


def _dual_fit(k_tr, y, lams, n, p):
    """Dual (kernel) form: ``a = Zᵀ Q diag(f(μ)) QᵀY`` with ``ZZᵀ = Q diag(μ) Qᵀ``; returns ``(μ, Q, F QᵀY)``."""
    mu, q = jnp.linalg.eigh(k_tr)
    filt = _filter(mu, lams, gram_cutoff(mu[-1], n, p, k_tr.dtype))  # [Λ, n]
    qty = jnp.einsum("nr,...nk->...rk", q, y)
    return mu, q, filt, qty


def ridge_fit(z, y, ridge=0.0):
    """Second-layer weights ``a = argmin ‖Za − Y‖² + λ‖a‖² = Zᵀ(ZZᵀ + λI)⁻¹Y``; ``λ = 0`` gives ``pinv(Z) Y``.

    Computed in the dual from one eigendecomposition of ``ZZᵀ`` (the path of :func:`rf_sweep`),
    with the eigenvalue cutoff of :func:`gram_cutoff` for ``λ = 0``.

    Args:
        z: features ``[n, p]``; y: targets ``[n]`` or ``[n, k]``.
        ridge: ``λ ≥ 0``, scalar or 1-D grid ``[Λ]``.

    Returns:
        ``a`` ``[p(, k)]`` for scalar ``ridge``, ``[Λ, p(, k)]`` for a grid.
    """
    scalar = np.ndim(ridge) == 0
    lams = _check_lams("ridge_fit", ridge)
    _check_matrix("ridge_fit", "z", z)
    z = jnp.asarray(z)
    y = jnp.asarray(y, dtype=z.dtype)
    if y.shape[0] != z.shape[0]:
        raise ValueError(f"`ridge_fit`: y must have n = {z.shape[0]} rows like z, got y with shape {y.shape}.")
    y2 = y.reshape(y.shape[0], -1)
    n, p = z.shape
    _, q, filt, qty = _dual_fit(z @ z.T, y2, jnp.asarray(lams, z.dtype), n, p)
    a = jnp.einsum("np,nr,lr,rk->lpk", z, q, filt, qty).reshape((len(lams), p) + y.shape[1:])
    return a[0] if scalar else a


def min_norm_fit(z, y):
    """Min-norm least squares ``pinv(Z) Y`` (the ``λ → 0⁺`` limit of ridge)."""
    return ridge_fit(z, y, 0.0)


@partial(jax.jit, static_argnames=("sizes", "activation"))
def _rf_draw(key, x_tr, ys_tr, x_te, y_te, lams, *, sizes, activation):
    """One first-layer draw, every (nested) model size: size ``p`` uses the first ``p`` features.

    Gram matrices are accumulated over feature blocks, so the whole size sweep costs one
    pass over ``max(sizes)`` features plus one ``n × n`` eigendecomposition per size.
    """
    n, m = x_tr.shape[0], x_te.shape[0]
    w = jax.random.normal(key, (x_tr.shape[1], sizes[-1]), x_tr.dtype)
    z_tr = random_features(x_tr, w, activation)
    z_te = random_features(x_te, w, activation)
    k_tr, k_te, lo, grams = jnp.zeros((n, n), x_tr.dtype), jnp.zeros((m, n), x_tr.dtype), 0, []
    for p in sizes:
        k_tr = k_tr + z_tr[:, lo:p] @ z_tr[:, lo:p].T
        k_te = k_te + z_te[:, lo:p] @ z_tr[:, lo:p].T
        grams.append((k_tr, k_te))
        lo = p
    k_tr_all = jnp.stack([g[0] for g in grams])  # [P, n, n]
    k_te_all = jnp.stack([g[1] for g in grams])  # [P, m, n]
    ps = jnp.asarray(sizes)

    # One batched eigh over all sizes: independent LAPACK calls that XLA may run concurrently
    # from its thread pool have been seen to deadlock on CPU.
    def per_size(kt, ke, p):
        mu, q, filt, qty = _dual_fit(kt, ys_tr, lams, n, p)  # qty [L, n, k]
        c = jnp.einsum("nr,Ar,lrk->Alnk", q, filt, qty)  # dual coefficients (ZZᵀ + λ)⁻¹Y
        pred_te = jnp.einsum("mn,Alnk->Almk", ke, c)
        pred_tr = jnp.einsum("nr,Ar,lrk->Alnk", q, filt * jnp.maximum(mu, 0.0), qty)
        norm2 = jnp.einsum("Ar,r,lrk->Al", filt**2, jnp.maximum(mu, 0.0), qty**2)  # ‖Zᵀc‖²
        mu_min = mu[n - jnp.minimum(n, p)]  # smallest of the min(n, p) nonzero eigenvalues
        return dict(
            test_mse=jnp.mean(jnp.sum((pred_te - y_te) ** 2, -1), -1),
            train_mse=jnp.mean(jnp.sum((pred_tr - ys_tr[None]) ** 2, -1), -1),
            test_err=jnp.mean(jnp.argmax(pred_te, -1) != jnp.argmax(y_te, -1), -1),
            weight_norm=jnp.sqrt(norm2),
            cond=jnp.sqrt(mu[-1] / jnp.maximum(mu_min, gram_cutoff(mu[-1], n, p, mu.dtype))),
        )

    out = jax.vmap(per_size)(k_tr_all, k_te_all, ps)
    return jax.tree.map(lambda a: jnp.moveaxis(a, 0, -1), out)


def rf_sweep(key, x_tr, ys_tr, x_te, y_te, *, sizes, n_draws, activation="relu", ridge=(0.0,)):
    """Random-features regression over nested model sizes × draws × ridge × label-noise variants.

    Args:
        key: PRNG key (first-layer draws; every λ, label variant and size share a draw's features,
            size ``p`` using its first ``p``).
        x_tr ``[n, d]``; ys_tr ``[L, n, k]`` training targets (one variant per label-noise level);
        x_te ``[m, d]``; y_te ``[m, k]`` clean test targets.
        sizes: numbers of features ``p`` (each ≥ 1); n_draws ≥ 1; activation: "relu" | "tanh";
        ridge: grid of ``λ ≥ 0`` (0 = min-norm).

    Returns:
        dict of numpy arrays: ``sizes [P]`` (sorted), ``ridge [Λ]``; ``test_mse``, ``train_mse``,
        ``test_err``, ``weight_norm`` (``‖a‖_F``) ``[Λ, L, n_draws, P]``; ``cond`` ``[n_draws, P]``
        (``s_max/s_min`` of ``Z_train`` over its ``min(n, p)`` singular values, capped by the cutoff).
    """
    lams = _check_lams("rf_sweep", ridge)
    _check_activation("rf_sweep", activation)
    sizes = tuple(sorted({v.positive_int("rf_sweep", "n_features", p) for p in np.atleast_1d(sizes)}))
    n_draws = v.positive_int("rf_sweep", "n_draws", n_draws)
    ys_tr = np.asarray(ys_tr)
    if ys_tr.ndim != 3 or ys_tr.shape[1] != np.shape(x_tr)[0]:
        raise ValueError(f"`rf_sweep`: ys_tr must be [L, n, k] with n = {np.shape(x_tr)[0]}, got {ys_tr.shape}.")
    with jax.enable_x64(True):
        f64 = lambda a: jnp.asarray(a, jnp.float64)
        args = (f64(x_tr), f64(ys_tr), f64(x_te), f64(y_te), f64(lams))
        run = jax.vmap(partial(_rf_draw, sizes=sizes, activation=activation), in_axes=(0,) + (None,) * 5)
        res = jax.tree.map(np.asarray, run(jax.random.split(key, n_draws), *args))
    for k in ("test_mse", "train_mse", "test_err", "weight_norm"):
        res[k] = np.moveaxis(res[k], 0, 2)  # [draws, Λ, L, P] -> [Λ, L, draws, P]
    res["sizes"] = np.array(sizes)
    res["ridge"] = lams
    return res


# --------------------------------------------------------------------------- data


def digits_data(seed, *, n_train, n_test, label_noise=(0.0,)):
    """scikit-learn's bundled handwritten digits (8×8, 10 classes; no download), split and encoded.

    Pixels are centred by the training mean and scaled so that ``E‖x‖² = d`` on the training set.
    Targets are one-hot. Label noise ``ρ`` (Nakkiran et al. 2019 convention): each training label
    is, with probability ``ρ``, replaced by a uniformly random class; the same uniform draws are
    used for every ``ρ``, so the corrupted sets are nested. Test labels stay clean.

    Returns:
        dict: ``x_tr [n, 64]``, ``ys_tr [L, n, 10]``, ``x_te [m, 64]``, ``y_te [m, 10]``,
        ``label_noise [L]``, ``flipped [L]`` (fraction of training labels actually changed).
    """
    from shld_jax.data import digits

    n_train = v.positive_int("digits_data", "n_train", n_train)
    n_test = v.positive_int("digits_data", "n_test", n_test)
    rhos = np.atleast_1d(np.asarray(label_noise, float))
    for r in rhos:
        v.in_range("digits_data", "label_noise", r, 0.0, 1.0)
    x, target = digits.load()
    if n_train + n_test > len(target):
        raise ValueError(f"`digits_data`: n_train + n_test must be <= {len(target)}, got {n_train + n_test}.")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(target))
    tr, te = idx[:n_train], idx[n_train:n_train + n_test]
    x = x.astype(float)
    mu = x[tr].mean(0)
    scale = np.sqrt(np.mean(np.sum((x[tr] - mu) ** 2, 1)) / x.shape[1])
    x = (x - mu) / scale
    u, rand = rng.random(n_train), rng.integers(0, 10, n_train)
    eye = np.eye(10)
    labels = [np.where(u < r, rand, target[tr]) for r in rhos]
    return {
        "x_tr": x[tr], "x_te": x[te],
        "ys_tr": np.stack([eye[lab] for lab in labels]),
        "y_te": eye[target[te]],
        "label_noise": rhos,
        "flipped": np.array([np.mean(lab != target[tr]) for lab in labels]),
    }


# --------------------------------------------------------------------------- peak statistics


def peak_location(sizes, risk):
    """Model size at the maximum of the median (over draws) risk: ``risk [draws, P]`` → ``p*``."""
    return float(np.asarray(sizes)[np.argmax(np.median(risk, axis=0))])


def bootstrap_peak(sizes, risk, *, seed=0, n_boot=500):
    """``p*`` of draw-resampled medians, ``[n_boot]`` (the spread of the peak location over draws)."""
    risk = np.asarray(risk)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, risk.shape[0], (n_boot, risk.shape[0]))
    return np.array([peak_location(sizes, risk[i]) for i in idx])


def peak_excess(sizes, risk, n_train, *, window=(0.8, 1.25), left=0.5):
    """Height of the bump at the threshold: ``max_{p ∈ window·n} m(p) / min_{p ≤ left·n} m(p)``.

    ``m`` is the median over draws of ``risk [draws, P]``. A value > 1 means the risk near
    ``p = n`` exceeds the best under-parameterised risk (a peak); ≤ 1 means no bump.
    """
    sizes = np.asarray(sizes, float)
    m = np.median(np.asarray(risk), axis=0)
    win = (sizes >= window[0] * n_train) & (sizes <= window[1] * n_train)
    lo = sizes <= left * n_train
    if not win.any() or not lo.any():
        raise ValueError(f"`peak_excess`: sizes must include points in {window}·n and ≤ {left}·n "
                         f"(n = {n_train}), got sizes = {sizes.tolist()}.")
    return float(m[win].max() / m[lo].min())


# --------------------------------------------------------------------------- Langevin / GD and C(t)


def _lgd_run(key, z, y, D, eta, n_steps, save_every):
    """Scan of ``a ← a − η∇ℒ + sqrt(2Dη)ξ`` from 0; returns ``(a_T, g2 [S+1], loss [S+1])`` at saves."""
    n = z.shape[0]

    def grad_loss(a):
        r = z @ a - y
        return z.T @ r / n, 0.5 * jnp.sum(r * r) / n

    def step(a, i):
        g, _ = grad_loss(a)
        xi = jax.random.normal(jax.random.fold_in(key, i), a.shape, a.dtype)
        return a - eta * g + jnp.sqrt(2 * D * eta) * xi, None

    def block(a, j):
        g, loss = grad_loss(a)
        a, _ = jax.lax.scan(step, a, j * save_every + jnp.arange(save_every))
        return a, (jnp.sum(g * g), loss)

    a0 = jnp.zeros((z.shape[1],) + y.shape[1:], z.dtype)
    a, (g2, loss) = jax.lax.scan(block, a0, jnp.arange(n_steps // save_every))
    g_end, loss_end = grad_loss(a)
    return a, jnp.append(g2, jnp.sum(g_end * g_end)), jnp.append(loss, loss_end)


_lgd_run_jit = jax.jit(_lgd_run, static_argnums=(5, 6))


def langevin_fit(key, z, y, *, D, n_steps, save_every=None, lr_scale=1.0):
    """Full-batch Langevin (``D > 0``) or gradient descent (``D = 0``) on ``‖Za − Y‖²/(2n)`` from ``a = 0``.

    Step ``η = lr_scale/λ_max(ZᵀZ/n)`` (stable for ``lr_scale < 2``).

    Returns:
        ``(a [p(, k)], steps [S+1], g2 [S+1], loss [S+1])``: ``‖∇ℒ‖²`` and ``ℒ`` every ``save_every``
        steps (default ``n_steps``) and at the end. ``C = g2/(D·a.size)``.
    """
    D = v.non_negative("langevin_fit", "D", D)
    n_steps = v.positive_int("langevin_fit", "n_steps", n_steps)
    save_every = n_steps if save_every is None else v.positive_int("langevin_fit", "save_every", save_every)
    if n_steps % save_every:
        raise ValueError(f"`langevin_fit`: save_every must divide n_steps = {n_steps}, got save_every = {save_every}.")
    lr_scale = v.in_range("langevin_fit", "lr_scale", lr_scale, 0.0, 2.0, closed="()")
    _check_matrix("langevin_fit", "z", z)
    z = jnp.asarray(z)
    y = jnp.asarray(y, z.dtype)
    eta = lr_scale * z.shape[0] / jnp.linalg.norm(z, 2) ** 2
    a, g2, loss = _lgd_run_jit(key, z, y, D, eta, n_steps, save_every)
    return a, np.arange(0, n_steps + 1, save_every), g2, loss


def grad_norm_theory(mu, qty, *, n, eta, D, steps, k=None):
    """Exact ``E‖∇ℒ(a_t)‖²`` of the discrete Langevin chain from ``a = 0`` (see module docstring).

    Args:
        mu: eigenvalues ``s_i²`` of ``ZZᵀ`` ``[r]`` (zeros allowed); qty: ``QᵀY`` ``[r, k]`` in the
            matching eigenbasis; n: rows of ``Z``; eta: step; D ≥ 0; steps: ``[S]`` step counts;
            k: number of outputs (default ``qty.shape[1]``).

    Returns:
        ``[S]`` (same array library as the inputs).
    """
    xp = jnp if isinstance(mu, jax.Array) else np
    k = qty.shape[-1] if k is None else k
    lam = mu / n
    q2t = (1 - eta * lam)[None, :] ** (2 * xp.asarray(steps)[:, None])
    drift = q2t * (mu * xp.sum(qty**2, axis=-1) / n**2)[None, :]
    noise = k * 2 * D * lam[None, :] * (1 - q2t) / (2 - eta * lam[None, :])
    return xp.sum(drift + noise, axis=-1)


@partial(jax.jit, static_argnames=("n_features", "activation", "n_steps", "save_every", "horizons"))
def _langevin_point(keys, x_tr, y_tr, x_te, y_te, Ds, lr_scale, *, n_features, activation, n_steps, save_every,
                    horizons):
    def one(key):
        kw, kn = jax.random.split(key)
        w = jax.random.normal(kw, (x_tr.shape[1], n_features), x_tr.dtype)
        z = random_features(x_tr, w, activation)
        z_te = random_features(x_te, w, activation)
        mu, q = jnp.linalg.eigh(z @ z.T)  # μ = s², ascending
        mu = jnp.maximum(mu, 0.0)
        n = z.shape[0]
        eta = lr_scale * n / mu[-1]
        steps = jnp.arange(0, n_steps + 1, save_every)

        def per_D(D):
            a, g2, loss = _lgd_run(kn, z, y_tr, D, eta, n_steps, save_every)
            g2_th = grad_norm_theory(mu, q.T @ y_tr, n=n, eta=eta, D=D, steps=steps)
            g2_long = grad_norm_theory(mu, q.T @ y_tr, n=n, eta=eta, D=D, steps=jnp.asarray(horizons, mu.dtype))
            test = jnp.mean(jnp.sum((z_te @ a - y_te) ** 2, -1))
            return g2, g2_th, g2_long, loss, test

        g2, g2_th, g2_long, loss, test = jax.vmap(per_D)(Ds)
        curv = jnp.sum(mu) / n * y_tr.shape[1] / a_size(n_features, y_tr)  # tr ∇²ℒ / d
        return dict(g2=g2, g2_theory=g2_th, g2_long=g2_long, loss=loss, test_mse=test, mean_curvature=curv, eta=eta)

    return jax.vmap(one)(keys)


def a_size(n_features, y):
    """Number of trained parameters ``d = p·k``."""
    return n_features * (y.shape[1] if y.ndim > 1 else 1)


def consolidation_sweep(key, x_tr, y_tr, x_te, y_te, *, sizes, n_draws, D, n_steps, save_every,
                        activation="relu", lr_scale=1.0, horizons=()):
    """C(t) = ‖∇ℒ‖²/(D·d) along Langevin training of the second layer, across model sizes.

    Args:
        x_tr ``[n, d]``, y_tr ``[n, k]``, x_te ``[m, d]``, y_te ``[m, k]``; sizes: ``p`` values;
        n_draws: first-layer draws (each with its own noise stream); D: grid of ``D > 0`` ``[ND]``;
        n_steps, save_every: run length and record interval; lr_scale: ``η·λ_max``;
        horizons: extra step counts ``[H]`` (possibly ≫ n_steps) at which only the exact expectation
        of C is evaluated (``C_long``), to see where training that cannot be simulated would go.

    Returns:
        dict of numpy arrays: ``steps [S]``, ``sizes [P]``, ``D [ND]``; ``C`` and ``C_theory``
        ``[ND, n_draws, P, S]`` (simulated, and exact expectation given the draw's spectrum);
        ``C_long [ND, n_draws, P, H]`` (exact expectation at ``horizons``);
        ``loss [ND, n_draws, P, S]``; ``test_mse [ND, n_draws, P]`` at the end;
        ``mean_curvature [n_draws, P]`` (``tr ∇²ℒ/d``, the ``t → ∞`` value of C for small ``ηλ``).
    """
    Ds = np.atleast_1d(np.asarray(D, float))
    for d_ in Ds:
        v.positive("consolidation_sweep", "D", d_)
    _check_activation("consolidation_sweep", activation)
    sizes = [v.positive_int("consolidation_sweep", "n_features", p) for p in np.atleast_1d(sizes)]
    n_draws = v.positive_int("consolidation_sweep", "n_draws", n_draws)
    n_steps = v.positive_int("consolidation_sweep", "n_steps", n_steps)
    save_every = v.positive_int("consolidation_sweep", "save_every", save_every)
    if n_steps % save_every:
        raise ValueError(f"`consolidation_sweep`: save_every must divide n_steps = {n_steps}, "
                         f"got save_every = {save_every}.")
    lr_scale = v.in_range("consolidation_sweep", "lr_scale", lr_scale, 0.0, 2.0, closed="()")
    horizons = tuple(v.positive_int("consolidation_sweep", "horizons", h) for h in np.atleast_1d(horizons)) or (n_steps,)
    y_tr = np.asarray(y_tr)
    out = []
    # float32: no inversion happens here, and the run is the costly part of the notebook.
    f32 = lambda a: jnp.asarray(a, jnp.float32)
    args = (f32(x_tr), f32(y_tr), f32(x_te), f32(y_te), f32(Ds), lr_scale)
    for i, p in enumerate(sizes):
        keys = jax.random.split(jax.random.fold_in(key, i), n_draws)
        r = jax.tree.map(np.asarray, _langevin_point(keys, *args, n_features=p, activation=activation,
                                                     n_steps=n_steps, save_every=save_every, horizons=horizons))
        dd = Ds[None, :, None] * a_size(p, y_tr)
        r["C"] = r.pop("g2") / dd
        r["C_theory"] = r.pop("g2_theory") / dd
        r["C_long"] = r.pop("g2_long") / dd
        out.append(r)
    res = {k: np.stack([o[k] for o in out], axis=2 if out[0][k].ndim > 1 else 1) for k in out[0]}
    for k in ("C", "C_theory", "C_long", "loss", "test_mse"):
        res[k] = np.moveaxis(res[k], 1, 0)  # [draws, ND, P, ...] -> [ND, draws, P, ...]
    res["steps"] = np.arange(0, n_steps + 1, save_every)
    res["sizes"] = np.array(sizes)
    res["D"] = Ds
    res["horizons"] = np.array(horizons)
    return res


# --------------------------------------------------------------------------- GD under notebook 03's D


def _gd_point(z, y, lr_scale, horizons):
    """Closed-form GD from 0 on one feature matrix ``z [n, p]`` (numpy float64): ``‖ḡ‖², tr Σ [H]``, η."""
    n = z.shape[0]
    mu, q = np.linalg.eigh(z @ z.T)
    mu = np.maximum(mu, 0.0)
    eta = lr_scale * n / mu[-1]
    qty = q.T @ y
    z2 = np.sum(z * z, axis=1)  # ‖z_i‖²
    decay = (1 - eta * mu / n)[None, :] ** np.asarray(horizons, float)[:, None]  # [H, n]; μ = 0 never moves
    dq = decay[:, :, None] * qty[None]                                         # [H, n, k]
    r = np.einsum("nr,hrk->hnk", q, dq)                                        # residual Z a_t − Y
    g2 = np.einsum("r,hrk->h", mu, dq**2) / n**2
    tr_sigma = np.mean(z2[None] * np.sum(r * r, axis=2), axis=1) - g2
    return g2, tr_sigma, eta


def gd_consolidation_sweep(key, x_tr, y_tr, *, sizes, n_draws, horizons, activation="relu", lr_scale=1.0):
    """C(t) of noise-free gradient descent under notebook 03's convention, in closed form.

    Gradient descent ``a ← a − η∇ℒ`` from ``a = 0`` on ``ℒ = ‖Za − Y‖²/(2n)`` has residual
    :math:`R_t = Q\\,\\mathrm{diag}(q^t)\\,Q^\\top Y` (``ZZᵀ = Q diag(μ) Qᵀ``, :math:`q = 1 - \\eta\\mu/n`),
    so at any horizon ``t`` the mean gradient :math:`\\bar g = Z^\\top R_t/n` and the per-example
    gradients :math:`g_i = z_i r_i^\\top` are exact. Notebook 03's convention takes
    ``D = σ²/2`` with ``σ² = tr Σ/d`` the per-example gradient variance,
    :math:`\\operatorname{tr}\\Sigma = \\frac1n\\sum_i \\|z_i\\|^2\\|r_i\\|^2 - \\|\\bar g\\|^2`, hence

    .. math:: C_{03} = \\frac{\\|\\bar g\\|^2}{D\\,d} = \\frac{2\\|\\bar g\\|^2}{\\operatorname{tr}\\Sigma},

    and the SGD-equivalent ``D_B = η·σ²/(2B)`` with ``B = n`` gives ``C_B = (n/η)·C₀₃``.
    Key ``i`` of size ``p`` (``fold_in(key, i)``, split per draw) draws the same features as
    :func:`consolidation_sweep` with the same key (float32 features, as there); the closed form is
    evaluated in float64.

    Returns:
        dict of numpy arrays: ``C_pe``, ``C_sgd`` ``[n_draws, P, H]``, ``eta [n_draws, P]``,
        ``sizes [P]``, ``horizons [H]``.
    """
    _check_activation("gd_consolidation_sweep", activation)
    sizes = [v.positive_int("gd_consolidation_sweep", "n_features", p) for p in np.atleast_1d(sizes)]
    n_draws = v.positive_int("gd_consolidation_sweep", "n_draws", n_draws)
    hs = [v.positive_int("gd_consolidation_sweep", "horizons", h) for h in np.atleast_1d(horizons)]
    lr_scale = v.in_range("gd_consolidation_sweep", "lr_scale", lr_scale, 0.0, 2.0, closed="()")
    n = np.shape(x_tr)[0]
    x32, y_tr = np.asarray(x_tr, np.float32), np.asarray(y_tr, np.float64)
    out = []
    # numpy: an 80 × 80 eigh per draw is microseconds, an XLA compile per size is seconds.
    for i, p in enumerate(sizes):
        keys = jax.random.split(jax.random.fold_in(key, i), n_draws)
        kw = jax.vmap(lambda k: jax.random.split(k)[0])(keys)  # the features :func:`_langevin_point` draws
        ws = np.asarray(jax.vmap(lambda k: jax.random.normal(k, (x32.shape[1], p), jnp.float32))(kw))
        for w in ws:
            pre = (x32 @ w / np.float32(np.sqrt(x32.shape[1]))).astype(np.float64)
            z = np.maximum(pre, 0.0) if activation == "relu" else np.tanh(pre)
            out.append(_gd_point(z, y_tr, lr_scale, hs))
    P = len(sizes)
    g2 = np.stack([o[0] for o in out]).reshape(P, n_draws, -1).swapaxes(0, 1)
    trs = np.stack([o[1] for o in out]).reshape(P, n_draws, -1).swapaxes(0, 1)
    eta = np.array([o[2] for o in out]).reshape(P, n_draws).T
    if np.any(trs <= 0):
        raise FloatingPointError("`gd_consolidation_sweep`: per-example gradient variance ≤ 0 (the fit "
                                 "interpolates to rounding error; C is undefined there)")
    c_pe = 2 * g2 / trs
    return {"C_pe": c_pe, "C_sgd": c_pe * (n / eta)[..., None], "eta": eta, "sizes": np.array(sizes),
            "horizons": np.array(hs)}


# --------------------------------------------------------------------------- verdict arithmetic


def all_of(outcomes, label: str = "") -> stats.Outcome:
    """A conjunction of tests: pass iff all pass, fail iff any fails, else inconclusive.

    The measured value and spread are those of the first failing (else first inconclusive, else
    first) test, so the ledger shows the binding one.
    """
    outcomes = list(outcomes)
    if not outcomes:
        raise ValueError("`all_of`: need at least one outcome")
    kinds = [o.outcome for o in outcomes]
    out = stats.FAIL if stats.FAIL in kinds else stats.INCONCLUSIVE if stats.INCONCLUSIVE in kinds else stats.PASS
    binding = outcomes[kinds.index(out)]
    text = (label + ": " if label else "") + f"all of {len(outcomes)} tests; binding: {binding.test}"
    return stats.Outcome(out, binding.measured, binding.spread, text)


def table_error_outcomes(pred, obs, stated) -> dict:
    """Do the stated relative errors follow from the table's predicted/observed sizes?

    One deterministic reading per convention: ``|pred − obs|`` divided by ``obs``, by ``pred``
    or by their mean, rounded to 0.1 point, must reproduce every stated error; and "each row its
    own normaliser" (whichever of the three reproduces that row). ``measured`` is the worst row's
    gap in percentage points.
    """
    pred, obs, stated = (np.asarray(a, float) for a in (pred, obs, stated))
    diff = np.abs(pred - obs)
    errs = {"|Δ|/observed": 100 * diff / obs, "|Δ|/predicted": 100 * diff / pred,
            "|Δ|/mean(pred, obs)": 200 * diff / (pred + obs)}
    gaps = {k: np.abs(np.round(e, 1) - stated) for k, e in errs.items()}
    out = {}
    for k, g in gaps.items():
        worst = float(g.max())
        out[k + ", rounded to 0.1"] = stats.threshold(
            worst, bool(worst < 0.05), test=f"all three rows reproduced to 0.1 pt; recomputed {np.round(errs[k], 2).tolist()} %")
    per_row = np.min(np.stack(list(gaps.values())), axis=0)
    out["each row its own normaliser"] = stats.threshold(
        float(per_row.max()), bool(per_row.max() < 0.05), test="some convention reproduces each row to 0.1 pt")
    return out


def peak_outcome(sizes, risk, n_train, *, seed=0, margin=0.1, alpha=0.05) -> stats.Outcome:
    """TOST of "the risk peaks at ``p ≈ n_train``": ``p*/n`` of draw-resampled medians (bootstrap
    mean and standard deviation) within ``±margin`` of 1."""
    ratio = bootstrap_peak(sizes, risk, seed=seed) / float(n_train)
    return stats.equivalence(float(ratio.mean()), float(ratio.std(ddof=1)), target=1.0, margin=margin, alpha=alpha)


def log_ratio_outcome(ratios, *, at_least=None, at_most=None, alpha=0.05) -> stats.Outcome:
    """One-sided t bound on the mean of ``log₁₀(ratio)`` over independent draws, against
    ``log₁₀(at_least)`` or ``log₁₀(at_most)`` (a geometric-mean claim; ``measured`` is log₁₀)."""
    r = np.asarray(ratios, float).ravel()
    if np.any(~np.isfinite(r)) or np.any(r <= 0):
        raise ValueError(f"`log_ratio_outcome`: ratios must be finite and > 0, got {r.tolist()}")
    m, se, df = stats.mean_se(np.log10(r))
    lo = None if at_least is None else float(np.log10(at_least))
    hi = None if at_most is None else float(np.log10(at_most))
    return stats.bound(m, se, at_least=lo, at_most=hi, alpha=alpha, df=df)


def c_ratios(C, sizes, n_train):
    """Per-draw collapse and recovery ratios of ``C [draws, P]`` over model sizes ``p``:
    ``C(n)/min(C(n/2), C(2n))`` and ``C(p_max)/C(n)`` (nearest sizes)."""
    ratio = np.asarray(sizes, float) / n_train
    at = lambda q: int(np.argmin(np.abs(ratio - q)))
    C = np.asarray(C, float)
    collapse = C[:, at(1.0)] / np.minimum(C[:, at(0.5)], C[:, at(2.0)])
    recovery = C[:, -1] / C[:, at(1.0)]
    return collapse, recovery


def peak_excess_draws(sizes, risk, n_train, *, window=(0.8, 1.25), left=0.5):
    """:func:`peak_excess` of every draw separately: ``risk [draws, P]`` → ``[draws]``."""
    risk = np.asarray(risk)
    return np.array([peak_excess(sizes, r[None], n_train, window=window, left=left) for r in risk])


def increasing_outcome(excess, alpha=0.05) -> stats.Outcome:
    """"The peak excess grows with ρ": paired t on ``log`` excess between consecutive levels
    (``excess [L, draws]``, same draws), each must be > 0; combined by :func:`all_of`."""
    lx = np.log(np.asarray(excess, float))
    return all_of([stats.difference(lx[i + 1], lx[i], claim="greater", alpha=alpha) for i in range(len(lx) - 1)],
                  "log excess increases at every step in ρ")


def ridge_outcome(excess, *, slack=0.05, alpha=0.05) -> stats.Outcome:
    """"Ridge flattens the peak monotonically and removes it": ``excess [Λ, draws]`` (λ ascending).

    Monotone: every consecutive mean log-ratio has its upper 1−α bound ≤ ``log(1+slack)``; removed:
    the mean log excess at the largest λ has its upper bound ≤ ``log(1+slack)``. All must pass.
    """
    lx = np.log(np.asarray(excess, float))
    b = float(np.log1p(slack))
    tests = [stats.bound(*stats.mean_se(lx[j + 1] - lx[j])[:2], at_most=b, alpha=alpha,
                         df=lx.shape[1] - 1) for j in range(len(lx) - 1)]
    m, se, df = stats.mean_se(lx[-1])
    tests.append(stats.bound(m, se, at_most=b, alpha=alpha, df=df))
    return all_of(tests, "non-increasing in λ and no bump at the largest λ")


def linear_outcome(risk, finite, *, margin=0.1, alpha=0.05) -> stats.Outcome:
    """TOST at every γ of the simulated mean risk ``risk [draws, G]`` against the exact finite-n
    mean ``finite [G]`` within a relative ``margin`` (γ with an infinite mean are skipped)."""
    risk = np.asarray(risk, float)
    tests = []
    for g in range(risk.shape[1]):
        if np.isfinite(finite[g]):
            m, se, df = stats.mean_se(risk[:, g])
            tests.append(stats.equivalence(m, se, target=float(finite[g]), margin=margin, relative=True,
                                           alpha=alpha, df=df))
    return all_of(tests, "simulated mean ≈ exact finite-n mean at every γ")


def c_readings(cs, gd, *, n_train, steps, horizon) -> dict:
    """Every reading of the C rows from one measurement: ``{(row, reading): Outcome}``.

    ``cs``: :func:`consolidation_sweep` (Langevin, its ``D`` grid; simulated at ``steps`` and exact
    expectation at ``horizon``, which must be one of its ``horizons``); ``gd``:
    :func:`gd_consolidation_sweep` (noise-free GD under notebook 03's per-example ``D`` and the
    SGD-equivalent ``D_B``). Collapse: geometric-mean ``C(n)/min(C(n/2), C(2n)) ≤ 0.5``; recovery:
    ``C(p_max)/C(n) ≥ 2`` (one-sided t bounds over draws, :func:`log_ratio_outcome`).
    """
    curves = {}
    h = list(cs["horizons"]).index(horizon)
    for i, D in enumerate(cs["D"]):
        curves[f"Langevin, D = {D:g}, T = {steps} (simulated)"] = cs["C"][i][..., -1]
        curves[f"Langevin, D = {D:g}, T = {horizon:g} (exact expectation)"] = cs["C_long"][i][..., h]
    for j, T in enumerate(gd["horizons"]):
        curves[f"GD, D = per-example σ²/2 (notebook 03), T = {T:g}"] = gd["C_pe"][..., j]
        curves[f"GD, SGD-equivalent D_B = ησ²/(2n), T = {T:g}"] = gd["C_sgd"][..., j]
    out = {}
    for name, C in curves.items():
        collapse, recovery = c_ratios(C, cs["sizes"], n_train)
        out[("collapse", name)] = log_ratio_outcome(collapse, at_most=0.5)
        out[("recovery", name)] = log_ratio_outcome(recovery, at_least=2.0)
    return out


def rf_readings(rf, sizes, n_train, *, seed=0) -> dict:
    """Readings of the random-features rows from one :func:`rf_sweep` per activation
    (``rf[act]``, ridge grid ascending with ``λ = 0`` first, label noise ascending with 0 first):
    ``{(row, reading): Outcome}`` for the peak (test MSE and classification error), label noise
    (:func:`increasing_outcome`) and ridge (:func:`ridge_outcome`, at the largest label noise)."""
    out = {}
    for act, r in rf.items():
        out[(f"peak-{act}", "test MSE (one-hot)")] = peak_outcome(sizes, r["test_mse"][0, 0], n_train, seed=seed)
        out[(f"peak-{act}", "test classification error")] = peak_outcome(sizes, r["test_err"][0, 0], n_train,
                                                                          seed=seed)
        noise = np.stack([peak_excess_draws(sizes, r["test_mse"][0, l], n_train) for l in range(r["test_mse"].shape[1])])
        out[("label-noise", f"{act}, min-norm")] = increasing_outcome(noise)
        lam = np.stack([peak_excess_draws(sizes, r["test_mse"][j, -1], n_train) for j in range(r["test_mse"].shape[0])])
        out[("ridge", f"{act}, largest label noise")] = ridge_outcome(lam)
    return out
