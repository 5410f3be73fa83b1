"""Verdicts of reproductions: expected (paper) vs measured, row by row, and the table `slimbench reproduce` prints.

A row either *checks* something (has a tolerance and passes or fails) or is *context* (e.g. our baseline
error next to the paper's: shown, never tuned away, and not part of the pass/fail)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    quantity: str
    expected: float | None          # the paper's number
    measured: float | None          # ours
    unit: str = ""                  # "%", "pp", "x", ...
    tolerance: str = ""             # e.g. "±0.15 pp"; empty for context rows
    passed: bool | None = None      # None: context only, not checked
    note: str = ""

    def status(self) -> str:
        return "-" if self.passed is None else ("PASS" if self.passed else "FAIL")


@dataclass
class Verdict:
    paper: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)   # ids of the records this verdict rests on
    seconds: float | None = None
    error: str | None = None                           # the run failed before it could be judged

    @property
    def passed(self) -> bool:
        checked = [r for r in self.rows if r.passed is not None]
        return self.error is None and bool(checked) and all(r.passed for r in checked)

    def add(self, *args, **kwargs) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def check_within(self, quantity: str, expected: float, measured: float, tolerance: float, unit: str = "",
                     note: str = "") -> Row:
        """|measured - expected| <= tolerance (same unit)."""
        ok = abs(measured - expected) <= tolerance + 1e-9
        return self.add(quantity, expected, measured, unit, f"±{tolerance:g} {unit}".strip(), ok, note)

    def to_record(self, card: dict[str, Any] | None = None) -> dict[str, Any]:
        """The record's free-form `verdict` object (kind 'reproduction')."""
        out = {"kind": "reproduction", "paper": self.paper, "title": self.title, "passed": self.passed,
               "rows": [asdict(r) | {"status": r.status()} for r in self.rows], "notes": list(self.notes)}
        if card:
            out["card"] = card.get("_path")
            out["card_sha256"] = card.get("_sha256")
            out["citation"] = card.get("citation", {})
        if self.error:
            out["error"] = self.error
        return out


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "pp":
        return f"{value:+.2f} pp"
    if unit == "x":
        return f"{value:.1f}x"
    if unit == "%":
        return f"{value:.2f}%"
    return f"{value:g}{(' ' + unit) if unit else ''}"


def format_verdict(verdict: Verdict) -> str:
    """A plain-text table: quantity | paper | measured | tolerance | verdict, then notes and the overall line."""
    headers = ["quantity", "paper", "measured", "tolerance", "verdict"]
    rows = [[r.quantity, _num(r.expected, r.unit), _num(r.measured, r.unit), r.tolerance or "(context)",
             r.status()] for r in verdict.rows]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = [f"{verdict.paper}: {verdict.title}", ""]
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    row_notes = [f"{r.quantity}: {r.note}" for r in verdict.rows if r.note]
    if row_notes or verdict.notes:
        lines.append("")
        lines += [f"note: {n}" for n in verdict.notes + row_notes]
    if verdict.error:
        lines += ["", f"error: {verdict.error}"]
    lines.append("")
    timing = f" in {verdict.seconds:.0f} s" if verdict.seconds is not None else ""
    lines.append(f"VERDICT: {'PASS' if verdict.passed else 'FAIL'}{timing}"
                 + (f"  (records: {', '.join(verdict.records)})" if verdict.records else ""))
    return "\n".join(lines)
