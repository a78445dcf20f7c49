"""Smoke tests of the benchmark code (tiny sizes): every Langevin peer integrates the same SDE."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"shld_bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


bl = _load("bench_langevin")
run = _load("run")  # benchmarks/run.py


def test_numpy_peers_match_the_stationary_law_of_the_double_well():
    # 4000 particles from x0 = -1 at D = 0.5, t = 20: the ensemble has crossed the barrier
    # (u(0) - u(±1) = 1 = 2D) many times, so it is near the symmetric Gibbs law: mean ~ 0, E x² ~ 1
    for dtype in ("float32", "float64"):
        x = bl.numpy_peer(4000, 2000, dtype)
        assert x.dtype == np.dtype(dtype)
        assert abs(x.mean()) < 0.1
        assert 0.7 < np.mean(x**2) < 1.3


def test_reference_class_peers_agree_with_vectorised_numpy_in_law():
    # per-particle loop and whole-vector use of the seed's class, same SDE: same moments
    a = bl.reference_peer(200, 300)
    b = bl.reference_peer(200, 300, vector=True)
    c = bl.numpy_peer(200, 300, "float64")
    for y in (a, b):
        assert y.shape == (200,)
        assert abs(np.mean(y**2) - np.mean(c**2)) < 0.3


def test_measure_reports_a_jax_peer():
    res = bl.measure("draws_jax", 64, 20, repeats=1)
    assert res["rate"] > 0 and res["compile_s"] >= 0 and res["peak_rss_mib"] > 10
    assert res["devices"] >= 1 and res["backend"] == "cpu" and len(res["cpu_s"]) == 1


def test_engine_minimal_scan_and_diffrax_integrate_the_same_sde():
    # the same law after t = 15 (near Gibbs, E x² ~ 1): the peers are twins of the engine
    x_n = bl.numpy_peer(2000, 1500, "float32")
    for x in (bl.engine_call(2000, 1500)(), bl.scan_variant(2000, 1500, finite=True, per_particle_D=True)()[0],
              bl.diffrax_call(2000, 1500)()):
        x = np.asarray(x)
        assert x.shape == (2000,) and np.all(np.isfinite(x))
        assert abs(np.mean(x**2) - np.mean(x_n**2)) < 0.15


def test_measure_rejects_bad_sizes_and_unknown_peers():
    with pytest.raises(ValueError, match="n, steps, repeats"):
        bl.measure("numpy_f32", 0, 10)
    with pytest.raises(ValueError, match="peer"):
        bl.make_thunk("nope", 10, 10)


def test_last_json_reads_one_line_and_pretty_printed_objects():
    assert run._last_json('noise\n{"a": 1}\n') == {"a": 1}
    assert run._last_json('log line\n{\n "a": [1,\n 2]\n}\n') == {"a": [1, 2]}
    assert run._last_json("no json here") is None


def test_goals_are_computed_from_the_rates():
    def r(rate, cpu):
        return {"rate": rate, "rate_best": rate * 1.1, "rate_worst": rate * 0.9, "rate_per_cpu_s": cpu}

    res = {"engine": r(300.0, 200.0), "engine_bm": r(400.0, 300.0), "diffrax_batched": r(100.0, 150.0),
           "blackjax_batched": r(250.0, 100.0), "blackjax": r(100.0, 50.0)}
    g = {(x["engine"], x["peer"]): x for x in run.goals({run.NPROC: {"results": res}})}
    d = g[("engine", "diffrax_batched")]
    assert d["wall"]["met"] and d["wall"]["ratio"] == pytest.approx(3.0)
    assert not d["per_cpu"]["met"] and d["per_cpu"]["ratio"] == pytest.approx(200 / 150)
    assert d["wall"]["range"] == pytest.approx((270 / 110, 330 / 90))
    assert not g[("engine", "blackjax_batched")]["wall"]["met"]          # 1.2 < 1.5
    assert g[("engine_bm", "blackjax")]["per_cpu"]["ratio"] == pytest.approx(6.0)
    assert "wall" not in run.goals({run.NPROC: {"results": {"engine": r(1.0, 1.0)}}})[0]
