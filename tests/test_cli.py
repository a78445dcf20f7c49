"""The command line (seed 000's `epsilon-stochastic`, `epsilon-info`, and `shld`): output
lines, exit codes, one-line errors.

Formatting and errors are checked in process (``cli.main(argv)`` and the entry functions:
no JAX start-up per case). Subprocesses only where the process itself is the subject: the
three installed entry points run once each (in parallel), and a closed stdout pipe.
"""

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shld_jax import cli
from shld_jax.experiments import resonance as E

BIN = Path(sys.executable).parent
# the installed console scripts, as a user runs them
SCRIPTS = {
    "seed": [str(BIN / "epsilon-stochastic"), "--steps", "25", "--dim", "16", "--seed", "3", "--verbose"],
    "info": [str(BIN / "epsilon-info")],
    "bad_surface": [str(BIN / "shld"), "sr-bench", "--surface", "saddle"],
}
# the same functions, called in process: (entry function, argv)
IN_PROCESS = {
    "default": ("main", ["sr-bench", "--steps", "0"]),
    "json": ("main", ["sr-bench", "--json", "--surface", "plateau", "--baseline", "--repeats", "2",
                      "--steps", "20", "--dim", "8", "--seed", "5"]),
    "text": ("main", ["sr-bench", "--surface", "double-well", "--baseline", "--repeats", "3",
                      "--steps", "10", "--dim", "8"]),
    "neg_steps": ("epsilon_stochastic", ["--steps", "-5"]),
    "zero_dim": ("main", ["sr-bench", "--dim", "0"]),
}


def _call(fn, argv):
    """``(exit status, stdout, stderr)`` of ``cli.<fn>(argv)``, argparse's SystemExit included."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = getattr(cli, fn)(argv)
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def runs():
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    procs = {k: subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for k, c in SCRIPTS.items()}
    out = {k: _call(fn, argv) for k, (fn, argv) in IN_PROCESS.items()}
    for k, p in procs.items():
        so, se = p.communicate(timeout=120)
        out[k] = (p.returncode, so, se)
    return out


def test_seed_command_output_format(runs):
    rc, out, err = runs["seed"]
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "Running SR benchmark: dim=16, steps=25, seed=3"
    assert re.fullmatch(r"Final loss: \d+\.\d{6}", lines[1])
    assert lines[2] == "Initial gain: 0.020000"
    assert re.fullmatch(r"Final gain: \d\.\d{6}", lines[3])
    assert lines[4] == "Gain schedule (every 10 steps):"
    sched = [re.fullmatch(r"step (\d+): gain=(\d\.\d{6}) loss=(\d+\.\d{6})", ln) for ln in lines[5:]]
    assert all(sched) and [int(m[1]) for m in sched] == [0, 10, 20, 25]
    assert sched[0][2] == "0.020000"
    # the numbers are the library's benchmark (same seed, same law)
    r = E.benchmark("quadratic", "sr", dim=16, steps=25, seeds=[3])
    assert float(lines[1].split()[-1]) == pytest.approx(r["loss"][0, -1], abs=1e-6)
    assert float(lines[3].split()[-1]) == pytest.approx(r["gain"][0, -1], abs=1e-6)
    assert float(sched[1][2]) == pytest.approx(r["gain"][0, 10], abs=1e-6)
    assert float(sched[-1][3]) == pytest.approx(r["loss"][0, -1], abs=1e-6)


def test_defaults_and_zero_steps(runs):
    rc, out, err = runs["default"]
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "Running SR benchmark: dim=128, steps=0, seed=42"
    assert lines[2:] == ["Initial gain: 0.020000", "Final gain: 0.020000"]


def test_json_output(runs):
    rc, out, err = runs["json"]
    assert rc == 0, err
    d = json.loads(out)
    assert d["surface"] == "plateau" and d["seeds"] == [5, 6] and d["steps"] == 20
    assert len(d["final_loss"]) == 2 and len(d["baseline_final_loss"]) == 2
    assert np.all(np.isfinite(d["final_loss"]))


def test_text_with_baseline_and_repeats(runs):
    rc, out, err = runs["text"]
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "Running SR benchmark: dim=8, steps=10, seed=42, surface=double-well, repeats=3"
    pm = r"\d+\.\d{6} ± \d+\.\d{6} \(mean ± sd over 3 seeds\)"
    assert re.fullmatch("Final loss: " + pm, lines[1])
    assert re.fullmatch("Baseline final loss \\(no noise\\): " + pm, lines[2])
    assert lines[3] == "Initial gain: 0.020000 ± 0.000000 (mean ± sd over 3 seeds)"


def _check_info(lines):
    import shld_jax

    assert lines[0] == f"shld-jax {shld_jax.__version__}"
    assert re.match(r"JAX \S+, backend: cpu, devices: \d+ \(", lines[1])
    assert "base_gain=0.02 min_gain=0.005 max_gain=0.3" in lines[2]
    assert "steps=100 dim=128 seed=42" in lines[3]


def test_info(runs, capsys):
    rc, out, err = runs["info"]
    assert rc == 0, err
    _check_info(out.splitlines())
    assert cli.main(["info"]) == 0                    # `shld info`, in process
    _check_info(capsys.readouterr().out.splitlines())


@pytest.mark.parametrize("which, words", [
    ("neg_steps", "--steps"), ("zero_dim", "--dim"), ("bad_surface", "--surface"),
])
def test_bad_arguments_exit_2_with_one_line(runs, which, words):
    rc, out, err = runs[which]
    assert rc == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and words in err
    assert "Traceback" not in err


@pytest.mark.parametrize("fn, argv, words", [
    ("main", ["sr-bench", "--steps", "ten"], "--steps"),
    ("main", ["sr-bench", "--repeats", "0"], "--repeats"),
    ("main", ["sr-bench", "--seed", "-1"], "--seed"),
    ("epsilon_stochastic", ["--surface", "plateau"], "unrecognized arguments"),
    ("main", ["bench"], "invalid choice"),
])
def test_bad_arguments_in_process(capsys, fn, argv, words):
    with pytest.raises(SystemExit) as e:
        getattr(cli, fn)(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err


def test_no_command_prints_usage_and_returns_2(capsys):
    assert cli.main([]) == 2
    assert capsys.readouterr().err.startswith("usage: shld")


@pytest.mark.parametrize("argv, words", [
    (["sr-bench", "--seed", str(2**63)], "--seed"),          # used to overflow inside jax.random.key
    (["sr-bench", "--seed", str(2**32)], "--seed"),          # would alias seed 0
    (["sr-bench", "--seed", str(2**32 - 2), "--repeats", "3"], "below 2**32"),
    (["sr-bench", "--dim", "1e12"], "--dim"),
    (["sr-bench", "--dim", str(10**12)], "--dim"),           # used to fail allocating 7 TiB
    (["sr-bench", "--steps", str(10**12)], "--steps"),
    (["sr-bench", "--surface", "saddle"], "choose from"),
])
def test_out_of_range_arguments_are_argparse_errors(capsys, argv, words):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["-m", "shld_jax.cli", "info"], ["-m", "shld_jax.cli", "sr-bench", "--steps", "0",
                                                                      "--dim", "2"]])
def test_a_closed_pipe_ends_quietly(argv):
    # the reader is gone before the command writes: like `shld info | head -0`
    p = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**os.environ, "JAX_PLATFORMS": "cpu"})
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
