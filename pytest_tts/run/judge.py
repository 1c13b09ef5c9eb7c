"""Stage 5, judge: one expectation's gate, dispatched by expectation kind.

In: a :class:`JudgeInputs` (the spec, the expectation, a curve getter and a pool getter over
the run's verified pools, the run's settings and instances). Out: the gate's ``GateResult``;
every curve the judge read, and the baseline a regression read or recorded, are kept in
``inputs.reads`` as they are read, so the reports show them even when the judge then fails.
:data:`JUDGES` maps each kind of check (``pytest_tts.spec``) to its judge; a statistical gate
lives in ``pytest_tts.gates`` and takes arrays, not specs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_tts import __version__
from pytest_tts.errors import EstimationError
from pytest_tts.run.settings import relative
from pytest_tts.spec import (
    Comparison,
    Expectation,
    Measure,
    ModelRef,
    Monotone,
    NoRegression,
    SpecDef,
    StepMetric,
    Threshold,
    VerifierBound,
)

if TYPE_CHECKING:
    from pytest_tts.estimate.curves import Curve
    from pytest_tts.gates import GateResult
    from pytest_tts.gates.baseline import Provenance
    from pytest_tts.run.instances import Instances
    from pytest_tts.run.plan import PoolState
    from pytest_tts.run.settings import Settings

ESTIMATOR_VERSION = "1"
# Provenance fields a regression gate exists to compare across (see judge_regression).
UNDER_TEST = ("model_hash", "engine", "engine_version")


@dataclass
class Reads:
    """What a judge has read so far: curves as ``(curve, metric)``, and the baseline entry
    a regression read or recorded."""

    curves: list[tuple[Curve, str]] = field(default_factory=list)
    baseline: Any = None
    # fitted laws to draw with a curve, by "metric:strategy"
    fits: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JudgeInputs:
    """What a judge reads: curves and pools of the run's verified pools (``curves_of`` and
    ``pool`` raise the pool's error), and the run's settings and instances. ``nodeid`` names
    the item in messages (a baseline entry that is missing, say)."""

    spec: SpecDef
    expectation: Expectation
    nodeid: str
    curves_of: Callable[[Measure, Iterable[int], str | None], Curve]
    pool: Callable[[ModelRef], PoolState]
    settings: Settings
    instances: Instances
    reads: Reads = field(default_factory=Reads)

    def curve(
        self, measure: Measure, extra_ks: Iterable[int] = (), difficulty: str | None = None
    ) -> Curve:
        """The measure's curve (with ``extra_ks`` among its budget points), kept in reads;
        with ``difficulty``, on the problems of that difficulty bin only (drawn as its own
        curve, "strategy · bin")."""
        curve = self.curves_of(measure, extra_ks, difficulty)
        shown = curve
        if difficulty is not None:
            shown = dataclasses.replace(curve, strategy=f"{curve.strategy} · {difficulty}")
        self.reads.curves.append((shown, measure.metric))
        return curve

    def bins(self, model: ModelRef) -> dict[str, list[int]]:
        """The difficulty bins of the pool's problems (row indices, natural order)."""
        from pytest_tts.gates.bins import difficulty_bins

        pool = self.pool(model)
        bins = difficulty_bins([p.difficulty for p in pool.problems])
        if not bins:
            msg = (
                f"'per difficulty' needs the dataset to name a difficulty field, and "
                f'{self.spec.dataset.name} does not: add difficulty = "FIELD" to its source'
            )
            raise EstimationError(msg)
        return bins


def judge(inputs: JudgeInputs) -> GateResult:
    """Judge ``inputs.expectation`` with the judge of its kind."""
    check = inputs.expectation.check
    judge_fn = JUDGES.get(type(check))
    if judge_fn is None:
        msg = f"unknown expectation kind {type(check).__name__}"
        raise EstimationError(msg)
    return judge_fn(check, inputs)


def judge_threshold(check: Threshold, inputs: JudgeInputs) -> GateResult:
    """The threshold's gate on the whole pool or, ``per difficulty``, in every bin."""
    if not check.per_difficulty:
        return _threshold_gate(check, inputs, None)
    from pytest_tts.gates.bins import per_difficulty

    bins = inputs.bins(check.measure.model)
    # the whole pool's curve too: the report compares strategies per bin from it
    budget = check.budget
    whole = [int(budget.value)] if budget is not None and budget.unit == "n" else []
    inputs.curve(check.measure, [] if check.by_fit else whole)
    results = [_threshold_gate(check, inputs, b) for b in bins]
    return per_difficulty(bins, [len(rows) for rows in bins.values()], results)


def _threshold_gate(check: Threshold, inputs: JudgeInputs, difficulty: str | None) -> Any:
    from pytest_tts.gates.threshold import check_threshold

    budget = check.budget
    if check.by_fit:
        return _fit_gate(check, inputs, difficulty)
    extra = [int(budget.value)] if budget is not None and budget.unit == "n" else []
    curve = inputs.curve(check.measure, extra, difficulty)
    unit = budget.unit if budget is not None else "n"
    gate = check_threshold(
        curve.per_problem,
        curve.ks,
        curve.cost(unit),
        op=check.op,
        value=check.value,
        budget=budget,
        confidence=check.confidence,
        metric=check.measure.metric,
        strategy=curve.strategy,
    )
    return _thinking_columns(gate, curve)


def _thinking_columns(gate: Any, curve: Curve) -> Any:
    """A thinking curve's gate shows, per budget, the share of samples whose reasoning was
    cut and forced to answer, and the tokens spent."""
    if curve.forced is None:
        return gate
    import dataclasses

    columns = {"forced share": curve.forced, "tokens": curve.cost_tokens}
    return dataclasses.replace(gate, columns=columns)


def _fit_gate(check: Threshold, inputs: JudgeInputs, difficulty: str | None) -> Any:
    """``coverage >= x at n = K by fit``: the coverage law fitted on the pool, read at K."""
    from pytest_tts.gates.fit import check_fit_threshold
    from pytest_tts.report.adapt import coverage_fit

    assert check.budget is not None  # the checker requires 'at n = K'
    curve = inputs.curve(check.measure, (), difficulty)
    k_target = int(check.budget.value)
    gate = check_fit_threshold(
        curve.per_problem,
        curve.ks,
        op=check.op,
        value=check.value,
        k_target=k_target,
        confidence=check.confidence,
        metric=check.measure.metric,
    )
    shown = curve.strategy + (f" · {difficulty}" if difficulty is not None else "")
    inputs.reads.fits[f"{check.measure.metric}:{shown}"] = coverage_fit(
        gate.fit, extrapolate_to=[k_target]
    )
    return gate


def judge_comparison(check: Comparison, inputs: JudgeInputs) -> GateResult:
    from pytest_tts.gates.compare import check_comparison

    left = inputs.curve(check.left)
    right = inputs.curve(check.right)
    gate = check_comparison(
        left.per_problem,
        left.cost(check.unit),
        right.per_problem,
        right.cost(check.unit),
        op=check.op,
        at=check.range,
        confidence=check.confidence,
        unit=check.unit,
        left_label=measure_label(check.left, inputs.spec),
        right_label=measure_label(check.right, inputs.spec),
        left_ids=left.problem_ids,
        right_ids=right.problem_ids,
    )
    return gate


def judge_monotone(check: Monotone, inputs: JudgeInputs) -> GateResult:
    from pytest_tts.gates.monotone import check_monotone

    curve = inputs.curve(check.measure)
    gate = check_monotone(
        curve.per_problem,
        curve.ks,
        curve.cost(check.unit),
        tolerance=check.tolerance,
        confidence=check.confidence,
        unit=check.unit,
        metric=check.measure.metric,
        strategy=curve.strategy,
    )
    return _thinking_columns(gate, curve)


def judge_verifier_bound(check: VerifierBound, inputs: JudgeInputs) -> GateResult:
    from pytest_tts.gates.verifier_bound import check_verifier_bound

    pool = inputs.pool(inputs.spec.model)
    assert pool.arrays is not None
    gate = check_verifier_bound(
        pool.arrays.correct,
        pool.arrays.accepts(check.verifier.name),
        value=check.value,
        op=check.op,
        metric=check.metric,
        confidence=check.confidence,
        verifier_name=check.verifier.name,
    )
    return gate


def judge_step_metric(check: StepMetric, inputs: JudgeInputs) -> GateResult:
    from pytest_tts.errors import EstimationError
    from pytest_tts.gates.step_metrics import check_step_metric

    pool = inputs.pool(inputs.spec.model)
    assert pool.arrays is not None
    grids = pool.arrays.step_scores
    for ref, role in ((check.verifier, "verifier"), (check.step_oracle, "step oracle")):
        if ref.name not in grids:
            msg = (
                f"{check.metric}: {ref.name} gave no step scores on any sample, so it cannot "
                f"be the {role} (a process verifier, e.g. process_reward_model or step_check)"
            )
            raise EstimationError(msg)
    return check_step_metric(
        grids[check.verifier.name],
        grids[check.step_oracle.name],
        metric=check.metric,
        op=check.op,
        value=check.value,
        confidence=check.confidence,
        verifier_name=check.verifier.name,
        oracle_name=check.step_oracle.name,
    )


def judge_regression(check: NoRegression, inputs: JudgeInputs) -> GateResult:
    """Compare the curve with its stored baseline, or record it (``update_baselines``).

    The baseline pins the experiment (dataset, prompts, sampling, verifiers, estimator):
    comparing across a change there is meaningless, so it is an error. The model and the
    engine are what the gate tests: their change is reported, not refused.
    """
    from pytest_tts.gates.baseline import (
        DEFAULT_IGNORED,
        BaselineEntry,
        baseline_path,
        check_provenance,
        load_entry,
        mismatch_notes,
        provenance_differences,
        update_entry,
    )
    from pytest_tts.gates.regression import BaselineRecorded, check_regression

    spec, settings = inputs.spec, inputs.settings
    curve = inputs.curve(check.measure)
    provenance = pool_provenance(inputs.pool(check.measure.model), inputs.instances)
    path = baseline_path(spec.path, spec.name)
    expectation_id = inputs.expectation.id
    unit = check.budget.unit if check.budget is not None else "n"
    if settings.update_baselines:
        entry = BaselineEntry.from_arrays(
            curve.per_problem,
            curve.problem_ids,
            curve.ks,
            costs={"tokens": curve.cost_tokens, "flops": _finite(curve.cost_flops)},
            strategy=curve.strategy,
            metric=check.measure.metric,
            provenance=provenance,
        )
        update_entry(path, spec.name, expectation_id, entry)
        inputs.reads.baseline = entry
        return BaselineRecorded(
            path=relative(path, settings.rootdir),
            points=len(curve.ks),
            problems=len(curve.problem_ids),
        )
    entry = load_entry(path, expectation_id, nodeid=inputs.nodeid)
    inputs.reads.baseline = entry
    diffs = check_provenance(
        entry.provenance,
        provenance,
        allow_mismatch=settings.allow_provenance_mismatch,
        where=inputs.nodeid,
        # a larger pool estimates the same value at each k: n is not part of the experiment
        ignore=(*DEFAULT_IGNORED, *UNDER_TEST, "sampling.n"),
    )
    under_test = [
        f"{name} changed since the baseline: {entry_value!r} -> {current_value!r}"
        for name, (entry_value, current_value) in provenance_differences(
            entry.provenance, provenance
        ).items()
        if name in UNDER_TEST
    ]
    gate = check_regression(
        curve.per_problem,
        entry.matrix(),
        ks=curve.ks,
        tolerance=check.tolerance,
        confidence=check.confidence,
        cost=curve.cost(unit),
        current_ids=curve.problem_ids,
        baseline_ids=entry.problem_ids,
        baseline_ks=entry.ks,
        budget=check.budget,
        unit=unit,
        metric=check.measure.metric,
        notes=[*under_test, *mismatch_notes(diffs)],
    )
    return gate


def stored_baseline(
    spec: SpecDef,
    expectation: Expectation,
    pool: PoolState,
    instances: Instances,
    settings: Settings,
    nodeid: str = "",
) -> Any:
    """The stored baseline of a regression expectation, its provenance checked as
    :func:`judge_regression` checks it (raises what it raises)."""
    from pytest_tts.gates.baseline import (
        DEFAULT_IGNORED,
        baseline_path,
        check_provenance,
        load_entry,
    )

    entry = load_entry(
        baseline_path(spec.path, spec.name), expectation.id, nodeid=nodeid or expectation.id
    )
    check_provenance(
        entry.provenance,
        pool_provenance(pool, instances),
        allow_mismatch=settings.allow_provenance_mismatch,
        where=nodeid or expectation.id,
        ignore=(*DEFAULT_IGNORED, *UNDER_TEST, "sampling.n"),
    )
    return entry


JUDGES: dict[type, Callable[[Any, JudgeInputs], GateResult]] = {
    Threshold: judge_threshold,
    Comparison: judge_comparison,
    Monotone: judge_monotone,
    VerifierBound: judge_verifier_bound,
    StepMetric: judge_step_metric,
    NoRegression: judge_regression,
}


def pool_provenance(pool: PoolState, instances: Instances) -> Provenance:
    """What a baseline records of the pool: model, engine, dataset, sampling, verifiers."""
    from pytest_tts.gates.baseline import Provenance

    prov = dict(instances.backend(pool.model, pool.base_dir).provenance())
    spec = pool.spec
    sampling = dataclasses.asdict(spec.sampling)
    sampling["extra"] = dict(spec.sampling.extra)
    verifiers = {
        name: str(instances.verifier(ref, pool.base_dir).identity())
        for name, ref in sorted(pool.verifiers.items())
    }
    return Provenance(
        model_hash=str(prov.get("model_hash", prov.get("model", ""))),
        engine=str(prov.get("engine", "")),
        engine_version=str(prov.get("engine_version", "")),
        dataset_hash=pool.dataset_hash,
        sampling=sampling,
        estimator_version=f"{__version__}/{ESTIMATOR_VERSION}",
        date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        extra={"verifiers": verifiers},
    )


def measure_label(measure: Measure, spec: SpecDef) -> str:
    """``metric using S``, with ``of MODEL`` when the measure reads another model's pool."""
    if measure.model.name != spec.model.name:
        return f"{measure.metric} of {measure.model.name} using {measure.strategy.text}"
    return f"{measure.metric} using {measure.strategy.text}"


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, 0.0)
