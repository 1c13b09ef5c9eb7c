"""One run's results from the parts that pytest-xdist workers judged.

Under ``pytest -n N`` every worker judges only the items it was given and builds its own
``RunResults``; the controller merges them into one, so that the terminal summary, the JSON
and the HTML report describe the whole run. A spec (one spec block on one model) whose items
were split across workers appears in several parts: its expectations are joined (each once,
by node id), its curves joined by strategy and metric, and its pool counted once.

Every worker prepares the same pools from the same store, so a pool's problems, tokens and
FLOPs agree between parts; of its samples, the largest count any worker saw generated is
taken as generated, and the rest of the pool as reused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from pytest_tts.errors import ReportError
from pytest_tts.report.results import (
    CurveResult,
    ExpectationResult,
    PoolSummary,
    RunResults,
    SpecResult,
)

_SpecKey = tuple[str, str, str]


def _spec_key(spec: SpecResult) -> _SpecKey:
    return (spec.path, spec.name, spec.model)


def merge_pools(pools: Sequence[PoolSummary]) -> PoolSummary:
    """One pool summary from the same pool as several workers saw it.

    Each worker loaded the whole pool, so sizes are not added up: the largest count of each
    field is kept, and reused is what the largest pool holds beyond what was generated.
    """
    if not pools:
        return PoolSummary()
    merged: dict[str, Any] = {}
    for f in dataclasses.fields(PoolSummary):
        values = [getattr(p, f.name) for p in pools]
        numeric = all(isinstance(v, (int, float)) for v in values)
        merged[f.name] = max(values) if numeric else values[0]
    known = [p.flops for p in pools if p.flops is not None]
    merged["flops"] = max(known) if known else None
    total = max(p.samples_generated + p.samples_reused for p in pools)
    merged["samples_reused"] = max(total - merged["samples_generated"], 0)
    return PoolSummary(**merged)


def _curve_key(curve: CurveResult) -> tuple[str, str, str, str]:
    return (curve.model, curve.metric, curve.strategy, curve.unit)


def _merge_curves(groups: Sequence[Sequence[CurveResult]]) -> list[CurveResult]:
    curves: dict[tuple[str, str, str, str], CurveResult] = {}
    for group in groups:
        for curve in group:
            key = _curve_key(curve)
            # the copy with a baseline overlay wins: it was drawn for a regression gate
            if key not in curves or (curves[key].baseline is None and curve.baseline is not None):
                curves[key] = curve
    return list(curves.values())


def _merge_expectations(groups: Sequence[Sequence[ExpectationResult]]) -> list[ExpectationResult]:
    seen: set[str] = set()
    out: list[ExpectationResult] = []
    for group in groups:
        for result in group:
            key = result.nodeid or f"{result.id}\x00{result.line}"
            if key in seen:
                continue
            seen.add(key)
            out.append(result)
    # back in the order of the spec file, as a run without workers lists them
    out.sort(key=lambda r: r.line)
    return out


def _merge_specs(parts: Sequence[SpecResult]) -> SpecResult:
    first = parts[0]
    provenance = next((p.model_provenance for p in parts if p.model_provenance), {})
    dataset_hash = next((p.dataset_hash for p in parts if p.dataset_hash), "")
    return dataclasses.replace(
        first,
        model_provenance=provenance,
        dataset_hash=dataset_hash,
        pools=merge_pools([p.pools for p in parts if p.pools.problems] or [first.pools]),
        curves=_merge_curves([p.curves for p in parts]),
        expectations=_merge_expectations([p.expectations for p in parts]),
    )


def merge_results(parts: Sequence[RunResults]) -> RunResults:
    """One ``RunResults`` from the parts of one run (in any order).

    Specs are listed by file and line, as a run without workers judges them; the run starts
    at the earliest start and finishes at the latest finish. Parts of different results
    schemas are an error.
    """
    if not parts:
        msg = "no results to merge: expected at least one part"
        raise ReportError(msg)
    versions = {p.schema_version for p in parts}
    if len(versions) > 1:
        msg = f"results of different schema versions cannot be merged: {sorted(versions)}"
        raise ReportError(msg)
    by_key: dict[_SpecKey, list[SpecResult]] = {}
    for part in parts:
        for spec in part.specs:
            by_key.setdefault(_spec_key(spec), []).append(spec)
    merged = [_merge_specs(group) for group in by_key.values()]
    merged.sort(key=lambda s: (s.path, s.source_line))
    search: dict[str, int] = {}
    for part in parts:  # each worker's searches did their own work: the counts add up
        for key, value in part.search.items():
            search[key] = search.get(key, 0) + value
    adaptive: dict[str, dict[str, int]] = {}
    for part in parts:  # workers that read the same pool went at least as far as the largest
        for label, counts in part.adaptive.items():
            have = adaptive.setdefault(label, {})
            for key, value in counts.items():
                have[key] = max(have.get(key, 0), value)
    whole = {label: why for part in parts for label, why in part.adaptive_whole.items()}
    return dataclasses.replace(
        parts[0],
        started=min(p.started for p in parts),
        finished=max(p.finished for p in parts),
        specs=merged,
        search=search,
        adaptive=adaptive,
        adaptive_whole=whole,
    )
