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

GOALS = {  # issue 9
    "numpy_f32": 2.5,  # engine (all devices) ≥ 2.5 × vectorised numpy float32
    "diffrax": 10.0,  # ≥ 10 × diffrax Euler vmapped
    "rng_bound": 0.8,  # ≥ 80 % of the random-number bound on all cores
}

# (label, peer, devices, size key, repeats); sizes below
LANGEVIN_RUNS = [
    ("shld_jax engine, all devices", "engine", NPROC, "main", 3),
    ("shld_jax engine, 1 device", "engine", 1, "main", 3),
    ("RNG bound, all devices", "rng_bound", NPROC, "main", 3),
    ("RNG bound, 1 device", "rng_bound", 1, "main", 3),
    ("hand-written lax.scan, all devices", "scan_minimal", NPROC, "main", 3),
    ("numpy float32 (vectorised)", "numpy_f32", 1, "main", 3),
    ("numpy float64 (vectorised)", "numpy_f64", 1, "main", 3),
    ("seed's class, per-particle loop", "reference", 1, "reference", 1),
    ("seed's class, ensemble as one vector", "reference_vector", 1, "main", 1),
    ("diffrax Euler, vmapped, all devices", "diffrax", NPROC, "main", 2),
    ("diffrax Euler, vmapped, 1 device", "diffrax", 1, "main", 2),
    ("diffrax Euler, one batched solve, all devices", "diffrax_batched", NPROC, "main", 3),
    ("diffrax Euler, vmapped, VirtualBrownianTree", "diffrax_vbt", NPROC, "vbt", 1),
]
SIZES = {
    "full": {"main": (100_000, 1000), "reference": (100, 1000), "vbt": (2_000, 1000), "profile": (100_000, 1000)},
    "small": {"main": (4_000, 100), "reference": (20, 100), "vbt": (200, 50), "profile": (4_000, 100)},
}
PROFILE = ["rng_bound", "scan_minimal", "scan_finite", "scan_perparticle_D", "scan_engine_like", "engine",
           "numpy_f32", "diffrax"]
# philox4x32 does not lower when sharded in jax 0.10.2 ("Unable to convert MHLO to StableHLO": its
# mulhi op is not partitionable), so it is profiled on one device only
PROFILE_1DEV_EXTRA = ["rng_bound_philox", "scan_philox", "rng_bound_uniform", "rng_bound_bits"]


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


def langevin(size, timeout):
    rows = []
    for label, peer, ndev, skey, reps in LANGEVIN_RUNS:
        n, steps = SIZES[size][skey]
        cmd = [sys.executable, str(HERE / "bench_langevin.py"), peer, "--n", str(n), "--steps", str(steps),
               "--repeats", str(reps)]
        load0 = _loadavg()
        res, err, wall = _run_json(cmd, _env(ndev), timeout)
        print(f"  {label}: " + (f"{res['rate'] / 1e6:.2f} M particle-steps/s" if res else err), flush=True)
        rows.append({"label": label, "peer": peer, "devices_asked": ndev, "result": res, "error": err,
                     "wall_s": wall, "load_before": load0, "load_after": _loadavg()})
    return rows


def profile(size, timeout, rounds):
    n, steps = SIZES[size]["profile"]
    out = {}
    for ndev, peers in ((NPROC, PROFILE), (1, PROFILE + PROFILE_1DEV_EXTRA)):
        cmd = [sys.executable, str(HERE / "bench_langevin.py"), *peers, "--n", str(n), "--steps", str(steps),
               "--repeats", str(rounds)]
        res, err, _ = _run_json(cmd, _env(ndev), timeout)
        print(f"  profile on {ndev} device(s): " + ("done" if res else err), flush=True)
        out[ndev] = res or {"error": err}
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


def _by(rows, label):
    for r in rows:
        if r["label"] == label and r["result"]:
            return r["result"]
    return None


def _fmt_rate(r):
    return f"{r / 1e6:,.2f}" if r >= 1e5 else f"{r / 1e6:.4f}"


def goals(rows, prof=None):
    """Goal verdicts, each computed as ``ratio of median rates >= target``, from three measurements.

    ``separate``: the engine and the peer each in a fresh process (the issue's set-up; wall time);
    ``interleaved``: the same two in one process, timed round-robin (fair under load drift);
    ``per_cpu``: interleaved, rates per CPU-second of the process (all threads): measures the work
    done per core, not the parallel speed-up; robust to cores being taken by other jobs.
    The ratio range uses each side's best and worst call.
    """
    eng = _by(rows, "shld_jax engine, all devices")
    refs = {"numpy_f32": _by(rows, "numpy float32 (vectorised)"),
            "diffrax": _by(rows, "diffrax Euler, vmapped, all devices"),
            "rng_bound": _by(rows, "RNG bound, all devices")}
    pr = (prof or {}).get(NPROC, {}).get("results", {})
    out = []
    for k, base in refs.items():
        g = {"goal": k, "target": GOALS[k]}
        if eng is not None and base is not None:
            r = eng["rate"] / base["rate"]
            g["separate"] = {"ratio": r, "range": (eng["rate_worst"] / base["rate_best"],
                                                   eng["rate_best"] / base["rate_worst"]), "met": r >= GOALS[k]}
        if "engine" in pr and k in pr:
            e, b = pr["engine"], pr[k]
            r = e["rate"] / b["rate"]
            g["interleaved"] = {"ratio": r, "range": (e["rate_worst"] / b["rate_best"],
                                                      e["rate_best"] / b["rate_worst"]), "met": r >= GOALS[k]}
            r = e["rate_per_cpu_s"] / b["rate_per_cpu_s"]
            g["per_cpu"] = {"ratio": r, "met": r >= GOALS[k]}
        out.append(g)
    return out


def render(mach, rows, prof, others, makes, size, loads, wall, mm=None):
    L = []
    a = L.append
    n, steps = SIZES[size]["main"]
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

    a("## Langevin ensemble throughput\n")
    a(f"Overdamped Langevin, Euler–Maruyama, float32 unless named, double well `u(x) = (x² − 1)²`, "
      f"dt = 0.01, D = 0.5; {n:,} particles × {steps:,} steps unless the row says otherwise. Rate = "
      "particle-steps per second of the median timed call (min–max over calls in brackets); compile = "
      "first call minus median call. Each row is a fresh process; peak RSS is that process's `ru_maxrss`. "
      "Code: `benchmarks/bench_langevin.py`.\n")
    npy = _by(rows, "numpy float32 (vectorised)")
    dfx = _by(rows, "diffrax Euler, vmapped, all devices")
    a("| peer | devices | particles × steps | M particle-steps/s | × numpy f32 | × diffrax (vmap) | "
      "M per CPU-s | compile s | peak RSS MiB |")
    a("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        res = r["result"]
        if res is None:
            a(f"| {r['label']} | {r['devices_asked']} | | **failed**: {r['error']} | | | | | |")
            continue
        dev = res["devices"] if res["devices"] is not None else "1 (numpy)"
        xn = f"{res['rate'] / npy['rate']:.2f}" if npy else "n/a"
        xd = f"{res['rate'] / dfx['rate']:.2f}" if dfx else "n/a"
        comp = f"{res['compile_s']:.2f}" if res["backend"] != "numpy" else "–"
        a(f"| {r['label']} | {dev} | {res['n']:,} × {res['steps']:,} | {_fmt_rate(res['rate'])} "
          f"({_fmt_rate(res['rate_worst'])}–{_fmt_rate(res['rate_best'])}) | {xn} | {xd} | "
          f"{_fmt_rate(res['rate_per_cpu_s'])} | {comp} | "
          f"{res['peak_rss_mib']:.0f} |")
    a("")
    a(f"### Goals (issue 9): engine on all {NPROC} devices\n")
    a("| goal | target | separate processes (wall) | interleaved, one process (wall) | "
      "interleaved, per CPU-second |\n|---|---|---|---|---|")
    names = {"numpy_f32": "≥ 2.5 × vectorised numpy float32", "diffrax": "≥ 10 × diffrax Euler vmapped",
             "rng_bound": "≥ 80 % of the RNG bound, all cores"}

    def cell(m, target):
        if m is None:
            return "not measured"
        v = "**met**" if m["met"] else f"**not met** (short by {100 * (1 - m['ratio'] / target):.0f} %)"
        rng = f" ({m['range'][0]:.2f}–{m['range'][1]:.2f})" if "range" in m else ""
        return f"{m['ratio']:.2f}{rng}: {v}"

    for g in goals(rows, prof):
        a(f"| {names[g['goal']]} | {g['target']} | " + " | ".join(
            cell(g.get(c), g["target"]) for c in ("separate", "interleaved", "per_cpu")) + " |")
    a("\nVerdict rule (each column): met when the ratio of median rates reaches the target. The "
      "issue's set-up is the first column; on a busy machine the interleaved columns are the fairer "
      "reading. The per-CPU-second column counts the work per core (numpy uses one thread, the "
      "engine one per device), so it excludes the parallel speed-up that the wall columns include.\n")

    a("### Where the engine's time goes (interleaved profile)\n")
    a("All variants in one process, warmed up, then timed round-robin so that load drift hits them "
      "equally. `scan_*` are hand-written `lax.scan` steps (in `bench_langevin.py`) adding the engine's "
      "bookkeeping one piece at a time; rates relative to the RNG bound on the same devices.\n")
    for ndev, pr in prof.items():
        if "error" in pr:
            a(f"- {ndev} device(s): **failed**: {pr['error']}\n")
            continue
        res = pr["results"]
        bound = res.get("rng_bound", {}).get("rate")
        a(f"**{pr['devices']} device(s)**, {next(iter(res.values()))['n']:,} × "
          f"{next(iter(res.values()))['steps']:,}, {pr['rounds']} rounds\n")
        bcpu = res.get("rng_bound", {}).get("rate_per_cpu_s")
        a("| variant | what | M particle-steps/s | / RNG bound | M per CPU-s | / RNG bound per CPU-s |\n"
          "|---|---|---|---|---|---|")
        for k, r in res.items():
            rel = f"{r['rate'] / bound:.2f}" if bound else "n/a"
            relc = f"{r['rate_per_cpu_s'] / bcpu:.2f}" if bcpu else "n/a"
            a(f"| `{k}` | {r['what']} | {_fmt_rate(r['rate'])} ({_fmt_rate(r['rate_worst'])}–"
              f"{_fmt_rate(r['rate_best'])}) | {rel} | {_fmt_rate(r['rate_per_cpu_s'])} | {relc} |")
        a("")
    a(_reading(rows, prof))

    a(scale_estimates(rows, mm or {}))
    a("## Other benchmarks\n")
    for name, o in others.items():
        a(f"### {name}\n")
        if o["status"] != "ok":
            a(f"{o['status']}: {o['detail']}\n")
            continue
        a(f"`benchmarks/{name}` {o['args']} (wall {o['wall_s']:.0f} s, its own device choice)\n")
        a(_render_json(o["result"]))
        a("")
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
    one = _by(rows, "shld_jax engine, 1 device")
    allr = _by(rows, "shld_jax engine, all devices")
    if one is None:
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
             "Memory: positions, the step's noise and the NaN/inf step counter, 12 bytes per particle = "
             "12 GB (+4 GB per first-passage target).\n")
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


def _reading(rows, prof):
    """Computed reading of the profile in CPU-nanoseconds per particle-step (load-robust)."""
    lines = ["**Reading (computed from the profile, CPU-ns per particle-step = 10⁹ / rate per CPU-s; "
             "wall rates in the table):**\n"]
    for ndev, pr in prof.items():
        if "error" in pr:
            continue
        r = {k: v["rate_per_cpu_s"] for k, v in pr["results"].items()}
        if not {"rng_bound", "scan_minimal", "engine"} <= set(r):
            continue
        t = {k: 1e9 / v for k, v in r.items()}
        parts = [f"{pr['devices']} device(s): generating the normals alone costs {t['rng_bound']:.2f} CPU-ns, "
                 f"a minimal step {t['scan_minimal']:.2f} (drift and update add "
                 f"{t['scan_minimal'] - t['rng_bound']:+.2f})"]
        for k, what in (("scan_finite", "the NaN/inf tracking"), ("scan_perparticle_D", "the per-particle D"),
                        ("scan_engine_like", "both")):
            if k in t:
                parts.append(f"{what} {t[k] - t['scan_minimal']:+.2f}")
        parts.append(f"the engine {t['engine']:.2f} ({r['engine'] / r['rng_bound']:.0%} of the bound's rate)")
        if "numpy_f32" in t:
            nd = pr["devices"]
            parts.append(f"numpy float32 {t['numpy_f32']:.2f}, so no threefry-based step can beat numpy by more "
                         f"than {t['numpy_f32'] / t['rng_bound']:.2f}× per core (engine: "
                         f"{t['numpy_f32'] / t['engine']:.2f}×)" + (
                             f", i.e. {nd * t['numpy_f32'] / t['rng_bound']:.2f}× on {nd} fully parallel cores; "
                             f"the {GOALS['numpy_f32']}× goal needs a parallel efficiency of at least "
                             f"{GOALS['numpy_f32'] / (nd * t['numpy_f32'] / t['engine']):.0%}" if nd > 1 else ""))
        if "diffrax" in t:
            parts.append(f"diffrax vmapped {t['diffrax']:.2f}, so the ceiling against it is "
                         f"{t['diffrax'] / t['rng_bound']:.1f}× (engine: {t['diffrax'] / t['engine']:.1f}×): "
                         f"the 10× goal is {'within' if t['diffrax'] / t['rng_bound'] >= 10 else 'beyond'} "
                         "reach of any step that draws its normals with threefry")
        if "rng_bound_philox" in t:
            parts.append(f"with the philox4x32 generator the normals alone cost {t['rng_bound_philox']:.2f} "
                         f"({r['rng_bound_philox'] / r['rng_bound']:.2f}× threefry's rate) and a minimal step "
                         f"{t['scan_philox']:.2f} ({r['scan_philox'] / r['engine']:.2f}× the engine's rate)")
        if "rng_bound_uniform" in t and "rng_bound_bits" in t:
            parts.append(f"of the normals' cost, drawing the random bits takes {t['rng_bound_bits']:.2f}, "
                         f"uniforms {t['rng_bound_uniform']:.2f} (the rest, "
                         f"{t['rng_bound'] - t['rng_bound_uniform']:.2f}, is the erfinv transform)")
        lines.append("- " + "; ".join(parts) + ".")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description="Run the shld-jax benchmarks and write figures/BENCHMARKS.md.")
    p.add_argument("--small", action="store_true", help="smoke-test sizes (seconds, not a benchmark)")
    p.add_argument("--make-times", action="store_true", help="also time `make test`")
    p.add_argument("--make-figures", action="store_true", help="also time `make figures` (long)")
    p.add_argument("--out", type=Path, default=None, help="default: <figure dir>/BENCHMARKS.md")
    p.add_argument("--timeout", type=float, default=900, help="seconds per subprocess")
    p.add_argument("--rounds", type=int, default=5, help="round-robin rounds of the profile")
    p.add_argument("--render-from", type=Path, default=None,
                   help="re-render BENCHMARKS.md from a saved BENCHMARKS.json (runs only the matmul probe "
                        "if the JSON lacks it)")
    a = p.parse_args(argv)
    size = "small" if a.small else "full"
    fig = Path(os.environ.get("SHLD_FIG_DIR", ROOT / "figures"))
    out = a.out or fig / "BENCHMARKS.md"
    if a.render_from:
        d = json.loads(a.render_from.read_text())
        prof = {int(k): v for k, v in d["profile"].items()}
        mm = d.get("matmul") or matmul_rate(d["size"] == "small", a.timeout)
        d["matmul"] = mm
        d["goals"] = goals(d["langevin"], prof)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(d["machine"], d["langevin"], prof, d["others"], d["make"], d["size"], d["loads"],
                              d.get("wall_s", float("nan")), mm))
        out.with_suffix(".json").write_text(json.dumps(d, indent=1, default=str))
        print(f"re-rendered {out}")
        return
    t0 = time.perf_counter()
    loads = [_loadavg()]
    print("machine ...", flush=True)
    mach = machine()
    print("Langevin peers ...", flush=True)
    rows = langevin(size, a.timeout)
    loads += [x for r in rows for x in (r["load_before"], r["load_after"])]
    print("profile ...", flush=True)
    prof = profile(size, a.timeout, 2 if a.small else a.rounds)
    loads.append(_loadavg())
    print("matmul probe ...", flush=True)
    mm = matmul_rate(a.small, a.timeout)
    others = {}
    for name in ("bench_grokking.py", "bench_ars.py"):
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
    text = render(mach, rows, prof, others, makes, size, loads, wall, mm)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    raw = out.with_suffix(".json")
    raw.write_text(json.dumps({"machine": mach, "size": size, "langevin": rows, "profile": prof,
                               "goals": goals(rows, prof), "matmul": mm, "wall_s": wall, "others": others, "make": makes, "loads": loads},
                              indent=1, default=str))
    print(f"wrote {out} and {raw.name} in {wall / 60:.1f} min")
    for g in goals(rows, prof):
        for c in ("separate", "interleaved", "per_cpu"):
            if c in g:
                print(f"  goal {g['goal']} ({c}): ratio {g[c]['ratio']:.2f} vs {g['target']} -> "
                      f"{'met' if g[c]['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
