"""Command-line interface: seed 000's ``epsilon-stochastic`` / ``epsilon-info`` and ``shld``.

    epsilon-stochastic [--steps 100] [--dim 128] [--seed 42] [--verbose]
    epsilon-info
    shld sr-bench [same options] [--surface quadratic|plateau|double-well] [--baseline]
                  [--repeats N] [--json]
    shld info

The benchmark is :func:`shld_jax._sr_bench.benchmark` with method ``sr``
(gradient descent plus the seed's adaptive noise on the iterate). Output lines follow the
seed's example::

    Running SR benchmark: dim=128, steps=200, seed=42
    Final loss: 0.001204
    Initial gain: 0.020000
    Final gain: 0.005000

and ``--verbose`` adds ``Gain schedule (every 10 steps):`` followed by
``step N: gain=G loss=L`` lines (after the summary). Bad arguments exit with status 2 and
one line on stderr. Limits: ``0 <= seed`` and ``seed + repeats − 1 < 2**32`` (JAX seeds are
32-bit: larger ones would alias smaller ones), ``1 <= dim <= 2**24``, ``steps <= 10**7``.
A closed output pipe (``shld info | head -1``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import sys

DEFAULTS = {"steps": 100, "dim": 128, "seed": 42, "surface": "quadratic", "repeats": 1}
SURFACES = ("quadratic", "plateau", "double-well")
SEED_LIMIT = 2**32          # jax.random.key(s) aliases seeds >= 2**32 (key(2**32) == key(0))
DIM_MAX = 2**24             # 64 MiB per float32 vector: a synthetic benchmark needs no more
STEPS_MAX = 10**7
REPEATS_MAX = 10**4


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block, no traceback), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _int_in(lo, hi):
    """argparse type: an integer in ``[lo, hi]`` (``hi`` inclusive)."""
    def parse(s):
        try:
            x = int(s)
        except ValueError:
            x = None
        if x is None or not lo <= x <= hi:
            raise argparse.ArgumentTypeError(f"must be an integer in [{lo}, {hi}], got {s!r}")
        return x

    return parse


def _add_bench_args(p, extended: bool):
    p.add_argument("--steps", type=_int_in(0, STEPS_MAX), default=DEFAULTS["steps"],
                   help="number of optimization steps (default: 100)")
    p.add_argument("--dim", type=_int_in(1, DIM_MAX), default=DEFAULTS["dim"],
                   help="embedding dimension of the synthetic problem (default: 128)")
    p.add_argument("--seed", type=_int_in(0, SEED_LIMIT - 1), default=DEFAULTS["seed"],
                   help="random seed for reproducibility, < 2**32 (default: 42)")
    p.add_argument("--verbose", action="store_true", help="print the gain schedule every 10 steps")
    if extended:
        p.add_argument("--surface", choices=SURFACES, default=DEFAULTS["surface"],
                       help="loss surface (default: quadratic)")
        p.add_argument("--baseline", action="store_true", help="also run without noise and print both")
        p.add_argument("--repeats", type=_int_in(1, REPEATS_MAX), default=DEFAULTS["repeats"],
                       help="seeds seed, seed+1, ...; print mean ± sd (default: 1)")
        p.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def _fmt(values, fmt="{:.6f}"):
    """One value as the seed prints it; several as ``mean ± sd (n=N)``."""
    if len(values) == 1:
        return fmt.format(values[0])
    m = sum(values) / len(values)
    sd = math.sqrt(sum((x - m) ** 2 for x in values) / (len(values) - 1))
    return f"{fmt.format(m)} ± {fmt.format(sd)} (mean ± sd over {len(values)} seeds)"


def run_bench(steps, dim, seed, verbose=False, surface="quadratic", baseline=False, repeats=1,
              as_json=False, out=None):
    """Run the benchmark and print the seed's lines (or JSON); return the result dict."""
    from shld_jax import _sr_bench as E

    out = sys.stdout if out is None else out
    seeds = list(range(seed, seed + repeats))
    runs = E.benchmark_all(surface, ["sr", "none"] if baseline else ["sr"], dim=dim, steps=steps,
                           seeds=seeds)
    r = runs["sr"]
    res = {
        "surface": surface, "dim": dim, "steps": steps, "seeds": seeds,
        "final_loss": r["loss"][:, -1].tolist(),
        "initial_gain": r["gain"][:, 0].tolist(),
        "final_gain": r["gain"][:, -1].tolist(),
    }
    marks = list(range(0, steps + 1, 10)) + ([steps] if steps % 10 else [])
    if verbose:
        res["schedule"] = [{"step": t, "gain": float(r["gain"][0, t]), "loss": float(r["loss"][0, t])}
                           for t in marks]
    if baseline:
        res["baseline_final_loss"] = runs["none"]["loss"][:, -1].tolist()
    if as_json:
        print(json.dumps(res), file=out)
        return res
    print(f"Running SR benchmark: dim={dim}, steps={steps}, seed={seed}"
          + (f", surface={surface}" if surface != "quadratic" else "")
          + (f", repeats={repeats}" if repeats > 1 else ""), file=out)
    print(f"Final loss: {_fmt(res['final_loss'])}", file=out)
    if baseline:
        print(f"Baseline final loss (no noise): {_fmt(res['baseline_final_loss'])}", file=out)
    print(f"Initial gain: {_fmt(res['initial_gain'])}", file=out)
    print(f"Final gain: {_fmt(res['final_gain'])}", file=out)
    if verbose:
        print("Gain schedule (every 10 steps):", file=out)
        for row in res["schedule"]:
            print(f"step {row['step']}: gain={row['gain']:.6f} loss={row['loss']:.6f}", file=out)
    return res


def info(out=None):
    """Print the version, the JAX backend and devices, and the defaults."""
    import dataclasses

    import jax

    import shld_jax
    from shld_jax._resonance import DEFAULT_CONFIG

    out = sys.stdout if out is None else out
    devs = jax.devices()
    print(f"shld-jax {shld_jax.__version__}", file=out)
    print(f"JAX {jax.__version__}, backend: {jax.default_backend()}, devices: {len(devs)} "
          f"({', '.join(str(d) for d in devs)})", file=out)
    cfg = " ".join(f"{k}={v}" for k, v in dataclasses.asdict(DEFAULT_CONFIG).items())
    print(f"Resonance defaults: {cfg}", file=out)
    print("Benchmark defaults: " + " ".join(f"{k}={v}" for k, v in DEFAULTS.items()), file=out)


def _guard(fn):
    """Library ``ValueError`` -> one line on stderr and exit status 2 (never a traceback)."""
    try:
        fn()
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _check_seed_range(p, a):
    last = a.seed + getattr(a, "repeats", 1) - 1
    if last >= SEED_LIMIT:
        p.error(f"argument --seed: seeds {a.seed}..{last} (--seed + --repeats - 1) must stay below 2**32 "
                f"= {SEED_LIMIT}")


def _pipe_safe(entry):
    """A reader that closes the pipe early (``| head -1``) ends the command without a traceback.

    Python's recipe (docs, "Note on SIGPIPE"): point stdout at devnull so the interpreter's
    final flush does not raise again, and exit with status 1.
    """
    @functools.wraps(entry)
    def wrapper(argv=None) -> int:
        try:
            rc = entry(argv)
            sys.stdout.flush()
            return rc
        except BrokenPipeError:
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return 1

    return wrapper


@_pipe_safe
def main(argv=None) -> int:
    """``shld {sr-bench, info}``."""
    import shld_jax

    p = _Parser(prog="shld", description="shld-jax command line (seed 000 benchmark and info).")
    p.add_argument("--version", action="version", version=f"shld-jax {shld_jax.__version__}")
    sub = p.add_subparsers(dest="command", metavar="{sr-bench,info}")
    b = sub.add_parser("sr-bench", help="stochastic-resonance noise benchmark (seed 000)")
    _add_bench_args(b, extended=True)
    sub.add_parser("info", help="version, JAX backend and devices, defaults")
    a = p.parse_args(argv)
    if a.command is None:
        p.print_usage(sys.stderr)
        return 2
    if a.command == "info":
        return _guard(info)
    _check_seed_range(b, a)
    return _guard(lambda: run_bench(a.steps, a.dim, a.seed, a.verbose, a.surface, a.baseline,
                                    a.repeats, a.json))


@_pipe_safe
def epsilon_stochastic(argv=None) -> int:
    """Seed 000's ``epsilon-stochastic --steps --dim --seed --verbose``."""
    p = _Parser(prog="epsilon-stochastic", description="SR benchmark on a quadratic loss (seed 000).")
    _add_bench_args(p, extended=False)
    a = p.parse_args(argv)
    _check_seed_range(p, a)
    return _guard(lambda: run_bench(a.steps, a.dim, a.seed, a.verbose))


@_pipe_safe
def epsilon_info(argv=None) -> int:
    """Seed 000's ``epsilon-info``."""
    _Parser(prog="epsilon-info", description="version, JAX backend and devices, defaults").parse_args(argv)
    return _guard(info)


if __name__ == "__main__":
    sys.exit(main())
