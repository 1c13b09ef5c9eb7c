"""The results model: coercion, validation and the JSON round trip."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest

from pytest_tts.errors import ReportError
from pytest_tts.report.json_io import dumps, read_json, write_json
from pytest_tts.report.results import (
    SCHEMA_VERSION,
    BudgetLine,
    CurveResult,
    ExpectationResult,
    Machine,
    RunResults,
    SpecResult,
)


def test_numpy_values_become_plain_floats() -> None:
    curve = CurveResult(
        strategy="majority_vote",
        metric="accuracy",
        ks=np.array([1, 4, 16]),
        mean=np.array([0.4, 0.5, 0.55], dtype=np.float32),
        cost_flops=np.array([1e8, 4e8, 1.6e9]),
    )
    assert curve.ks == (1.0, 4.0, 16.0)
    assert all(type(v) is float for v in curve.mean + curve.ks)
    assert curve.cost_tokens is None
    assert curve.x("n") == (1.0, 4.0, 16.0)
    assert curve.x("flops") == (1e8, 4e8, 1.6e9)
    json.dumps(curve.to_dict(), allow_nan=False)  # plain JSON types only


def test_curve_arrays_must_have_one_entry_per_k() -> None:
    with pytest.raises(ValueError, match=r"ci_low has 2 points, ks has 3"):
        CurveResult("majority_vote", "accuracy", ks=[1, 2, 4], mean=[0.1, 0.2, 0.3], ci_low=[0, 0])
    with pytest.raises(ValueError, match=r"mean has 2 points, ks has 3"):
        CurveResult("majority_vote", "accuracy", ks=[1, 2, 4], mean=[0.1, 0.2])


def test_outcome_and_unit_are_checked() -> None:
    with pytest.raises(ValueError, match="outcome must be one of passed, failed, error, skipped"):
        ExpectationResult(id="e", text="expect …", outcome="xfail")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match="budget unit must be one of n, tokens, flops, thinking, got 'usd'"
    ):
        BudgetLine("usd", 3.0)


def test_frontier_is_recognised_by_its_strategy_text() -> None:
    frontier = CurveResult("frontier(accuracy)", "accuracy", ks=[1], mean=[0.5])
    plain = CurveResult("majority_vote", "accuracy", ks=[1], mean=[0.5])
    assert frontier.is_frontier
    assert not plain.is_frontier


def test_counts_cover_every_outcome(results: RunResults) -> None:
    assert results.specs[0].counts() == {"passed": 4, "failed": 2, "error": 0, "skipped": 0}
    assert results.counts() == {"passed": 5, "failed": 2, "error": 1, "skipped": 1}


def test_dict_round_trip_is_exact(results: RunResults) -> None:
    data = json.loads(json.dumps(results.to_dict()))
    assert data["schema_version"] == SCHEMA_VERSION
    assert RunResults.from_dict(data) == results


def test_json_file_round_trip(results: RunResults, tmp_path) -> None:
    path = write_json(results, tmp_path / "out" / "results.json")
    assert read_json(path) == results
    assert not list(path.parent.glob(".*.tmp"))  # the temporary file was renamed away
    # the usual permissions of a new file, not mkstemp's private 0600
    reference = tmp_path / "reference.txt"
    reference.write_text("x")
    assert path.stat().st_mode & 0o777 == reference.stat().st_mode & 0o777


def test_non_finite_values_are_null_in_json_and_nan_again_after(tmp_path) -> None:
    curve = CurveResult(
        "majority_vote", "accuracy", ks=[1, 2], mean=[0.5, 0.6], ci_low=[math.nan, 0.5]
    )
    spec = SpecResult(name="s", path="s.tts", model="m", curves=[curve])
    run = RunResults("2026-11-22T10:00:00", "2026-11-22T10:01:00", "0", Machine("x", 2), [spec])
    text = dumps(run)
    assert '"ci_low": [\n      null,' in text
    back = read_json(write_json(run, tmp_path / "r.json"))
    assert math.isnan(back.specs[0].curves[0].ci_low[0])
    assert back.specs[0].curves[0].ci_low[1] == 0.5


def test_timestamps_accept_datetimes_and_epoch_seconds() -> None:
    started = dt.datetime(2026, 11, 22, 10, 0, 0, tzinfo=dt.UTC)
    run = RunResults(started, 1795341600.0, "0", Machine.current())
    assert run.started == "2026-11-22T10:00:00+00:00"
    assert run.finished == "2026-11-22T10:00:00+00:00"
    assert run.machine.cpu_count >= 1


def test_fields_from_a_newer_writer_are_ignored(results: RunResults) -> None:
    data = results.to_dict()
    data["specs"][0]["curves"][0]["added_later"] = [1, 2]
    data["specs"][0]["added_later"] = "x"
    assert RunResults.from_dict(data) == results


def test_a_newer_schema_version_is_refused(results: RunResults, tmp_path) -> None:
    data = results.to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ReportError, match=r"schema version 2 is not supported; .* versions 1 to 1"):
        read_json(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not readable JSON"),
        ("[1, 2]", "is not pytest-tts results: expected an object .* found list"),
        ('{"schema_version": 1, "specs": [{"name": "x"}]}', "does not match the results schema"),
    ],
)
def test_unreadable_results_files_say_why(tmp_path, content: str, message: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(ReportError, match=message):
        read_json(path)


def test_a_missing_results_file_is_named(tmp_path) -> None:
    with pytest.raises(ReportError, match=r"results file '.*nope.json' does not exist"):
        read_json(tmp_path / "nope.json")
