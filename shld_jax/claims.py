"""The claims ledger: every quantitative seed claim, our measurement, a verdict that survives.

The protocol ([2.1])
--------------------
Each row has a **kind**: ``seed-substantive`` (a claim about the world made by a seed),
``seed-consistency`` (the seed's own numbers or code contradict themselves) or ``anchor``
(analytic ground truth or literature that our code must reproduce; not a seed claim).

Where a seed leaves a convention open (time step, definition of D, reading of "improvement",
learning rate, ...) the notebook names every reasonable **reading** and evaluates the rule under
each. A reading's outcome comes from a test stated before the data (:mod:`shld_jax.stats`:
exact binomial and Fisher tests for rates, TOST for "≈", paired t or bootstrap intervals for
differences, a deterministic rule for analytic values) and is ``pass``, ``fail`` or
``inconclusive`` (the test lacks the power to decide; a failure to reject is never a refutation).

Every reading whose measurement depends on random draws is measured twice in full mode, with
the primary key and an independent **replicate** key; when the two outcomes differ the reading
is ``inconclusive`` (unstable).

The row's **verdict** combines its readings (:func:`combine`):

* **supported**: every reading passes;
* **refuted**: every reading fails;
* **reading-dependent**: some readings pass and some fail (the row lists which);
* **inconclusive**: no reading fails and not all pass, or no reading passes and not all fail;
* **not testable here**: no reading can be evaluated (the reason says why).

A notebook builds rows with :func:`judge`, then :func:`write` stores ``<figures>/claims/NN.json``;
``python -m shld_jax.claims`` aggregates them into ``figures/CLAIMS.md``, and
``python -m shld_jax.claims compare OLD NEW`` (``make reproduce``) checks a re-run against the
committed ledger: same verdicts, every measured value within its tolerance.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from pathlib import Path
from typing import Iterable, Sequence

from shld_jax import _validate, paths, stats
from shld_jax.stats import FAIL, INCONCLUSIVE, PASS, Outcome

SUPPORTED = "supported"
REFUTED = "refuted"
READING_DEPENDENT = "reading-dependent"
INCONCLUSIVE_VERDICT = "inconclusive"
NOT_TESTABLE = "not testable here"
VERDICTS = (SUPPORTED, REFUTED, READING_DEPENDENT, INCONCLUSIVE_VERDICT, NOT_TESTABLE)

SEED_SUBSTANTIVE = "seed-substantive"
SEED_CONSISTENCY = "seed-consistency"
ANCHOR = "anchor"
KINDS = (SEED_SUBSTANTIVE, SEED_CONSISTENCY, ANCHOR)

UNTESTABLE = "untestable"
READING_OUTCOMES = (PASS, FAIL, INCONCLUSIVE, UNTESTABLE)


def _opt_finite(where: str, name: str, x) -> float | None:
    if x is None:
        return None
    return _validate.real_finite(where, name, x, why="a NaN must not reach the ledger", or_none=True)


@dataclasses.dataclass(frozen=True)
class Reading:
    """One reasonable reading of what the seed leaves open, and the rule's outcome under it."""

    name: str
    outcome: str
    measured: float | None
    spread: float | None
    test: str
    replicate: float | None = None
    replicate_outcome: str | None = None
    note: str = ""

    def __post_init__(self):
        if self.outcome not in READING_OUTCOMES:
            raise ValueError(f"`Reading` {self.name!r}: outcome must be one of {READING_OUTCOMES}, "
                             f"got outcome = {self.outcome!r}")
        if self.replicate_outcome not in (None, PASS, FAIL, INCONCLUSIVE):
            raise ValueError(f"`Reading` {self.name!r}: bad replicate_outcome = {self.replicate_outcome!r}")
        for f in ("measured", "spread", "replicate"):
            object.__setattr__(self, f, _opt_finite(f"Reading {self.name!r}", f, getattr(self, f)))


def reading(name: str, primary: Outcome, replicate: Outcome | None = None) -> Reading:
    """A :class:`Reading` from a test's :class:`~shld_jax.stats.Outcome` and, for random
    measurements, the same test on an independent replicate (disagreement → inconclusive)."""
    for label, o in (("primary", primary), ("replicate", replicate)):
        if o is not None and not isinstance(o, Outcome):
            raise TypeError(f"`claims.reading` {name!r}: {label} must be a stats.Outcome, got {o!r}")
    outcome, note = stats.agree(primary, replicate)
    return Reading(name, outcome, primary.measured, primary.spread, primary.test,
                   None if replicate is None else replicate.measured,
                   None if replicate is None else replicate.outcome, note)


def untestable(name: str, why: str, measured=None, spread=None) -> Reading:
    """A reading that cannot be evaluated here (``why`` says why)."""
    return Reading(name, UNTESTABLE, measured, spread, why)


def combine(readings: Sequence[Reading]) -> str:
    """The row's verdict from its readings' outcomes (see the module docstring)."""
    out = [r.outcome for r in readings if r.outcome != UNTESTABLE]
    if not out:
        return NOT_TESTABLE
    n_pass, n_fail = out.count(PASS), out.count(FAIL)
    if n_pass == len(out):
        return SUPPORTED
    if n_fail == len(out):
        return REFUTED
    if n_pass and n_fail:
        return READING_DEPENDENT
    return INCONCLUSIVE_VERDICT


@dataclasses.dataclass(frozen=True)
class Claim:
    """One ledger row: a seed's claim, its readings with their tests, and the combined verdict."""

    id: str
    seed_file: str
    kind: str
    claim: str
    measured: float | None
    spread: float | None
    unit: str
    verdict: str
    reason: str
    rule: str = ""
    notebook: str = ""
    readings: tuple[Reading, ...] = ()
    random: bool = False
    tolerance: float | None = None

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"`Claim`: verdict must be one of {VERDICTS}, got verdict = {self.verdict!r}.")
        if self.kind not in KINDS:
            raise ValueError(f"`Claim` {self.id}: kind must be one of {KINDS}, got kind = {self.kind!r}.")
        for name in ("measured", "spread", "tolerance"):
            object.__setattr__(self, name, _opt_finite(f"Claim {self.id}", name, getattr(self, name)))
        rs = tuple(Reading(**r) if isinstance(r, dict) else r for r in self.readings)
        object.__setattr__(self, "readings", rs)
        if rs and combine(rs) != self.verdict:
            raise ValueError(f"`Claim` {self.id}: verdict {self.verdict!r} does not follow from its "
                             f"readings ({combine(rs)!r}); verdicts are computed, never typed in.")


def judge(id: str, *, seed_file: str, kind: str, claim: str, unit: str, rule: str, reason: str,
          readings: Sequence[Reading] | None = None, passed: bool | None = None,
          measured=None, spread=None, random: bool = False, tolerance: float | None = None,
          notebook: str = "") -> Claim:
    """Build a :class:`Claim` whose verdict is computed, never typed in.

    Either ``readings`` (one :class:`Reading` per reasonable reading; see :func:`reading`), or
    ``passed``, a real ``bool`` giving the outcome of a deterministic ``rule`` on ``measured``
    (one reading, "as stated"), or neither: the claim is not testable here and ``reason`` says
    why. ``random=True`` marks a measurement that depends on random draws (it must carry a
    replicate in full mode). ``tolerance`` is the absolute change in a measured value that
    ``make reproduce`` accepts (default: twice the stated spread, or a relative 1e-6).
    """
    if readings is not None and passed is not None:
        raise ValueError(f"`claims.judge` {id}: give readings or passed, not both")
    m = _opt_finite(f"claims.judge {id}", "measured", measured)
    s = _opt_finite(f"claims.judge {id}", "spread", spread)
    if readings is None:
        if passed is None:
            readings = [untestable("as stated", reason, m, s)]
        else:
            readings = [reading("as stated", stats.threshold(m, passed, spread=s, test=rule))]
    readings = tuple(readings)
    if not readings:
        raise ValueError(f"`claims.judge` {id}: readings must not be empty")
    for r in readings:
        if not isinstance(r, Reading):
            raise TypeError(f"`claims.judge` {id}: readings must be claims.Reading, got {r!r}")
    if m is None and s is None:
        m, s = readings[0].measured, readings[0].spread
    return Claim(id, seed_file, kind, claim, m, s, unit, combine(readings), reason, rule, notebook,
                 readings, bool(random), tolerance)


def within(measured: float, target: float, rel: float) -> bool:
    """``|measured − target| ≤ rel·|target|``."""
    return abs(float(measured) - float(target)) <= rel * abs(float(target))


def claims_dir() -> Path:
    return paths.figure_dir() / "claims"


def _as_dict(r: Claim) -> dict:
    d = dataclasses.asdict(r)
    d["readings"] = [dataclasses.asdict(x) for x in r.readings]
    return d


def write(notebook: str, rows: Iterable[Claim]) -> Path:
    """Write ``rows`` to ``<figure dir>/claims/<notebook>.json`` (atomic replace) and return the path."""
    rows = [dataclasses.replace(r, notebook=r.notebook or notebook) for r in rows]
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"`claims.write`: claim ids must be unique, got {ids}.")
    d = claims_dir()
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{notebook}.json"
    tmp = p.with_suffix(".json.tmp")
    tmp.write_text(json.dumps([_as_dict(r) for r in rows], indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, p)
    return p


def read(directory: Path | None = None) -> list[Claim]:
    d = claims_dir() if directory is None else Path(directory)
    rows = []
    for p in sorted(d.glob("*.json")):
        rows += [Claim(**r) for r in json.loads(p.read_text())]
    return rows


def _fmt(x):
    if x is None:
        return "–"
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.4g}"
    return f"{x:.3e}"


def _esc(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _readings_cell(r: Claim) -> str:
    parts = []
    for x in r.readings:
        rep = "" if x.replicate_outcome is None else f"; replicate {_fmt(x.replicate)} → {x.replicate_outcome}"
        note = f" ({x.note})" if x.note else ""
        parts.append(f"*{_esc(x.name)}*: {_fmt(x.measured)} ± {_fmt(x.spread)} → **{x.outcome}**{rep}{note}")
    return "<br>".join(parts)


def tally(rows: Sequence[Claim]) -> str:
    """``a supported, b refuted, ...`` for ``rows``, every verdict category."""
    c = {k: sum(r.verdict == k for r in rows) for k in VERDICTS}
    return ", ".join(f"{c[k]} {k}" for k in VERDICTS)


PROTOCOL_MD = (
    "**Protocol.** Each row has a kind (*seed-substantive*: a seed's claim about the world; "
    "*seed-consistency*: the seed contradicts its own numbers or code; *anchor*: ground truth or "
    "literature our code must reproduce). Where a seed leaves a convention open, every reasonable "
    "reading is evaluated with a test stated before the data (exact binomial/Fisher for rates, TOST "
    "for ≈, paired t or bootstrap intervals for differences, a deterministic rule for analytic values; "
    "two-sided 1 − 2α intervals, α = 0.05 unless the test says otherwise); a reading passes, fails, or is "
    "inconclusive when the test cannot decide. Random measurements are repeated with an independent "
    "replicate key; disagreement makes the reading inconclusive. Verdict: **supported** (every reading "
    "passes), **refuted** (every reading fails), **reading-dependent** (some pass, some fail), "
    "**inconclusive** (the rest), **not testable here** (no reading can be evaluated). The headline "
    "counts seed-substantive rows only.")


def to_markdown(rows: list[Claim]) -> str:
    subst = [r for r in rows if r.kind == SEED_SUBSTANTIVE]
    out = [
        "# Claims ledger",
        "",
        "Every quantitative claim of the seed documents, our measurement under each reading, and a verdict "
        "computed by the stated test. Generated by `make figures` from `figures/claims/*.json`; do not "
        "edit by hand.",
        "",
        f"**Seed-substantive claims: {tally(subst)}.**",
        "",
        PROTOCOL_MD,
        "",
        "| seed | kind | rows | " + " | ".join(VERDICTS) + " |",
        "|---|---|---|" + "---|" * len(VERDICTS),
    ]
    seeds = sorted({r.seed_file[:3] for r in rows})
    for s in seeds:
        for k in KINDS:
            sel = [r for r in rows if r.seed_file[:3] == s and r.kind == k]
            if sel:
                out.append(f"| {_esc(s)} | {k} | {len(sel)} | " +
                           " | ".join(str(sum(r.verdict == v for r in sel)) for v in VERDICTS) + " |")
    for k in KINDS:
        sel = [r for r in rows if r.kind == k]
        out.append(f"| all | {k} | {len(sel)} | " +
                   " | ".join(str(sum(r.verdict == v for r in sel)) for v in VERDICTS) + " |")
    out += [
        "",
        "| id | notebook | kind | claim | readings (measured ± spread → outcome) | unit | verdict | test | reason |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {_esc(r.id)} | {_esc(r.notebook)} | {r.kind} | {_esc(r.claim)} | {_readings_cell(r)} | "
            f"{_esc(r.unit)} | **{r.verdict}** | {_esc(r.rule)} | {_esc(r.reason)} |")
    return "\n".join(out) + "\n"


def aggregate(directory: Path | None = None, out: Path | None = None) -> Path:
    """Collect every ``claims/*.json`` into ``CLAIMS.md`` next to them (or ``out``)."""
    d = claims_dir() if directory is None else Path(directory)
    out = d.parent / "CLAIMS.md" if out is None else Path(out)
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text(to_markdown(read(d)))
    os.replace(tmp, out)
    return out


@dataclasses.dataclass(frozen=True)
class Difference:
    """One disagreement between a committed ledger row and a re-run."""

    id: str
    what: str
    old: str
    new: str
    fatal: bool


def _close(a: float | None, b: float | None, spread: float | None, tol: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    allowed = max(2 * spread if spread else 0.0, tol or 0.0, 1e-6 * max(abs(a), abs(b)), 1e-12)
    return abs(a - b) <= allowed


def compare(old: Sequence[Claim], new: Sequence[Claim]) -> list[Difference]:
    """Every difference between two ledgers: missing or extra rows, verdicts, reading outcomes,
    and measured values outside the row's tolerance (all fatal), and rule texts (informational)."""
    o, n = {r.id: r for r in old}, {r.id: r for r in new}
    diffs = []
    for i in sorted(o.keys() - n.keys()):
        diffs.append(Difference(i, "row missing in re-run", o[i].verdict, "–", True))
    for i in sorted(n.keys() - o.keys()):
        diffs.append(Difference(i, "row not in committed ledger", "–", n[i].verdict, True))
    for i in sorted(o.keys() & n.keys()):
        a, b = o[i], n[i]
        if a.verdict != b.verdict:
            diffs.append(Difference(i, "verdict", a.verdict, b.verdict, True))
        tol = a.tolerance
        ra, rb = {x.name: x for x in a.readings}, {x.name: x for x in b.readings}
        if ra.keys() != rb.keys():
            diffs.append(Difference(i, "readings", ", ".join(ra), ", ".join(rb), True))
        for name in ra.keys() & rb.keys():
            x, y = ra[name], rb[name]
            if x.outcome != y.outcome:
                diffs.append(Difference(i, f"outcome [{name}]", x.outcome, y.outcome, True))
            for f in ("measured", "replicate"):
                u, v = getattr(x, f), getattr(y, f)
                if not _close(u, v, x.spread, tol):
                    diffs.append(Difference(i, f"{f} [{name}]", _fmt(u), _fmt(v), True))
        if not ra and not _close(a.measured, b.measured, a.spread, tol):
            diffs.append(Difference(i, "measured", _fmt(a.measured), _fmt(b.measured), True))
        if a.rule != b.rule:
            diffs.append(Difference(i, "rule text", a.rule[:40], b.rule[:40], False))
    return diffs


def compare_dirs(old_dir: Path, new_dir: Path, stream=sys.stdout) -> int:
    """Print the differences between two ``claims/`` folders; return 1 if any is fatal."""
    diffs = compare(read(Path(old_dir)), read(Path(new_dir)))
    n_rows = len(read(Path(old_dir)))
    if not diffs:
        print(f"reproduce: all {n_rows} ledger rows agree (verdicts, outcomes, values within tolerance)",
              file=stream)
        return 0
    print("| id | what | committed | re-run | fatal |\n|---|---|---|---|---|", file=stream)
    for d in diffs:
        print(f"| {d.id} | {d.what} | {_esc(d.old)} | {_esc(d.new)} | {'yes' if d.fatal else 'no'} |",
              file=stream)
    fatal = sum(d.fatal for d in diffs)
    print(f"reproduce: {fatal} fatal difference(s) over {n_rows} rows", file=stream)
    return 1 if fatal else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "compare":
        if len(argv) != 3:
            print("usage: python -m shld_jax.claims compare OLD_CLAIMS_DIR NEW_CLAIMS_DIR", file=sys.stderr)
            return 2
        return compare_dirs(Path(argv[1]), Path(argv[2]))
    print(aggregate())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
