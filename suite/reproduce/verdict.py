"""The one verdict type of every reproduction: `Verdict(passed, checks)`, named checks, one text table.

Both kinds of reproduction build it:

- a **paper** card (`slimbench reproduce --paper NAME`, suite/reproduce/papers.py): the paper's number
  (`expected`) beside ours (`measured`), row by row;
- a **record** re-run (`slimbench reproduce ID|BUNDLE`, suite/reproduce/rerun.py): the original record's
  number beside the re-run's.

A check either *judges* something (`passed` True/False, with its `tolerance`) or is *context* (`passed`
None: shown, never part of the pass/fail — e.g. our baseline beside the paper's, or a speed ratio measured
on a CPU of another ISA class). The verdict passes when nothing failed before judging (`error`), at least
one check judged, and every judged check passed.

`to_dict()` is the record's `verdict` section, described by `$defs/verdict` in
suite/records/record-v1.schema.json (schema version 3); `from_dict()` reads it back (older records' verdicts
are upgraded to this shape by suite/records/migrate.py first). This module imports nothing heavy: the
leaderboard reads verdicts through it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PAPER, RECORD = "paper", "record"   # what a verdict reproduces: a paper's card, or a record
CHECK_KEYS = ("name", "passed", "expected", "measured", "unit", "tolerance", "note")


@dataclass
class Check:
    name: str
    passed: bool | None             # None: context only, not judged
    expected: Any = None            # the paper's / the original record's number
    measured: Any = None            # ours / the re-run's
    unit: str = ""                  # "%", "pp", "x", "errors", "bytes", ...
    tolerance: str = ""             # e.g. "±0.15 pp", "exact", "> 0"; empty for context rows
    note: str = ""

    def status(self) -> str:
        return "-" if self.passed is None else ("PASS" if self.passed else "FAIL")

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in CHECK_KEYS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Check":
        return cls(**{key: data[key] for key in CHECK_KEYS if key in data})


@dataclass
class Verdict:
    kind: str                                           # PAPER or RECORD
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None                            # the run failed before it could be judged
    # kind "paper": the card
    paper: str | None = None
    title: str = ""
    card: str | None = None                             # reproductions/<name>.json
    card_sha256: str | None = None
    citation: dict[str, Any] | None = None
    # kind "record": the record reproduced
    of: str | None = None                               # its id
    original: dict[str, Any] | None = None              # where and when it was made (cpu, isa_class, commit, date)
    tolerances: dict[str, float] | None = None
    # not written to the record: the ids of the records this verdict rests on, and the wall time
    records: list[str] = field(default_factory=list)
    seconds: float | None = None
    recorded_passed: bool | None = field(default=None, repr=False)  # read back from a record: what it says

    @property
    def passed(self) -> bool:
        """Judged from the checks; a verdict read from a record says what the record says (the source of truth)."""
        if self.recorded_passed is not None:
            return self.recorded_passed
        judged = [c for c in self.checks if c.passed is not None]
        return self.error is None and bool(judged) and all(c.passed for c in judged)

    def add(self, name: str, passed: bool | None, expected: Any = None, measured: Any = None, unit: str = "",
            tolerance: str = "", note: str = "") -> Check:
        check = Check(name, None if passed is None else bool(passed), expected, measured, unit, tolerance, note)
        self.checks.append(check)
        return check

    def context(self, name: str, expected: Any, measured: Any, unit: str = "", note: str = "") -> Check:
        """A row shown beside the judged ones, not part of the pass/fail."""
        return self.add(name, None, expected, measured, unit, "", note)

    def check_within(self, name: str, expected: float, measured: float, tolerance: float, unit: str = "",
                     note: str = "", tolerance_text: str | None = None) -> Check:
        """|measured - expected| <= tolerance (same unit)."""
        ok = abs(measured - expected) <= tolerance + 1e-9
        text = tolerance_text if tolerance_text is not None else f"±{tolerance:g} {unit}".strip()
        return self.add(name, ok, expected, measured, unit, text, note)

    def failed_checks(self) -> list[str]:
        return [c.name for c in self.checks if c.passed is False]

    def to_dict(self) -> dict[str, Any]:
        """The record's `verdict` section (schema version 3)."""
        out: dict[str, Any] = {"kind": self.kind, "passed": self.passed,
                               "checks": [c.to_dict() for c in self.checks], "notes": list(self.notes)}
        if self.kind == PAPER:
            out.update(paper=self.paper, title=self.title, card=self.card, card_sha256=self.card_sha256,
                       citation=self.citation or {})
        else:
            out.update(of=self.of, original=self.original or {}, tolerances=self.tolerances or {})
        if self.error:
            out["error"] = self.error
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Verdict":
        keys = ("kind", "notes", "error", "paper", "title", "card", "card_sha256", "citation", "of", "original",
                "tolerances")
        verdict = cls(**{k: data[k] for k in keys if k in data})
        verdict.checks = [Check.from_dict(c) for c in data.get("checks") or []]
        if isinstance(data.get("passed"), bool):
            verdict.recorded_passed = data["passed"]
        return verdict


def _num(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if unit == "pp":
        return f"{value:+.2f} pp"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:.2f}%"
    return f"{value:g}{(' ' + unit) if unit else ''}"


def heading(verdict: Verdict, original: dict | None = None) -> str:
    if verdict.kind == PAPER:
        return f"{verdict.paper}: {verdict.title}"
    if original is not None:
        cfg = original["config"]
        return (f"reproduction of {original['id']}: {cfg['track']} / {cfg['method']} / {cfg['target']} "
                f"(seed {cfg['seed']})")
    return f"reproduction of {verdict.of}"


def format_verdict(verdict: Verdict, original: dict | None = None) -> str:
    """A plain-text table (check | expected | measured | tolerance | verdict), the notes, and the overall line.
    `original`: the record a record verdict reproduces (for its heading)."""
    expected_head = "paper" if verdict.kind == PAPER else "original"
    headers = ["check", expected_head, "measured", "tolerance", "verdict"]
    rows = [[c.name, _num(c.expected, c.unit), _num(c.measured, c.unit), c.tolerance or "(context)", c.status()]
            for c in verdict.checks]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = [heading(verdict, original), ""]
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    check_notes = [f"{c.name}: {c.note}" for c in verdict.checks if c.note]
    if check_notes or verdict.notes:
        lines.append("")
        lines += [f"note: {n}" for n in verdict.notes + check_notes]
    if verdict.error:
        lines += ["", f"error: {verdict.error}"]
    lines.append("")
    timing = f" in {verdict.seconds:.0f} s" if verdict.seconds is not None else ""
    lines.append(f"VERDICT: {'PASS' if verdict.passed else 'FAIL'}{timing}"
                 + (f"  (records: {', '.join(verdict.records)})" if verdict.records else ""))
    return "\n".join(lines)


def read_verdict(record: dict) -> Verdict | None:
    """A record's verdict as a Verdict, whatever the record's schema version (older verdicts are upgraded by
    suite/records/migrate.py); None when it has none."""
    from suite.records.migrate import upgrade

    data = upgrade(record).get("verdict")
    return Verdict.from_dict(data) if isinstance(data, dict) else None
