"""Stage 6, results: judged expectations and pools to the reports' ``RunResults``.

In: the :class:`Judged` records in the order they ran, the pools (for counts and dataset
hashes), the instances (for model provenance), the rootdir, the run's start time and the
search counters. Out: ``pytest_tts.report.results.RunResults``, which the terminal summary,
the HTML report, the JSON file and the xdist controller all read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tts import __version__
from pytest_tts.errors import TTSError
from pytest_tts.run.settings import relative
from pytest_tts.spec import Expectation, NoRegression, SpecDef

if TYPE_CHECKING:
    from pytest_tts.estimate.curves import Curve
    from pytest_tts.gates import GateResult
    from pytest_tts.report.results import ExpectationResult, RunResults
    from pytest_tts.run.instances import Instances
    from pytest_tts.run.plan import PoolKey, PoolState
    from pytest_tts.run.settings import Settings

_KIND_NAMES = {
    "Threshold": "threshold",
    "Comparison": "comparison",
    "Monotone": "monotone",
    "VerifierBound": "verifier_bound",
    "StepMetric": "step_metric",
    "NoRegression": "no_regression",
}


@dataclass
class Judged:
    """One expectation's judgement: its gate (None when it could not be judged, with the
    reason in ``message``), the curves and baseline it read, and how long it took."""

    nodeid: str
    spec: SpecDef
    expectation: Expectation
    gate: GateResult | None = None
    curves: list[tuple[Curve, str]] = field(default_factory=list)
    outcome: str = "error"
    message: str = ""
    error: TTSError | None = None
    baseline: Any = None
    duration: float = 0.0
    # problems a verifier it read could not judge (see run.verify.problem_error_report)
    notes: str = ""
    # fitted laws to draw with its curves, by "metric:strategy"
    fits: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.gate is not None and self.gate.passed


def expectation_result(record: Judged) -> ExpectationResult:
    """The report's view of one judged expectation."""
    from pytest_tts.report.adapt import budget_lines, error_result
    from pytest_tts.report.adapt import expectation_result as from_gate

    e = record.expectation
    if record.gate is None:
        return error_result(
            TTSError(record.message or "not run"),
            id=e.id,
            text=e.text,
            line=e.span.line,
            nodeid=record.nodeid,
            kind=_KIND_NAMES.get(type(e.check).__name__, ""),
        )
    return from_gate(
        record.gate,
        id=e.id,
        text=e.text,
        line=e.span.line,
        nodeid=record.nodeid,
        budgets=budget_lines(e.check),
        duration=record.duration,
        detail=record.notes,
    )


def build_results(
    judged: Sequence[Judged],
    pools: Mapping[PoolKey, PoolState],
    instances: Instances,
    *,
    rootdir: Path,
    started: float,
    searched: Sequence[Any] = (),
    adaptive: Mapping[str, Mapping[str, int]] | None = None,
    adaptive_whole: Mapping[str, str] | None = None,
) -> RunResults:
    """The results of a run: one ``SpecResult`` per (spec file, spec, model) judged."""
    from pytest_tts.report.adapt import curve_result
    from pytest_tts.report.results import Machine, PoolSummary, RunResults, SpecResult
    from pytest_tts.report.summary import SearchCounts

    by_spec: dict[tuple[str, str, str], list[Judged]] = {}
    for record in judged:
        key = (record.spec.path, record.spec.name, record.spec.model.name)
        by_spec.setdefault(key, []).append(record)
    specs = []
    for key, records in by_spec.items():
        spec = records[0].spec
        pool = pools.get(key)
        curves: dict[str, Any] = {}
        for record in records:
            for curve, metric in record.curves:
                label = f"{metric}:{curve.strategy}"
                is_regression = isinstance(record.expectation.check, NoRegression)
                baseline = record.baseline if is_regression else None
                fit = record.fits.get(label)
                if label not in curves or baseline is not None or fit is not None:
                    curves[label] = curve_result(
                        curve, metric, baseline=baseline, fit=fit, model=spec.model.name
                    )
        provenance: dict[str, Any] = {}
        summary = PoolSummary()
        if pool is not None:
            provenance = instances.provenance(pool.model, pool.base_dir)
            summary = PoolSummary(
                pools=1,
                problems=len(pool.problems),
                samples_generated=pool.generated,
                samples_reused=pool.reused,
                tokens=pool.tokens,
                flops=None if math.isnan(pool.flops) else pool.flops,
            )
        specs.append(
            SpecResult(
                name=spec.name,
                path=relative(Path(spec.path), rootdir),
                model=spec.model.name,
                dataset=spec.dataset.name,
                dataset_hash=pool.dataset_hash if pool is not None else "",
                model_provenance=provenance,
                sampling=dataclasses.asdict(spec.sampling),
                source=spec.source,
                source_line=spec.span.line if spec.span is not None else 1,
                pools=summary,
                curves=list(curves.values()),
                expectations=[expectation_result(r) for r in records],
                tags=spec.tags,
                difficulty=difficulty_rows(pool, records),
            )
        )
    counted = [s for s in searched if s is not None]
    return RunResults(
        started=_iso(started),
        finished=_iso(time.time()),
        pytest_tts_version=__version__,
        machine=Machine.current(),
        specs=specs,
        search=dataclasses.asdict(SearchCounts.total(counted)) if counted else {},
        adaptive=dict(adaptive or {}),
        adaptive_whole=dict(adaptive_whole or {}),
    )


def difficulty_rows(pool: PoolState | None, records: Sequence[Judged]) -> list[dict[str, Any]]:
    """Which strategy wins in each difficulty bin ("Can 1B surpass 405B": the best strategy
    depends on how hard the problem is), at matched samples per problem.

    For every accuracy curve the spec's items read on the whole pool (not a frontier, not a
    bin's own curve), the mean of its per-problem values over the bin's problems at each
    budget k, and the strategy with the highest. Strategies of one pool at the same k cost
    the same samples and tokens; one that reads a model verifier costs its FLOPs too, which
    the comparison at matched FLOPs (``at matched flops``) accounts for and this table does not.
    """
    from pytest_tts.gates.bins import difficulty_bins

    if pool is None or not pool.problems:
        return []
    bins = difficulty_bins([p.difficulty for p in pool.problems])
    if not bins:
        return []
    curves: dict[str, Curve] = {}
    for record in records:
        for curve, metric in record.curves:
            whole = tuple(curve.problem_ids) == tuple(p.id for p in pool.problems)
            if metric == "accuracy" and whole and not curve.strategy.startswith("frontier("):
                curves.setdefault(curve.strategy, curve)
    if not curves:
        return []
    common = sorted(set.intersection(*(set(int(k) for k in c.ks) for c in curves.values())))
    # powers of two and the largest k: enough to see where the winner changes
    common = [k for k in common if k & (k - 1) == 0 or k == common[-1]]
    rows: list[dict[str, Any]] = []
    for name, members in bins.items():
        for k in common:
            row: dict[str, Any] = {"difficulty": name, "problems": len(members), "k": k}
            for strategy, curve in curves.items():
                at = [int(x) for x in curve.ks].index(k)
                row[strategy] = float(curve.per_problem[members, at].mean())
            top = max(row[strategy] for strategy in curves)
            row["winner"] = " = ".join(c for c in curves if row[c] >= top - 1e-12)
            rows.append(row)
    return rows


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat(timespec="seconds")


def write_reports(results: RunResults, settings: Settings) -> list[Path]:
    """Write the HTML report and the JSON results where ``settings`` says; the paths written."""
    written = []
    if settings.report is not None:
        from pytest_tts.report.html import write_html

        settings.report.parent.mkdir(parents=True, exist_ok=True)
        written.append(Path(write_html(results, settings.report)))
    if settings.json is not None:
        from pytest_tts.report.json_io import write_json

        settings.json.parent.mkdir(parents=True, exist_ok=True)
        written.append(Path(write_json(results, settings.json)))
    return written
