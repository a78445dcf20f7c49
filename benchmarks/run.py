"""`make bench`: run every benchmark, each peer in a fresh process, and write figures/BENCHMARKS.md.

Usage::

    python benchmarks/run.py                 # full sizes (10⁵ particles × 1000 steps)
    python benchmarks/run.py --small         # smoke-test sizes (seconds)
    python benchmarks/run.py --make-times    # also time `make test`
    python benchmarks/run.py --make-figures  # also time `make figures` (long)

Each Langevin peer runs in its own subprocess (``benchmarks/bench_langevin.py``) with
its own ``XLA_FLAGS``, so the host-device count and the peak resident memory
(``ru_maxrss`` of that subprocess) are its own. Other benchmark scripts
(``bench_grokking.py``, ``bench_ars.py``) are run if present; each prints one JSON
object on its last stdout line.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata as md
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NPROC = os.cpu_count() or 1

GOALS = {  # issue [2.7]: engine ÷ peer, one interleaved run, all devices
    "diffrax_batched": 1.5,  # ≥ 1.5 × diffrax used as its docs recommend (one batched solve)
    "blackjax_batched": 1.5,  # ≥ 1.5 × BlackJAX's kernel, its fastest use here (ensemble as one vector)
    "blackjax": 1.5,  # ≥ 1.5 × BlackJAX's kernel vmapped over chains (its docs' multiple-chains recipe)
}
ENGINES = ("engine", "engine_bm")  # the default and the validated option

# the peers of the one-run comparison, timed interleaved in one process per device count
MAIN_PEERS = ["engine", "engine_bm", "engine_tracked", "engine_fpt", "scan_jax", "scan_fused", "scan_old_engine",
              "draws_jax", "draws_fused", "draws_bm", "step_no_draws", "diffrax_batched", "diffrax",
              "blackjax_batched", "blackjax", "numpy_f32"]
ONE_DEVICE_PEERS = ["engine", "engine_bm", "scan_jax", "draws_jax", "draws_fused", "draws_bm", "step_no_draws",
                    "diffrax_batched", "blackjax_batched", "numpy_f32"]
SIZES = {"full": (100_000, 1000), "small": (4_000, 100)}


def _env(devices):
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env.pop("SHLD_HOST_DEVICES", None)
    env["PYTHONHASHSEED"] = "0"
    return env


def _last_json(text):
    """The last JSON object printed: a one-line object, or a pretty-printed one (``indent=``)."""
    lines = text.strip().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].lstrip().startswith("{"):
            for chunk in (lines[i], "\n".join(lines[i:])):
                try:
                    return json.loads(chunk)
                except json.JSONDecodeError:
                    pass
    return None


def _run_json(cmd, env, timeout):
    """Run ``cmd``; return (parsed JSON of its last stdout line or None, error text or None, wall s)."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s", time.perf_counter() - t0
    wall = time.perf_counter() - t0
    out = _last_json(p.stdout)
    if p.returncode != 0 or out is None:
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        return None, f"exit {p.returncode}: " + " | ".join(tail), wall
    return out, None, wall


def _loadavg():
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def machine():
    """The hardware and software the numbers were measured on (JAX is asked in a subprocess)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = float("nan")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) / 1024**2
    except OSError:
        pass
    probe = ("import json, jax; print(json.dumps({'jax': jax.__version__, 'backend': jax.default_backend(), "
             "'devices': [str(d) for d in jax.devices()]}))")
    info, err, _ = _run_json([sys.executable, "-c", probe], _env(NPROC), 120)
    vers = {}
    for pkg in ("jax", "jaxlib", "numpy", "diffrax", "equinox", "optax"):
        try:
            vers[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            vers[pkg] = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                               text=True).stdout.strip()
        commit += " (uncommitted changes)" if dirty else ""
    except OSError:
        commit = "unknown"
    return {
        "cpu": cpu, "cores": NPROC, "ram_gib": ram, "python": platform.python_version(),
        "os": platform.platform(), "versions": vers, "jax_probe": info or {"error": err},
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
    }


def langevin(size, timeout, rounds):
    """The one-run comparison: every peer in one process, interleaved, on all devices and on one."""
    n, steps = SIZES[size]
    out = {}
    for ndev, peers in ((NPROC, MAIN_PEERS), (1, ONE_DEVICE_PEERS)):
        cmd = [sys.executable, str(HERE / "bench_langevin.py"), *peers, "--n", str(n), "--steps", str(steps),
               "--repeats", str(rounds)]
        res, err, wall = _run_json(cmd, _env(ndev), timeout)
        print(f"  {len(peers)} peers on {ndev} device(s): " + (f"done in {wall:.0f} s" if res else err), flush=True)
        out[ndev] = res or {"error": err}
        if res:
            out[ndev]["wall_s"] = wall
    return out


# smoke-test arguments of the other scripts (their full runs use their own defaults)
SMALL_ARGS = {
    "bench_grokking.py": ["--seeds", "1", "--max-steps", "200"],
    "bench_ars.py": ["--steps", "5", "--repeats", "2"],
}


MATMUL_PROBE = """
import json, time, jax, jax.numpy as jnp
n = {n}
a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
f = jax.jit(lambda a: a @ a)
f(a).block_until_ready()
ts, cs = [], []
for _ in range(5):
    c0, t0 = time.process_time(), time.perf_counter()
    f(a).block_until_ready()
    ts.append(time.perf_counter() - t0); cs.append(time.process_time() - c0)
ts.sort(); cs.sort()
print(json.dumps({{"n": n, "flops_per_s": 2 * n**3 / ts[2], "flops_per_cpu_s": 2 * n**3 / cs[2],
                   "device": str(jax.devices()[0])}}))
"""


def matmul_rate(small, timeout):
    """float32 matmul FLOP/s of one JAX device (one core on a CPU host): the scale estimates' unit."""
    res, err, _ = _run_json([sys.executable, "-c", MATMUL_PROBE.format(n=512 if small else 2048)], _env(1), timeout)
    return res or {"error": err}


def other_bench(name, small, timeout):
    """Run ``benchmarks/<name>`` if it exists; it chooses its own devices (no XLA_FLAGS forced)."""
    path = HERE / name
    if not path.exists():
        return {"status": "not available", "detail": f"benchmarks/{name} does not exist yet"}
    env = dict(os.environ)
    flags = " ".join(f for f in env.get("XLA_FLAGS", "").split()
                     if "xla_force_host_platform_device_count" not in f)
    env["XLA_FLAGS"] = flags
    if not flags:
        env.pop("XLA_FLAGS")
    cmd = [sys.executable, str(path)]
    args = SMALL_ARGS.get(name, ["--small"]) if small else []
    res, err, wall = _run_json(cmd + args, env, timeout)
    if res is None and args and err and "unrecognized arguments" in err:
        res, err, wall = _run_json(cmd, env, timeout)
    if res is None:
        return {"status": "failed", "detail": err, "wall_s": wall}
    return {"status": "ok", "result": res, "wall_s": wall, "args": " ".join(args) or "defaults"}


def make_time(target, timeout):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    try:
        p = subprocess.run(["make", target], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        rc, tail = p.returncode, (p.stdout + p.stderr).strip().splitlines()[-1:]
    except subprocess.TimeoutExpired:
        rc, tail = "timeout", []
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"target": target, "wall_s": wall, "rc": rc, "tail": " ".join(tail),
            # RUSAGE_CHILDREN's maxrss is the largest single descendant, over all children so far
            "peak_child_rss_mib": peak / 1024 if peak > before else None}


# --------------------------------------------------------------------------- report


def _fmt_rate(r):
    return f"{r / 1e6:,.2f}" if r >= 1e5 else f"{r / 1e6:.4f}"


def goals(lang):
    """Goal verdicts: ``engine ÷ peer >= target`` on the ratio of median rates from the one
    interleaved all-device run, per wall-second and per CPU-second of the process (all threads),
    for the default engine and the Box–Muller option. The range uses each side's best/worst call."""
    res = (lang.get(NPROC) or {}).get("results", {})
    out = []
    for eng in ENGINES:
        for peer, target in GOALS.items():
            e, b = res.get(eng), res.get(peer)
            g = {"engine": eng, "peer": peer, "target": target}
            if e and b and "rate" in e and "rate" in b:
                r = e["rate"] / b["rate"]
                g["wall"] = {"ratio": r, "range": (e["rate_worst"] / b["rate_best"], e["rate_best"] / b["rate_worst"]),
                             "met": r >= target}
                r = e["rate_per_cpu_s"] / b["rate_per_cpu_s"]
                g["per_cpu"] = {"ratio": r, "met": r >= target}
            out.append(g)
    return out


def _render_header(a, mach, size, loads, wall):
    a("# Benchmarks\n")
    a("Written by `make bench` (`benchmarks/run.py`); do not edit by hand. "
      "Absolute times belong to the machine below; compare ratios.\n")
    if size == "small":
        a("**Smoke-test sizes (`--small`)**: these numbers are dominated by per-call overheads and are "
          "not the benchmark; run `make bench` for the real sizes.\n")
    busy = max(loads) > NPROC + 0.5  # the benchmark itself keeps the load near NPROC
    a(f"**Load**: load average {min(loads):.1f} to {max(loads):.1f} on {NPROC} cores during the run. " + (
        "The machine was shared and busy: timings are noisy and slower than on a quiet machine; "
        "the interleaved profile below is the fairer comparison between JAX variants.\n" if busy else
        "The machine was quiet.\n"))
    a("## Machine\n")
    jp = mach["jax_probe"]
    a("| | |\n|---|---|")
    a(f"| CPU | {mach['cpu']} |")
    a(f"| cores (os.cpu_count) | {mach['cores']} |")
    a(f"| RAM | {mach['ram_gib']:.1f} GiB |")
    a(f"| OS / Python | {mach['os']} / {mach['python']} |")
    a(f"| JAX | {jp.get('jax', '?')}, backend `{jp.get('backend', '?')}`, devices: "
      f"{', '.join(jp.get('devices', [])) or jp.get('error', '?')} |")
    a("| packages | " + ", ".join(f"{k} {v}" for k, v in mach["versions"].items()) + " |")
    a(f"| date | {mach['date']} |")
    a(f"| commit | {mach['commit']} |")
    a(f"| total wall time of this run | " + (f"{wall / 60:.1f} min" if wall == wall else "not recorded") + " |\n")


def _render_langevin(a, lang, size):
    n, steps = SIZES[size]
    a("## Langevin ensemble throughput: one interleaved run against every peer\n")
    a(f"Overdamped Langevin, Euler–Maruyama, float32, double well `u(x) = (x² − 1)²`, dt = 0.01, D = 0.5, "
      f"x₀ = −1; {n:,} particles × {steps:,} steps. All peers run in **one process**, warmed up (compile "
      "excluded), then timed in rounds, each round calling every peer once in a rotated order, so the "
      "load of this shared machine hits all of them alike. Rate = particle-steps per second of the median "
      "call (min–max in brackets); per CPU-second = particle-steps per second of process CPU time "
      "(`time.process_time`, all threads), the fairer reading when other jobs take cores. "
      "`engine ÷ peer` is the engine's median rate over the peer's. Code: `benchmarks/bench_langevin.py`.\n")
    for ndev, pr in lang.items():
        if "error" in pr:
            a(f"**{ndev} device(s)**: **failed**: {pr['error']}\n")
            continue
        res = pr["results"]
        e = res.get("engine", {})
        ld = pr.get("loads", [])
        a(f"**{pr['devices']} device(s)** (XLA host devices), {pr['rounds']} rounds; load average (1 min) "
          f"{min(ld):.1f}–{max(ld):.1f} on {NPROC} cores during these rounds\n" if ld else "")
        a("| peer | what | M particle-steps/s | M per CPU-s | engine ÷ peer (wall) | engine ÷ peer (CPU-s) |")
        a("|---|---|---|---|---|---|")
        for k, r in res.items():
            if "error" in r:
                a(f"| `{k}` | {r['what']} | **failed**: {r['error']} | | | |")
                continue
            xw = f"{e['rate'] / r['rate']:.2f}" if "rate" in e else "n/a"
            xc = f"{e['rate_per_cpu_s'] / r['rate_per_cpu_s']:.2f}" if "rate" in e else "n/a"
            a(f"| `{k}` | {r['what']} | {_fmt_rate(r['rate'])} ({_fmt_rate(r['rate_worst'])}–"
              f"{_fmt_rate(r['rate_best'])}) | {_fmt_rate(r['rate_per_cpu_s'])} | {xw} | {xc} |")
        a("")


def _render_goals(a, lang):
    a(f"### Goals (issue [2.7]): engine on all {NPROC} devices, one run\n")
    a("| engine | peer | target | per wall-second | per CPU-second |\n|---|---|---|---|---|")

    def cell(m, target):
        if m is None:
            return "not measured"
        v = "**met**" if m["met"] else f"**not met** (short by {100 * (1 - m['ratio'] / target):.0f} %)"
        rng = f" ({m['range'][0]:.2f}–{m['range'][1]:.2f})" if "range" in m else ""
        return f"{m['ratio']:.2f}{rng}: {v}"

    for g in goals(lang):
        a(f"| `{g['engine']}` | `{g['peer']}` | ≥ {g['target']} | {cell(g.get('wall'), g['target'])} | "
          f"{cell(g.get('per_cpu'), g['target'])} |")
    a("\nVerdict rule: met when the ratio of median rates reaches the target. `engine` is the default "
      "(`jax.random.normal`'s numbers bit for bit); `engine_bm` the Box–Muller option "
      "(`noise=\"box-muller\"`, validated in `tests/test_normal.py` and `benchmarks/validate_normal.py`).\n")
    a(_reading(lang))


def _render_others(a, others):
    a("## Other benchmarks\n")
    for name, o in others.items():
        a(f"### {name}\n")
        if o["status"] != "ok":
            a(f"{o['status']}: {o['detail']}\n")
            continue
        a(f"`benchmarks/{name}` {o['args']} (wall {o['wall_s']:.0f} s, its own device choice)\n")
        a(_render_json(o["result"]))
        a("")


def _render_makes(a, makes):
    a("## `make` wall times\n")
    if not makes:
        a("Not measured in this run (`python benchmarks/run.py --make-times` times `make test`; "
          "`--make-figures` times `make figures`, off by default because it re-executes every notebook). "
          "Goals: `make test` ≤ 8 min, `make figures` ≤ 20 min on the 2-core machine.\n")
    else:
        a("| target | wall | goal | verdict | exit | peak RSS of largest child MiB |\n|---|---|---|---|---|---|")
        lim = {"test": 8, "figures": 20}
        for m in makes:
            ok = m["rc"] == 0 and m["wall_s"] <= lim[m["target"]] * 60
            peak = f"{m['peak_child_rss_mib']:.0f}" if m["peak_child_rss_mib"] else "–"
            a(f"| make {m['target']} | {m['wall_s'] / 60:.1f} min | ≤ {lim[m['target']]} min | "
              f"{'met' if ok else 'not met'} | {m['rc']} | {peak} |")
        if not any(m["target"] == "figures" for m in makes):
            a("\n`make figures` not timed (pass `--make-figures`; it re-executes every notebook).")
        a("")


def render(mach, lang, others, makes, size, loads, wall, mm=None):
    """BENCHMARKS.md from the measurements: machine, Langevin peers, goals, scale, others, make times."""
    L = []
    a = L.append
    _render_header(a, mach, size, loads, wall)
    _render_langevin(a, lang, size)
    _render_goals(a, lang)
    a(scale_estimates(lang, mm or {}))
    _render_others(a, others)
    _render_makes(a, makes)
    return "\n".join(L) + "\n"


# Nakkiran et al. 2019 (arXiv 1912.02292), Fig. 1: ResNet18 of width k = 1..64 on CIFAR-10
# (50 000 images, 32×32), Adam for 4000 epochs. A width-64 CIFAR ResNet18 costs about
# 0.56 GMAC = 1.1 GFLOP per image forward; convolution FLOPs grow as k², and a training step
# costs about 3× the forward pass (forward + backward).
CIFAR = {"flop_fwd_k64": 1.1e9, "images": 50_000, "epochs": 4000, "widths": range(1, 65), "train_factor": 3.0}
GPU_ASSUMED = {"name": "H100", "langevin_rate": 2e11, "flops": 2e14}  # assumptions, not measured here


def scale_estimates(rows, mm):
    """Cost of paper-scale runs from the measured per-device rates (the formulas are printed)."""
    L = ["## Scale estimates (computed from the rates above)\n"]
    one = (rows.get(1) or {}).get("results", {}).get("engine")
    allr = (rows.get(NPROC) or {}).get("results", {}).get("engine")
    if not one or "rate" not in one:
        return "\n".join(L + ["The engine's 1-device run failed: no estimate.\n"])
    r1 = one["rate"]
    r1c = one["rate_per_cpu_s"]
    eff = allr["rate"] / (NPROC * r1) if allr else float("nan")
    work = 1e9 * 1000
    L.append("**10⁹ Langevin particles × 1000 steps** (10¹² particle-steps, float32). "
             "Time = particles × steps / (R₁ · devices · η), with R₁ the engine's measured 1-device rate "
             f"(wall {r1 / 1e6:.1f} M/s on this machine, {r1c / 1e6:.1f} M per CPU-second, the better "
             f"proxy for a quiet core) and η the parallel efficiency measured here "
             f"(all-device rate / ({NPROC} × 1-device rate) = {eff:.2f}; assume η = 1 on a quiet host). "
             "Memory: positions and the step's noise, 8 bytes per particle = 8 GB (+4 GB per first-passage "
             "target, +4 GB with track_nonfinite).\n")
    L.append("| where | assumption | time |\n|---|---|---|")
    L.append(f"| 1 CPU core | R₁ per CPU-second | {work / r1c / 3600:.1f} h |")
    L.append(f"| 64-core host (64 host devices) | 64 · R₁ per CPU-second | {work / (64 * r1c) / 60:.1f} min |")
    L.append(f"| 1 GPU ({GPU_ASSUMED['name']}) | {GPU_ASSUMED['langevin_rate']:.0e} particle-steps/s "
             "(not measured: the HBM bound of ~16 bytes moved per particle-step at 3.35 TB/s) | "
             f"{work / GPU_ASSUMED['langevin_rate']:.0f} s |")
    L.append("")
    c = CIFAR
    flops = c["train_factor"] * c["flop_fwd_k64"] * c["images"] * c["epochs"] * sum(
        (k / 64) ** 2 for k in c["widths"])
    L.append("**The seed's CIFAR-10 width sweep** (seed 002, \"CIFAR-10 with ResNet, varying width\"; "
             "protocol of Nakkiran et al. 2019: ResNet18 widths k = 1..64, 4000 epochs). FLOPs = "
             "3 × 1.1 GFLOP × (k/64)² × 50 000 images × 4000 epochs summed over k = "
             f"{flops:.2e} FLOP. Time = FLOPs / (device FLOP/s × utilisation).\n")
    if "flops_per_s" in mm:
        f1 = mm.get("flops_per_cpu_s", mm["flops_per_s"])
        L.append("| where | assumption | time |\n|---|---|---|")
        L.append(f"| 1 CPU core | measured float32 matmul {f1 / 1e9:.0f} GFLOP per CPU-second "
                 f"({mm['n']}² matmul, 1 device; wall {mm['flops_per_s'] / 1e9:.0f} GFLOP/s), "
                 "50 % of it in convolutions | "
                 f"{flops / (0.5 * f1) / 3600 / 24 / 365:.1f} core-years |")
        L.append(f"| 1 GPU ({GPU_ASSUMED['name']}) | {GPU_ASSUMED['flops'] / 1e12:.0f} TFLOP/s sustained bf16 "
                 "(assumed, ~20 % of peak: small widths use the GPU poorly) | "
                 f"{flops / GPU_ASSUMED['flops'] / 3600:.0f} GPU-hours |")
        L.append(f"| 8 GPUs, widths spread over devices | same | "
                 f"{flops / GPU_ASSUMED['flops'] / 3600 / 8:.1f} h |")
    else:
        L.append(f"matmul probe failed: {mm.get('error')}")
    L.append("")
    return "\n".join(L) + "\n"


def _render_json(d):
    """A sub-benchmark's JSON as tables: each list of dicts as a table, the rest as key | value."""
    if isinstance(d, dict):
        tabs = {k: v for k, v in d.items() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)}
        if tabs:
            lines = []
            rest = {k: v for k, v in d.items() if k not in tabs}
            if rest:
                lines += [_render_json(rest), ""]
            for name, rows in tabs.items():
                keys = list(dict.fromkeys(k for r in rows for k in r))
                lines += [f"`{name}`:", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
                lines += ["| " + " | ".join(_cell(r.get(k, "")) for k in keys) + " |" for r in rows]
                lines.append("")
            return "\n".join(lines)
        return "\n".join(["| key | value |", "|---|---|"] + [f"| {k} | {_cell(v)} |" for k, v in d.items()])
    return f"```\n{json.dumps(d, indent=1)}\n```"


def _cell(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return "`" + json.dumps(v) + "`"
    return str(v).replace("|", "\\|")


def _reading(lang):
    """What bounds the engine, computed from the run in CPU-ns per particle-step (10⁹ / rate per CPU-s)."""
    lines = ["### What bounds the engine\n",
             "Computed from the rows above in CPU-nanoseconds per particle-step (10⁹ / rate per CPU-second). "
             "*Draws alone* is a scan whose step is `x ← x + ξ` (the cost of producing the normals, and nothing "
             "else); *the step without draws* is the full step reading one fixed array of normals drawn once "
             "(drift, update, loop); the engine cannot cost less than the larger of the two, and costs their sum "
             "when nothing overlaps.\n"]
    for ndev, pr in lang.items():
        if "error" in pr:
            continue
        r = {k: v["rate_per_cpu_s"] for k, v in pr["results"].items() if "rate_per_cpu_s" in v}
        if not {"engine", "draws_fused", "step_no_draws"} <= set(r):
            continue
        t = {k: 1e9 / v for k, v in r.items()}
        parts = [f"{pr['devices']} device(s): the engine costs {t['engine']:.2f} CPU-ns per particle-step; its "
                 f"normals alone {t['draws_fused']:.2f} and the step without draws {t['step_no_draws']:.2f} "
                 f"(sum {t['draws_fused'] + t['step_no_draws']:.2f}): the engine runs at "
                 f"{(t['draws_fused'] + t['step_no_draws']) / t['engine']:.0%} of the rate of that sum, so the "
                 "normal generator bounds it"]
        if "draws_jax" in t:
            parts.append(f"`jax.random.normal`'s own lowering draws the same numbers in {t['draws_jax']:.2f} "
                         f"({t['draws_jax'] / t['draws_fused']:.2f}× the fused draws' cost): the peers, which "
                         "all draw through it, are bound by it")
        if "draws_bm" in t and "engine_bm" in t:
            parts.append(f"Box–Muller draws cost {t['draws_bm']:.2f} and `engine_bm` {t['engine_bm']:.2f}")
        for k, what in (("engine_tracked", "the per-step NaN/inf record (track_nonfinite=True)"),
                        ("engine_fpt", "a first-passage target")):
            if k in t:
                parts.append(f"{what} adds {t[k] - t['engine']:+.2f}")
        if "scan_old_engine" in t and "scan_jax" in t:
            parts.append(f"the old engine's always-on bookkeeping (NaN record, [n] D) adds "
                         f"{t['scan_old_engine'] - t['scan_jax']:+.2f} to a hand-written scan")
        lines.append("- " + "; ".join(parts) + ".")
    return "\n".join(lines) + "\n"


def _rerender(src: Path, out: Path, timeout: float) -> None:
    """BENCHMARKS.md again from a saved BENCHMARKS.json (the matmul probe runs only if it lacks one)."""
    d = json.loads(src.read_text())
    lang = {int(k): v for k, v in d["langevin"].items()}
    mm = d.get("matmul") or matmul_rate(d["size"] == "small", timeout)
    d["matmul"] = mm
    d["goals"] = goals(lang)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(d["machine"], lang, d["others"], d["make"], d["size"], d["loads"],
                          d.get("wall_s", float("nan")), mm))
    out.with_suffix(".json").write_text(json.dumps(d, indent=1, default=str))
    print(f"re-rendered {out}")


def main(argv=None):
    p = argparse.ArgumentParser(description="Run the shld-jax benchmarks and write figures/BENCHMARKS.md.")
    p.add_argument("--small", action="store_true", help="smoke-test sizes (seconds, not a benchmark)")
    p.add_argument("--make-times", action="store_true", help="also time `make test`")
    p.add_argument("--make-figures", action="store_true", help="also time `make figures` (long)")
    p.add_argument("--out", type=Path, default=None, help="default: <figure dir>/BENCHMARKS.md")
    p.add_argument("--timeout", type=float, default=900, help="seconds per subprocess")
    p.add_argument("--rounds", type=int, default=5, help="rounds of the interleaved Langevin run")
    p.add_argument("--skip-others", action="store_true", help="skip bench_grokking.py and bench_ars.py")
    p.add_argument("--render-from", type=Path, default=None,
                   help="re-render BENCHMARKS.md from a saved BENCHMARKS.json (runs only the matmul probe "
                        "if the JSON lacks it)")
    a = p.parse_args(argv)
    size = "small" if a.small else "full"
    fig = Path(os.environ.get("SHLD_FIG_DIR", ROOT / "figures"))
    out = a.out or fig / "BENCHMARKS.md"
    p_skip = a.skip_others
    if a.render_from:
        return _rerender(a.render_from, out, a.timeout)
    t0 = time.perf_counter()
    loads = [_loadavg()]
    print("machine ...", flush=True)
    mach = machine()
    print("Langevin peers (one interleaved run per device count) ...", flush=True)
    lang = langevin(size, a.timeout, 2 if a.small else a.rounds)
    loads += [x for pr in lang.values() for x in pr.get("loads", [])]
    print("matmul probe ...", flush=True)
    mm = matmul_rate(a.small, a.timeout)
    others = {}
    for name in () if p_skip else ("bench_grokking.py", "bench_ars.py"):
        print(f"{name} ...", flush=True)
        others[name] = other_bench(name, a.small, a.timeout * 2)
    loads.append(_loadavg())
    makes = []
    if a.make_times:
        print("make test ...", flush=True)
        makes.append(make_time("test", 3600))
    if a.make_figures:
        print("make figures ...", flush=True)
        makes.append(make_time("figures", 7200))
    loads.append(_loadavg())
    wall = time.perf_counter() - t0
    text = render(mach, lang, others, makes, size, loads, wall, mm)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    raw = out.with_suffix(".json")
    raw.write_text(json.dumps({"machine": mach, "size": size, "langevin": lang, "goals": goals(lang), "matmul": mm,
                               "wall_s": wall, "others": others, "make": makes, "loads": loads},
                              indent=1, default=str))
    print(f"wrote {out} and {raw.name} in {wall / 60:.1f} min")
    for g in goals(lang):
        for c in ("wall", "per_cpu"):
            if c in g:
                print(f"  goal {g['engine']} / {g['peer']} ({c}): ratio {g[c]['ratio']:.2f} vs {g['target']} -> "
                      f"{'met' if g[c]['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
