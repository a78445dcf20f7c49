"""Spread ensembles (particles, seeds, sweep points) over every visible JAX device.

The leading axis of an ensemble is split over a one-axis device mesh with
``jax.sharding.NamedSharding``; XLA then partitions the whole compiled program.
Because JAX's default PRNG (``jax_threefry_partitionable=True`` since 0.5) gives
element ``i`` of ``random.normal(key, (n, ...))`` a value that depends only on
``(key, i)``, a sharded run is bitwise equal to a one-device run.

On a CPU host, one process sees one device unless XLA is told to split the host:
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` must be set *before* JAX
starts. ``shld_jax`` sets it to the number of cores on import when JAX has not
been imported yet and the flag is absent (opt out with ``SHLD_HOST_DEVICES=1``
or any explicit ``XLA_FLAGS``). On several GPUs nothing changes; on several hosts,
call ``jax.distributed.initialize()`` first and ``jax.devices()`` spans them all.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


AXIS = "ensemble"


def ensemble_mesh(devices=None) -> Mesh:
    """A 1-D mesh named ``"ensemble"`` over ``devices`` (default: all of ``jax.devices()``)."""
    devs = np.asarray(jax.devices() if devices is None else devices)
    return Mesh(devs.reshape(-1), (AXIS,))


def leading_sharding(n: int, devices=None):
    """``NamedSharding`` splitting a leading axis of length ``n``; replicated if it does not divide.

    Returns ``None`` when only one device is in play (let JAX place it).
    """
    mesh = ensemble_mesh(devices)
    if mesh.size == 1:
        return None
    if n % mesh.size:
        return NamedSharding(mesh, P())
    return NamedSharding(mesh, P(AXIS))


def shard_leading(tree, devices=None):
    """``device_put`` every leaf of ``tree`` split along its leading axis over the devices."""
    leaves = jax.tree_util.tree_leaves(tree)
    if not leaves:
        return tree
    n = np.shape(leaves[0])[0]
    sh = leading_sharding(n, devices)
    if sh is None:
        return tree
    return jax.device_put(tree, sh)


def constrain_leading(tree):
    """Inside ``jit``: ask XLA to keep ``tree`` split along its leading axis (no-op on one device)."""
    leaves = jax.tree_util.tree_leaves(tree)
    if not leaves:
        return tree
    sh = leading_sharding(leaves[0].shape[0])
    if sh is None:
        return tree
    return jax.lax.with_sharding_constraint(tree, sh)
