"""The one cross-entropy of the package's models and experiments.

``nll(logits, y) = −log softmax(logits)[y]`` per example, written as ``log_softmax`` and a
gather. ``optax.losses.softmax_cross_entropy_with_integer_labels`` computes the same quantity
(``logsumexp − logit_y``) but rounds differently: on a digits MLP its loss differs in the 7th
digit and its gradients by up to 4e-9, which a chaotic training run (grokking, the ARS
provocations) amplifies into different trajectories. The committed notebooks were rendered
with this form, so it stays until they are re-rendered.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def nll(logits, y):
    """``−log softmax(logits)[y]``: logits ``[..., V]``, integer labels ``y [...]`` → ``[..., 1]``."""
    return -jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), y[..., None], axis=-1)


def cross_entropy(logits, y):
    """Mean of :func:`nll` over every example (nats)."""
    return nll(logits, y).mean()
