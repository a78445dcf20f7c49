"""The scripts in examples/ run and do what their docstrings say."""

from __future__ import annotations

import importlib.util
import math

import pytest

from shld_jax import paths

EXAMPLES = paths.repo_root() / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_example_is_tested():
    tested = {"optax_training_loop", "custom_potential"}
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested


def test_optax_training_loop(capsys):
    out = _load("optax_training_loop").main()
    printed = capsys.readouterr().out
    assert all(math.isfinite(v) for v in out.values())
    assert out["final_loss"] < 0.5 * out["first_loss"]
    assert out["accuracy"] > 0.85
    assert 0.005 <= out["sr_gain"] <= 0.3 + 1e-6   # the seed's gain range (float32 max_gain)
    assert 0.1 <= out["ars_phi"] <= 1.0            # phi_min <= Φ <= 1
    assert f"train accuracy {out['accuracy']:.3f}" in printed


def test_custom_potential(capsys):
    out = _load("custom_potential").main()
    printed = capsys.readouterr().out
    assert out["var_y"] == pytest.approx(out["var_y_exact"], rel=0.1)
    assert out["fraction_crossed"] > 0.99
    assert out["mfpt"] == pytest.approx(out["mfpt_exact"], rel=0.1)
    assert f"MFPT {out['mfpt']:.2f} vs exact {out['mfpt_exact']:.2f}" in printed
