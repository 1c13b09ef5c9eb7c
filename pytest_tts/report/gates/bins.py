"""The words of a per-difficulty gate (``pytest_tts.gates.bins.PerDifficultyResult``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_tts.report.gates.text import GateText


def render_per_difficulty(r: Any, render: Callable[[Any], GateText]) -> GateText:
    texts = [render(result) for result in r.results]
    first = texts[0]
    claim = first.headline.split(":", 1)[0]
    failing = [b for b, t in zip(r.bins, texts, strict=True) if not t.passed]
    verdict = (
        f"every one of {len(r.bins)} difficulty bins passes"
        if not failing
        else f"{len(failing)} of {len(r.bins)} difficulty bins fail: {', '.join(failing)}"
    )
    rows = [
        {
            "difficulty": b,
            "problems": n,
            "finding": t.headline.split(": ", 1)[-1],
            "passed": "yes" if t.passed else "NO",
        }
        for b, t, n in zip(r.bins, texts, r.problems, strict=True)
    ]
    return GateText(
        passed=r.passed,
        kind=first.kind,
        headline=f"{claim} per difficulty: {verdict}",
        rows=rows,
        confidence=first.confidence,
        method=f"{first.method}, in each bin; passes only when every bin passes",
        error_rate=(
            (first.error_rate + " (in each bin; " if first.error_rate else "(")
            + "an intersection-union test: the bins' error rate bounds the whole's)"
        ),
        notes=first.notes,
        data={
            "bins": {
                b: {"problems": n, "passed": t.passed, **dict(t.data)}
                for b, t, n in zip(r.bins, texts, r.problems, strict=True)
            }
        },
    )
