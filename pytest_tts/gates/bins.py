"""Per-difficulty gates: one expectation judged in every difficulty bin of the dataset.

"accuracy >= 0.6 at n = 8 per difficulty" asks the gate of each bin (problems whose
dataset field, ``difficulty = "level"``, has one value) and passes only when every bin
passes. That is an intersection-union test: to pass falsely, the gate of a bin where the
claim is false must pass falsely, so the error rate of each bin's gate bounds the whole's
and no multiplicity correction is needed. Bins are ordered naturally ("Level 2" before
"Level 10").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PerDifficultyResult:
    """Each bin's gate result, in bin order, with its number of problems."""

    passed: bool
    bins: tuple[str, ...]
    problems: tuple[int, ...]
    results: tuple[Any, ...]


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders the numbers inside ``text`` by value."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def difficulty_bins(difficulties: Sequence[str | None]) -> dict[str, list[int]]:
    """Row indices per difficulty value, bins in natural order (None: no difficulty)."""
    rows: dict[str, list[int]] = {}
    for i, value in enumerate(difficulties):
        if value is not None:
            rows.setdefault(value, []).append(i)
    return {b: rows[b] for b in sorted(rows, key=natural_key)}


def per_difficulty(bins: Iterable[str], problems: Iterable[int], results: Iterable[Any]) -> Any:
    """Combine the bins' gate results: passed only when every bin passed."""
    results = tuple(results)
    return PerDifficultyResult(
        passed=all(bool(r.passed) for r in results),
        bins=tuple(bins),
        problems=tuple(problems),
        results=results,
    )
