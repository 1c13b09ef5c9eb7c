"""Expectation failures rendered as domain text (golden files in ``golden/``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from pytest_tts.report.failure import render_failure
from pytest_tts.report.results import RunResults


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
