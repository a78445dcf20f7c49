"""The local learning coefficient (LLC), estimated with Langevin chains on the package's engine.

Lau, Furman, Wang, Murfet & Wei (2023), "Quantifying degeneracy in singular models via the
learning coefficient", arXiv:2308.12108. For a loss :math:`L_n` on :math:`n` samples and a
point :math:`w^*` (a local minimum, e.g. the current training state), the estimator is

.. math::

    \\hat\\lambda(w^*) = n\\beta\\,\\bigl(\\mathbb{E}_w[L_n(w)] - L_n(w^*)\\bigr),
    \\qquad n\\beta = n/\\log n,

with the expectation over the localised tempered posterior

.. math::

    p(w) \\propto \\exp\\bigl(-n\\beta\\,L_n(w) - \\tfrac{\\gamma}{2}\\lVert w - w^*\\rVert^2\\bigr).

It is sampled by overdamped Langevin dynamics with potential
:math:`U(w) = n\\beta L_n(w) + \\tfrac{\\gamma}{2}\\lVert w-w^*\\rVert^2` and :math:`D = 1`,
whose Euler–Maruyama step with :math:`dt = \\epsilon/2` is exactly the SGLD update of
devinterp (``optim/sgld.py``): :math:`\\Delta w = -\\tfrac{\\epsilon}{2}\\nabla U + \\mathcal N(0, \\epsilon)`.
Chains start at :math:`w^*` (as in devinterp); the first ``n_burnin`` draws are discarded
and the remainder averaged per chain. ``grad`` is full-batch here (the exact :math:`L_n`;
devinterp uses minibatches).

A regular model has :math:`\\lambda = d/2`; for :math:`L_n = \\tfrac12 w^\\top A w` the
posterior is Gaussian and, with the Euler–Maruyama stationary variance of each mode
:math:`k_i = n\\beta a_i + \\gamma` being :math:`1/(k_i(1 - k_i\\epsilon/4))`,
:math:`\\mathbb E[\\hat\\lambda] = \\tfrac12\\sum_i n\\beta a_i / (k_i (1 - k_i \\epsilon/4))`
(:func:`quadratic_llc_expected`; tested). Estimates depend on :math:`\\epsilon`, :math:`\\gamma`
and chain length: :attr:`LLCResult.trace` lets the caller check that the loss trace is flat
and the chains agree (:func:`llc_converged`).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from shld_jax import _validate as v
from shld_jax._langevin import overdamped_langevin


class LLCResult(NamedTuple):
    """Mean and spread of λ̂ over chains, per-chain λ̂ ``[chains]``, loss trace ``[steps, chains]``, L_n(w*)."""

    llc: jax.Array
    llc_std: jax.Array
    per_chain: jax.Array
    trace: jax.Array
    init_loss: jax.Array


def default_nbeta(n) -> jax.Array:
    """:math:`n\\beta = n/\\log n` (Watanabe's WBIC temperature, Lau et al. §3)."""
    n = jnp.asarray(n, jnp.float32)
    return n / jnp.log(n)


def _init(init_fn, x0, key):
    # The engine's init_fn takes (x0, key); keywords keep working if the order changes.
    try:
        return init_fn(x0=x0, key=key)
    except TypeError:
        return init_fn(key, x0)


def local_learning_coefficient(loss_fn: Callable, w_star, *, n, key: jax.Array, step_size: float,
                               gamma: float, n_chains: int = 4, n_steps: int = 200,
                               n_burnin: int = 50, nbeta=None) -> LLCResult:
    """λ̂(w*) by Langevin (SGLD) chains on :func:`shld_jax.overdamped_langevin` (module docstring).

    Args:
        loss_fn: :math:`L_n` of one parameter pytree (scalar, mean loss over the ``n`` samples).
        w_star: the point :math:`w^*` (pytree); traceable, so the estimator can run inside ``vmap``.
        n: number of samples behind :math:`L_n` (sets :math:`n\\beta = n/\\log n` unless ``nbeta``).
        key: PRNG key of the chains.
        step_size: SGLD step :math:`\\epsilon` (the engine runs ``dt = ε/2``, ``D = 1``).
        gamma: localisation strength :math:`\\gamma \\ge 0`.
        n_chains, n_steps, n_burnin: chains, draws per chain, draws discarded at the start.
    """
    eps = v.positive("local_learning_coefficient", "step_size", step_size)
    gamma = v.non_negative("local_learning_coefficient", "gamma", gamma)
    n_chains = v.positive_int("local_learning_coefficient", "n_chains", n_chains)
    n_steps = v.positive_int("local_learning_coefficient", "n_steps", n_steps)
    n_burnin = int(v.non_negative("local_learning_coefficient", "n_burnin", n_burnin))
    if n_burnin >= n_steps:
        raise ValueError(f"`local_learning_coefficient`: n_burnin must be < n_steps = {n_steps}, "
                         f"got n_burnin = {n_burnin}")
    nb = default_nbeta(n) if nbeta is None else jnp.asarray(nbeta, jnp.float32)

    def grad_U(w):
        g = jax.grad(loss_fn)(w)
        return jax.tree_util.tree_map(lambda gi, wi, si: nb * gi + gamma * (wi - si), g, w, w_star)

    init_fn, step_fn = overdamped_langevin(grad_U, dt=eps / 2.0, D=1.0)
    x0 = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (n_chains,) + jnp.shape(a)), w_star)
    batched_loss = jax.vmap(loss_fn)

    def body(state, _):
        state = step_fn(state)
        return state, batched_loss(state.position)

    _, trace = jax.lax.scan(body, _init(init_fn, x0, key), None, length=n_steps)
    l0 = loss_fn(w_star)
    per_chain = nb * (jnp.mean(trace[n_burnin:], axis=0) - l0)
    return LLCResult(jnp.mean(per_chain), jnp.std(per_chain), per_chain, trace, l0)


def quadratic_llc_expected(eigenvalues, *, n, step_size: float, gamma: float, nbeta=None) -> float:
    """Exact :math:`\\mathbb E[\\hat\\lambda]` of the EM chain for :math:`L_n = \\tfrac12 w^\\top A w`, ``w* = 0``.

    :math:`\\tfrac12\\sum_i n\\beta a_i/(k_i(1 - k_i\\epsilon/4))`, :math:`k_i = n\\beta a_i + \\gamma`
    (the EM chain's stationary law; tends to :math:`d/2` as :math:`\\gamma, \\epsilon \\to 0`).
    """
    a = np.asarray(eigenvalues, dtype=float)
    nb = float(n) / math.log(float(n)) if nbeta is None else float(nbeta)
    k = nb * a + gamma
    if np.any(k * step_size >= 4.0):
        raise ValueError(f"`quadratic_llc_expected`: the EM chain is unstable (k·ε ≥ 4), got step_size = {step_size!r}")
    return float(0.5 * np.sum(nb * a / (k * (1.0 - k * step_size / 4.0))))


def llc_converged(res: LLCResult, *, n_burnin: int, flat_tol: float = 0.1, agree_tol: float = 0.2) -> dict:
    """Convergence checks of one estimate: a flat loss trace and chains that agree.

    ``flat``: the post-burn-in halves' mean losses (above :math:`L_n(w^*)`) differ by at most
    ``flat_tol`` relative; ``agree``: the std of per-chain λ̂ is at most ``agree_tol``·|λ̂|.
    """
    tr = np.asarray(res.trace)[n_burnin:] - float(res.init_loss)
    h = tr.shape[0] // 2
    m1, m2 = float(tr[:h].mean()), float(tr[h:].mean())
    drift = abs(m2 - m1) / max(abs(m2), 1e-30)
    spread = float(res.llc_std) / max(abs(float(res.llc)), 1e-30)
    return {"drift": drift, "chain_spread": spread, "flat": drift <= flat_tol, "agree": spread <= agree_tol}


def tree_size(tree) -> int:
    """Number of parameters ``d`` (``optax.tree.size``)."""
    return int(optax.tree.size(tree))
