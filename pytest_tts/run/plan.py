"""Stage 1, plan: which sample pools the selected expectations need, and their problems.

In: the (spec, expectation) pairs selected to run, and the run's :class:`Instances`. Out: one
:class:`PoolState` per (spec file, spec, model) that an expectation reads, with the
verifiers it needs (the oracle, every verifier a strategy or a bound names), whether a
strategy reads log-probabilities, its problems and the :class:`SampleRequest` that the
generate stage fills. A pool that cannot be planned (a missing dataset, a backend that
cannot start) keeps its error, and only the items that read it fail with it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tts.errors import EstimationError, TTSError
from pytest_tts.spec import (
    Comparison,
    Expectation,
    Measure,
    ModelRef,
    Monotone,
    NoRegression,
    PluginCall,
    SpecDef,
    StepMetric,
    Threshold,
    VerifierBound,
    VerifierRef,
)

if TYPE_CHECKING:
    from pytest_tts.estimate.curves import Curve
    from pytest_tts.estimate.pool import PoolArrays
    from pytest_tts.generate import SampleRequest
    from pytest_tts.run.instances import Instances
    from pytest_tts.types import Problem

PoolKey = tuple[str, str, str]  # (spec file, spec name, model name)


@dataclass
class PoolState:
    """One spec's pool on one model as it goes through the stages: planned (spec, model,
    verifiers), loaded (problems, request), verified (arrays), counted, and its curves."""

    label: str
    spec: SpecDef
    model: ModelRef
    base_dir: Path
    verifiers: dict[str, VerifierRef]
    want_logprobs: bool = False
    problems: list[Problem] = field(default_factory=list)
    dataset_hash: str = ""
    request: SampleRequest | None = None
    arrays: PoolArrays | None = None
    error: TTSError | None = None
    generated: int = 0
    reused: int = 0
    tokens: int = 0
    flops: float = math.nan
    curves: dict[str, Curve] = field(default_factory=dict)
    # per verifier name: problem id -> why the verifier could not judge its samples
    problem_errors: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Planned and loaded without error: the generate stage fills it."""
        return self.error is None and self.request is not None

    def checked(self) -> PoolState:
        """This pool when its samples and verdicts are ready; else its error."""
        if self.error is not None:
            raise self.error
        if self.arrays is None:
            msg = f"pool {self.label} was not prepared (no samples were loaded)"
            raise EstimationError(msg)
        return self


def measures_of(expectation: Expectation) -> list[Measure]:
    """The measures (metric, strategy, model) an expectation reads."""
    check = expectation.check
    if isinstance(check, Comparison):
        return [check.left, check.right]
    if isinstance(check, (Threshold, Monotone, NoRegression)):
        return [check.measure]
    return []


def models_of(spec: SpecDef, expectation: Expectation) -> list[ModelRef]:
    """The models whose pools an expectation reads (the spec's own when it names none)."""
    return [m.model for m in measures_of(expectation)] or [spec.model]


def pool_key(spec: SpecDef, model: ModelRef) -> PoolKey:
    return (spec.path, spec.name, model.name)


def plan_pool(spec: SpecDef, model: ModelRef, instances: Instances) -> PoolState:
    """The pool of ``spec`` on ``model``: every verifier any of its expectations names."""
    verifiers: dict[str, VerifierRef] = {}
    if spec.oracle is not None:
        verifiers[spec.oracle.name] = spec.oracle
    strategies: list[PluginCall] = []
    for expectation in spec.expectations:
        strategies += [measure.strategy for measure in measures_of(expectation)]
        if isinstance(expectation.check, VerifierBound):
            ref = expectation.check.verifier
            verifiers[ref.name] = ref
        if isinstance(expectation.check, StepMetric):
            for ref in (expectation.check.verifier, expectation.check.step_oracle):
                verifiers[ref.name] = ref
    for call in strategies:
        for ref in verifier_refs(call):
            verifiers[ref.name] = ref
    want_logprobs = False
    for call in strategies:
        try:
            strategy = instances.strategy(call)
        except TTSError:
            continue  # reported by the item that uses it
        want_logprobs |= any("logprob" in r for r in getattr(strategy, "requires", ()))
    return PoolState(
        label=f"{spec.name} × {model.name}",
        spec=spec,
        model=model,
        base_dir=Path(spec.path).parent,
        verifiers=verifiers,
        want_logprobs=want_logprobs,
    )


def plan_pools(
    selected: Iterable[tuple[SpecDef, Expectation]], instances: Instances
) -> dict[PoolKey, PoolState]:
    """One pool per (spec file, spec, model) that a selected expectation reads."""
    pools: dict[PoolKey, PoolState] = {}
    for spec, expectation in selected:
        for model in models_of(spec, expectation):
            key = pool_key(spec, model)
            if key not in pools:
                pools[key] = plan_pool(spec, model, instances)
    return pools


def load_problems(pools: Iterable[PoolState], instances: Instances) -> None:
    """Load each pool's problems (a dataset read once per source, folder and tokenizer) and
    build its sample request; a pool that fails keeps the error."""
    from pytest_tts.generate import SampleRequest

    sources: dict[tuple[str, str, str | None], tuple[list[Problem], str]] = {}
    for pool in pools:
        dataset = pool.spec.dataset
        try:
            backend = instances.backend(pool.model, pool.base_dir)
            # chat templates need the model's tokenizer: local backends expose their folder
            folder = getattr(backend, "model", None)
            tokenizer = str(folder) if isinstance(folder, Path) else None
            key = (str(pool.base_dir), dataset.source.text or repr(dataset.source), tokenizer)
            if key not in sources:
                factory = instances.registry.get("source", dataset.source.name)
                source = factory(
                    *dataset.source.args, base_dir=pool.base_dir, **dict(dataset.source.kwargs)
                )
                problems = list(source.load(tokenizer_path=tokenizer))
                sources[key] = (problems, str(source.content_hash(tokenizer_path=tokenizer)))
            pool.problems, pool.dataset_hash = sources[key]
            pool.request = SampleRequest(
                backend=backend,
                problems=pool.problems,
                sampling=pool.spec.sampling,
                want_logprobs=pool.want_logprobs,
                label=pool.label,
                model_key=pool.model.name,
            )
        except TTSError as exc:
            pool.error = exc


def verifier_refs(value: Any) -> Iterable[VerifierRef]:
    """Every verifier a strategy call names, at any depth (``frontier(best_of_n(v), …)``)."""
    if isinstance(value, VerifierRef):
        yield value
    elif isinstance(value, PluginCall):
        for arg in (*value.args, *value.kwargs.values()):
            yield from verifier_refs(arg)
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from verifier_refs(v)
