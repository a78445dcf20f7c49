"""The verdict protocol ([2.1]): tests on hand-computed cases, reading combination, replicates,
the refusal of non-bools and NaNs, and `make reproduce`'s ledger comparison."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as st

from shld_jax import claims, stats
from shld_jax.stats import FAIL, INCONCLUSIVE, PASS


def row(id="a", **kw):
    base = dict(seed_file="002_x.txt", kind=claims.SEED_SUBSTANTIVE, claim="c", unit="u", rule="r", reason="why")
    return claims.judge(id, **{**base, **kw})


# --- the tests of shld_jax.stats -------------------------------------------------------------

def test_rate_uses_exact_clopper_pearson_bounds():
    # 0/8: the one-sided 95 % upper bound is 1 - 0.05**(1/8) = 0.3123 (hand-computed).
    lo, hi = stats.clopper_pearson(0, 8, 0.90)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.05 ** (1 / 8), rel=1e-9)
    assert stats.rate(0, 8, at_most=0.5).outcome == PASS        # 0.312 <= 0.5
    assert stats.rate(0, 8, at_most=0.1).outcome == INCONCLUSIVE  # 8 runs cannot show p <= 0.1
    assert stats.rate(8, 8, at_most=0.5).outcome == FAIL         # lower bound 0.05**(1/8) = 0.688 > 0.5
    # 1959/2000 stuck vs "90 %": lower bound far above 0.9
    assert stats.rate(1959, 2000, at_least=0.9).outcome == PASS
    assert stats.rate(5, 2000, at_least=0.95).outcome == FAIL
    assert stats.rate(95, 100, at_least=0.95).outcome == INCONCLUSIVE


def test_fisher_is_inconclusive_for_0_of_8_vs_1_of_8():
    o = stats.fisher(0, 8, 1, 8, claim="less")
    assert o.outcome == INCONCLUSIVE and "p = 0.5" in o.test   # one-sided p = 1/2 (hand: C(8,1)/C(16,1)·…)
    assert stats.fisher(0, 20, 15, 20, claim="less").outcome == PASS
    assert stats.fisher(15, 20, 0, 20, claim="less").outcome == FAIL


def test_tost_pass_fail_inconclusive_by_hand():
    z = st.norm.ppf(0.95)   # 1.6449
    # interval 8.0 ± 1.645·0.1 = [7.836, 8.164] inside 8.7 ± 25 % = [6.525, 10.875]
    assert stats.equivalence(8.0, 0.1, target=8.7, margin=0.25, relative=True).outcome == PASS
    # 7.18 (the SGD-convention C) with no error is inside the 25 % band
    assert stats.equivalence(7.18, 0.0, target=8.7, margin=0.25, relative=True).outcome == PASS
    # far outside: 1.4e-4 vs 8.7
    assert stats.equivalence(1.4e-4, 4e-6, target=8.7, margin=0.25, relative=True).outcome == FAIL
    # straddles the upper edge 10.875
    m = 10.875
    assert stats.equivalence(m, 0.5, target=8.7, margin=0.25, relative=True).outcome == INCONCLUSIVE
    o = stats.equivalence(1.0, 0.2, target=1.0, margin=0.1)
    assert o.outcome == INCONCLUSIVE and f"{1 - z * 0.2:.4g}" in o.test
    # Student t with df = 3 widens the interval: 1 ± 2.353·0.03 = [0.929, 1.071] vs ±0.08 -> pass; normal too
    assert stats.equivalence(1.0, 0.03, target=1.0, margin=0.08, df=3).outcome == PASS
    assert stats.equivalence(1.0, 0.04, target=1.0, margin=0.08, df=3).outcome == INCONCLUSIVE
    assert stats.equivalence(1.0, 0.04, target=1.0, margin=0.08).outcome == PASS   # 1 ± 0.0658


def test_bound_one_sided():
    assert stats.bound(1.0, 0.1, at_least=0.8).outcome == PASS          # 0.836 >= 0.8
    assert stats.bound(1.0, 0.1, at_least=0.9).outcome == INCONCLUSIVE
    assert stats.bound(1.0, 0.1, at_least=1.2).outcome == FAIL          # 1.164 < 1.2
    assert stats.bound(1.0, 0.0, at_most=1.0).outcome == PASS


def test_difference_paired_t_and_bootstrap():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = a - np.array([0.5, 0.6, 0.4, 0.5])     # a beats b by 0.5 ± small
    assert stats.difference(a, b).outcome == PASS
    assert stats.difference(b, a).outcome == FAIL
    assert stats.difference(a, b, method="bootstrap").outcome == PASS
    # the null result of notebook 08: Δ = -0.37 ± 0.43 (3 seeds) is inconclusive, not refuted
    d = np.array([-0.8, -0.37, 0.06])
    o = stats.difference(d, claim="greater")
    assert o.outcome == INCONCLUSIVE
    # hand-computed paired-t interval: mean -0.37, sd 0.43, se 0.2483, t(0.95, 2) = 2.92
    assert o.measured == pytest.approx(-0.37)
    assert o.spread == pytest.approx(st.t.ppf(0.95, 2) * d.std(ddof=1) / np.sqrt(3))
    # a margin turns a tight tie into a refutation of "beats by a meaningful amount"
    tie = np.array([0.001, -0.001, 0.002, -0.002, 0.0, 0.001])
    assert stats.difference(tie, margin=0.0).outcome == INCONCLUSIVE
    assert stats.difference(tie, margin=0.05).outcome == FAIL
    # Welch for unpaired samples
    assert stats.difference([5.0, 5.1, 4.9, 5.2], [1.0, 1.1, 0.9, 1.2], paired=False).outcome == PASS
    assert stats.difference([1.0, 1.1, 0.9], [5.0, 5.1, 4.9, 5.3], paired=False, claim="less").outcome == PASS


def test_stats_refuse_nan_and_bad_arguments():
    with pytest.raises(ValueError, match="measured"):
        stats.equivalence(float("nan"), 0.1, target=1.0, margin=0.1)
    with pytest.raises(ValueError, match="alpha"):
        stats.bound(1.0, 0.1, at_least=0.0, alpha=0.7)
    with pytest.raises(ValueError, match="exactly one"):
        stats.rate(1, 2)
    with pytest.raises(ValueError, match="k"):
        stats.rate(3, 2, at_least=0.5)
    with pytest.raises(ValueError, match="finite"):
        stats.difference([1.0, np.nan, 2.0])


# --- readings, replicates and verdicts --------------------------------------------------------

def test_replicate_disagreement_is_inconclusive():
    p = stats.threshold(1.0, True)
    f = stats.threshold(2.0, False)
    r = claims.reading("x", p, f)
    assert r.outcome == INCONCLUSIVE and "unstable" in r.note
    assert r.replicate == 2.0 and r.replicate_outcome == FAIL
    assert claims.reading("x", p, stats.threshold(1.1, True)).outcome == PASS


@pytest.mark.parametrize("outcomes, verdict", [
    ((PASS, PASS), claims.SUPPORTED),
    ((FAIL, FAIL), claims.REFUTED),
    ((PASS, FAIL), claims.READING_DEPENDENT),
    ((PASS, FAIL, INCONCLUSIVE), claims.READING_DEPENDENT),
    ((PASS, INCONCLUSIVE), claims.INCONCLUSIVE_VERDICT),
    ((FAIL, INCONCLUSIVE), claims.INCONCLUSIVE_VERDICT),
    ((INCONCLUSIVE,), claims.INCONCLUSIVE_VERDICT),
    ((claims.UNTESTABLE,), claims.NOT_TESTABLE),
    ((claims.UNTESTABLE, PASS), claims.SUPPORTED),
])
def test_combining_readings(outcomes, verdict):
    rs = [claims.Reading(f"r{i}", o, 1.0, None, "t") for i, o in enumerate(outcomes)]
    assert claims.combine(rs) == verdict
    assert row(readings=rs).verdict == verdict


def test_judge_refuses_non_bools_nan_and_typed_in_verdicts():
    with pytest.raises(TypeError, match="passed"):
        row(passed=float("nan"), measured=1.0)
    with pytest.raises(TypeError, match="passed"):
        row(passed="False", measured=1.0)
    with pytest.raises(ValueError, match="measured"):
        row(passed=True, measured=float("nan"))
    with pytest.raises(ValueError, match="kind"):
        row(kind="theorem", passed=True, measured=1.0)
    assert row(passed=np.bool_(False), measured=1.0).verdict == claims.REFUTED
    assert row(passed=None).verdict == claims.NOT_TESTABLE
    good = row(passed=True, measured=1.0)
    with pytest.raises(ValueError, match="computed"):
        claims.Claim(**{**good.__dict__, "verdict": claims.REFUTED})


def test_write_read_markdown_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("SHLD_FIG_DIR", str(tmp_path))
    a = row("a", readings=[claims.reading("D = Var/2", stats.equivalence(8.0, 0.1, target=8.7, margin=0.25,
                                                                          relative=True)),
                           claims.reading("D = ησ²/2B", stats.equivalence(1e-4, 0.0, target=8.7, margin=0.25,
                                                                           relative=True))])
    b = row("b", claim="c | pipe", passed=None, kind=claims.ANCHOR)
    assert a.verdict == claims.READING_DEPENDENT
    with pytest.raises(ValueError, match="unique"):
        claims.write("99", [a, a])
    p = claims.write("99", [a, b])
    assert json.loads(p.read_text())[0]["readings"][1]["name"] == "D = ησ²/2B"
    assert claims.read(tmp_path / "claims") == [dataclasses.replace(x, notebook="99") for x in (a, b)]
    md = claims.aggregate().read_text()
    assert "Seed-substantive claims: 0 supported, 0 refuted, 1 reading-dependent" in md
    assert "c \\| pipe" in md and "| 002 | anchor | 1 |" in md


# --- make reproduce: the ledger comparison ----------------------------------------------------

def _ledger(tmp_path, name, value, passed):
    d = tmp_path / name / "claims"
    d.mkdir(parents=True)
    r1 = row("T2", readings=[claims.reading("dt = 0.01", stats.equivalence(value, 0.01, target=1.0, margin=0.1))])
    r2 = row("T3", passed=passed, measured=3.0)
    (d / "01.json").write_text(json.dumps([claims._as_dict(r) for r in (r1, r2)]))
    return d


def test_compare_passes_on_identical_and_fails_on_a_changed_verdict(tmp_path):
    old = _ledger(tmp_path, "old", 1.0, True)
    same = _ledger(tmp_path, "same", 1.005, True)         # within 2 spreads
    assert claims.compare(claims.read(old), claims.read(same)) == []
    flipped = _ledger(tmp_path, "flipped", 1.0, False)     # a verdict changed by hand
    diffs = claims.compare(claims.read(old), claims.read(flipped))
    assert [(d.id, d.what, d.fatal) for d in diffs if d.fatal] == [("T3", "verdict", True), ("T3", "outcome [as stated]", True)]
    moved = _ledger(tmp_path, "moved", 1.05, True)         # 5 spreads away: still pass, but a value change
    assert [d.what for d in claims.compare(claims.read(old), claims.read(moved))] == ["measured [dt = 0.01]"]
    out = subprocess.run([sys.executable, "-m", "shld_jax.claims", "compare", str(old), str(flipped)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "| T3 | verdict | supported | refuted | yes |" in out.stdout
    ok = subprocess.run([sys.executable, "-m", "shld_jax.claims", "compare", str(old), str(same)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "agree" in ok.stdout


def test_committed_ledger_follows_the_protocol():
    from pathlib import Path
    rows = claims.read(Path(__file__).resolve().parents[1] / "figures" / "claims")
    assert rows and all(r.kind in claims.KINDS and r.readings for r in rows)
    # a random measurement carries an independent replicate (analytic readings beside it need none)
    missing = [r.id for r in rows if r.random and not any(x.replicate_outcome for x in r.readings)]
    assert missing == []
    assert all(r.verdict == claims.combine(r.readings) for r in rows)
