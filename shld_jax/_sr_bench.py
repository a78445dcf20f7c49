"""Seed 000's SR benchmark (behind ``shld sr-bench`` / ``epsilon-stochastic`` and notebook 06).

:func:`benchmark` runs gradient descent on a synthetic surface (``quadratic``, ``plateau`` or
``double-well``) with one of the noise ``METHODS``, vmapped over seeds, all methods in one
compiled program; :func:`constant_sweep` is the constant-noise control over a grid of gains.

Surfaces are separable: :math:`L(\\theta) = d^{-1}\\sum_i f(\\theta_i)` and gradient descent steps on
:math:`\\nabla \\sum_i f(\\theta_i)`, so ``lr`` is a per-coordinate learning rate independent of ``d`` (one
step of the mean-loss gradient would otherwise shrink as ``1/d``). The gain law sees
the mean loss ``L``, as the seed's printed losses suggest.

Noise placement (all in parameter units per step, comparable in the figures):

* ``sr``: the seed's gain law, noise ``g·ε`` added to the iterate (``optax.chain(sgd,
  stochastic_resonance_noise)``); ``sr-relative``: the same with relative improvement;
* ``constant``: fixed gain ``const_gain``;
* ``annealed``: Neelakantan et al. 2015 / ``optax.add_noise(eta, gamma)`` on the gradient,
  :math:`\\sigma_t^2 = \\eta/(1+t)^\\gamma`, so the parameter noise is ``lr·σ_t``;
* ``none``: plain gradient descent.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from shld_jax import _potentials as P
from shld_jax import _resonance as R
from shld_jax import _validate as v


SURFACES = ("quadratic", "plateau", "double-well")
METHODS = ("none", "sr", "sr-relative", "constant", "annealed")

# Per-surface learning rate (per coordinate) and constants; fixed here, stated in notebook 06.
LR = {"quadratic": 0.1, "plateau": 0.1, "double-well": 0.05}
PLATEAU_START = 3.5          # tanh'(3.5) = sech²(3.5) ≈ 3.6e-3: a sub-threshold gradient
TILTED = P.tilted_double_well(a=1.0, barrier=1.0, tilt=0.25)   # shallow well on the right
_TILTED_MIN = float(TILTED.u(TILTED.minima[0]))


def check_surface(call: str, surface: str) -> str:
    return v.one_of(call, "surface", surface, SURFACES)


def check_method(call: str, method: str) -> str:
    return v.one_of(call, "method", method, METHODS)


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


def method_seed_grid(one, keys, method_ids):
    """``one(key, method)`` over the ``[n_methods, n_seeds]`` grid with a single flat ``vmap``."""
    nm, ns = method_ids.shape[0], keys.shape[0]
    out = jax.vmap(one)(jnp.tile(keys, nm), jnp.repeat(method_ids, ns))
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
            # the key stream of `stochastic_resonance_noise`: split, then `inject`'s own draw
            k, sk = jax.random.split(k)
            eps = optax.tree.random_like(sk, th, jax.random.normal)
            th = th - lr * g + noise_std(sa, sr, t) * eps
            return (th, sa, sr, k), (loss, before)

        init = (prob.theta0, R.init(cfg_abs), R.init(cfg_rel), kn)
        (th, sa, sr, _), (loss, std) = jax.lax.scan(body, init, jnp.arange(steps, dtype=jnp.float32))
        loss = jnp.append(loss, surface_loss(surface, th, prob.target))
        std = jnp.append(std, noise_std(sa, sr, jnp.float32(steps)))
        # where did the noise leave the iterate? noise-free GD from the final point
        polished = jax.lax.fori_loop(0, polish, lambda i, x: x - lr * jax.grad(total)(x), th)
        return loss, std, surface_loss(surface, polished, prob.target)

    return method_seed_grid(one, keys, method_ids)


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


def constant_sweep(surface: str, gains, *, dim: int = 128, steps: int = 100, seeds=(42,),
                   lr: float | None = None, polish: int = 100) -> dict:
    """The ``constant`` control at every gain of ``gains``, all gains and seeds in one program
    (same problems and noise keys per seed as :func:`benchmark_all`).

    Returns ``{"gain": [nG], "loss": [nG, n_seeds, steps+1], "polished": [nG, n_seeds]}``.
    """
    c = "constant_sweep"
    check_surface(c, surface)
    g = np.asarray(gains, float).ravel()
    if g.size < 1:
        raise ValueError(f"`{c}`: gains must not be empty, got gains = {gains!r}")
    for x in g:
        v.positive(c, "gain", x)
    dim, steps = v.positive_int(c, "dim", dim), _check_steps(c, steps)
    lr = LR[surface] if lr is None else v.positive(c, "lr", lr)
    keys = jnp.stack([jax.random.key(int(s)) for s in np.atleast_1d(seeds)])
    ids = jnp.asarray([METHODS.index("constant")], jnp.int32)
    run = lambda gain: _run(keys, ids, gain, surface=surface, dim=dim, steps=steps, lr=lr,
                            config=R.DEFAULT_CONFIG, eta=0.01, gamma=0.55,
                            polish=int(v.non_negative(c, "polish", polish)))
    loss, _, pol = jax.vmap(run)(jnp.asarray(g, jnp.float32))
    return {"gain": g, "loss": np.asarray(loss[:, 0], np.float64), "polished": np.asarray(pol[:, 0], np.float64)}
