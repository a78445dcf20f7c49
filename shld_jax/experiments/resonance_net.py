"""Notebook 06, part 4: a small tanh network started in saturation, trained with SR noise.

The seed's story: sub-threshold gradients through saturated layers, revived by noise in the
signal path. A teacher–student regression whose student starts with saturated hidden units
is trained by full-batch gradient descent with one of ``NET_METHODS``:

* ``sr``: activation noise ``g·ε`` on the hidden pre-activations, ``g`` from the seed's gain
  law (absolute improvement) driven by the noisy training loss, as in the seed's loop
  (``metric = train_step(); gain = injector.step(metric)``); ``sr-relative``: the same law with
  relative improvement;
* ``constant``: the same noise at a fixed gain; ``annealed``: Gaussian gradient noise
  :math:`\\sigma_t^2 = \\eta/(1+t)^\\gamma` (Neelakantan et al. 2015, ``optax.add_noise``); ``none``.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from shld_jax import _resonance as R
from shld_jax import _validate as v
from shld_jax._sr_bench import method_seed_grid  # shared with the benchmark

NET_METHODS = ("none", "sr", "constant", "annealed", "sr-relative")


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
    """:math:`\\tfrac12\\,\\mathrm{mean}\\,(a\\cdot\\tanh(W_1^\\top x + b_1 + g\\varepsilon) + c - y)^2`;
    the noise enters the pre-activations."""
    z = x @ params["W1"] + params["b1"]
    if key is not None:
        z = z + noise_gain * jax.random.normal(key, z.shape)
    pred = jnp.tanh(z) @ params["a"] + params["c"]
    return 0.5 * jnp.mean((pred - y) ** 2)


def saturation(params, x):
    """Fraction of hidden pre-activations with ``|z| > 2`` (``tanh' < 0.071``)."""
    return jnp.mean(jnp.abs(x @ params["W1"] + params["b1"]) > 2.0)


@partial(jax.jit, static_argnames=("steps", "lr", "config", "eta", "gamma", "init_scale"))
def _run_net(keys, method_ids, const_gain, *, steps, lr, config, eta, gamma, init_scale):
    cfg_rel = dataclasses.replace(config, relative=True)
    ids = {m: i for i, m in enumerate(NET_METHODS)}

    def one(key, mid):
        kp, kn = jax.random.split(key)
        prob = make_net_problem(kp, init_scale=init_scale)
        act_noise = (mid == ids["sr"]) | (mid == ids["constant"]) | (mid == ids["sr-relative"])
        grad = jax.value_and_grad(net_loss)

        def body(carry, t):
            p, sa, sr, k = carry
            k, kz, kg = jax.random.split(k, 3)
            clean = net_loss(p, prob.x, prob.y)
            gain = jnp.select([mid == ids["sr"], mid == ids["constant"], mid == ids["sr-relative"]],
                              [sa.gain, const_gain, sr.gain], 0.0)
            train, g = grad(p, prob.x, prob.y, gain, kz)
            # annealed gradient noise, optax.add_noise(eta, gamma): σ_t² = η/(t+1)^γ
            sig = jnp.where(mid == ids["annealed"], jnp.sqrt(eta / (t + 1.0) ** gamma), 0.0)
            g = optax.tree.add_scale(g, sig, optax.tree.random_like(kg, g))
            sat = saturation(p, prob.x)
            # the seed's loop: metric = train_step(); gain = injector.step(metric)
            sa, sr = R.step(sa, train, config), R.step(sr, train, cfg_rel)
            p = jax.tree.map(lambda a, b: a - lr * b, p, g)
            return (p, sa, sr, k), (clean, jnp.where(act_noise, gain, 0.0), sat)

        init = (prob.params, R.init(config), R.init(cfg_rel), kn)
        (p, *_), (clean, gain, sat) = jax.lax.scan(body, init, jnp.arange(steps, dtype=jnp.float32))
        return jnp.append(clean, net_loss(p, prob.x, prob.y)), gain, sat

    return method_seed_grid(one, keys, method_ids)


def saturated_net(methods=NET_METHODS[:4], *, steps: int = 1000, seeds=range(32), lr: float = 0.05,
                  config: R.StochasticResonanceConfig | None = None, const_gain: float = 0.1,
                  eta: float = 0.01, gamma: float = 0.55, init_scale: float = 4.0) -> dict:
    """Train the saturated student with each of ``methods`` (``NET_METHODS``), full-batch GD,
    all methods and seeds in one compiled program (seed ``s`` uses ``jax.random.key(s)``).

    Returns ``{method: {"loss": [n_seeds, steps+1] clean loss, "gain": [n_seeds, steps]
    activation-noise gain, "saturation": [n_seeds, steps] fraction of saturated units}}``.
    """
    c = "saturated_net"
    methods = [methods] if isinstance(methods, str) else list(methods)
    for m in methods:
        v.one_of(c, "method", m, NET_METHODS)
    steps = v.positive_int(c, "steps", steps)
    config = R.DEFAULT_CONFIG if config is None else config
    keys = jnp.stack([jax.random.key(int(s)) for s in seeds])
    ids = jnp.asarray([NET_METHODS.index(m) for m in methods], jnp.int32)
    loss, gain, sat = _run_net(keys, ids, jnp.float32(v.positive(c, "const_gain", const_gain)),
                               steps=steps, lr=v.positive(c, "lr", lr), config=config,
                               eta=v.positive(c, "eta", eta), gamma=v.non_negative(c, "gamma", gamma),
                               init_scale=v.positive(c, "init_scale", init_scale))
    f = lambda x, i: np.asarray(x[i], np.float64)
    return {m: {"loss": f(loss, i), "gain": f(gain, i), "saturation": f(sat, i)} for i, m in enumerate(methods)}
