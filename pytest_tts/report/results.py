"""The results of a run: what every report (terminal, HTML, JSON, JUnit) is built from.

The session fills these frozen dataclasses as expectations are judged; the reports only read
them. Arrays may be given as lists, tuples or numpy arrays and numbers as numpy scalars: the
constructors turn them into tuples of plain floats, so the objects compare, pickle and
serialize without surprises. ``to_dict``/``from_dict`` round-trip through plain JSON types;
non-finite floats (an interval that could not be computed) become ``null`` in JSON.

::

    RunResults
    └── SpecResult            one spec block on one model
        ├── PoolSummary       samples generated vs reused, tokens, FLOPs
        ├── CurveResult       metric vs cost of one strategy, with its interval
        │   ├── BaselineOverlay   the stored baseline's curve, drawn beside it
        │   └── Fit               a fitted trend and its extrapolated points
        └── ExpectationResult one ``expect`` statement: verdict, table, budget lines
            └── BudgetLine
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pytest_tts.errors import ReportError
from pytest_tts.report.coerce import (
    as_dict,
    floats,
    frozen_dict,
    known,
    opt_floats,
    set_field,
    timestamp,
)

SCHEMA_VERSION = 1

Outcome = Literal["passed", "failed", "error", "skipped"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "error", "skipped")
UNITS: tuple[str, ...] = ("n", "tokens", "flops", "thinking")
FRONTIER_PREFIX = "frontier("

_T = TypeVar("_T")


# -- the model -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetLine:
    """A budget an expectation names, drawn as a vertical line on the plot of its unit.

    ``unit`` is ``"n"``, ``"tokens"``, ``"flops"`` or ``"thinking"``; ``value`` is in that
    unit (per problem; thinking: reasoning tokens per sample).
    """

    unit: str
    value: float
    label: str = ""

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            msg = f"budget unit must be one of {', '.join(UNITS)}, got {self.unit!r}"
            raise ValueError(msg)
        set_field(self, "value", float(self.value))

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BudgetLine:
        return cls(**known(cls, data))


@dataclass(frozen=True)
class BaselineOverlay:
    """The stored baseline's curve for the same strategy and metric.

    ``costs`` maps a unit (``"tokens"``, ``"flops"``) to the baseline's mean cost per problem
    at each k; the ``"n"`` axis uses ``ks`` itself.
    """

    ks: Sequence[float]
    mean: Sequence[float]
    costs: Mapping[str, Sequence[float]] = field(default_factory=dict)
    label: str = "baseline"

    def __post_init__(self) -> None:
        set_field(self, "ks", floats(self.ks, "baseline ks"))
        set_field(self, "mean", floats(self.mean, "baseline mean"))
        if len(self.mean) != len(self.ks):
            msg = f"baseline mean has {len(self.mean)} points, its ks has {len(self.ks)}"
            raise ValueError(msg)
        costs = {str(u): floats(v, f"baseline {u} costs") for u, v in dict(self.costs).items()}
        for unit, values in costs.items():
            if len(values) != len(self.ks):
                msg = f"baseline {unit} costs have {len(values)} points, its ks has {len(self.ks)}"
                raise ValueError(msg)
        set_field(self, "costs", costs)

    def x(self, unit: str) -> Sequence[float] | None:
        """The baseline's x values on the axis of ``unit`` (None when not recorded)."""
        return self.ks if unit == "n" else self.costs.get(unit)

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BaselineOverlay:
        return cls(**known(cls, data))


@dataclass(frozen=True)
class Fit:
    """A trend fitted to a curve, ``value = a + b * ln(cost)`` on the axis of ``unit``.

    ``extrapolated`` holds ``(cost, value)`` points beyond the measured range.
    """

    a: float
    b: float
    r2: float
    unit: str = "n"
    extrapolated: Sequence[tuple[float, float]] = ()
    form: str = "a + b·ln(x)"

    def __post_init__(self) -> None:
        for name in ("a", "b", "r2"):
            set_field(self, name, float(getattr(self, name)))
        points = self.extrapolated
        if hasattr(points, "tolist"):
            points = points.tolist()
        set_field(self, "extrapolated", tuple((float(x), float(y)) for x, y in points))

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fit:
        return cls(**known(cls, data))


@dataclass(frozen=True)
class CurveResult:
    """One strategy's curve: the metric at each k, with mean costs per problem and a CI.

    ``ks`` are the numbers of samples per problem the strategy was given; ``cost_*`` the mean
    cost per problem at each k (None when that unit was not measured); ``ci_low``/``ci_high``
    the two-sided interval at ``confidence``. A curve whose ``strategy`` starts with
    ``frontier(`` is the compute-optimal frontier and is drawn as such; its ``unit`` names
    the cost it was taken over (it is drawn only on that axis; empty: on every axis).
    A cost array that is entirely NaN (FLOPs without a model config) counts as not measured.
    A thinking curve (``budget_forcing``) has ``cost_thinking``, the reasoning budget per
    sample of each point, ``forced``, the share of samples cut there, and ``grid``, the metric
    and tokens per problem at every (thinking budget, k): ``budgets``, ``ks``, ``mean`` and
    ``tokens`` (rows by budget); it is drawn against thinking, tokens and FLOPs, not samples
    (its k is fixed), and its grid as a family of curves with the frontier.
    """

    strategy: str
    metric: str
    ks: Sequence[float]
    mean: Sequence[float]
    ci_low: Sequence[float] = ()
    ci_high: Sequence[float] = ()
    cost_samples: Sequence[float] | None = None
    cost_tokens: Sequence[float] | None = None
    cost_flops: Sequence[float] | None = None
    confidence: float = 0.95
    baseline: BaselineOverlay | None = None
    fit: Fit | None = None
    model: str = ""
    unit: str = ""
    cost_thinking: Sequence[float] | None = None
    forced: Sequence[float] | None = None
    grid: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        set_field(self, "ks", floats(self.ks, "ks"))
        n = len(self.ks)
        costs = ("cost_samples", "cost_tokens", "cost_flops", "cost_thinking", "forced")
        for name in ("mean", "ci_low", "ci_high", *costs):
            raw = getattr(self, name)
            values = opt_floats(raw, name) if name in costs else floats(raw, name)
            if values is not None and values and len(values) != n:
                msg = (
                    f"curve {self.label!r}: {name} has {len(values)} points, "
                    f"ks has {n}; every array of a curve has one entry per k"
                )
                raise ValueError(msg)
            if name in costs and values and all(math.isnan(v) for v in values):
                values = None
            set_field(self, name, values)
        if len(self.mean) != n:
            msg = f"curve {self.label!r}: mean has {len(self.mean)} points, ks has {n}"
            raise ValueError(msg)
        if isinstance(self.baseline, Mapping):
            set_field(self, "baseline", BaselineOverlay.from_dict(self.baseline))
        if isinstance(self.fit, Mapping):
            set_field(self, "fit", Fit.from_dict(self.fit))
        set_field(self, "confidence", float(self.confidence))

    @property
    def label(self) -> str:
        prefix = f"{self.model}: " if self.model else ""
        return f"{prefix}{self.metric} · {self.strategy}"

    @property
    def is_frontier(self) -> bool:
        return self.strategy.startswith(FRONTIER_PREFIX)

    def x(self, unit: str) -> Sequence[float] | None:
        """The x values on the axis of ``unit``: ``ks`` for ``"n"``, else the mean costs
        (None when not measured, or for a frontier taken over another unit)."""
        if self.is_frontier and self.unit and unit != self.unit:
            return None
        if unit == "thinking":
            return self.cost_thinking
        if unit == "n":
            return None if self.cost_thinking else (self.cost_samples or self.ks)
        return self.cost_tokens if unit == "tokens" else self.cost_flops

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CurveResult:
        return cls(**known(cls, data))


@dataclass(frozen=True)
class ExpectationResult:
    """The verdict on one ``expect`` statement (one pytest item).

    ``text`` is the statement's source line; ``line`` its 1-based line in the spec file;
    ``kind`` the check (``threshold``, ``comparison``, ``monotone``, ``verifier_bound``,
    ``no_regression``). ``headline`` is one sentence with the finding ("best point within 4G
    FLOPs: 0.512 [0.47, 0.55] at n = 8; expected ≥ 0.55"); ``table`` the relevant curve
    points as rows of column → value; ``method`` how the decision was made and its error
    rate; ``budgets`` the budget lines to draw; ``properties`` key figures for JUnit;
    ``detail`` the error or skip reason; ``hint`` what to do next when it fails (a default
    per kind is used when empty); ``target`` the value a threshold compares with (drawn
    where it meets the budget line).
    """

    id: str
    text: str
    outcome: Outcome
    kind: str = ""
    nodeid: str = ""
    line: int = 0
    headline: str = ""
    table: Sequence[Mapping[str, Any]] = ()
    method: str = ""
    budgets: Sequence[BudgetLine] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    detail: str = ""
    hint: str = ""
    duration: float = 0.0
    target: float | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            msg = f"outcome must be one of {', '.join(OUTCOMES)}, got {self.outcome!r}"
            raise ValueError(msg)
        set_field(self, "table", tuple(frozen_dict(row) for row in self.table))
        budgets = tuple(
            b if isinstance(b, BudgetLine) else BudgetLine.from_dict(b) for b in self.budgets
        )
        set_field(self, "budgets", budgets)
        set_field(self, "properties", frozen_dict(self.properties))
        set_field(self, "line", int(self.line))
        set_field(self, "duration", float(self.duration))
        if self.target is not None:
            set_field(self, "target", float(self.target))

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExpectationResult:
        return cls(**known(cls, data))


@dataclass(frozen=True)
class PoolSummary:
    """What the spec's sample pools cost: generated now vs reused from the store; ``flops``
    is None when the model's size is unknown."""

    pools: int = 1
    problems: int = 0
    samples_generated: int = 0
    samples_reused: int = 0
    tokens: int = 0
    # None: unknown (a replayed or remote model without config = / params =)
    flops: float | None = 0.0

    def __post_init__(self) -> None:
        for name in ("pools", "problems", "samples_generated", "samples_reused", "tokens"):
            set_field(self, name, int(getattr(self, name)))
        if self.flops is not None:
            set_field(self, "flops", float(self.flops))

    @property
    def samples(self) -> int:
        return self.samples_generated + self.samples_reused

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PoolSummary:
        return cls(**known(cls, data))


@dataclass(frozen=True)
class SpecResult:
    """One spec block run on one model.

    ``source`` is the spec block's text and ``source_line`` the 1-based file line of its
    first line (so expectation lines can be highlighted in it). ``model_provenance`` holds
    what identifies the model (path, hash, engine and version); ``sampling`` the sample line's
    parameters. ``difficulty``, for a dataset with difficulty bins, has one row per (bin,
    budget k): every strategy the spec read, its mean on the bin's problems at k samples,
    and the winner (see :func:`pytest_tts.run.results.difficulty_rows`).
    """

    name: str
    path: str
    model: str
    dataset: str = ""
    dataset_hash: str = ""
    model_provenance: Mapping[str, Any] = field(default_factory=dict)
    sampling: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    source_line: int = 1
    pools: PoolSummary = field(default_factory=PoolSummary)
    curves: Sequence[CurveResult] = ()
    expectations: Sequence[ExpectationResult] = ()
    tags: Sequence[str] = ()
    difficulty: Sequence[Mapping[str, Any]] = ()

    def __post_init__(self) -> None:
        set_field(self, "difficulty", tuple(frozen_dict(row) for row in self.difficulty))
        set_field(self, "model_provenance", frozen_dict(self.model_provenance))
        set_field(self, "sampling", frozen_dict(self.sampling))
        if isinstance(self.pools, Mapping):
            set_field(self, "pools", PoolSummary.from_dict(self.pools))
        set_field(self, "curves", _objs(CurveResult, self.curves))
        set_field(self, "expectations", _objs(ExpectationResult, self.expectations))
        set_field(self, "tags", tuple(str(t) for t in self.tags))

    def counts(self) -> dict[str, int]:
        """Expectations per outcome, every outcome present (zero when none)."""
        counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        for e in self.expectations:
            counts[e.outcome] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpecResult:
        return cls(**known(cls, data))


@dataclass(frozen=True)
class Machine:
    """Where the run happened."""

    platform: str
    cpu_count: int
    python: str = ""
    accelerator: str = ""

    @classmethod
    def current(cls, accelerator: str = "") -> Machine:
        return cls(
            platform=platform.platform(),
            cpu_count=os.cpu_count() or 1,
            python=platform.python_version(),
            accelerator=accelerator,
        )

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Machine:
        return cls(**known(cls, data))


@dataclass(frozen=True)
class RunResults:
    """Everything one pytest-tts run found; ``started``/``finished`` are ISO-8601 strings
    (datetimes and epoch seconds are accepted and converted)."""

    started: str
    finished: str
    pytest_tts_version: str
    machine: Machine
    specs: Sequence[SpecResult] = ()
    schema_version: int = SCHEMA_VERSION
    # what step-wise searches did (pytest_tts.report.summary.SearchCounts fields); empty
    # when no search ran
    search: Mapping[str, int] = field(default_factory=dict)
    # --tts-adaptive: per pool label, the problems and samples it read against a fixed run
    # ("problems_used", "problems", "samples_used", "samples_fixed"); empty in a fixed run
    adaptive: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # --tts-adaptive: per pool label read whole although adaptive mode was on, the reason
    adaptive_whole: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_field(self, "search", {str(k): int(v) for k, v in dict(self.search or {}).items()})
        set_field(
            self,
            "adaptive",
            {
                str(label): {str(k): int(v) for k, v in dict(counts).items()}
                for label, counts in dict(self.adaptive or {}).items()
            },
        )
        set_field(
            self,
            "adaptive_whole",
            {str(k): str(v) for k, v in dict(self.adaptive_whole or {}).items()},
        )
        set_field(self, "started", timestamp(self.started))
        set_field(self, "finished", timestamp(self.finished))
        if isinstance(self.machine, Mapping):
            set_field(self, "machine", Machine.from_dict(self.machine))
        set_field(self, "specs", _objs(SpecResult, self.specs))

    def counts(self) -> dict[str, int]:
        """Expectations per outcome over all specs."""
        total: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        for spec in self.specs:
            for outcome, count in spec.counts().items():
                total[outcome] += count
        return total

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResults:
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION or version < 1:
            msg = (
                f"results schema version {version!r} is not supported; this pytest-tts "
                f"reads versions 1 to {SCHEMA_VERSION}"
            )
            raise ReportError(msg)
        return cls(**known(cls, data))


def _objs(cls: type[_T], items: Sequence[Any] | None) -> tuple[_T, ...]:
    """A tuple of ``cls`` from objects or their dicts."""
    out: list[_T] = []
    for item in items or ():
        out.append(
            item if isinstance(item, cls) else cls.from_dict(item)  # type: ignore[attr-defined]
        )
    return tuple(out)
