"""An optax training loop with Adaptive Resonance Suppression and stochastic-resonance noise.

A two-layer MLP learns a curved two-class boundary. The optimizer is

    sr_noise -> ars(adamw)

* ``sj.stochastic_resonance_noise`` (seed 000) adds ``g·ε`` to the *gradients* (it sits before
  the optimizer), with the gain ``g`` adapted from the loss. Placed after an adaptive optimizer
  it would add ``g·ε`` to the parameters directly, in parameter units: the seed's gains
  (0.005–0.3) are then larger than AdamW's steps (about the learning rate per coordinate).
* ``sj.ars`` (seed 001) wraps an ``optax.inject_hyperparams`` optimizer and rescales its
  betas and learning rate from the loss history; here with the corrected variants
  (``surprise="relative"``, ``guard="diff"``) that notebook 05 compares with the seed's rule.

Both take the loss as ``value=`` and keep their PRNG key in the state.

    python examples/optax_training_loop.py
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

import shld_jax as sj


def make_data(key: jax.Array, n: int = 512) -> tuple[jax.Array, jax.Array]:
    """Points in [-1, 1]², labelled by which side of ``x₁ = sin(3·x₀)/2`` they fall."""
    x = jax.random.uniform(key, (n, 2), minval=-1.0, maxval=1.0)
    y = (x[:, 1] > 0.5 * jnp.sin(3.0 * x[:, 0])).astype(jnp.int32)
    return x, y


def init_mlp(key: jax.Array, sizes=(2, 32, 2)) -> list[tuple[jax.Array, jax.Array]]:
    keys = jax.random.split(key, len(sizes) - 1)
    return [(jax.random.normal(k, (m, n)) / jnp.sqrt(m), jnp.zeros(n))
            for k, m, n in zip(keys, sizes[:-1], sizes[1:])]


def logits(params, x: jax.Array) -> jax.Array:
    for w, b in params[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def loss_fn(params, x: jax.Array, y: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits(params, x), y).mean()


def main(n_steps: int = 600) -> dict[str, float]:
    x, y = make_data(jax.random.key(0))
    params = init_mlp(jax.random.key(1))
    opt = optax.chain(
        sj.stochastic_resonance_noise(sj.StochasticResonanceConfig(), key=jax.random.key(2)),
        sj.ars(optax.inject_hyperparams(optax.adamw)(learning_rate=1e-2, weight_decay=1e-4),
               key=jax.random.key(3), window=50, surprise="relative", guard="diff"),
    )
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params, value=loss)
        return optax.apply_updates(params, updates), state, loss

    first = None
    for _ in range(n_steps):
        params, state, loss = step(params, state)
        first = float(loss) if first is None else first
    accuracy = float((logits(params, x).argmax(-1) == y).mean())
    sr_state, ars_state = state
    out = {"first_loss": first, "final_loss": float(loss_fn(params, x, y)), "accuracy": accuracy,
           "sr_gain": float(sr_state.resonance.gain), "ars_phi": float(ars_state.phi)}
    print(f"loss {out['first_loss']:.3f} -> {out['final_loss']:.3f}, train accuracy "
          f"{out['accuracy']:.3f}; last SR gain {out['sr_gain']:.3g}, last ARS gate Φ "
          f"{out['ars_phi']:.3f}")
    return out


if __name__ == "__main__":
    main()
