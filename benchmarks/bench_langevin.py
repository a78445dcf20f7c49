"""Langevin ensemble throughput: the shld_jax engine against its peers (issue 9).

Every peer integrates the same overdamped Langevin ensemble in float32 (unless
named float64) on the double well ``u(x) = (x² − 1)²`` (``shld_jax._potentials.double_well()``)::

    x ← x − u'(x)·dt + sqrt(2D·dt)·ξ,   ξ ~ N(0, 1),   dt = 0.01, D = 0.5, x₀ = −1,

and reports particle-steps per second. One peer runs per process (``run.py``
starts each one fresh) so that XLA's host-device flag and the peak resident
memory (``ru_maxrss``) belong to that peer alone::

    python benchmarks/bench_langevin.py PEER --n 100000 --steps 1000 --repeats 3

prints one JSON object. Timings exclude compilation: a warm-up call runs first
(its excess over the median timed call is reported as ``compile_s``), then
``repeats`` calls are timed, each ending in ``block_until_ready``.

Peers (``PEERS``):

* ``engine``: :func:`shld_jax._langevin.simulate` as a user calls it (sharded over
  whatever devices XLA exposes; ``run.py`` runs it with all cores and with one).
* ``reference``: the seed's numpy class :class:`shld_jax.reference.StochasticHarmonicLearning`,
  one instance per particle stepped in a Python loop (as the seed uses it);
  ``reference_vector``: one instance whose state is the whole ensemble (``dim = n``,
  valid because the potential is separable), float64 as the seed wrote it.
* ``numpy_f32``/``numpy_f64``: vectorised numpy with preallocated buffers and
  ``Generator.standard_normal(dtype=..., out=...)`` (PCG64 + ziggurat).
* ``diffrax``: ``diffrax.diffeqsolve(MultiTerm(ODETerm, ControlTerm), Euler())`` on one
  scalar particle, ``jax.vmap``-ed over particles, Brownian motion from
  ``UnsafeBrownianPath`` (``diffrax_vbt``: ``VirtualBrownianTree``, the default in
  diffrax's SDE examples; ``diffrax_batched``: one solve whose state is the whole
  ensemble, not vmapped).
* ``rng_bound``: ``jax.random.normal`` of the same count inside a ``lax.scan`` (noise
  keyed as the engine keys it), each draw added to the carry so it is not dead code:
  no Langevin step can beat it without a cheaper generator.
* profiling variants (``scan_*``): hand-written minimal ``lax.scan`` steps adding the
  engine's bookkeeping one piece at a time, and other generators (``rbg``, ``philox4x32``;
  in jax 0.10.2 philox4x32 fails to compile on more than one device, under ``jit`` sharding
  and under ``shard_map`` alike: "Unable to convert MHLO to StableHLO" at its ``mulhi``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

DT, D, X0 = 0.01, 0.5, -1.0
ROOT = Path(__file__).resolve().parents[1]


def _timed(fn, repeats):
    """Warm-up call, then ``repeats`` timed calls; ``fn`` must block until its result is ready."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return first, times, cpu


# --------------------------------------------------------------------------- numpy peers


def _load_reference():
    """Import ``shld_jax/reference.py`` without the package ``__init__`` (which imports JAX):
    the numpy peers' peak memory then holds no JAX runtime."""
    spec = importlib.util.spec_from_file_location("shld_reference", ROOT / "shld_jax" / "reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _np_grad(x):
    # u'(x) = 4x(x² − 1) for double_well(a=1, barrier=1); numpy twin of DoubleWell.grad
    return 4.0 * x * (x * x - 1.0)


def numpy_peer(n, steps, dtype, seed=0):
    """Vectorised numpy Euler–Maruyama, in place (no allocation per step)."""
    import numpy as np

    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    x = np.full(n, X0, dtype)
    g = np.empty_like(x)
    e = np.empty_like(x)
    c4 = dtype.type(4.0 * DT)
    s = dtype.type(np.sqrt(2.0 * D * DT))
    one = dtype.type(1.0)
    for _ in range(steps):
        np.multiply(x, x, out=g)  # g = 4·dt·x(x² − 1), built in place
        g -= one
        g *= x
        g *= c4
        x -= g
        rng.standard_normal(dtype=dtype, out=e)
        e *= s
        x += e
    return x


def reference_peer(n, steps, seed=0, vector=False):
    """The seed's class: ``lr = dt`` (so its step is Euler–Maruyama with step dt; see reference.py)."""
    import numpy as np

    ref = _load_reference()
    rng = np.random.default_rng(seed)

    def loss(th):
        return float(np.sum((th * th - 1.0) ** 2))

    if vector:
        shl = ref.StochasticHarmonicLearning(loss, _np_grad, dim=n, lr=DT, noise_scale=D,
                                             normal=rng.standard_normal)
        th = np.full(n, X0)
        for _ in range(steps):
            th = shl.step(th, dt=DT)
        return th
    shl = ref.StochasticHarmonicLearning(loss, _np_grad, dim=1, lr=DT, noise_scale=D,
                                         normal=rng.standard_normal)
    ths = [np.full(1, X0) for _ in range(n)]
    for _ in range(steps):
        for i in range(n):
            ths[i] = shl.step(ths[i], dt=DT)
    return np.concatenate(ths)


# --------------------------------------------------------------------------- JAX peers


def _jax_setup():
    import jax

    jax.config.update("jax_enable_x64", False)
    return jax


def engine_call(n, steps, seed=0, **kw):
    """``shld_jax.simulate`` exactly as a user calls it (``kw``: ``noise``, ``target_fn``,
    ``track_nonfinite``, ...); returns a blocking thunk."""
    import jax
    import jax.numpy as jnp

    import shld_jax
    from shld_jax import _potentials as potentials

    dw = potentials.double_well()
    x0 = jnp.full((n,), X0, jnp.float32)
    key = jax.random.key(seed)
    if kw.get("target_fn") == "above":
        kw["target_fn"] = shld_jax.Above(1.0)

    def run():
        res = shld_jax.simulate(dw.grad, x0, key=key, dt=DT, D=D, n_steps=steps, **kw)
        return jax.block_until_ready(res.position)

    return run


def scan_variant(n, steps, *, finite=False, per_particle_D=False, rng_only=False, gen="jax", seed=0):
    """Hand-written ``lax.scan`` Euler–Maruyama (``x ← x − u'(x)·dt + sqrt(2D·dt)·ξ``), noise keyed as the
    engine keys it.

    ``gen``: ``jax`` (``jax.random.normal``: threefry2x32 + erfinv, JAX's lowering), ``fused`` (the
    engine's default generator: the same numbers bit for bit, unrolled so XLA fuses it into the step),
    ``box-muller`` (the engine's ``noise="box-muller"``), ``fixed`` (no draws: one array of normals drawn
    once and read every step, so the rate is that of the step without its draws).
    ``rng_only``: no drift, ``x ← x + ξ``: the rate of the draws alone.
    ``finite``/``per_particle_D``: the old engine's per-step bookkeeping (NaN/inf step record; ``[n]`` D).
    """
    import jax
    import jax.numpy as jnp
    from functools import partial

    from shld_jax import _normal, _potentials as potentials, _sharding as sharding

    dw = potentials.double_well()
    draw = {"jax": jax.random.normal, "fused": _normal.normal, "box-muller": _normal.box_muller}.get(gen)

    @partial(jax.jit, static_argnames=("steps",))
    def run_scan(x0, key, dt, Dc, fixed, steps):
        s = jnp.sqrt(2.0 * Dc * dt)
        nn = x0.shape[0]

        def one(carry, t):
            x, bad = carry
            if gen == "fixed":
                eps = fixed
            else:
                kt = jax.random.fold_in(jax.random.fold_in(key, t), 0)  # the engine's keying
                eps = sharding.constrain_leading(draw(kt, x.shape, x.dtype))
            if rng_only:
                x = x + eps
            else:
                if per_particle_D:
                    Dt = jnp.full((nn,), Dc, jnp.float32)
                    x = x - dw.grad(x) * dt + jnp.sqrt(2.0 * Dt * dt) * eps
                else:
                    x = x - dw.grad(x) * dt + s * eps
            if finite:
                bad = jnp.where((bad == -1) & ~jnp.isfinite(x), t + 1, bad)
            return (x, bad), None

        bad0 = sharding.constrain_leading(jnp.full((nn,), -1, jnp.int32))
        (x, bad), _ = jax.lax.scan(one, (sharding.constrain_leading(x0), bad0), jnp.arange(steps))
        return x, bad

    x0 = sharding.shard_leading(jnp.full((n,), X0, jnp.float32))
    key = jax.random.key(seed)
    fixed = sharding.shard_leading(jax.random.normal(jax.random.key(seed + 1), (n,), jnp.float32))

    def run():
        return jax.block_until_ready(run_scan(x0, key, jnp.float32(DT), jnp.float32(D), fixed, steps))

    return run


def diffrax_call(n, steps, brownian="unsafe", batched=False, seed=0):
    """diffrax Euler on ``dx = −u'(x) dt + sqrt(2D) dW``, vmapped over particles (or batched).

    ``batched=True`` is diffrax used as its docs recommend for an ensemble of independent
    scalar SDEs: one ``diffeqsolve`` whose state is the whole ensemble (diagonal noise).
    """
    import diffrax
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from shld_jax import _potentials as potentials, _sharding as sharding

    dw = potentials.double_well()
    t1 = steps * DT
    sig = float((2.0 * D) ** 0.5)

    def drift(t, y, args):
        return -dw.grad(y)

    def diffusion(t, y, args):
        return jnp.full_like(y, sig)  # diagonal noise: vf has y's shape, control has y's shape

    def solve(y0, key):
        if brownian == "unsafe":
            bm = diffrax.UnsafeBrownianPath(shape=y0.shape, key=key)
        else:
            bm = diffrax.VirtualBrownianTree(0.0, t1, tol=DT / 2, shape=y0.shape, key=key)
        terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(_diag(diffusion), bm))
        # UnsafeBrownianPath cannot be reverse-differentiated: diffrax asks for ForwardMode
        adjoint = diffrax.ForwardMode() if brownian == "unsafe" else diffrax.RecursiveCheckpointAdjoint()
        sol = diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, t1, DT, y0, adjoint=adjoint,
                                  saveat=diffrax.SaveAt(t1=True), max_steps=steps + 1)
        return sol.ys[0]

    key = jax.random.key(seed)
    # the particles are spread over every device, as the engine spreads them, so that
    # diffrax gets the same cores (a plain vmap under jit would use one device)
    y0 = sharding.shard_leading(jnp.full((n,), X0, jnp.float32))
    if batched:
        f = eqx.filter_jit(solve)

        def run():
            return jax.block_until_ready(f(y0, key))
    else:
        keys = sharding.shard_leading(jax.random.split(key, n))
        f = jax.jit(jax.vmap(solve))

        def run():
            return jax.block_until_ready(f(y0, keys))

    return run


def blackjax_call(n, steps, batched=False, seed=0):
    """BlackJAX's overdamped Langevin kernel, ``blackjax.sgld`` with the full gradient.

    Its step is ``x + h·∇log p(x) + sqrt(2·T·h)·ξ`` (``blackjax.sgmcmc.diffusions.overdamped_langevin``):
    with ``∇log p = −u'``, ``h = dt`` and temperature ``T = D`` it is this SDE's Euler–Maruyama step.
    Driven as BlackJAX's docs drive a kernel: ``jax.lax.scan`` over ``jax.random.split(key, steps)``;
    ``batched=False``: one chain per particle, ``jax.vmap`` over chains with a key per chain per step
    (the docs' multiple-chains recipe); ``batched=True``: the ensemble as one position vector (valid
    because the potential is separable), one key per step.
    """
    import blackjax
    import jax
    import jax.numpy as jnp

    from shld_jax import _potentials as potentials, _sharding as sharding

    dw = potentials.double_well()

    def grad_estimator(position, minibatch):
        return -dw.grad(position)  # ∇ log p for p ∝ exp(−u)

    sgld = blackjax.sgld(grad_estimator)

    @jax.jit
    def run_chain(x0, key):
        keys = jax.random.split(key, steps)

        def one(x, k):
            if batched:
                x = sgld.step(k, x, None, DT, D)
            else:
                ks = sharding.constrain_leading(jax.random.split(k, x.shape[0]))
                x = jax.vmap(lambda kk, xx: sgld.step(kk, xx, None, DT, D))(ks, x)
            return sharding.constrain_leading(x), None

        return jax.lax.scan(one, sharding.constrain_leading(x0), keys)[0]

    x0 = sharding.shard_leading(sgld.init(jnp.full((n,), X0, jnp.float32)))
    key = jax.random.key(seed)

    def run():
        return jax.block_until_ready(run_chain(x0, key))

    return run


def _diag(vf):
    """Element-wise (diagonal) diffusion for ``ControlTerm``: ``vf(t, y) * dW`` leaf by leaf.

    diffrax's "simple" ControlTerm contracts the trailing control dims; for a state
    and a Brownian motion of the same shape the idiomatic diagonal form is a lineax
    ``DiagonalLinearOperator`` (diffrax docs, ControlTerm "advanced way").
    """
    import lineax as lx

    def f(t, y, args):
        return lx.DiagonalLinearOperator(vf(t, y, args))

    return f


PEERS = {
    "engine": "shld_jax.simulate, default (threefry normals = jax.random.normal bit for bit; final-state NaN check)",
    "engine_bm": "shld_jax.simulate(noise='box-muller')",
    "engine_tracked": "shld_jax.simulate(track_nonfinite=True): per-step NaN/inf record",
    "engine_fpt": "shld_jax.simulate(target_fn=Above(1.0)): first-passage record",
    "scan_jax": "hand-written lax.scan, jax.random.normal",
    "scan_fused": "hand-written lax.scan, the engine's fused threefry normals",
    "scan_old_engine": "hand-written lax.scan, jax.random.normal + the old engine's per-step NaN record and [n] D",
    "draws_jax": "normals alone (x ← x + ξ), jax.random.normal",
    "draws_fused": "normals alone (x ← x + ξ), the engine's default generator",
    "draws_bm": "normals alone (x ← x + ξ), Box–Muller option",
    "step_no_draws": "the step without draws: fixed normals read from memory each step",
    "diffrax_batched": "diffrax Euler, one diffeqsolve over the whole ensemble (UnsafeBrownianPath)",
    "diffrax": "diffrax Euler, jax.vmap over per-particle solves (UnsafeBrownianPath)",
    "diffrax_vbt": "diffrax Euler, vmap over particles, VirtualBrownianTree",
    "blackjax": "BlackJAX sgld (overdamped Langevin kernel), one chain per particle, vmap",
    "blackjax_batched": "BlackJAX sgld, the ensemble as one position vector",
    "numpy_f32": "vectorised numpy float32, in place",
    "numpy_f64": "vectorised numpy float64, in place",
    "reference": "seed's numpy class, one instance per particle, Python loop (float64)",
    "reference_vector": "seed's numpy class, whole ensemble as one state vector (float64)",
}


def make_thunk(peer, n, steps):
    """A zero-argument callable running one whole ensemble for ``peer``; blocks until done."""
    if peer == "numpy_f32":
        return lambda: numpy_peer(n, steps, "float32")
    if peer == "numpy_f64":
        return lambda: numpy_peer(n, steps, "float64")
    if peer == "reference":
        return lambda: reference_peer(n, steps)
    if peer == "reference_vector":
        return lambda: reference_peer(n, steps, vector=True)
    if peer not in PEERS:
        raise ValueError(f"`peer`: must be one of {sorted(PEERS)}, got peer = {peer!r}.")
    _jax_setup()
    engines = {"engine": {}, "engine_bm": dict(noise="box-muller"), "engine_tracked": dict(track_nonfinite=True),
               "engine_fpt": dict(target_fn="above")}
    if peer in engines:
        return engine_call(n, steps, **engines[peer])
    if peer == "diffrax":
        return diffrax_call(n, steps, "unsafe")
    if peer == "diffrax_vbt":
        return diffrax_call(n, steps, "vbt")
    if peer == "diffrax_batched":
        return diffrax_call(n, steps, "unsafe", batched=True)
    if peer in ("blackjax", "blackjax_batched"):
        return blackjax_call(n, steps, batched=peer == "blackjax_batched")
    kw = {
        "scan_jax": dict(gen="jax"),
        "scan_fused": dict(gen="fused"),
        "scan_old_engine": dict(gen="jax", finite=True, per_particle_D=True),
        "draws_jax": dict(rng_only=True, gen="jax"),
        "draws_fused": dict(rng_only=True, gen="fused"),
        "draws_bm": dict(rng_only=True, gen="box-muller"),
        "step_no_draws": dict(gen="fixed"),
    }
    return scan_variant(n, steps, **kw[peer])


def measure(peer, n, steps, repeats=3):
    """Time ``peer`` on ``n`` particles × ``steps`` steps; returns a JSON-able dict."""
    if n < 1 or steps < 1 or repeats < 1:
        raise ValueError(f"`measure`: n, steps, repeats must be >= 1, got {n}, {steps}, {repeats}.")
    thunk = make_thunk(peer, n, steps)
    first, times, cpu = _timed(thunk, repeats)
    med = statistics.median(times)
    out = {
        "peer": peer,
        "what": PEERS[peer],
        "n": n,
        "steps": steps,
        "repeats": repeats,
        "seconds": times,
        "median_s": med,
        "first_call_s": first,
        "compile_s": max(first - med, 0.0),
        "rate": n * steps / med,  # particle-steps per second, median call
        "rate_best": n * steps / min(times),
        "rate_worst": n * steps / max(times),
        # CPU seconds of this process (all its threads) per timed call: on a shared machine
        # n·steps/cpu_s is steadier than the wall rate (it does not count time spent waiting
        # for a core), though a spinning thread pool inflates it
        "cpu_s": cpu,
        "rate_per_cpu_s": n * steps / statistics.median(cpu),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
    if "jax" in sys.modules:
        import jax

        out["devices"] = jax.device_count()
        out["backend"] = jax.default_backend()
    else:
        out["devices"] = None
        out["backend"] = "numpy"
    return out


def _load1():
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def interleaved(peers, n, steps, rounds=5):
    """Time several peers in one process: warm each, then time them in rounds.

    Each round runs every peer once, the order rotated by one each round, so the machine's
    load drift (it is shared) hits all peers alike and their ratios are fair. Besides wall
    time, each call's CPU time (``time.process_time``: all threads of this process) is
    recorded. A peer that fails to build or run is reported with its error. Returns
    ``{peer: result dict}`` plus the load average (``/proc/loadavg``, 1 min) before each round.
    """
    thunks, errors, first = {}, {}, {}
    for p in peers:
        try:
            f = make_thunk(p, n, steps)
            t0 = time.perf_counter()
            f()
            first[p] = time.perf_counter() - t0
            thunks[p] = f
        except Exception as e:  # noqa: BLE001 (a missing optional peer must not sink the run)
            errors[p] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
    times, cpu = {p: [] for p in thunks}, {p: [] for p in thunks}
    order, loads = list(thunks), []
    for r in range(rounds):
        loads.append(_load1())
        for p in order[r % len(order):] + order[:r % len(order)] if order else []:
            c0, t0 = time.process_time(), time.perf_counter()
            thunks[p]()
            times[p].append(time.perf_counter() - t0)
            cpu[p].append(time.process_time() - c0)
    loads.append(_load1())
    out = {}
    for p in peers:
        if p in errors:
            out[p] = {"peer": p, "what": PEERS[p], "error": errors[p]}
            continue
        med = statistics.median(times[p])
        out[p] = {"peer": p, "what": PEERS[p], "n": n, "steps": steps, "seconds": times[p], "median_s": med,
                  "compile_s": max(first[p] - med, 0.0), "rate": n * steps / med,
                  "rate_best": n * steps / min(times[p]), "rate_worst": n * steps / max(times[p]),
                  "cpu_s": cpu[p], "rate_per_cpu_s": n * steps / statistics.median(cpu[p])}
    dev, backend = None, "numpy"
    if "jax" in sys.modules:
        import jax

        dev, backend = jax.device_count(), jax.default_backend()
    return {"devices": dev, "backend": backend, "xla_flags": os.environ.get("XLA_FLAGS", ""), "rounds": rounds,
            "loads": loads, "results": out}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("peer", nargs="+", choices=sorted(PEERS),
                   help="one peer: a clean timed run; several: interleaved profile in one process")
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3, help="timed calls (rounds when profiling)")
    a = p.parse_args(argv)
    if len(a.peer) == 1:
        print(json.dumps(measure(a.peer[0], a.n, a.steps, a.repeats)))
    else:
        print(json.dumps(interleaved(a.peer, a.n, a.steps, a.repeats)))


if __name__ == "__main__":
    main()
