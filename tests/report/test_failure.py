"""Expectation failures rendered as domain text (golden files in ``golden/``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

from pytest_tts.gates.compare import check_comparison
from pytest_tts.report.adapt import expectation_result
from pytest_tts.report.failure import elide, render_failure
from pytest_tts.report.results import ExpectationResult, RunResults


@pytest.mark.parametrize(
    ("spec_index", "expectation_index", "name"),
    [
        (0, 0, "failure_threshold.txt"),
        (0, 5, "failure_regression.txt"),
        (1, 1, "failure_error.txt"),
    ],
)
def test_failure_matches_golden(
    results: RunResults,
    golden: Callable[[str, str], None],
    spec_index: int,
    expectation_index: int,
    name: str,
) -> None:
    spec = results.specs[spec_index]
    e = spec.expectations[expectation_index]
    source_line = spec.source.splitlines()[e.line - spec.source_line]
    golden(name, render_failure(e, spec.path, e.line, source_line))


def test_source_line_is_the_one_given(results: RunResults) -> None:
    spec = results.specs[0]
    e = spec.expectations[0]
    text = render_failure(e, spec.path, e.line, spec.source.splitlines()[e.line - spec.source_line])
    assert "  14 |     expect accuracy >= 0.55 at flops <= 300M using majority_vote\n" in text
    assert text.startswith(
        "expectation failed: accuracy >= 0.55 at flops <= 300M using majority_vote\n"
        "  at specs/addition.tts:14\n"
    )


def test_own_hint_replaces_the_default(results: RunResults) -> None:
    e = dataclasses.replace(results.specs[0].expectations[5], hint="ask the release owner")
    text = render_failure(e, "specs/addition.tts", 19, "")
    assert text.endswith("\nnext: ask the release owner")
    assert "--tts-update-baselines" not in text
    assert " | " not in text  # no source line given, none shown


def _comparison_over_the_full_grid() -> ExpectationResult:
    """A real comparison gate over 64 budget points that fails at k = 30..33 only."""
    ks = np.arange(1, 65, dtype=np.float64)
    problems = 40
    rng = np.random.default_rng(0)
    right = np.clip(0.4 + 0.005 * ks + rng.normal(0, 0.05, (problems, ks.size)), 0, 1)
    left = right + 0.05
    left[:, 29:33] -= 0.1
    gate = check_comparison(
        left,
        ks,
        right,
        ks,
        op=">",
        unit="n",
        left_label="accuracy using majority_vote",
        right_label="accuracy using single",
    )
    assert not gate.passed
    assert gate.candidates.size == 64  # one table row per compared cost
    return expectation_result(
        gate,
        id="cmp",
        text="expect accuracy using majority_vote > accuracy using single at matched n",
        line=7,
    )


def test_long_comparison_table_shows_failing_rows_and_neighbours(
    golden: Callable[[str, str], None],
) -> None:
    result = _comparison_over_the_full_grid()
    text = render_failure(result, "specs/cmp.tts", 7, "    " + result.text)
    golden("failure_comparison_long.txt", text)
    lines = text.splitlines()
    assert "    … 27 passing rows not shown …" in lines
    assert "    … 29 passing rows not shown …" in lines
    assert sum(line.rstrip().endswith(" fails") for line in lines) == 4
    assert "(8 of 64 rows shown; the HTML report (--tts-report) and the JSON results " in text
    # the results model keeps the whole table for the HTML and JSON reports
    assert len(result.table) == 64


def test_short_tables_are_printed_whole(results: RunResults) -> None:
    e = results.specs[0].expectations[0]
    assert elide(e.table) == list(e.table)
    assert "not shown" not in render_failure(e, "specs/addition.tts", 14, "")


def _rows(verdicts: list[str]) -> list[dict[str, object]]:
    return [{"k": i + 1, "verdict": v} for i, v in enumerate(verdicts)]


def test_elision_keeps_neighbours_and_names_what_it_left_out() -> None:
    rows = _rows(["holds"] * 10 + ["fails"] + ["holds"] * 6 + ["not compared"] * 3)
    shown = elide(rows, limit=8, neighbours=2)
    assert shown == [
        "… 8 passing rows not shown …",
        *rows[8:13],
        "… 7 rows not shown (4 passing, 3 not compared) …",
    ]


def test_a_single_row_gap_is_shown_not_elided() -> None:
    rows = _rows(["fails"] + ["holds"] * 5 + ["fails"] + ["holds"] * 20)
    shown = elide(rows, limit=8, neighbours=2)
    # row 3 (between the neighbourhoods of rows 0 and 6) stays: a line for it saves nothing
    assert shown[:9] == rows[:9]
    assert shown[9] == "… 18 passing rows not shown …"


def test_threshold_tables_keep_the_selected_row_and_the_budget_edge() -> None:
    rows = [
        {"k": k, "within budget": "yes" if k <= 40 else "no", "selected": "<-" if k == 12 else ""}
        for k in range(1, 65)
    ]
    shown = elide(rows, limit=16, neighbours=1)
    kept = [r["k"] for r in shown if isinstance(r, dict)]
    assert kept == [11, 12, 13, 39, 40, 41, 42]
    assert shown[0] == "… 10 rows not shown …"


def test_without_key_rows_the_ends_are_kept() -> None:
    rows = [{"k": k, "accuracy": 0.5} for k in range(1, 31)]
    shown = elide(rows, limit=10, neighbours=2)
    assert shown == [*rows[:3], "… 24 rows not shown …", *rows[-3:]]


def test_many_key_rows_get_fewer_neighbours() -> None:
    verdicts = ["holds"] * 40
    for i in (3, 9, 15, 21, 27, 33):
        verdicts[i] = "fails"
    rows = _rows(verdicts)
    # two neighbours each would keep 30 rows; one each keeps 18 (> 16): none are kept
    shown = elide(rows, limit=16, neighbours=2)
    kept = [r["k"] for r in shown if isinstance(r, dict)]
    assert kept == [4, 10, 16, 22, 28, 34]
    assert shown[0] == "… 3 passing rows not shown …"
    assert shown[-1] == "… 6 passing rows not shown …"
