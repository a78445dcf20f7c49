"""Notebook 06's verdict arithmetic ([2.1]) on hand-computed cases (numpy only: fast)."""

import math

import numpy as np
import pytest

from shld_jax import stats
from shld_jax.experiments import resonance as E
from shld_jax.experiments import resonance_physics as PH
from shld_jax.experiments import resonance_seed as SE


def test_seed_example_readings():
    # 1.15^a·0.96^(9−a)·0.02 closest to 0.02 at a = 2: 0.02·1.3225·0.7514 = 0.019876
    assert SE.reachable_gap(9) == pytest.approx(0.02 - 0.02 * 1.15**2 * 0.96**7, rel=1e-12)
    for n in (9, 10, 11):
        assert SE.step10_outcome(n).outcome == stats.FAIL
    for interp in SE.INTERPOLATIONS:
        assert SE.final_gain_outcome(True, interp).outcome == stats.PASS     # relative: 0.005000
        assert SE.final_gain_outcome(False, interp).outcome == stats.FAIL
    assert SE.final_gain(False, "geometric") == pytest.approx(0.3)
    with pytest.raises(ValueError, match="kind"):
        SE.seed_example_interpolated("cubic")


def test_log_ratio_outcome_needs_a_5_percent_gain():
    b = np.ones(8)
    a = np.exp(-0.2 + 0.01 * np.array([1, -1, 2, -2, 0, 1, -1, 0]))
    assert E.log_ratio_outcome(a, b).outcome == stats.PASS                 # 18 % lower
    assert E.log_ratio_outcome(b, a).outcome == stats.FAIL                 # worse
    tiny = np.exp(-1e-4 + 1e-6 * np.arange(8))
    assert E.log_ratio_outcome(tiny, b).outcome == stats.FAIL              # significant but negligible
    noisy = np.exp(-0.05 + 0.2 * np.array([1, -1, 1, -1, 1, -1, 1, -1]))
    assert E.log_ratio_outcome(noisy, b).outcome == stats.INCONCLUSIVE
    o = E.log_ratio_outcome(a, b)
    assert o.measured == pytest.approx(np.mean(np.log(a)))
    assert E.log_ratio_outcome(np.zeros(3), np.full(3, 1e-6)).measured == pytest.approx(0.0)   # floored


def test_constant_baselines_best_and_median():
    m = np.array([[3.0, 3.0], [1.0, 1.0], [2.0, 2.0], [5.0, 5.0], [4.0, 4.0]])
    assert E.constant_baselines(m) == {"best": 1, "median": 0}             # order 1, 2, 0, 4, 3


def test_scaling_slope_and_outcomes():
    x = np.log([0.13, 0.2, 0.29, 0.44, 0.72])
    peaks = np.exp(0.5 * x + 0.1)
    boot = peaks * np.exp(0.01 * np.random.default_rng(0).standard_normal((50, 5)))
    b, se = PH.scaling_slope(x, peaks, boot)
    assert b == pytest.approx(0.5) and 0 < se < 0.05
    assert PH.slope_outcome(x, peaks, boot, target=0.5).outcome == stats.PASS
    assert PH.slope_outcome(x, peaks, boot, target=1.0).outcome == stats.FAIL
    with pytest.raises(ValueError, match="distinct"):
        PH.scaling_slope([1.0, 1.0, 1.0], peaks[:3], boot[:, :3])
    snr = np.array([1.0, 3.0, 2.0])
    assert PH.snr_maximum_outcome(snr, snr * np.ones((20, 1))).outcome == stats.PASS
    assert PH.snr_maximum_outcome(np.array([3.0, 2.0, 1.0]), np.ones((5, 3))).outcome == stats.FAIL


def test_peak_table_and_matching():
    D = np.geomspace(0.05, 1.2, 12)
    curve = np.exp(-(np.log(D) - np.log(0.2)) ** 2)
    fdw = {"D": D, "snr_s": curve[None], "snr_s_boot": np.stack([curve[None]] * 3),
           "amp_s": curve[None], "amp_s_boot": np.stack([curve[None]] * 3)}
    p, pb = PH.peak_table(fdw, "snr")
    assert p[0] == pytest.approx(0.2, rel=1e-6) and pb.shape == (3, 1)
    with pytest.raises(ValueError, match="curve"):
        PH.peak_table(fdw, "phase")
    assert PH.matching_D(0.1) == pytest.approx(0.25 / math.log(1 / (math.sqrt(2) * 0.1)))
    with pytest.raises(ValueError, match="Omega"):
        PH.matching_D(0.8)
