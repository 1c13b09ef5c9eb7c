"""Number and cell formatting shared by the terminal, failure and HTML reports.

Large counts use the same SI suffixes the spec language accepts (``4G``, ``2.5T``), so a
figure in a report can be pasted back into a spec.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

_SI = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(value: float | int | None, digits: int = 3) -> str:
    """``value`` with an SI suffix and ``digits`` significant digits: 4.1e9 → ``4.1G``."""
    if value is None:
        return "–"
    value = float(value)
    if not math.isfinite(value):
        return "–"
    for scale, suffix in _SI:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


def count(value: int | float) -> str:
    """An integer count with thousands separators below a million, SI above."""
    value = float(value)
    if abs(value) >= 1e6:
        return si(value)
    return f"{round(value):,}"


def num(value: Any) -> str:
    """One table cell: values up to 1 (probabilities) with 3 decimals, whole numbers as
    such, large numbers with SI suffixes, pairs as intervals ``[lo, hi]``, else text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return count(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if value == int(value) and 1 < abs(value) < 1e4:
            return str(int(value))
        if abs(value) >= 1e4:
            return si(value)
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.4g}"
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return f"[{num(value[0])}, {num(value[1])}]"
    return str(value)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(_is_number(v) for v in value)
    )


def rows_for_table(
    rows: Sequence[Mapping[str, Any]],
) -> tuple[list[str], list[list[str]], list[str]]:
    """Headers (union of the rows' keys, in order of first appearance), formatted cells, and
    each column's alignment (``right`` for numbers and intervals, ``left`` for text)."""
    headers: list[str] = []
    for row in rows:
        for key in row:
            if key not in headers:
                headers.append(key)
    cells = [[num(row.get(h)) for h in headers] for row in rows]
    aligns = [
        "right" if all(_is_number(row[h]) for row in rows if row.get(h) is not None) else "left"
        for h in headers
    ]
    return headers, cells, aligns
