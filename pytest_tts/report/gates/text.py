"""``GateText``: a gate's result in words, the one view terminal, HTML and JSON share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tabulate import tabulate


def fmt(value: Any, digits: int = 4) -> str:
    """Format a cell: floats with ``digits`` significant digits, intervals as ``[lo, hi]``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        text = f"{value + 0.0:.{digits}g}"  # + 0.0 turns -0.0 into 0.0
        if "e" in text:
            mantissa, _, exponent = text.partition("e")
            text = f"{mantissa}e{int(exponent)}"
        return text
    if isinstance(value, tuple) and len(value) == 2:
        return f"[{fmt(value[0], digits)}, {fmt(value[1], digits)}]"
    return str(value)


@dataclass(frozen=True)
class GateText:
    """The verdict of one gate in words, with everything a report needs to explain it.

    ``passed`` is the verdict. ``kind`` names the gate (``threshold``, ``comparison``,
    ``monotone``, ``verifier_bound``, ``regression``). ``headline`` is one line for a
    summary. ``rows`` is the table (one mapping per budget point or per quantity, same keys
    in every row; interval cells are ``(lo, hi)`` tuples). ``confidence`` is the level used
    (None when the point estimate was compared), ``method`` names the statistical method,
    ``error_rate`` states the error rate the decision controls, in words. ``notes`` flag
    anything a reader must know (interpolated, not compared, provenance mismatch allowed,
    problems excluded). ``data`` holds the key numbers for JSON reports. ``hint`` says what
    to do next when it fails, where the gate knows better than its kind's default.
    """

    passed: bool
    kind: str
    headline: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    confidence: float | None = None
    method: str = "point estimate"
    error_rate: str = ""
    notes: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    hint: str = ""

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "fail"

    def table(self) -> str:
        """The rows as a plain-text table (empty string when there are none)."""
        if not self.rows:
            return ""
        headers = list(self.rows[0])
        for row in self.rows[1:]:
            headers += [key for key in row if key not in headers]
        body = [[fmt(row.get(key)) for key in headers] for row in self.rows]
        return tabulate(body, headers=headers, tablefmt="simple", disable_numparse=True)

    def render(self) -> str:
        """The headline, the table, the method and error rate, then the notes."""
        parts = [f"{self.kind}: {self.verdict.upper()}: {self.headline}"]
        table = self.table()
        if table:
            parts.append(table)
        method = f"method: {self.method}"
        if self.confidence is not None:
            method += f" (confidence {self.confidence:g})"
        parts.append(method)
        if self.error_rate:
            parts.append(f"error rate: {self.error_rate}")
        parts.extend(f"note: {note}" for note in self.notes)
        return "\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (intervals become two-element lists)."""

        def plain(value: Any) -> Any:
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            if isinstance(value, Mapping):
                return {str(k): plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            if hasattr(value, "item"):  # numpy scalars
                return value.item()
            return value

        return {
            "passed": self.passed,
            "kind": self.kind,
            "headline": self.headline,
            "rows": plain(self.rows),
            "confidence": self.confidence,
            "method": self.method,
            "error_rate": self.error_rate,
            "notes": list(self.notes),
            "data": plain(dict(self.data)),
        }


def budget_text(unit: str, op: str, value: float) -> str:
    """A budget as a spec writes it: ``flops <= 4e9``."""
    return f"{unit} {op} {fmt(float(value))}"
