"""Two ``jax.distributed`` processes on loopback run the same ensemble as one process.

Each case starts real processes: two with one CPU device each (gloo collectives, a
coordinator on ``127.0.0.1:<free port>``), and one process with two host devices. The
worker below runs the sharded ensemble (``simulate`` with a trajectory, a target and the
per-step NaN record), ``first_passage_times`` and a run that overflows under
``check_finite=True``; it gathers every result with
``multihost_utils.process_allgather(..., tiled=True)`` and writes it to an npz. The
two-process results must equal the one-process results bit for bit on both processes.

The harness never waits unboundedly: every process has a deadline, and when one exits
with a non-zero status the others get a short grace period and are then killed; the
failure names the process, its exit status and the tail of its stderr.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # real processes: about 25 s

ROOT = Path(__file__).resolve().parents[1]

# Everything a host needs for a multi-process run is in this worker; README.md ("On several
# hosts") quotes its initialize and gather lines.
WORKER = textwrap.dedent(
    """
    import os, sys
    mode, pid, nproc, port, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]

    import jax
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if nproc > 1:
        jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=nproc,
                                   process_id=pid, initialization_timeout=30,
                                   heartbeat_timeout_seconds=5, shutdown_timeout_seconds=5)
    if mode == "crash" and pid == 1:
        os.abort()  # a peer dies before the first collective (exit status 134)

    import numpy as np
    import jax.numpy as jnp
    from jax.experimental import multihost_utils
    import shld_jax as sj

    assert jax.device_count() == 2, jax.devices()
    assert jax.process_count() == nproc
    assert jax.local_device_count() == 2 // nproc

    def gather(a):  # every process gets the whole array as numpy
        return np.asarray(multihost_utils.process_allgather(a, tiled=True))

    w = sj.double_well()
    x0 = np.linspace(-1.5, 0.5, 8, dtype=np.float32)  # the same on every process
    res = sj.simulate(w.grad, x0, key=jax.random.key(0), dt=0.01, D=0.5, n_steps=200, save_every=50,
                      target_fn=sj.Above(1.0), track_nonfinite=True)
    fpt = sj.first_passage_times(w.grad, x0, sj.Above(0.0), key=jax.random.key(1), dt=0.01, D=0.5,
                                 n_steps=300)
    try:  # dt = 0.5 is far past the explicit step's stability limit: the state overflows
        sj.simulate(w.grad, x0, key=jax.random.key(2), dt=0.5, D=0.5, n_steps=100)
        nan_error = ""
    except FloatingPointError as e:
        nan_error = str(e)
    np.savez(out, position=gather(res.position), trajectory=gather(res.trajectory),
             first_passage=gather(res.first_passage), first_nonfinite=gather(res.first_nonfinite),
             fpt=gather(fpt), nan_error=np.asarray(nan_error),
             sharded=np.asarray(len(res.position.sharding.device_set)))
    print(f"process {pid}: ok", flush=True)
    """
)

DEADLINE_S = 90.0  # per launch; a healthy launch takes well under this
GRACE_S = 20.0  # how long the survivors of a failed peer may take to exit on their own


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 1500) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-n:]


def launch(tmp: Path, mode: str, nproc: int, devices_per_process: int, *, deadline_s: float = DEADLINE_S,
           grace_s: float = GRACE_S) -> dict:
    """Run ``nproc`` workers; return ``{"outputs": [npz paths], "log": [(pid, rc, seconds, how)]}``.

    Raises AssertionError naming the first process that failed, its exit status and stderr tail,
    after every process has exited or been killed (never an unbounded wait).
    """
    script = tmp / "worker.py"
    script.write_text(WORKER)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_", "JAX_"))}
    env.update(XLA_FLAGS=f"--xla_force_host_platform_device_count={devices_per_process}",
               JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    procs, outs, errs = [], [], []
    t0 = time.monotonic()
    for i in range(nproc):
        out = tmp / f"{mode}-{nproc}-{i}.npz"
        err = tmp / f"{mode}-{nproc}-{i}.stderr"
        with open(err, "w") as fe, open(tmp / f"{mode}-{nproc}-{i}.stdout", "w") as fo:
            procs.append(subprocess.Popen([sys.executable, str(script), mode, str(i), str(nproc), str(port),
                                           str(out)], cwd=tmp, env=env, stdout=fo, stderr=fe,
                                          start_new_session=True))
        outs.append(out)
        errs.append(err)
    ended = {}  # pid -> (rc, seconds after start, "exited" | "killed")
    first_failure = None
    while len(ended) < nproc:
        now = time.monotonic() - t0
        for i, p in enumerate(procs):
            if i not in ended and p.poll() is not None:
                ended[i] = (p.returncode, now, "exited")
                if p.returncode != 0 and first_failure is None:
                    first_failure = (i, now)
        limit = deadline_s if first_failure is None else min(deadline_s, first_failure[1] + grace_s)
        if now > limit:
            for i, p in enumerate(procs):
                if i not in ended:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
                    ended[i] = (p.returncode, now, "killed")
            break
        time.sleep(0.1)
    log = [(i, *ended[i]) for i in range(nproc)]
    bad = [(i, rc, s, how) for i, rc, s, how in log if rc != 0]
    if bad:
        first = min(bad, key=lambda b: b[2])[0]
        lines = [f"{mode} launch of {nproc} process(es) failed (process {first} first):"]
        for i, rc, s, how in bad:
            if how == "killed":
                what = f"killed by the harness after {s:.1f} s (it did not exit of its own)"
            elif rc < 0:
                what = (f"exited with rc {128 - rc} (killed by {signal.Signals(-rc).name}) "
                        f"after {s:.1f} s")
            else:
                what = f"exited with rc {rc} after {s:.1f} s"
            lines.append(f"  process {i} {what}; stderr tail:\n" + textwrap.indent(_tail(errs[i]), "    | "))
        raise AssertionError("\n".join(lines))
    return {"outputs": outs, "log": log}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multiprocess")
    one = launch(tmp, "run", nproc=1, devices_per_process=2)
    two = launch(tmp, "run", nproc=2, devices_per_process=1)
    load = lambda p: dict(np.load(p))
    return load(one["outputs"][0]), [load(p) for p in two["outputs"]]


FIELDS = ("position", "trajectory", "first_passage", "first_nonfinite", "fpt")


def test_two_processes_equal_one_process_bitwise(runs):
    one, two = runs
    assert int(one["sharded"]) == 2 and all(int(r["sharded"]) == 2 for r in two)
    assert one["trajectory"].shape == (5, 8)
    assert np.all(np.isfinite(one["position"]))
    assert (one["fpt"] >= 0).any()  # some particles cross the barrier: the first-passage record is tested
    for rank, r in enumerate(two):
        for f in FIELDS:
            a, b = one[f], r[f]
            assert a.dtype == b.dtype and a.shape == b.shape, (rank, f)
            assert a.tobytes() == b.tobytes(), f"process {rank}: {f} differs from the 1-process run"


def test_nan_detection_raises_the_same_clear_error_on_every_process(runs):
    one, two = runs
    msg = str(one["nan_error"])
    assert msg.startswith("`simulate`: the state became NaN/inf at step"), msg
    assert "dt = 0.5" in msg
    for r in two:
        assert str(r["nan_error"]) == msg


def test_a_crashed_peer_is_a_bounded_failure_naming_it(tmp_path):
    t0 = time.monotonic()
    with pytest.raises(AssertionError) as info:
        launch(tmp_path, "crash", nproc=2, devices_per_process=1, grace_s=GRACE_S)
    elapsed = time.monotonic() - t0
    msg = str(info.value)
    assert "process 1 exited with rc 134 (killed by SIGABRT)" in msg, msg
    assert "failed (process 1 first)" in msg, msg
    # the survivor notices within the heartbeat timeout (5 s) and exits by itself: no hang
    assert "process 0 exited with rc" in msg, msg
    assert elapsed < DEADLINE_S, elapsed
