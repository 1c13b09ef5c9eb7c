"""Checked specs: what the spec language hands to the rest of pytest-tts.

The parser builds an AST (``pytest_tts.dsl.ast``) that mirrors the source; the checker
validates it, resolves every name, expands parametrization, and produces these objects.
Everything after collection (planning, generation, estimation, gates, reports) reads only
this module's types, never the AST.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_tts.span import Span

Unit = Literal["n", "tokens", "flops", "thinking"]
Op = Literal[">=", ">", "<=", "<", "="]
Metric = Literal["accuracy", "coverage"]


@dataclass(frozen=True)
class PluginCall:
    """A call to a registered factory, with arguments already turned into Python values.

    ``kwargs`` values are ``int``/``float``/``str``/``bool``, tuples of those, or nested
    ``PluginCall``/``VerifierRef`` objects (``best_of_n(verifier = units)`` holds the
    ``VerifierRef`` of ``units``). ``text`` is the canonical source form, used in ids,
    reports and cache keys.
    """

    kind: Literal["strategy", "verifier", "backend", "source", "extractor"]
    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""
    span: Span | None = None


@dataclass(frozen=True)
class ModelRef:
    """``model NAME = backend(...)``."""

    name: str
    backend: PluginCall
    span: Span | None = None


@dataclass(frozen=True)
class DatasetRef:
    """``dataset NAME = source(...)``; ``limit``/``shuffle``/field mapping live in kwargs."""

    name: str
    source: PluginCall
    span: Span | None = None


@dataclass(frozen=True)
class VerifierRef:
    """``verifier NAME = factory(...)``."""

    name: str
    verifier: PluginCall
    span: Span | None = None


@dataclass(frozen=True)
class Sampling:
    """The ``sample`` line of a spec, with defaults filled in."""

    n: int
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Budget:
    """``at n = 8``, ``at tokens <= 2e6``, ``at flops <= 4e9``."""

    unit: Unit
    op: Op
    value: float
    span: Span | None = None


@dataclass(frozen=True)
class Measure:
    """A metric of a strategy's curve on a model: ``accuracy using majority_vote``.

    ``coverage`` always has the ``pass_at_k`` strategy; ``accuracy`` without ``using`` has the
    single-sample strategy ``single``. ``model`` is the spec's model unless the statement
    names another (``accuracy of other using …``).
    """

    metric: Metric
    strategy: PluginCall
    model: ModelRef
    span: Span | None = None


@dataclass(frozen=True)
class Threshold:
    """``expect M >= x [at budget] [by fit] [with confidence c] [per difficulty]``: the best
    point within budget. ``by_fit``: coverage read from its fitted power law at ``at n = K``
    (K may exceed the pool), the verdict from a bootstrap over problems of the fit.
    ``per_difficulty``: judged in every difficulty bin of the dataset; passes when every bin
    does."""

    measure: Measure
    op: Op
    value: float
    budget: Budget | None = None
    confidence: float | None = None
    by_fit: bool = False
    per_difficulty: bool = False


@dataclass(frozen=True)
class Comparison:
    """``expect M1 > M2 at matched flops [in [lo, hi]] [with confidence c]``."""

    left: Measure
    op: Op
    right: Measure
    unit: Unit
    range: tuple[float, float] | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class Monotone:
    """``expect M is monotone in n [within t]``: no drop larger than ``tolerance``."""

    measure: Measure
    unit: Unit
    tolerance: float = 0.0
    confidence: float | None = None


@dataclass(frozen=True)
class VerifierBound:
    """``expect false_positive_rate(v) <= x with confidence c`` (against the oracle)."""

    verifier: VerifierRef
    metric: Literal["false_positive_rate", "false_negative_rate"]
    op: Op
    value: float
    confidence: float = 0.95


@dataclass(frozen=True)
class StepMetric:
    """``expect first_error_f1(prm, steps) >= x [with confidence c]``: a process verifier's
    step scores against a step oracle's (ProcessBench measures, calibration)."""

    verifier: VerifierRef
    step_oracle: VerifierRef
    metric: Literal[
        "first_error_f1", "first_error_accuracy", "right_trace_accuracy", "step_calibration_error"
    ]
    op: Op
    value: float
    confidence: float | None = None


@dataclass(frozen=True)
class NoRegression:
    """``expect no regression of M [at budget] against baseline within d [with confidence c]``."""

    measure: Measure
    tolerance: float
    confidence: float = 0.95
    budget: Budget | None = None


Check = Threshold | Comparison | Monotone | VerifierBound | StepMetric | NoRegression


@dataclass(frozen=True)
class Expectation:
    """One ``expect`` statement after parametrization: one pytest item."""

    id: str
    text: str
    check: Check
    span: Span
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SpecDef:
    """One ``spec "name" { … }`` block (one per model when parametrized over models)."""

    name: str
    path: str
    model: ModelRef
    dataset: DatasetRef
    sampling: Sampling
    oracle: VerifierRef | None
    verifiers: Mapping[str, VerifierRef]
    expectations: tuple[Expectation, ...]
    tags: tuple[str, ...] = ()
    span: Span | None = None
    source: str = ""


@dataclass(frozen=True)
class CheckedFile:
    """A checked ``.tts`` file: its specs, and every file it included."""

    path: str
    specs: tuple[SpecDef, ...]
    includes: tuple[str, ...] = ()
