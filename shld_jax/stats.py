"""Statistical tests that decide a ledger reading: each returns pass, fail or inconclusive.

Every test is stated before the data (statistic, margin, α) and is three-valued, so that a
failure to reject is never mistaken for a refutation:

* ``pass``: the data show the claim holds (the confidence interval lies inside the claim's region);
* ``fail``: the data show it does not (the interval lies outside it);
* ``inconclusive``: the interval straddles the boundary, i.e. the test lacks the power to decide.

Intervals are two-sided at level :math:`1 - 2\\alpha`, so each one-sided decision is a test at
level :math:`\\alpha` (the TOST convention of Schuirmann 1987). All tests come from
:mod:`scipy.stats`; this module only turns their intervals into the three outcomes.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
from scipy import stats as _st

from shld_jax import _validate as _v

PASS = "pass"
FAIL = "fail"
INCONCLUSIVE = "inconclusive"
OUTCOMES = (PASS, FAIL, INCONCLUSIVE)


class Outcome(NamedTuple):
    """One test on one measurement: the outcome, the measured value, its spread and the test's text."""

    outcome: str
    measured: float | None
    spread: float | None
    test: str


def _finite(name: str, x, call: str) -> float:
    return _v.real_finite(f"stats.{call}", name, x, why="a NaN must not decide a verdict")


def _alpha(alpha, call: str) -> float:
    a = _finite("alpha", alpha, call)
    if not 0 < a < 0.5:
        raise ValueError(f"`stats.{call}`: alpha must lie in (0, 0.5), got alpha = {alpha!r}")
    return a


def _bool(passed, call: str) -> bool:
    # bool(nan) and bool("False") are both True: accept only real booleans.
    if isinstance(passed, (bool, np.bool_)):
        return bool(passed)
    raise TypeError(f"`{call}`: passed must be a bool (the outcome of the rule), got "
                    f"passed = {passed!r} of type {type(passed).__name__}")


def _decide(lo: float, hi: float, inside, outside) -> str:
    if inside(lo, hi):
        return PASS
    if outside(lo, hi):
        return FAIL
    return INCONCLUSIVE


def threshold(measured, passed, *, spread=None, test: str = "") -> Outcome:
    """A deterministic rule (analytic value, or a simulation whose error is far below the margin).

    ``passed`` must be a real ``bool`` (``numpy.bool_`` included): the rule evaluated on ``measured``.
    """
    p = _bool(passed, "stats.threshold")
    m = None if measured is None else _finite("measured", measured, "threshold")
    s = None if spread is None else _finite("spread", spread, "threshold")
    return Outcome(PASS if p else FAIL, m, s, test or "deterministic rule")


def clopper_pearson(k: int, n: int, confidence: float = 0.9) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval for a binomial proportion ``k/n``."""
    if not (isinstance(k, (int, np.integer)) and isinstance(n, (int, np.integer))):
        raise TypeError(f"`stats.clopper_pearson`: k and n must be integers, got k = {k!r}, n = {n!r}")
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"`stats.clopper_pearson`: need 0 <= k <= n and n > 0, got k = {k}, n = {n}")
    ci = _st.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def _one_sided(lo, hi, at_least, at_most, call, fmt):
    """Decide ``≥ at_least`` (pass iff lo ≥ b, fail iff hi < b) or ``≤ at_most`` on ``[lo, hi]``."""
    if at_least is not None:
        b = _finite("at_least", at_least, call)
        return _decide(lo, hi, lambda lo, hi: lo >= b, lambda lo, hi: hi < b), fmt.format("≥", b)
    b = _finite("at_most", at_most, call)
    return _decide(lo, hi, lambda lo, hi: hi <= b, lambda lo, hi: lo > b), fmt.format("≤", b)


def rate(k: int, n: int, *, at_least: float | None = None, at_most: float | None = None,
         alpha: float = 0.05) -> Outcome:
    """Exact test of a claimed rate: ``k`` events in ``n`` trials against ``p ≥ at_least`` or ``p ≤ at_most``.

    With the Clopper–Pearson interval :math:`[p_-, p_+]` at level :math:`1-2\\alpha`: for
    ``at_least = p₀``, pass iff :math:`p_- \\ge p_0` and fail iff :math:`p_+ < p_0` (each an exact
    one-sided binomial test at level α); ``at_most`` mirrors it.
    """
    a = _alpha(alpha, "rate")
    if (at_least is None) == (at_most is None):
        raise ValueError("`stats.rate`: give exactly one of at_least, at_most, got "
                         f"at_least = {at_least!r}, at_most = {at_most!r}")
    lo, hi = clopper_pearson(k, n, 1 - 2 * a)
    out, claim = _one_sided(lo, hi, at_least, at_most, "rate", "p {} {:g}")
    text = (f"exact binomial, {claim}: {k}/{n}, {100 * (1 - 2 * a):g} % Clopper–Pearson "
            f"[{lo:.3g}, {hi:.3g}], α = {a:g}")
    return Outcome(out, k / n, (hi - lo) / 2, text)


def fisher(k1: int, n1: int, k2: int, n2: int, *, claim: str = "less", alpha: float = 0.05) -> Outcome:
    """Fisher's exact test of a claimed difference in rates: ``claim='less'`` means p₁ < p₂.

    Pass iff the one-sided p-value in the claimed direction is below α; fail iff the one-sided
    p-value in the opposite direction is below α; otherwise inconclusive.
    """
    a = _alpha(alpha, "fisher")
    if claim not in ("less", "greater"):
        raise ValueError(f"`stats.fisher`: claim must be 'less' or 'greater', got claim = {claim!r}")
    for name, (k, n) in {"(k1, n1)": (k1, n1), "(k2, n2)": (k2, n2)}.items():
        if n <= 0 or not 0 <= k <= n:
            raise ValueError(f"`stats.fisher`: need 0 <= k <= n, n > 0, got {name} = {(k, n)}")
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    other = "greater" if claim == "less" else "less"
    p_claim = float(_st.fisher_exact(table, alternative=claim).pvalue)
    p_other = float(_st.fisher_exact(table, alternative=other).pvalue)
    out = PASS if p_claim < a else FAIL if p_other < a else INCONCLUSIVE
    sym = "<" if claim == "less" else ">"
    text = (f"Fisher exact, p₁ {sym} p₂: {k1}/{n1} vs {k2}/{n2}, one-sided p = {p_claim:.3g} "
            f"(opposite {p_other:.3g}), α = {a:g}")
    return Outcome(out, k1 / n1 - k2 / n2, None, text)


def mean_se(samples: Sequence[float]) -> tuple[float, float, int]:
    """Mean, standard error and degrees of freedom of independent replicates (finite only)."""
    x = np.asarray(samples, dtype=float).ravel()
    if x.size < 2:
        raise ValueError(f"`stats.mean_se`: need at least 2 samples, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`stats.mean_se`: samples must be finite, got {x.tolist()}")
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size)), int(x.size - 1)


def _interval(m: float, se: float, a: float, df: int | None) -> tuple[float, float]:
    q = _st.norm.ppf(1 - a) if df is None else _st.t.ppf(1 - a, df)
    return m - q * se, m + q * se


def equivalence(measured, se, *, target: float, margin: float, relative: bool = False,
                alpha: float = 0.05, df: int | None = None) -> Outcome:
    """TOST equivalence test of a claim ``measured ≈ target`` within ``±margin``.

    With the :math:`1-2\\alpha` interval :math:`m \\pm q\\,\\mathrm{se}` (normal, or Student t with
    ``df`` degrees of freedom): pass iff it lies inside :math:`[t-\\delta, t+\\delta]` (both one-sided
    tests reject non-equivalence), fail iff it lies entirely outside that band, else inconclusive.
    ``relative=True`` reads ``margin`` as a fraction of ``|target|``. ``se = 0`` (an analytic value)
    makes the test a plain comparison.
    """
    a = _alpha(alpha, "equivalence")
    m = _finite("measured", measured, "equivalence")
    s = _finite("se", se, "equivalence")
    t = _finite("target", target, "equivalence")
    d = _finite("margin", margin, "equivalence")
    if s < 0 or d <= 0:
        raise ValueError(f"`stats.equivalence`: need se >= 0 and margin > 0, got se = {se!r}, margin = {margin!r}")
    delta = d * abs(t) if relative else d
    lo, hi = _interval(m, s, a, df)
    out = _decide(lo, hi, lambda lo, hi: t - delta <= lo and hi <= t + delta,
                  lambda lo, hi: hi < t - delta or lo > t + delta)
    band = f"±{100 * d:g} %" if relative else f"±{delta:.3g}"
    text = (f"TOST vs {t:.4g} {band}: {100 * (1 - 2 * a):g} % interval [{lo:.4g}, {hi:.4g}], α = {a:g}")
    return Outcome(out, m, s, text)


def bound(measured, se, *, at_least: float | None = None, at_most: float | None = None,
          alpha: float = 0.05, df: int | None = None) -> Outcome:
    """One-sided claim on a mean, ``measured ≥ at_least`` or ``≤ at_most``, by its :math:`1-2\\alpha` interval.

    For ``at_least = b``: pass iff the lower end is ≥ b, fail iff the upper end is < b.
    """
    a = _alpha(alpha, "bound")
    m = _finite("measured", measured, "bound")
    s = _finite("se", se, "bound")
    if s < 0:
        raise ValueError(f"`stats.bound`: need se >= 0, got se = {se!r}")
    if (at_least is None) == (at_most is None):
        raise ValueError("`stats.bound`: give exactly one of at_least, at_most, got "
                         f"at_least = {at_least!r}, at_most = {at_most!r}")
    lo, hi = _interval(m, s, a, df)
    out, claim = _one_sided(lo, hi, at_least, at_most, "bound", "{} {:.4g}")
    text = f"mean {claim}: {100 * (1 - 2 * a):g} % interval [{lo:.4g}, {hi:.4g}], α = {a:g}"
    return Outcome(out, m, s, text)


def difference(a: Sequence[float], b: Sequence[float] | None = None, *, claim: str = "greater",
               margin: float = 0.0, paired: bool = True, method: str = "t", alpha: float = 0.05,
               seed: int = 0) -> Outcome:
    """Test a claimed difference of means, e.g. "method A's accuracy beats B's".

    ``d`` is ``a − b`` (paired, per seed), ``a`` alone if ``b`` is None, or the two samples
    (``paired=False``, Welch). For ``claim='greater'`` with the :math:`1-2\\alpha` interval
    :math:`[d_-, d_+]` of the mean difference: pass iff :math:`d_- > 0`; otherwise fail iff
    :math:`d_+ <` ``margin`` (an improvement as large as ``margin``, the smallest one that
    counts, is ruled out; ``margin = 0`` fails only a significant effect in the other direction);
    otherwise inconclusive. ``claim='less'`` mirrors it. ``method='bootstrap'`` uses
    :func:`scipy.stats.bootstrap` (BCa, fixed ``seed``) instead of the t interval.
    """
    al = _alpha(alpha, "difference")
    if claim not in ("greater", "less"):
        raise ValueError(f"`stats.difference`: claim must be 'greater' or 'less', got claim = {claim!r}")
    if method not in ("t", "bootstrap"):
        raise ValueError(f"`stats.difference`: method must be 't' or 'bootstrap', got method = {method!r}")
    mg = _finite("margin", margin, "difference")
    if mg < 0:
        raise ValueError(f"`stats.difference`: margin must be >= 0, got margin = {margin!r}")
    x = np.asarray(a, dtype=float).ravel()
    y = None if b is None else np.asarray(b, dtype=float).ravel()
    for name, v in (("a", x), ("b", y)):
        if v is not None and (v.size < 2 or not np.all(np.isfinite(v))):
            raise ValueError(f"`stats.difference`: {name} needs >= 2 finite values, got {v.tolist()}")
    sign = 1.0 if claim == "greater" else -1.0
    if y is not None and paired:
        if x.shape != y.shape:
            raise ValueError(f"`stats.difference`: paired samples need equal lengths, got {x.size} and {y.size}")
        samples, two = (sign * (x - y),), False
    elif y is not None:
        samples, two = (sign * x, sign * y), True
    else:
        samples, two = (sign * x,), False
    stat = (lambda u, v, axis=-1: np.mean(u, axis) - np.mean(v, axis)) if two else \
        (lambda u, axis=-1: np.mean(u, axis))
    est = float(stat(*samples))
    if method == "bootstrap":
        res = _st.bootstrap(samples, stat, confidence_level=1 - 2 * al, method="BCa",
                            paired=False, vectorized=True, rng=np.random.default_rng(seed))
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if not (math.isfinite(lo) and math.isfinite(hi)):  # degenerate BCa (all values equal)
            lo = hi = est
        name = "paired BCa bootstrap" if (y is not None and paired) else "BCa bootstrap"
    elif two:
        r = _st.ttest_ind(samples[0], samples[1], equal_var=False)
        ci = r.confidence_interval(confidence_level=1 - 2 * al)
        lo, hi, name = float(ci.low), float(ci.high), "Welch t"
    else:
        m, se, df = mean_se(samples[0])
        lo, hi = _interval(m, se, al, df)
        name = "paired t" if y is not None else "one-sample t"
    out = PASS if lo > 0 else FAIL if hi < mg else INCONCLUSIVE
    sym = ">" if claim == "greater" else "<"
    lo_r, hi_r = (lo, hi) if sign > 0 else (-hi, -lo)
    text = (f"{name}, Δ {sym} 0 (refuted if |Δ| < {mg:g} is shown): {100 * (1 - 2 * al):g} % "
            f"interval of Δ [{lo_r:.4g}, {hi_r:.4g}], α = {al:g}")
    return Outcome(out, sign * est, (hi - lo) / 2, text)


def agree(primary: Outcome, replicate: Outcome | None) -> tuple[str, str]:
    """Combine a primary and an independent replicate: their common outcome, else inconclusive.

    Returns ``(outcome, note)``; the note says "unstable" when the two disagree.
    """
    if replicate is None:
        return primary.outcome, ""
    if primary.outcome == replicate.outcome:
        return primary.outcome, ""
    return INCONCLUSIVE, f"unstable: primary {primary.outcome}, replicate {replicate.outcome}"
