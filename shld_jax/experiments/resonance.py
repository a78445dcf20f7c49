"""Experiments of notebook 06 and the ``sr-bench`` CLI: does adaptive SR noise help optimisation?

Four parts, each a pure function of its arguments (keys included) returning numpy arrays:

1. :func:`benchmark` — seed 000's benchmark: gradient descent on a synthetic surface
   (``quadratic``, ``plateau`` or ``double-well``) with one of the noise ``METHODS``,
   vmapped over seeds.
2. :func:`saturated_net` — a small tanh network started in saturation (the seed's story:
   sub-threshold gradients through saturated layers), trained with SR activation noise,
   constant activation noise, annealed gradient noise, or none.
3. :func:`forced_double_well` — classic stochastic resonance: the periodically forced
   quartic double well, SNR at the forcing frequency versus noise D.
4. :func:`mw_snr` and friends — the McNamara–Wiesenfeld adiabatic two-state theory.

Surfaces are separable: ``L(θ) = (1/d) Σ_i f(θ_i)`` and gradient descent steps on
``∇ Σ_i f(θ_i)``, so ``lr`` is a per-coordinate learning rate independent of ``d`` (one
step of the mean-loss gradient would otherwise shrink as ``1/d``). The gain law sees
the mean loss ``L``, as the seed's printed losses suggest.

Noise placement (all in parameter units per step, comparable in the figures):

* ``sr``: the seed's gain law, noise ``g·ε`` added to the iterate (``optax.chain(sgd,
  stochastic_resonance_noise)``); ``sr-relative``: the same with relative improvement;
* ``constant``: fixed gain ``const_gain`` (a control with SR's average noise power);
* ``annealed``: Neelakantan et al. 2015 / ``optax.add_noise(eta, gamma)`` on the gradient,
  ``σ_t² = η/(1+t)^γ``, so the parameter noise is ``lr·σ_t``;
* ``none``: plain gradient descent.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from typing import NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax

from shld_jax import _validate as v
from shld_jax import _potentials as P
from shld_jax import _resonance as R

SURFACES = ("quadratic", "plateau", "double-well")
METHODS = ("none", "sr", "sr-relative", "constant", "annealed")

# Per-surface learning rate (per coordinate) and constants; fixed here, stated in notebook 06.
LR = {"quadratic": 0.1, "plateau": 0.1, "double-well": 0.05}
PLATEAU_START = 3.5          # tanh'(3.5) = sech²(3.5) ≈ 3.6e-3: a sub-threshold gradient
TILTED = P.tilted_double_well(a=1.0, barrier=1.0, tilt=0.25)   # shallow well on the right
_TILTED_MIN = float(TILTED.u(TILTED.minima[0]))


def check_surface(call: str, surface: str) -> str:
    if surface not in SURFACES:
        raise ValueError(f"`{call}`: surface must be one of {SURFACES}, got surface = {surface!r}.")
    return surface


def check_method(call: str, method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"`{call}`: method must be one of {METHODS}, got method = {method!r}.")
    return method


class Problem(NamedTuple):
    """Start point ``theta0`` ``[d]`` and surface data ``target`` ``[d]`` of one seed."""

    theta0: jax.Array
    target: jax.Array


def make_problem(surface: str, dim: int, key) -> Problem:
    """Draw one seed's problem.

    * quadratic: ``f_i = λ_i (θ_i − θ*_i)²``, ``λ_i`` log-spaced in [0.1, 1], ``θ* ~ N(0, 4I)``, ``θ0 = 0``;
    * plateau: ``f_i = (tanh θ_i − y_i)²``, ``y_i ~ U(−½, ½)``, ``θ0 = 3.5`` (saturated);
    * double-well: ``f_i = u(θ_i) − u_min`` for the tilted well ``(θ²−1)² + θ/4``, started in
      the shallow (right) minimum; the deep one is on the left.
    """
    if surface == "quadratic":
        return Problem(jnp.zeros(dim), 2.0 * jax.random.normal(key, (dim,)))
    if surface == "plateau":
        return Problem(jnp.full((dim,), PLATEAU_START), jax.random.uniform(key, (dim,), minval=-0.5, maxval=0.5))
    return Problem(jnp.full((dim,), TILTED.minima[1]), jnp.zeros(dim))


def _f(surface: str, theta, target):
    """Per-coordinate loss ``f(θ_i)`` ``[d]``."""
    d = theta.shape[-1]
    if surface == "quadratic":
        lam = jnp.asarray(np.geomspace(0.1, 1.0, d), theta.dtype)
        return lam * (theta - target) ** 2
    if surface == "plateau":
        return (jnp.tanh(theta) - target) ** 2
    return TILTED.u(theta) - _TILTED_MIN


def surface_loss(surface: str, theta, target):
    """Mean loss ``L = (1/d) Σ f(θ_i)`` (what the gain law and the CLI report)."""
    return jnp.mean(_f(surface, theta, target))


def sr_optimizer(lr: float, config: R.StochasticResonanceConfig | None = None, *, key):
    """The CLI's optimiser as an optax chain: ``sgd(lr)`` then SR noise on the iterate.

    :func:`benchmark` runs the same arithmetic (same key stream) inside one compiled
    program for all methods; a test checks the two agree.
    """
    return optax.chain(optax.sgd(lr), R.stochastic_resonance_noise(config, key=key))


def _grid(one, keys, method_ids):
    """``one(key, method)`` over the ``[n_methods, n_seeds]`` grid with a single flat ``vmap``."""
    nm, ns = method_ids.shape[0], keys.shape[0]
    k = jnp.tile(keys, nm)
    m = jnp.repeat(method_ids, ns)
    out = jax.vmap(one)(k, m)
    return jax.tree.map(lambda x: x.reshape(nm, ns, *x.shape[1:]), out)


def _select(method_id, options):
    return jnp.select([method_id == i for i in range(len(options))], options)


@partial(jax.jit, static_argnames=("surface", "dim", "steps", "lr", "config", "eta", "gamma", "polish"))
def _run(keys, method_ids, const_gain, *, surface, dim, steps, lr, config, eta, gamma, polish):
    """``[n_methods, n_seeds]`` runs in one program; the method is a traced index into ``METHODS``."""
    cfg_abs = dataclasses.replace(config, relative=False)
    cfg_rel = dataclasses.replace(config, relative=True)

    def one(key, mid):
        kp, kn = jax.random.split(key)
        prob = make_problem(surface, dim, kp)
        total = lambda th: jnp.sum(_f(surface, th, prob.target))

        def noise_std(sa, sr, t):
            ann = lr * jnp.sqrt(eta / (t + 1.0) ** gamma)   # optax.add_noise: σ² = η/(count+1)^γ, ×lr
            return _select(mid, [jnp.float32(0.0), sa.gain, sr.gain, const_gain, ann])

        def body(carry, t):
            th, sa, sr, k = carry
            tot, g = jax.value_and_grad(total)(th)
            loss = tot / dim
            before = noise_std(sa, sr, t)
            sa, sr = R.step(sa, loss, cfg_abs), R.step(sr, loss, cfg_rel)
            # same key stream as `stochastic_resonance_noise`: split, then one key per leaf
            k, sk = jax.random.split(k)
            eps = jax.random.normal(jax.random.split(sk, 1)[0], th.shape, th.dtype)
            th = th - lr * g + noise_std(sa, sr, t) * eps
            return (th, sa, sr, k), (loss, before)

        init = (prob.theta0, R.init(cfg_abs), R.init(cfg_rel), kn)
        (th, sa, sr, _), (loss, std) = jax.lax.scan(body, init, jnp.arange(steps, dtype=jnp.float32))
        loss = jnp.append(loss, surface_loss(surface, th, prob.target))
        std = jnp.append(std, noise_std(sa, sr, jnp.float32(steps)))
        # where did the noise leave the iterate? noise-free GD from the final point
        polished = jax.lax.fori_loop(0, polish, lambda i, x: x - lr * jax.grad(total)(x), th)
        return loss, std, surface_loss(surface, polished, prob.target)

    return _grid(one, keys, method_ids)


def _check_steps(call, steps):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"`{call}`: steps must be an integer >= 0, got steps = {steps!r}.")
    return int(steps)


def benchmark_all(surface: str = "quadratic", methods=METHODS, *, dim: int = 128, steps: int = 100,
                  seeds=(42,), lr: float | None = None, config: R.StochasticResonanceConfig | None = None,
                  const_gain: float = 0.02, eta: float = 0.01, gamma: float = 0.55,
                  polish: int = 100) -> dict:
    """Run several noise ``methods`` on one surface for every seed, in one compiled program.

    Args:
        surface: one of ``SURFACES``; methods: entries of ``METHODS``.
        dim: number of coordinates ``d``; steps: iterations (``>= 0``).
        seeds: integer seeds; seed ``s`` uses ``jax.random.key(s)``, split into a problem key and
            a noise key, so every method sees the same problem for a given seed.
        lr: per-coordinate learning rate (default ``LR[surface]``).
        config: SR gain law (default: the seed's); const_gain: gain of ``constant`` (traced: no
            recompilation when it changes); eta, gamma: the ``annealed`` schedule.
        polish: noise-free GD steps run from the final iterate for ``polished``.

    Returns:
        ``{method: {"loss": [n_seeds, steps+1], "gain": [n_seeds, steps+1], "polished": [n_seeds]}}``:
        the mean loss at ``θ_t``; the parameter-noise std in force when ``θ_t`` is reached (for
        ``sr`` the gain after ``t`` law updates, so entry 0 is ``base_gain``; for ``annealed``
        ``lr·sqrt(η/(t+1)^γ)``, the std of its next step); the loss after ``polish``
        noise-free steps from the final iterate (which basin / how far along the plateau the run
        ended, without its noise floor).
    """
    c = "benchmark"
    check_surface(c, surface)
    methods = [check_method(c, m) for m in ([methods] if isinstance(methods, str) else methods)]
    dim = v.positive_int(c, "dim", dim)
    steps = _check_steps(c, steps)
    lr = LR[surface] if lr is None else v.positive(c, "lr", lr)
    config = R.DEFAULT_CONFIG if config is None else config
    const_gain = v.positive(c, "const_gain", const_gain)
    eta, gamma = v.positive(c, "eta", eta), v.non_negative(c, "gamma", gamma)
    polish = v.non_negative(c, "polish", polish)
    keys = jnp.stack([jax.random.key(int(s)) for s in np.atleast_1d(seeds)])
    # every method is always run (cheap), so the program compiles once per surface/shape,
    # whatever subset is requested or which const_gain is used
    ids = jnp.arange(len(METHODS), dtype=jnp.int32)
    loss, gain, pol = _run(keys, ids, jnp.float32(const_gain), surface=surface, dim=dim, steps=steps,
                           lr=lr, config=config, eta=eta, gamma=gamma, polish=int(polish))
    f = lambda x, m: np.asarray(x[METHODS.index(m)], np.float64)
    return {m: {"loss": f(loss, m), "gain": f(gain, m), "polished": f(pol, m)} for m in methods}


def benchmark(surface: str = "quadratic", method: str = "sr", **kw) -> dict:
    """One method of :func:`benchmark_all`: ``{"loss", "gain", "polished"}``."""
    return benchmark_all(surface, [method], **kw)[method]


# --------------------------------------------------------------------- saturated network


class NetProblem(NamedTuple):
    """Teacher data ``x`` ``[n, n_in]``, ``y`` ``[n]`` and the student's saturated start ``params``."""

    x: jax.Array
    y: jax.Array
    params: dict


def make_net_problem(key, *, n=256, n_in=8, n_hidden=16, teacher_hidden=4, init_scale=4.0) -> NetProblem:
    """Teacher ``y = a_t·tanh(W_t x)``; student ``W1 ~ N(0, init_scale²/n_in)`` so that the
    pre-activations have std ``init_scale`` (tanh saturated for ``init_scale ≫ 1``)."""
    k = jax.random.split(key, 5)
    x = jax.random.normal(k[0], (n, n_in))
    wt = jax.random.normal(k[1], (n_in, teacher_hidden)) / math.sqrt(n_in)
    at = jax.random.normal(k[2], (teacher_hidden,))
    y = jnp.tanh(x @ wt) @ at
    params = {
        "W1": init_scale * jax.random.normal(k[3], (n_in, n_hidden)) / math.sqrt(n_in),
        "b1": jnp.zeros(n_hidden),
        "a": jax.random.normal(k[4], (n_hidden,)) / math.sqrt(n_hidden),
        "c": jnp.zeros([]),
    }
    return NetProblem(x, y, params)


def net_loss(params, x, y, noise_gain=0.0, key=None):
    """``½·mean (a·tanh(W1ᵀx + b1 + g·ε) + c − y)²``; the noise enters the pre-activations."""
    z = x @ params["W1"] + params["b1"]
    if key is not None:
        z = z + noise_gain * jax.random.normal(key, z.shape)
    pred = jnp.tanh(z) @ params["a"] + params["c"]
    return 0.5 * jnp.mean((pred - y) ** 2)


def saturation(params, x):
    """Fraction of hidden pre-activations with ``|z| > 2`` (``tanh' < 0.071``)."""
    return jnp.mean(jnp.abs(x @ params["W1"] + params["b1"]) > 2.0)


NET_METHODS = ("none", "sr", "constant", "annealed")


@partial(jax.jit, static_argnames=("steps", "lr", "config", "eta", "gamma", "init_scale"))
def _run_net(keys, method_ids, const_gain, *, steps, lr, config, eta, gamma, init_scale):
    def one(key, mid):
        kp, kn = jax.random.split(key)
        prob = make_net_problem(kp, init_scale=init_scale)
        act_noise = (mid == 1) | (mid == 2)
        grad = jax.value_and_grad(net_loss)

        def body(carry, t):
            p, sr, k = carry
            k, kz, kg = jax.random.split(k, 3)
            clean = net_loss(p, prob.x, prob.y)
            gain = jnp.where(mid == 1, sr.gain, jnp.where(mid == 2, const_gain, 0.0))
            train, g = grad(p, prob.x, prob.y, gain, kz)
            # annealed gradient noise, optax.add_noise(eta, gamma): σ_t² = η/(t+1)^γ
            sig = jnp.where(mid == 3, jnp.sqrt(eta / (t + 1.0) ** gamma), 0.0)
            flat, unravel = jax.flatten_util.ravel_pytree(g)
            g = unravel(flat + sig * jax.random.normal(kg, flat.shape))
            sat = saturation(p, prob.x)
            # the seed's loop: metric = train_step(); gain = injector.step(metric)
            sr = R.step(sr, train, config)
            p = jax.tree.map(lambda a, b: a - lr * b, p, g)
            return (p, sr, k), (clean, jnp.where(act_noise, gain, 0.0), sat)

        (p, _, _), (clean, gain, sat) = jax.lax.scan(body, (prob.params, R.init(config), kn),
                                                     jnp.arange(steps, dtype=jnp.float32))
        return jnp.append(clean, net_loss(p, prob.x, prob.y)), gain, sat

    return _grid(one, keys, method_ids)


def saturated_net(methods=NET_METHODS, *, steps: int = 1000, seeds=range(32), lr: float = 0.05,
                  config: R.StochasticResonanceConfig | None = None, const_gain: float = 0.1,
                  eta: float = 0.01, gamma: float = 0.55, init_scale: float = 4.0) -> dict:
    """Train the saturated student with each of ``methods`` (``NET_METHODS``), full-batch GD,
    all methods and seeds in one compiled program.

    ``sr``: activation noise on the hidden pre-activations with the gain law driven by the
    (noisy) training loss; ``constant``: the same noise at ``const_gain``; ``annealed``:
    Gaussian gradient noise ``σ_t² = η/(t+1)^γ`` (``optax.add_noise``); ``none``.

    Returns ``{method: {"loss": [n_seeds, steps+1] clean loss, "gain": [n_seeds, steps]
    activation-noise gain, "saturation": [n_seeds, steps] fraction of saturated units}}``.
    """
    c = "saturated_net"
    methods = [methods] if isinstance(methods, str) else list(methods)
    for m in methods:
        if m not in NET_METHODS:
            raise ValueError(f"`{c}`: method must be one of {NET_METHODS}, got method = {m!r}.")
    steps = v.positive_int(c, "steps", steps)
    config = R.DEFAULT_CONFIG if config is None else config
    keys = jnp.stack([jax.random.key(int(s)) for s in seeds])
    # subsets run alone (this network is the costly part of notebook 06)
    ids = jnp.asarray([NET_METHODS.index(m) for m in methods], jnp.int32)
    loss, gain, sat = _run_net(keys, ids, jnp.float32(v.positive(c, "const_gain", const_gain)),
                               steps=steps, lr=v.positive(c, "lr", lr), config=config,
                               eta=v.positive(c, "eta", eta), gamma=v.non_negative(c, "gamma", gamma),
                               init_scale=v.positive(c, "init_scale", init_scale))
    f = lambda x, i: np.asarray(x[i], np.float64)
    return {m: {"loss": f(loss, i), "gain": f(gain, i), "saturation": f(sat, i)} for i, m in enumerate(methods)}



# ---------------------------------------------------------- classic stochastic resonance

SR_WELL = P.double_well(a=1.0, barrier=0.25)   # u = x⁴/4 − x²/2 + 1/4: ΔV = 1/4, x_m = 1


def kramers(D):
    """Kramers rate ``r_K = e^{−ΔV/D}/(√2·π)`` of ``u = x⁴/4 − x²/2`` (via ``potentials.kramers_rate``)."""
    return np.array([P.kramers_rate(SR_WELL, float(d)) for d in np.atleast_1d(D)])


def exact_rate(D):
    """Hopping rate ``1/τ(−1→+1)`` from the exact mean first-passage time (no ``ΔV/D ≫ 1`` needed)."""
    return np.array([1.0 / P.exact_mfpt(SR_WELL, -1.0, 1.0, float(d)) for d in np.atleast_1d(D)])


def mw_snr(A, D, rate, x_m=1.0):
    """Adiabatic two-state SNR (McNamara & Wiesenfeld 1989), two-sided spectra, one line.

    A two-state process ``±x_m`` with modulated rates ``W_∓(t) = r·exp(±A x_m cos Ωt / D)``
    has, to first order in ``A``, the mean response ``x̄ cos(Ωt − φ)`` with
    ``x̄ = 2 r A x_m² / (D·sqrt(4r² + Ω²))`` and the noise (telegraph) spectrum
    ``S_N(ω) = 4 r x_m² / (4r² + ω²)``. The line at ``+Ω`` carries weight ``π x̄²/2``, so

        SNR = (π x̄²/2) / S_N(Ω) = (π/2) · r · A² x_m² / D².

    (Gammaitoni et al. 1998, eq. 2.17, count both lines ±Ω: twice this.) Independent of Ω;
    with ``r = r_K ∝ e^{−ΔV/D}`` its maximum is at ``D = ΔV/2``.
    """
    return 0.5 * np.pi * np.asarray(rate) * A**2 * x_m**2 / np.asarray(D) ** 2


def mw_amplitude(A, D, rate, Omega, x_m=1.0):
    """``x̄ = 2 r A x_m² / (D·sqrt(4r² + Ω²))`` (depends on Ω, unlike the SNR)."""
    r = np.asarray(rate)
    return 2 * r * A * x_m**2 / (np.asarray(D) * np.sqrt(4 * r**2 + Omega**2))


def matching_D(Omega):
    """Noise level of the time-scale matching condition ``2·T_K(D) = T_Ω``, i.e. ``r_K = Ω/π``."""
    # r_K = e^{−ΔV/D}/(√2 π) = Ω/π  ⇒  D = ΔV / ln(1/(√2 Ω))
    return 0.25 / math.log(1.0 / (math.sqrt(2.0) * Omega))


@partial(jax.jit, static_argnames=("n_traj", "n_samples", "sub", "n_burn", "n_bins"))
def _forced(key, A, Omegas, Ds, dt, T, *, n_traj, n_samples, sub, n_burn, n_bins):
    nO, nD = Omegas.shape[0], Ds.shape[0]
    shape = (nO, nD, n_traj)
    k0, key = jax.random.split(key)
    x0 = jnp.where(jax.random.bernoulli(k0, 0.5, shape), 1.0, -1.0)
    amp = jnp.sqrt(2.0 * Ds * dt)[None, :, None]
    Om = Omegas[:, None, None]
    dw = 2 * jnp.pi / T
    ks = jnp.arange(-n_bins, n_bins + 1, dtype=jnp.float32)
    freqs = Omegas[:, None] + ks[None, :] * dw                        # [nO, K]

    def em(i, carry):
        x, s, n = carry
        t = n * dt
        x = x - (SR_WELL.grad(x) - A * jnp.cos(Om * t)) * dt \
            + amp * jax.random.normal(jax.random.fold_in(key, n), shape)
        # two-state filter with hysteresis: the state flips on reaching the other minimum
        s = jnp.where(x >= 1.0, 1.0, jnp.where(x <= -1.0, -1.0, s))
        return x, s, n + 1

    def burn(carry, _):
        return jax.lax.fori_loop(0, sub, em, carry), None

    def sample(c, j):
        carry, sx, ss = c
        carry = jax.lax.fori_loop(0, sub, em, carry)
        x, s, _ = carry
        ph = jnp.exp(-1j * freqs * (j * (sub * dt)))[:, None, None, :]   # [nO, 1, 1, K]
        return (carry, sx + x[..., None] * ph, ss + s[..., None] * ph), x[:, :, 0]

    carry = (x0, x0, jnp.zeros([], jnp.int32))
    carry, _ = jax.lax.scan(burn, carry, None, length=n_burn)
    z = jnp.zeros((*shape, 2 * n_bins + 1), jnp.complex64)
    (carry, sx, ss), trace = jax.lax.scan(sample, (carry, z, z),
                                          jnp.arange(1, n_samples + 1, dtype=jnp.float32))
    norm = 1.0 / n_samples                                            # (1/T)·Σ δ → mean over samples
    return sx * norm, ss * norm, trace


def forced_double_well(*, A=0.1, Omegas=(0.1, 0.3), Ds=None, n_traj=128, n_periods=20, dt=0.02,
                       sample_dt=0.1, burn_periods=2, n_bins=3, key=None, n_boot=200) -> dict:
    """Periodically forced quartic double well and its SNR at the forcing frequency.

    ``dx = −(x³ − x − A cos Ωt) dt + sqrt(2D) dW`` (Euler–Maruyama, step ``dt``), i.e.
    ``U = x⁴/4 − x²/2 − A x cos Ωt``; ``A`` must be sub-threshold (``A < 2/(3√3) ≈ 0.385``:
    no hopping without noise). All ``(Ω, D, trajectory)`` combinations run as one array.

    Measurement over ``T = n_periods·2π/min(Ω)`` after ``burn_periods`` periods, for the
    raw ``x(t)`` and the two-state filtered ``s(t) = ±1`` (flips on reaching ``∓1``):

    * Fourier coefficients ``c_m(ω) = (1/T)∫ s e^{−iωt} dt`` at ``ω = Ω + kΔω``, ``|k| ≤ n_bins``,
      ``Δω = 2π/T``; ``c̄`` their mean over the ensemble (common forcing phase);
    * line amplitude ``x̄² = 4·(|c̄(Ω)|² − var_m c(Ω)/M)`` (noise bias removed);
    * noise spectrum ``S_N(Ω) = T·⟨|c_m − c̄|²⟩`` over the 2·n_bins+1 bins (two-sided);
    * ``SNR = (π x̄²/2)/S_N(Ω)`` — the convention of :func:`mw_snr`.

    Bootstrap over trajectories gives ``snr_lo``/``snr_hi`` (10 %/90 %). Every Ω must be a
    whole multiple of ``2π/T``.

    Returns a dict of numpy arrays: ``D`` [nD], ``Omega`` [nO], ``snr_s``, ``snr_x``,
    ``amp_s`` [nO, nD], ``snr_s_boot`` [n_boot, nO, nD], ``trace`` [n_samples, nO, nD]
    (trajectory 0), ``t`` [n_samples], ``T``.
    """
    c = "forced_double_well"
    A = v.in_range(c, "A", A, 0.0, 2 / (3 * math.sqrt(3)), closed="()")
    Ds = np.geomspace(0.05, 0.8, 12) if Ds is None else np.asarray(Ds, float)
    for d in Ds:
        v.positive(c, "D", d)
    Om = np.asarray(Omegas, float)
    for o in Om:
        v.positive(c, "Omega", o)
    n_traj = v.positive_int(c, "n_traj", n_traj)
    if n_traj < 2:
        raise ValueError(f"`{c}`: n_traj must be >= 2, got n_traj = {n_traj}.")
    T = v.positive_int(c, "n_periods", n_periods) * 2 * math.pi / Om.min()
    for o in Om:
        if abs(o * T / (2 * math.pi) - round(o * T / (2 * math.pi))) > 1e-6:
            raise ValueError(f"`{c}`: every Omega must be a whole multiple of min(Omegas) so the "
                             f"record holds whole periods, got Omegas = {tuple(Om)}.")
    dt = v.positive(c, "dt", dt)
    sub = max(1, round(v.positive(c, "sample_dt", sample_dt) / dt))
    sdt = sub * dt
    n_samples = int(round(T / sdt))
    T = n_samples * sdt
    # keep Ω on the frequency grid after rounding T to whole samples
    n_burn = int(round(burn_periods * 2 * math.pi / Om.min() / sdt))
    key = jax.random.key(0) if key is None else key
    cx, cs, trace = _forced(key, jnp.float32(A), jnp.asarray(Om, jnp.float32), jnp.asarray(Ds, jnp.float32),
                            jnp.float32(dt), jnp.float32(T), n_traj=n_traj, n_samples=n_samples,
                            sub=sub, n_burn=n_burn, n_bins=int(n_bins))
    cx, cs = np.asarray(cx, np.complex128), np.asarray(cs, np.complex128)

    def snr(cc, idx=None):
        if idx is not None:
            cc = cc[:, :, idx]
        M = cc.shape[2]
        mean = cc.mean(axis=2, keepdims=True)
        dev2 = np.abs(cc - mean) ** 2
        var0 = dev2[..., n_bins].sum(axis=2) / (M - 1)
        amp2 = 4.0 * np.maximum(np.abs(mean[:, :, 0, n_bins]) ** 2 - var0 / M, 0.0)
        S = T * dev2.sum(axis=2).mean(axis=-1) / (M - 1)
        return 0.5 * np.pi * amp2 / S, np.sqrt(amp2), S

    snr_s, amp_s, S_s = snr(cs)
    snr_x, amp_x, _ = snr(cx)
    rng = np.random.default_rng(0)
    boot = np.stack([snr(cs, rng.integers(0, n_traj, n_traj))[0] for _ in range(n_boot)])
    return {"D": Ds, "Omega": Om, "A": A, "T": T, "snr_s": snr_s, "snr_x": snr_x, "amp_s": amp_s,
            "amp_x": amp_x, "noise_s": S_s, "snr_s_boot": boot,
            "trace": np.asarray(trace, np.float64), "t": (np.arange(n_samples) + 1) * sdt}


def log_peak(D, y):
    """Location of the maximum of ``y(D)``: vertex of a parabola in (log D, log y) through the
    top point and its neighbours (the grid point itself at an edge, or if ``y ≤ 0`` there)."""
    D, y = np.asarray(D, float), np.asarray(y, float)
    i = int(np.nanargmax(y))
    if i == 0 or i == len(D) - 1 or np.any(y[i - 1:i + 2] <= 0):
        return float(D[i])
    lx, ly = np.log(D[i - 1:i + 2]), np.log(y[i - 1:i + 2])
    a, b, _ = np.polyfit(lx, ly, 2)
    if a >= 0:
        return float(D[i])
    return float(np.exp(np.clip(-b / (2 * a), lx[0], lx[-1])))


# ------------------------------------------------------------------- statistics, seed text


def paired_log_ratio(a, b):
    """Per-seed ``r = ln(a/b)`` for positive ``a``, ``b`` ``[n_seeds]``: (mean, standard error, P(a<b))."""
    r = np.log(np.asarray(a, float)) - np.log(np.asarray(b, float))
    if not np.all(np.isfinite(r)):
        raise ValueError("`paired_log_ratio`: non-finite ratio (a loss was 0, negative or NaN).")
    se = r.std(ddof=1) / math.sqrt(len(r)) if len(r) > 1 else float("inf")
    return float(r.mean()), float(se), float(np.mean(r < 0))


def gain_after(n, *, n_grow, config=R.DEFAULT_CONFIG, g0=None):
    """Gain after ``n`` law updates of which ``n_grow`` are stagnation steps, in the order
    that avoids clamps (exact when neither clamp is touched, else an upper/lower bound)."""
    g = config.base_gain if g0 is None else g0
    return g * config.gain_growth**n_grow * config.gain_decay ** (n - n_grow)


def replay_law(losses, config=R.DEFAULT_CONFIG):
    """Gains produced by the law on a metric sequence (numpy float64 reference implementation)."""
    g, prev, out = config.base_gain, None, []
    for m in losses:
        m = float(m)
        if math.isfinite(m) and prev is not None:
            d = (m - prev) if config.maximize else (prev - m)
            if config.relative:
                d = d / abs(prev)
            if math.isfinite(d):
                g = min(g * config.gain_growth, config.max_gain) if d < config.stagnation_threshold \
                    else max(g * config.gain_decay, config.min_gain)
        if math.isfinite(m):
            prev = m
        out.append(g)
    return np.array(out)


# The seed's printed `--verbose` example (steps 200), as (step, gain, loss).
SEED_EXAMPLE = [(0, 0.020000, 2.841937), (10, 0.020000, 2.179442), (20, 0.020000, 1.652183),
                (190, 0.005000, 0.001347), (200, 0.005000, 0.001204)]


def seed_example_interpolated():
    """Losses at every step 0..200 by geometric interpolation of the seed's printed points
    (the gap 20→190 interpolated the same way; only the printed windows are used in checks)."""
    s = np.array([p[0] for p in SEED_EXAMPLE], float)
    L = np.array([p[2] for p in SEED_EXAMPLE], float)
    steps = np.arange(0, 201)
    return steps, np.exp(np.interp(steps, s, np.log(L)))
