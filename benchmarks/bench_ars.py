"""Per-step overhead of ARS (shld_jax._ars) over plain ``optax.adamw`` on the tiny GPT.

    .venv/bin/python benchmarks/bench_ars.py [--steps 50] [--repeats 5] [--n-embd 32] ...

Each optimizer trains the notebook-05 GPT for ``--steps`` steps inside one jitted
``lax.scan`` (forward, backward, optimizer update, batch sampling); the best of
``--repeats`` timed calls (after a compile-and-warm-up call, the two optimizers' calls
interleaved so that load changes on a shared machine hit both alike) gives the time per step.
Also timed: the optimizer update alone on the same params. Prints one JSON object:
``overhead = t_ars / t_adamw − 1`` per training step (best of repeats; goal ≤ 0.03),
the median of the paired per-repeat ratios, and the extra milliseconds of the update alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("SHLD_HOST_DEVICES", "1")   # one device: time one run, not a sharded ensemble

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from shld_jax import _ars as A  # noqa: E402
from shld_jax.data import text  # noqa: E402
from shld_jax.models import gpt  # noqa: E402


def trainer(opt, cfg, data, batch_size, steps):
    def train(params, key):
        def step(carry, k):
            p, s = carry
            x, y = text.get_batch(k, data, batch_size, cfg.block_size)
            loss, g = jax.value_and_grad(gpt.loss)(p, x, y, cfg)
            u, s = opt.update(g, s, p, value=loss)
            return (optax.apply_updates(p, u), s), loss
        (p, _), losses = jax.lax.scan(step, (params, opt.init(params)), jax.random.split(key, steps))
        return p, losses
    return jax.jit(train)


def best_time(f, *args, repeats):
    jax.block_until_ready(f(*args))                 # compile + warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(f(*args))
        ts.append(time.perf_counter() - t)
    return min(ts), sorted(ts)[len(ts) // 2]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--n-embd", type=int, default=32)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-head", type=int, default=2)
    ap.add_argument("--block-size", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-2)
    a = ap.parse_args(argv)
    cfg = gpt.GPTConfig(vocab_size=96, block_size=a.block_size, n_layer=a.n_layer,
                        n_head=a.n_head, n_embd=a.n_embd)
    data = jnp.asarray(text.load_corpus().train)
    params = gpt.init(jax.random.key(0), cfg)
    key = jax.random.key(1)
    opts = {
        "adamw": optax.with_extra_args_support(optax.adamw(a.lr)),
        "ars": A.ars(optax.inject_hyperparams(optax.adamw)(learning_rate=a.lr),
                     key=jax.random.key(2)),
    }
    out = {"device": str(jax.devices()[0]), "machine": platform.machine(),
           "n_params": gpt.n_params(params), "config": vars(a)}
    # interleave the two optimizers' timed calls so that load changes hit both alike
    train = {k: trainer(o, cfg, data, a.batch_size, a.steps) for k, o in opts.items()}
    for f in train.values():
        jax.block_until_ready(f(params, key))
    ts = {k: [] for k in opts}
    for _ in range(a.repeats):
        for k, f in train.items():
            t = time.perf_counter()
            jax.block_until_ready(f(params, key))
            ts[k].append((time.perf_counter() - t) / a.steps)
    for name, opt in opts.items():
        out[f"{name}_ms_per_step"] = 1e3 * min(ts[name])
        out[f"{name}_ms_per_step_median"] = 1e3 * float(np.median(ts[name]))
        g = jax.tree_util.tree_map(jnp.ones_like, params)
        upd = jax.jit(lambda g, s, p, opt=opt: opt.update(g, s, p, value=jnp.float32(2.0)))
        best_u, _ = best_time(upd, g, opt.init(params), params, repeats=max(a.repeats, 20))
        out[f"{name}_update_only_ms"] = 1e3 * best_u
    ratios = np.array(ts["ars"]) / np.array(ts["adamw"])
    out["overhead"] = out["ars_ms_per_step"] / out["adamw_ms_per_step"] - 1.0
    out["overhead_median_paired"] = float(np.median(ratios) - 1.0)
    out["overhead_update_only_ms"] = out["ars_update_only_ms"] - out["adamw_update_only_ms"]
    out["goal"] = 0.03
    out["meets_goal"] = bool(out["overhead"] <= out["goal"])
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
