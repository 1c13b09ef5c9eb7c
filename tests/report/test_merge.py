"""Merging the results that pytest-xdist workers send back into one run."""

from __future__ import annotations

import dataclasses

import pytest

from pytest_tts.errors import ReportError
from pytest_tts.report.json_io import dumps, loads
from pytest_tts.report.merge import merge_pools, merge_results
from pytest_tts.report.results import PoolSummary, RunResults, SpecResult


def _split(results: RunResults) -> tuple[RunResults, RunResults]:
    """Two workers' views of ``results``: every spec's expectations dealt alternately, each
    worker with the curves of its own expectations only (here: the first and the rest)."""
    a_specs: list[SpecResult] = []
    b_specs: list[SpecResult] = []
    for spec in results.specs:
        a_specs.append(
            dataclasses.replace(spec, expectations=spec.expectations[0::2], curves=spec.curves[:1])
        )
        b_specs.append(
            dataclasses.replace(spec, expectations=spec.expectations[1::2], curves=spec.curves[1:])
        )
    a = dataclasses.replace(results, specs=a_specs, finished="2026-11-22T10:03:00+00:00")
    b = dataclasses.replace(results, specs=b_specs[::-1], started="2026-11-22T10:00:05+00:00")
    return a, b


def test_split_parts_merge_back_into_the_run(results: RunResults) -> None:
    a, b = _split(results)
    merged = merge_results([b, a])
    assert [s.name for s in merged.specs] == [s.name for s in results.specs]
    for got, want in zip(merged.specs, results.specs, strict=True):
        assert [e.id for e in got.expectations] == [e.id for e in want.expectations]
        assert {c.label for c in got.curves} == {c.label for c in want.curves}
        assert got.pools == want.pools
    assert merged.counts() == results.counts()
    assert merged.started == results.started
    assert merged.finished == results.finished


def test_an_expectation_judged_by_two_workers_is_listed_once(results: RunResults) -> None:
    merged = merge_results([results, results, results])
    assert merged.counts() == results.counts()
    assert merged.to_dict() == results.to_dict()


def test_the_curve_with_a_baseline_overlay_wins(results: RunResults) -> None:
    spec = results.specs[0]
    with_baseline = next(c for c in spec.curves if c.baseline is not None)
    bare = dataclasses.replace(with_baseline, baseline=None)
    part = dataclasses.replace(
        results, specs=[dataclasses.replace(spec, curves=[bare]), *results.specs[1:]]
    )
    merged = merge_results([part, results])
    (curve,) = [c for c in merged.specs[0].curves if c.label == with_baseline.label]
    assert curve.baseline == with_baseline.baseline


def test_a_pool_loaded_by_two_workers_is_counted_once() -> None:
    one = PoolSummary(problems=200, samples_generated=9600, samples_reused=3200, tokens=7, flops=2)
    other = PoolSummary(problems=200, samples_generated=0, samples_reused=12800, tokens=7, flops=2)
    merged = merge_pools([one, other])
    assert merged == one
    assert merged.samples == 12800


def test_parts_travel_as_json_text(results: RunResults) -> None:
    a, b = _split(results)
    merged = merge_results([loads(dumps(a)), loads(dumps(b))])
    assert merged.to_dict() == merge_results([a, b]).to_dict()


def test_nothing_to_merge_is_an_error() -> None:
    with pytest.raises(ReportError, match="no results to merge"):
        merge_results([])


def test_parts_of_different_schemas_do_not_merge(results: RunResults) -> None:
    older = dataclasses.replace(results)
    object.__setattr__(older, "schema_version", 0)
    with pytest.raises(ReportError, match=r"different schema versions cannot be merged: \[0, 1\]"):
        merge_results([results, older])


def test_bad_worker_text_names_its_source() -> None:
    with pytest.raises(ReportError, match="results of worker gw1 is not readable JSON"):
        loads("{half", source="results of worker gw1")


def test_search_counts_of_the_workers_add_up(results: RunResults) -> None:
    a, b = _split(results)
    a = dataclasses.replace(a, search={"generated": 88, "reused": 10, "rounds": 7})
    b = dataclasses.replace(b, search={"generated": 2, "reused": 100, "verified": 5})
    merged = merge_results([loads(dumps(a)), loads(dumps(b))])
    assert merged.search == {"generated": 90, "reused": 110, "rounds": 7, "verified": 5}
    assert merge_results([results]).search == {}
