"""Results-model objects from what the other stages return.

The estimators return ``Curve`` and ``PowerLawFit`` (``pytest_tts.estimate``), the gates
their result dataclasses, stored baselines a ``BaselineEntry`` (``pytest_tts.gates``). These
helpers read them by attribute (gate results through ``pytest_tts.report.gates``), so the
report package imports neither stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pytest_tts.report.gates import render_gate
from pytest_tts.report.results import (
    BaselineOverlay,
    BudgetLine,
    CurveResult,
    ExpectationResult,
    Fit,
    Outcome,
)

# gate kinds as the gates name them → the kinds the reports know
_KINDS = {"regression": "no_regression"}


def curve_result(
    curve: Any,
    metric: str,
    *,
    baseline: Any = None,
    fit: Fit | None = None,
    model: str = "",
    unit: str = "",
) -> CurveResult:
    """A ``CurveResult`` from an estimator ``Curve``.

    ``baseline`` may be a ``BaselineEntry`` (its per-problem values are averaged) or a
    ready ``BaselineOverlay``. ``unit`` is the cost unit a frontier was taken over.
    """
    overlay = baseline if isinstance(baseline, BaselineOverlay) else None
    if baseline is not None and overlay is None:
        overlay = baseline_overlay(baseline)
    return CurveResult(
        strategy=str(curve.strategy),
        metric=metric,
        ks=curve.ks,
        mean=curve.mean,
        ci_low=curve.ci_low,
        ci_high=curve.ci_high,
        cost_samples=curve.cost_samples,
        cost_tokens=curve.cost_tokens,
        cost_flops=curve.cost_flops,
        confidence=float(curve.confidence),
        baseline=overlay,
        fit=fit,
        model=model,
        unit=unit,
        cost_thinking=getattr(curve, "cost_thinking", None),
        forced=getattr(curve, "forced", None),
        grid=getattr(curve, "grid", None),
    )


def baseline_overlay(entry: Any, label: str = "baseline") -> BaselineOverlay:
    """The mean curve of a stored ``BaselineEntry`` (per-problem values averaged)."""
    values = list(entry.values.values())
    mean = np.mean(np.asarray(values, dtype=np.float64), axis=0).tolist() if values else []
    costs = {u: v for u, v in dict(entry.costs).items() if u in ("tokens", "flops")}
    return BaselineOverlay(ks=entry.ks, mean=mean, costs=costs, label=label)


def coverage_fit(fit: Any, extrapolate_to: Iterable[float] = ()) -> Fit:
    """A ``Fit`` from a ``PowerLawFit`` (coverage ≈ exp(-a·k^b)), with its predictions at
    ``extrapolate_to`` (values of k beyond the measured ones) as the extrapolated points."""
    ks = [float(k) for k in extrapolate_to]
    points: list[tuple[float, float]] = []
    if ks:
        predicted, _outside = fit.predict(ks)
        points = [(k, float(v)) for k, v in zip(ks, predicted, strict=True)]
    return Fit(
        a=fit.a,
        b=fit.b,
        r2=fit.r2,
        unit="n",
        extrapolated=tuple(points),
        form="exp(-a·k^b)",
    )


def _method(gate: Any) -> str:
    parts = [str(gate.method)] if getattr(gate, "method", "") else []
    confidence = getattr(gate, "confidence", None)
    if confidence is not None and parts:
        parts[0] += f" (confidence {confidence:g})"
    if getattr(gate, "error_rate", ""):
        parts.append(f"error rate: {gate.error_rate}")
    parts += [f"note: {note}" for note in getattr(gate, "notes", ())]
    return "; ".join(parts)


def expectation_result(
    gate: Any,
    *,
    id: str,
    text: str,
    line: int = 0,
    nodeid: str = "",
    budgets: Sequence[BudgetLine | Mapping[str, Any]] = (),
    duration: float = 0.0,
    target: float | None = None,
    detail: str = "",
) -> ExpectationResult:
    """An ``ExpectationResult`` from a gate's result (or its ``GateText``); ``detail`` is a
    note the engine adds (problems a verifier could not judge).

    The gate's rows become the table, its method, confidence, error rate and notes the
    method statement, its ``data`` (plus the confidence) the JUnit properties.
    """
    gate = render_gate(gate)
    properties = dict(getattr(gate, "data", {}) or {})
    confidence = getattr(gate, "confidence", None)
    if confidence is not None:
        properties.setdefault("confidence", confidence)
    return ExpectationResult(
        id=id,
        text=text,
        outcome="passed" if gate.passed else "failed",
        kind=_KINDS.get(gate.kind, gate.kind),
        nodeid=nodeid,
        line=line,
        headline=str(gate.headline),
        table=tuple(gate.rows),
        method=_method(gate),
        budgets=tuple(budgets),  # type: ignore[arg-type]
        properties=properties,
        duration=duration,
        target=target,
        detail=detail,
        hint=str(getattr(gate, "hint", "")),
    )


def error_result(
    exc: BaseException,
    *,
    id: str,
    text: str,
    line: int = 0,
    nodeid: str = "",
    kind: str = "",
    outcome: Outcome = "error",
) -> ExpectationResult:
    """An ``error`` (or ``skipped``) result carrying the exception's message."""
    message = str(exc) or type(exc).__name__
    detail = f"{type(exc).__name__}: {message}"
    return ExpectationResult(
        id=id,
        text=text,
        outcome=outcome,
        kind=kind,
        nodeid=nodeid,
        line=line,
        detail=detail,
    )


def budget_lines(check: Any) -> list[BudgetLine]:
    """The budget lines of a checked expectation (``pytest_tts.spec.Check``): its ``budget``
    (thresholds, regressions), or both ends of a comparison's ``range``."""
    budget = getattr(check, "budget", None)
    if budget is not None:
        return [BudgetLine(budget.unit, budget.value)]
    span = getattr(check, "range", None)
    unit = getattr(check, "unit", None)
    if span is not None and unit is not None:
        return [BudgetLine(unit, span[0], "from"), BudgetLine(unit, span[1], "to")]
    return []
