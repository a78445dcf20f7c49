"""Host-device count for user scripts: the one place shld-jax touches ``XLA_FLAGS``."""

from __future__ import annotations

import os
import re

_FLAG = "--xla_force_host_platform_device_count"


def set_host_device_count(n: int) -> None:
    """Split the CPU host into ``n`` JAX devices, so ensembles shard over ``n`` cores.

    Sets ``--xla_force_host_platform_device_count=n`` in ``XLA_FLAGS`` (replacing any
    count already there, keeping the other flags). XLA reads the flag once, when JAX
    initialises its backends (at the first ``jax.devices()``, array creation or ``jit``
    call), so call this at the top of a script, before any JAX computation; importing
    ``jax`` or ``shld_jax`` first is fine. ``import shld_jax`` itself never changes
    ``os.environ``. Results do not depend on the device count (tested with 1, 2 and 4).
    GPUs and TPUs are unaffected: the flag only concerns the CPU platform.

    Args:
        n: number of CPU devices, a positive int (typically ``os.cpu_count()``).

    Raises:
        ValueError: ``n`` is not a positive int.
        RuntimeError: JAX has already initialised its backends with a different count.

    Example::

        import shld_jax as sj
        sj.set_host_device_count(4)
        import jax
        assert jax.local_device_count("cpu") == 4

    The shell equivalent is ``XLA_FLAGS=--xla_force_host_platform_device_count=4 python
    script.py`` (what the Makefile and the ``shld-jax`` Jupyter kernel do).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`set_host_device_count`: n must be a positive int, got n = {n!r}")
    if _backends_initialised():
        import jax

        have = jax.local_device_count("cpu") if _has_cpu(jax) else None
        if have == n:
            return
        raise RuntimeError(
            f"`set_host_device_count`: JAX has already initialised its backends (with {have} CPU "
            f"device(s)), so the count can no longer change to n = {n}. Call "
            f"shld_jax.set_host_device_count({n}) before the first JAX computation, or start "
            f"Python with XLA_FLAGS={_FLAG}={n}."
        )
    rest = re.sub(rf"{_FLAG}=\S*", "", os.environ.get("XLA_FLAGS", "")).split()
    os.environ["XLA_FLAGS"] = " ".join([*rest, f"{_FLAG}={n}"])


def _has_cpu(jax) -> bool:
    try:
        jax.devices("cpu")
        return True
    except RuntimeError:
        return False


def _backends_initialised() -> bool:
    import sys

    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge
    except ImportError:  # pragma: no cover - JAX moved its private module
        return True
    fn = getattr(xla_bridge, "backends_are_initialized", None)
    if fn is not None:
        return bool(fn())
    return bool(getattr(xla_bridge, "_backends", {}))  # pragma: no cover
