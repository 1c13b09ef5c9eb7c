"""``expect`` statements: metrics, measures, budgets, ranges and confidence levels.

Part of the semantic pass (:mod:`pytest_tts.dsl.checker`): :class:`ExpectationChecker`
turns one ``expect`` statement (loops already expanded by :mod:`pytest_tts.dsl.blocks`)
into the checked objects of :mod:`pytest_tts.spec`, reporting through the checker, and
names each expectation (its pytest item id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_tts import spec as S
from pytest_tts.dsl import ast
from pytest_tts.dsl.diagnostics import Diagnostic, unknown_name
from pytest_tts.dsl.formatter import format_expect, format_value
from pytest_tts.errors import EstimationError

if TYPE_CHECKING:
    from pytest_tts.dsl.checker import SpecChecker

METRICS = ("accuracy", "coverage")
VERIFIER_METRICS = ("false_positive_rate", "false_negative_rate")
STEP_METRICS = (
    "first_error_f1",
    "first_error_accuracy",
    "right_trace_accuracy",
    "step_calibration_error",
)
UNITS = ("n", "tokens", "flops", "thinking")
DEFAULT_STATISTICAL_CONFIDENCE = 0.95


class ExpectationChecker:
    """Checks of one spec's ``expect`` statements."""

    def __init__(self, names: SpecChecker) -> None:
        self.names = names

    # -- expectations ----------------------------------------------------------------------

    def _measure(
        self,
        node: ast.MeasureNode,
        model: S.ModelRef | None,
        strategy: ast.Value | None = None,
    ) -> S.Measure | None:
        metric = node.metric.text
        ok = True
        if metric not in METRICS:
            if metric in VERIFIER_METRICS:
                self.names.error(
                    node.metric.span,
                    "bad-metric-use",
                    f"{metric} is a property of a verifier: only "
                    f"'expect {metric}(VERIFIER) <= x' is allowed",
                )
            elif metric in STEP_METRICS:
                self.names.error(
                    node.metric.span,
                    "bad-metric-use",
                    f"{metric} is a property of a process verifier: only "
                    f"'expect {metric}(VERIFIER, STEP_ORACLE) >= x' is allowed",
                )
            else:
                self.names.add(
                    unknown_name(
                        node.metric.span,
                        "metric",
                        metric,
                        METRICS + VERIFIER_METRICS + STEP_METRICS,
                    )
                )
            return None
        if node.args is not None:
            self.names.error(node.metric.span, "bad-metric-use", f"{metric} takes no arguments")
            ok = False
        if node.model is not None:
            model = self.names.named(node.model, "model")
            ok = ok and model is not None
        if node.strategy is not None and strategy is not None:
            self.names.error(
                strategy.span,
                "duplicate-strategy",
                "the strategy is given twice ('using' before and after the threshold)",
            )
            ok = False
        chosen = node.strategy if node.strategy is not None else strategy
        plugin: S.PluginCall | None = None
        if metric == "coverage":
            if chosen is not None and format_value(chosen, compact=True) != "pass_at_k":
                self.names.error(
                    chosen.span,
                    "bad-metric-use",
                    "coverage is pass@k of the samples and takes no 'using' strategy",
                    help="use 'accuracy using STRATEGY' to measure a strategy",
                )
                ok = False
            plugin = S.PluginCall("strategy", "pass_at_k", (), {}, "pass_at_k", node.span)
        elif chosen is None:
            plugin = S.PluginCall("strategy", "single", (), {}, "single", node.span)
        else:
            plugin = self.names.strategy(chosen)
        if not ok or plugin is None or model is None:
            return None
        if not self._reasoning_declared(plugin, model, chosen):
            return None
        return S.Measure(metric, plugin, model, node.span)  # type: ignore[arg-type]

    def _reasoning_declared(
        self, plugin: S.PluginCall, model: S.ModelRef, where: ast.Value | None
    ) -> bool:
        """budget_forcing needs a reasoning marker (the model's ``reasoning`` or its ``end``)
        and a valid budget grid."""
        span = where.span if where is not None else plugin.span
        if span is None:
            return True
        for call in _thinking_calls(plugin):
            if "budgets" in call.kwargs:
                from pytest_tts.estimate.thinking import check_budgets

                try:
                    check_budgets(call.kwargs["budgets"])
                except EstimationError as exc:
                    self.names.error(span, "bad-budget", str(exc))
                    return False
            if "end" not in call.kwargs and "reasoning" not in model.backend.kwargs:
                self.names.error(
                    span,
                    "no-reasoning",
                    f"{call.name} cuts reasoning, and model {model.name} declares no reasoning"
                    " marker",
                    help=f'add reasoning = "</think>" (the marker its traces use) to model'
                    f' {model.name}\'s declaration, or end = "..." to {call.name}',
                )
                return False
        return True

    def _thinking_unit(self, measures: list[S.Measure], span: Any) -> bool:
        """A budget in thinking tokens is measured by budget_forcing (or a frontier of
        budget_forcing curves) only."""
        for measure in measures:
            strategy = measure.strategy
            members = (
                [a for a in strategy.args if isinstance(a, S.PluginCall)]
                if strategy.name == "frontier"
                else [strategy]
            )
            if not members or any(m.name != "budget_forcing" for m in members):
                self.names.error(
                    span,
                    "bad-budget",
                    "a budget in thinking tokens is measured by budget_forcing(...), and"
                    f" {strategy.text or strategy.name} spends samples",
                    help="e.g. 'using budget_forcing(majority_vote, k = 4)'",
                )
                return False
        return True

    def expectation(
        self,
        stmt: ast.ExpectStmt,
        params: dict[str, str],
        model: S.ModelRef | None,
        sampling: S.Sampling | None,
    ) -> S.Expectation | None:
        pool = sampling.n if sampling is not None else None
        check: S.Check | None = None
        ident = ""
        if isinstance(stmt, ast.ThresholdStmt):
            check, ident = self._threshold(stmt, model, pool)
        elif isinstance(stmt, ast.ComparisonStmt):
            left = self._measure(stmt.left, model)
            right = self._measure(stmt.right, model)
            unit = self._unit(stmt.unit)
            rng = self._range(stmt.range, unit, pool)
            confidence = self._confidence(stmt.confidence)
            if left and right and _same(left, right):
                self.names.error(stmt.span, "bad-comparison", "both sides measure the same thing")
            elif (
                left
                and right
                and unit
                and (stmt.range is None or rng)
                and (unit != "thinking" or self._thinking_unit([left, right], stmt.span))
            ):
                check = S.Comparison(left, stmt.op, right, unit, rng, confidence)
                ident = f"{_measure_id(left, stmt.left)}{stmt.op}{_measure_id(right, stmt.right)}"
                ident += f"@matched-{unit}"
                if stmt.range is not None:
                    ident += f"-in-{stmt.range.low.text}..{stmt.range.high.text}"
        elif isinstance(stmt, ast.MonotoneStmt):
            measure = self._measure(stmt.measure, model)
            unit = self._unit(stmt.unit)
            tolerance = self._rate(stmt.tolerance, "the tolerance") if stmt.tolerance else 0.0
            confidence = self._confidence(stmt.confidence)
            if (
                measure
                and unit
                and tolerance is not None
                and (unit != "thinking" or self._thinking_unit([measure], stmt.span))
            ):
                check = S.Monotone(measure, unit, tolerance, confidence)
                ident = f"{_measure_id(measure, stmt.measure)}:monotone-in-{unit}"
                if stmt.tolerance is not None:
                    ident += f"-within-{stmt.tolerance.text}"
        else:
            measure = self._measure(stmt.measure, model)
            budget = self._budget(stmt.budget, pool)
            tolerance = self._rate(stmt.tolerance, "the tolerance")
            confidence = self._confidence(stmt.confidence)
            if measure and tolerance is not None and (stmt.budget is None or budget):
                check = S.NoRegression(
                    measure,
                    tolerance,
                    DEFAULT_STATISTICAL_CONFIDENCE if confidence is None else confidence,
                    budget,
                )
                ident = f"no-regression:{_measure_id(measure, stmt.measure)}"
                if stmt.budget is not None:
                    ident += "@" + _budget_id(stmt.budget)
                ident += f"-within-{stmt.tolerance.text}"
        if check is None:
            return None
        if params:
            ident += "[" + ",".join(f"{k}={v}" for k, v in params.items()) + "]"
        return S.Expectation(ident, format_expect(stmt), check, stmt.span, dict(params))

    def _threshold(
        self, stmt: ast.ThresholdStmt, model: S.ModelRef | None, pool: int | None
    ) -> tuple[S.Check | None, str]:
        node = stmt.measure
        metric = node.metric.text
        confidence = self._confidence(stmt.confidence)
        value = self._rate(stmt.value, f"a threshold on {metric}")
        by_fit = self._word(stmt.by, "by", "fit")
        per_difficulty = self._word(stmt.per, "per", "difficulty")
        if by_fit is None or per_difficulty is None:
            return None, ""
        if metric in STEP_METRICS:
            return self._step_metric(stmt, metric, value, confidence)
        if metric in VERIFIER_METRICS:
            problems = [
                (node.model, "a verifier's error rate is measured on the spec's model"),
                (node.strategy or stmt.strategy, f"{metric} takes no 'using' strategy"),
                (stmt.budget, f"{metric} is measured over all samples and takes no budget"),
                (stmt.by, f"{metric} has no fitted law"),
                (stmt.per, f"{metric} is not asked per difficulty"),
            ]
            for extra, why in problems:
                if extra is not None:
                    self.names.error(extra.span, "bad-metric-use", why)
            args = node.args or ()
            if len(args) != 1 or args[0].name is not None:
                self.names.error(
                    node.span,
                    "bad-metric-use",
                    f"{metric} takes one verifier: {metric}(VERIFIER)",
                )
                return None, ""
            verifier = self.names.verifier(args[0].value)
            if verifier is None or value is None or any(p[0] is not None for p in problems):
                return None, ""
            check = S.VerifierBound(
                verifier,
                metric,  # type: ignore[arg-type]
                stmt.op,
                value,
                DEFAULT_STATISTICAL_CONFIDENCE if confidence is None else confidence,
            )
            return check, f"{metric}({verifier.name}){stmt.op}{stmt.value.text}"
        measure = self._measure(node, model, stmt.strategy)
        if by_fit and not self._fit_usable(stmt, metric):
            return None, ""
        budget = self._budget(stmt.budget, None if by_fit else pool)
        if measure is None or value is None or (stmt.budget is not None and budget is None):
            return None, ""
        if (
            budget is not None
            and budget.unit == "thinking"
            and not self._thinking_unit([measure], stmt.budget.span)  # type: ignore[union-attr]
        ):
            return None, ""
        ident = f"{metric}{_model_id(node)}{stmt.op}{stmt.value.text}"
        if stmt.budget is not None:
            ident += "@" + _budget_id(stmt.budget)
        strategy = node.strategy if node.strategy is not None else stmt.strategy
        if strategy is not None:
            ident += f"[{measure.strategy.text}]"
        if by_fit:
            ident += "~fit"
        if per_difficulty:
            ident += ":per-difficulty"
        threshold = S.Threshold(
            measure,
            stmt.op,
            value,
            budget,
            confidence,
            by_fit=by_fit,
            per_difficulty=per_difficulty,
        )
        return threshold, ident

    def _word(self, name: ast.Name | None, keyword: str, expected: str) -> bool | None:
        """Whether ``KEYWORD EXPECTED`` was written (``by fit``, ``per difficulty``); None
        after reporting any other word."""
        if name is None:
            return False
        if name.text != expected:
            self.names.error(
                name.span,
                "bad-keyword",
                f"'{keyword} {name.text}' is not an option; the word after '{keyword}' "
                f"can only be '{expected}'",
                help=f"write '{keyword} {expected}'",
            )
            return None
        return True

    def _fit_usable(self, stmt: ast.ThresholdStmt, metric: str) -> bool:
        """``by fit`` reads the coverage law at a number of samples: coverage, ``at n``."""
        if metric != "coverage":
            self.names.error(
                stmt.by.span if stmt.by is not None else stmt.span,
                "bad-fit",
                f"only coverage has a fitted law (exp(-a k^b)); {metric} cannot be read 'by fit'",
            )
            return False
        if stmt.budget is None or stmt.budget.unit.text != "n" or stmt.budget.op not in ("=", "<="):
            self.names.error(
                stmt.budget.span if stmt.budget is not None else stmt.span,
                "bad-fit",
                "'by fit' reads the law at a number of samples: write 'at n = K'",
            )
            return False
        return True

    # -- numbers ----------------------------------------------------------------------------

    def _step_metric(
        self, stmt: ast.ThresholdStmt, metric: str, value: float | None, confidence: float | None
    ) -> tuple[S.Check | None, str]:
        node = stmt.measure
        problems = [
            (node.model, "a process verifier is measured on the spec's model"),
            (node.strategy or stmt.strategy, f"{metric} takes no 'using' strategy"),
            (stmt.budget, f"{metric} is measured over all samples and takes no budget"),
            (stmt.by, f"{metric} has no fitted law"),
            (stmt.per, f"{metric} is not asked per difficulty"),
        ]
        for extra, why in problems:
            if extra is not None:
                self.names.error(extra.span, "bad-metric-use", why)
        args = node.args or ()
        if len(args) != 2 or any(a.name is not None for a in args):
            self.names.error(
                node.span,
                "bad-metric-use",
                f"{metric} takes the verifier under test and a step oracle: "
                f"{metric}(VERIFIER, STEP_ORACLE)",
            )
            return None, ""
        verifier = self.names.verifier(args[0].value)
        oracle = self.names.verifier(args[1].value)
        if (
            verifier is None
            or oracle is None
            or value is None
            or any(p[0] is not None for p in problems)
        ):
            return None, ""
        check = S.StepMetric(
            verifier,
            oracle,
            metric,  # type: ignore[arg-type]
            stmt.op,
            value,
            confidence,
        )
        ident = f"{metric}({verifier.name},{oracle.name}){stmt.op}{stmt.value.text}"
        return check, ident

    def _rate(self, number: ast.Number, what: str) -> float | None:
        if not 0 <= number.value <= 1:
            self.names.error(
                number.span,
                "out-of-range",
                f"{what} must be between 0 and 1, got {number.text}",
            )
            return None
        return float(number.value)

    def _confidence(self, number: ast.Number | None) -> float | None:
        if number is None:
            return None
        if not 0 < number.value < 1:
            self.names.error(
                number.span,
                "out-of-range",
                f"a confidence level must be strictly between 0 and 1, got {number.text}",
                help="e.g. 'with confidence 0.95'",
            )
            return None
        return float(number.value)

    def _unit(self, name: ast.Name) -> S.Unit | None:
        if name.text in UNITS:
            return name.text  # type: ignore[return-value]
        diagnostic = unknown_name(name.span, "budget unit", name.text, UNITS, code="unknown-unit")
        if diagnostic.help is None and name.text in ("samples", "k", "N", "sample"):
            diagnostic = Diagnostic(
                diagnostic.span,
                diagnostic.code,
                diagnostic.message,
                diagnostic.notes,
                "the number of samples is written 'n'",
            )
        self.names.add(diagnostic)
        return None

    def _budget(self, node: ast.BudgetNode | None, pool: int | None) -> S.Budget | None:
        if node is None:
            return None
        unit = self._unit(node.unit)
        if unit is None:
            return None
        if not isinstance(node.value, ast.Number):
            self.names.error(
                node.value.span,
                "bad-budget",
                f"a budget must be a number, found {format_value(node.value)}",
            )
            return None
        value = node.value.value
        if node.op in (">", ">="):
            self.names.error(
                node.span,
                "bad-budget",
                f"a budget is an upper limit: 'at {unit} {node.op} ...' asks for no limit",
                help=f"use 'at {unit} <= {node.value.text}'"
                + (f" or 'at n = {node.value.text}'" if unit == "n" else ""),
            )
            return None
        if unit == "n":
            if not isinstance(value, int) or value < 1:
                self.names.error(
                    node.value.span,
                    "bad-budget",
                    f"a budget in n counts samples and must be a positive integer, "
                    f"got {node.value.text}",
                )
                return None
            if pool is not None and value > pool:
                self.names.error(
                    node.value.span,
                    "budget-beyond-pool",
                    f"budget n {node.op} {node.value.text} exceeds the pool: the spec samples "
                    f"n = {pool} per problem",
                    help=f"raise 'sample n' to at least {value} or lower the budget",
                )
                return None
        else:
            if node.op == "=":
                self.names.error(
                    node.span,
                    "bad-budget",
                    f"a {unit} budget cannot be met exactly: use 'at {unit} <= {node.value.text}'",
                )
                return None
            if value <= 0:
                self.names.error(
                    node.value.span,
                    "bad-budget",
                    f"a {unit} budget must be positive, got {node.value.text}",
                )
                return None
        return S.Budget(unit, node.op, value, node.span)

    def _range(
        self, node: ast.RangeNode | None, unit: S.Unit | None, pool: int | None
    ) -> tuple[float, float] | None:
        if node is None or unit is None:
            return None
        low, high = node.low.value, node.high.value
        if not 0 < low < high:
            self.names.error(
                node.span,
                "bad-budget",
                f"a budget range [low, high] needs 0 < low < high, got [{node.low.text}, "
                f"{node.high.text}]",
            )
            return None
        if unit == "n":
            for end in (node.low, node.high):
                if not isinstance(end.value, int):
                    self.names.error(
                        end.span, "bad-budget", f"n counts samples: {end.text} is not an integer"
                    )
                    return None
            if pool is not None and high > pool:
                self.names.error(
                    node.high.span,
                    "budget-beyond-pool",
                    f"the range reaches n = {node.high.text}, beyond the pool of n = {pool}",
                )
                return None
        return (low, high)


def _thinking_calls(plugin: S.PluginCall) -> list[S.PluginCall]:
    """The budget_forcing calls in a strategy (itself, or among a frontier's arguments)."""
    found = [plugin] if plugin.name == "budget_forcing" else []
    for arg in (*plugin.args, *plugin.kwargs.values()):
        if isinstance(arg, S.PluginCall) and arg.kind == "strategy":
            found += _thinking_calls(arg)
    return found


def _model_id(node: ast.MeasureNode) -> str:
    return f"({format_value(node.model, compact=True)})" if node.model is not None else ""


def _measure_id(measure: S.Measure, node: ast.MeasureNode) -> str:
    out = measure.metric + _model_id(node)
    if node.strategy is not None:
        out += f"[{measure.strategy.text}]"
    return out


def _same(left: S.Measure, right: S.Measure) -> bool:
    return (left.metric, left.strategy.text, left.model.name) == (
        right.metric,
        right.strategy.text,
        right.model.name,
    )


def _budget_id(budget: ast.BudgetNode) -> str:
    return f"{budget.unit.text}{budget.op}{format_value(budget.value, compact=True)}"
