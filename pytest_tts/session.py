"""Run-time orchestration of a pytest session: plan → generate → verify → estimate → judge.

The first expectation item that runs prepares the whole session at once: it plans one pool
per (spec, model) among the *selected* items, fills the sample store with every missing
sample in one batched call per engine, runs the oracle and the verifiers (verdicts are
cached in the store too) and builds the per-problem arrays the estimators read. Each item
then only computes the curves it needs (cached per pool and strategy) and asks its gate.

A pool that cannot be prepared (a missing dataset file, ``--tts-offline`` with a thin
cache, an engine failure) fails only the items that need it, each with the same message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import inspect
import math
import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from pytest_tts import __version__
from pytest_tts.errors import (
    BackendError,
    EstimationError,
    ExpectationFailed,
    TTSError,
    VerifierError,
)
from pytest_tts.plugin import runtime_key
from pytest_tts.spec import (
    Comparison,
    Expectation,
    Measure,
    ModelRef,
    Monotone,
    NoRegression,
    PluginCall,
    Sampling,
    SpecDef,
    Threshold,
    VerifierBound,
    VerifierRef,
)

if TYPE_CHECKING:
    from pytest_tts.backends.base import Backend
    from pytest_tts.estimate.curves import Curve
    from pytest_tts.estimate.pool import PoolArrays
    from pytest_tts.gates.result import GateResult
    from pytest_tts.generate import FillReport, PoolRequest
    from pytest_tts.registry import Registry
    from pytest_tts.store import SampleStore
    from pytest_tts.types import Problem, Sample, Verdict

ESTIMATOR_VERSION = "1"
# Provenance fields a regression gate exists to compare across (see Runtime._regression).
UNDER_TEST = ("model_hash", "engine", "engine_version")


def run_expectation(item: Any) -> None:
    """Judge one collected expectation; raises ExpectationFailed when it does not hold."""
    runtime = get_runtime(item.config)
    runtime.prepare(item.session)
    runtime.judge(item)


def get_runtime(config: pytest.Config) -> Runtime:
    runtime = config.stash.get(runtime_key, None)
    if runtime is None:
        runtime = Runtime(config)
        config.stash[runtime_key] = runtime
    return runtime


@dataclass
class Pool:
    """The samples and verdicts of one spec on one model."""

    label: str
    spec: SpecDef
    model: ModelRef
    base_dir: Path
    verifiers: dict[str, VerifierRef]
    want_logprobs: bool = False
    problems: list[Problem] = field(default_factory=list)
    dataset_hash: str = ""
    request: PoolRequest | None = None
    arrays: PoolArrays | None = None
    oracle_by_sample: dict[str, Any] = field(default_factory=dict)
    error: TTSError | None = None
    generated: int = 0
    reused: int = 0
    tokens: int = 0
    flops: float = math.nan
    curves: dict[tuple[str, float], Curve] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchContext:
    """What a step-wise search strategy needs to run its own generation.

    A strategy object with a ``search_curve(context) -> Curve`` method is a search strategy:
    instead of selecting among the spec's pool of full samples, it generates step by step
    through ``backend`` (using ``pytest_tts.generate.ensure_samples``/``load_samples`` on
    ``store``, so every intermediate generation is cached like a sample and honours
    ``offline``), scores with ``verifiers`` (name -> verifier instance, the oracle included
    under its own name), judges final answers with ``oracle``, and returns the curve at the
    budgets ``ks`` with its costs (``flops_fn(prompt_tokens, completion_tokens, k)`` counts
    FLOPs like every other curve). ``sampling`` is the spec's ``sample`` line.
    """

    store: SampleStore
    backend: Backend
    problems: tuple[Problem, ...]
    sampling: Sampling
    oracle: Any
    verifiers: Mapping[str, Any]
    flops_fn: Callable[[float, float, int], float] | None
    offline: bool
    ks: tuple[int, ...]
    confidence: float = 0.95
    label: str = ""


@dataclass
class Judged:
    """What one item's judgement produced, for the reports."""

    item_nodeid: str
    spec: SpecDef
    expectation: Expectation
    gate: GateResult | None
    curves: list[tuple[Curve, str]]
    outcome: str
    message: str = ""
    baseline: Any = None
    duration: float = 0.0


class Runtime:
    """Per-session state: the registry, the store, backends, pools, and judged results."""

    def __init__(self, config: pytest.Config) -> None:
        from pytest_tts.plugin import cache_dir, get_registry, offline

        self.config = config
        self.registry: Registry = get_registry(config)
        self.cache_dir = cache_dir(config)
        self.offline = offline(config)
        self.update_baselines = bool(config.getoption("--tts-update-baselines"))
        self.allow_mismatch = bool(config.getoption("--tts-allow-provenance-mismatch"))
        self.prepared = False
        self.store: SampleStore | None = None
        self.backends: dict[tuple[str, str], Backend] = {}
        self.backend_errors: dict[tuple[str, str], TTSError] = {}
        self.verifiers: dict[tuple[str, str], Any] = {}
        self.pools: dict[tuple[str, str, str], Pool] = {}
        self.judged: list[Judged] = []
        self.fill: FillReport | None = None
        # step-wise searches' counters (their continuations are in no pool's counts)
        self.searched: list[Any] = []
        self.started = time.time()
        # vLLM logs engine start-up at INFO and hardware advice at WARNING; a test run wants
        # errors only. An explicit VLLM_LOGGING_LEVEL in the environment wins.
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")

    # -- preparation ---------------------------------------------------------------------

    def prepare(self, session: pytest.Session) -> None:
        if self.prepared:
            return
        self.prepared = True
        from pytest_tts.collect import ExpectationItem
        from pytest_tts.store import SampleStore

        items = [i for i in session.items if isinstance(i, ExpectationItem)]
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.store = SampleStore.in_dir(self.cache_dir)
        for item in items:
            for model in self._models_of(item.spec, item.expectation):
                self._plan(item.spec, model)
        self._load_problems()
        self._generate()
        self._verify()

    def _models_of(self, spec: SpecDef, expectation: Expectation) -> list[ModelRef]:
        return [m.model for m in _measures(expectation)] or [spec.model]

    def _plan(self, spec: SpecDef, model: ModelRef) -> Pool:
        key = (spec.path, spec.name, model.name)
        pool = self.pools.get(key)
        if pool is not None:
            return pool
        verifiers: dict[str, VerifierRef] = {}
        if spec.oracle is not None:
            verifiers[spec.oracle.name] = spec.oracle
        strategies: list[PluginCall] = []
        for expectation in spec.expectations:
            for measure in _measures(expectation):
                strategies.append(measure.strategy)
            if isinstance(expectation.check, VerifierBound):
                ref = expectation.check.verifier
                verifiers[ref.name] = ref
        for call in strategies:
            for ref in _verifier_refs(call):
                verifiers[ref.name] = ref
        want_logprobs = False
        for call in strategies:
            try:
                strategy = self.strategy(call)
            except TTSError:
                continue  # reported by the item that uses it
            want_logprobs |= any("logprob" in r for r in getattr(strategy, "requires", ()))
        label = f"{spec.name} × {model.name}"
        pool = Pool(
            label=label,
            spec=spec,
            model=model,
            base_dir=Path(spec.path).parent,
            verifiers=verifiers,
            want_logprobs=want_logprobs,
        )
        self.pools[key] = pool
        return pool

    def backend(self, model: ModelRef, base_dir: Path) -> Backend:
        key = (str(base_dir), model.backend.text or repr(model.backend))
        if key in self.backend_errors:
            raise self.backend_errors[key]
        if key not in self.backends:
            factory = self.registry.get("backend", model.backend.name)
            try:
                self.backends[key] = factory(
                    *model.backend.args, base_dir=base_dir, **dict(model.backend.kwargs)
                )
            except TTSError as exc:
                self.backend_errors[key] = exc
                raise
        return self.backends[key]

    def _load_problems(self) -> None:
        from pytest_tts.generate import PoolRequest

        sources: dict[tuple[str, str, str | None], tuple[list[Problem], str]] = {}
        for pool in self.pools.values():
            dataset = pool.spec.dataset
            try:
                backend = self.backend(pool.model, pool.base_dir)
                # chat templates need the model's tokenizer: local backends expose their folder
                folder = getattr(backend, "model", None)
                tokenizer = str(folder) if isinstance(folder, Path) else None
                key = (str(pool.base_dir), dataset.source.text or repr(dataset.source), tokenizer)
                if key not in sources:
                    factory = self.registry.get("source", dataset.source.name)
                    source = factory(
                        *dataset.source.args, base_dir=pool.base_dir, **dict(dataset.source.kwargs)
                    )
                    problems = list(source.load(tokenizer_path=tokenizer))
                    sources[key] = (problems, str(source.content_hash(tokenizer_path=tokenizer)))
                pool.problems, pool.dataset_hash = sources[key]
                pool.request = PoolRequest(
                    backend=backend,
                    problems=pool.problems,
                    sampling=pool.spec.sampling,
                    want_logprobs=pool.want_logprobs,
                    label=pool.label,
                    model_key=pool.model.name,
                )
            except TTSError as exc:
                pool.error = exc

    def _generate(self) -> None:
        from pytest_tts.errors import MissingSamplesError
        from pytest_tts.generate import Progress, ensure_samples, missing_samples

        assert self.store is not None
        for pool in self.pools.values():
            if pool.error is None and pool.request is not None:
                try:  # a backend that cannot say what it is (no config.json) fails its pools
                    pool.request.backend.provenance()
                except TTSError as exc:
                    pool.error = exc
        ready = [p for p in self.pools.values() if p.error is None and p.request is not None]
        requests = [p.request for p in ready if p.request is not None]
        if not requests:
            return
        if self.offline:
            # fail only the pools that lack samples, each with its own shortfall
            shortfalls = {s.label: s for s in missing_samples(self.store, requests)}
            for pool in ready:
                if pool.label in shortfalls:
                    pool.error = MissingSamplesError(
                        f"--tts-offline: {shortfalls[pool.label].describe()}; fill the cache "
                        "with a run without --tts-offline (or import one: pytest-tts cache "
                        "import FILE)"
                    )
            requests = [p.request for p in ready if p.error is None and p.request is not None]
            if not requests:
                return
        # what each pool lacks now is what this run generates for it (pools that share
        # samples with another are merged by the fill path, and counted once)
        counted: set[str] = set()
        for pool in ready:
            if pool.error is None and pool.request is not None:
                for shortfall in missing_samples(self.store, [pool.request]):
                    if shortfall.pool_key not in counted:
                        pool.generated += shortfall.missing
                        counted.add(shortfall.pool_key)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        stream = getattr(getattr(reporter, "_tw", None), "_file", None)
        progress = Progress(stream) if not self.offline else None
        try:
            with self.live_output():
                if reporter is not None and any(p.generated for p in ready):
                    reporter.write_line("")
                self.fill = ensure_samples(
                    self.store, requests, offline=self.offline, progress=progress
                )
        except TTSError as exc:
            for pool in ready:
                pool.error = exc
        except Exception as exc:
            # An engine or plugin bug: every item that needs these pools fails with where it
            # happened, instead of the first one alone showing a traceback.
            where = traceback.extract_tb(exc.__traceback__)[-1]
            error = BackendError(
                f"generation failed: {type(exc).__name__}: {exc} "
                f"(at {where.filename}:{where.lineno}, in {where.name})"
            )
            error.__cause__ = exc
            for pool in ready:
                pool.error = error

    @contextlib.contextmanager
    def live_output(self) -> Iterator[None]:
        """Show generation progress live, and keep engine start-up noise out of reports.

        Generation runs inside the first item's ``runtest``, where pytest captures output:
        capture is suspended so that progress reaches the terminal (or the CI log) as it
        happens. vLLM and torch emit DeprecationWarnings on import; they are not the user's
        to fix, so they are silenced here rather than listed in every run's summary.
        """
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        suspend = (
            capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
        )
        with suspend, warnings.catch_warnings():
            for module in ("torch", "vllm", "transformers"):
                warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
                warnings.filterwarnings("ignore", category=FutureWarning, module=module)
            yield

    def _verify(self) -> None:
        from pytest_tts.estimate.pool import pool_from_samples
        from pytest_tts.generate import load_samples, pool_id

        assert self.store is not None
        for pool in self.pools.values():
            if pool.error is not None or pool.request is None:
                continue
            try:
                by_problem = load_samples(self.store, pool.request)
                samples = [s for p in pool.problems for s in by_problem[p.id]]
                pid = pool_id(self.store, pool.request)
                problems = {p.id: p for p in pool.problems}
                verdicts = {
                    name: self._verdicts(pid, ref, samples, problems, pool.base_dir)
                    for name, ref in pool.verifiers.items()
                }
                oracle = pool.spec.oracle
                if oracle is None:
                    # no oracle: only verifier-free expectations could run; use a dummy
                    oracle_verdicts = [_UNJUDGED] * len(samples)
                else:
                    oracle_verdicts = verdicts[oracle.name]
                pool.arrays = pool_from_samples(
                    samples,
                    oracle_verdicts,
                    verdicts,
                    n=pool.spec.sampling.n,
                    problem_ids=[p.id for p in pool.problems],
                )
                pool.tokens = int(
                    sum(s.completion_tokens for s in samples)
                    + sum(by_problem[p.id][0].prompt_tokens for p in pool.problems)
                )
            except TTSError as exc:
                pool.error = exc
        for pool in self.pools.values():
            if pool.arrays is not None:
                total = pool.arrays.n_problems * pool.arrays.n_samples
                pool.reused = max(total - pool.generated, 0)
                pool.flops = self._pool_flops(pool)

    def _verdicts(
        self,
        pool_id: int,
        ref: VerifierRef,
        samples: list[Sample],
        problems: Mapping[str, Problem],
        base_dir: Path,
    ) -> list[Verdict]:
        """Verdicts of one verifier on the pool, from the store where cached.

        The cache key folds in the verifier's identity and a fingerprint of each problem's
        reference (answer, tests), so an edited dataset re-verifies.
        """
        from pytest_tts.verifiers.cache import verify_cached

        assert self.store is not None
        verifier = self.verifier(ref, base_dir)
        items = [(problems[s.problem_id], s) for s in samples]
        verdicts = verify_cached(verifier, self.store, pool_id, items)
        if len(verdicts) != len(items):
            msg = f"verifier {ref.name} returned {len(verdicts)} verdicts for {len(items)} samples"
            raise VerifierError(msg)
        return verdicts

    # -- plugin instances ----------------------------------------------------------------

    def verifier(self, ref: VerifierRef, base_dir: Path | None = None) -> Any:
        """The verifier instance of ``ref``, one per call text and folder for the session.

        Model-based verifiers (reward models, judges) hold an engine, so they are built
        once and closed with the session. A factory with a ``base_dir`` parameter gets the
        spec's folder (paths in the spec are relative to it, like a model's).
        """
        call = ref.verifier
        folder = base_dir if base_dir is not None else self.config.rootpath
        key = (str(folder), call.text or repr(call))
        if key not in self.verifiers:
            factory = self.registry.get("verifier", call.name)
            kwargs = dict(call.kwargs)
            if _takes_base_dir(factory):
                kwargs["base_dir"] = folder
            self.verifiers[key] = factory(*call.args, **kwargs)
        return self.verifiers[key]

    def strategy(self, call: PluginCall) -> Any:
        factory = self.registry.get("strategy", call.name)
        args = [self.strategy(a) if _is_strategy(a) else a for a in call.args]
        kwargs = {k: self.strategy(v) if _is_strategy(v) else v for k, v in call.kwargs.items()}
        return factory(*args, **kwargs)

    # -- judging -------------------------------------------------------------------------

    def pool_for(self, spec: SpecDef, model: ModelRef) -> Pool:
        pool = self.pools.get((spec.path, spec.name, model.name)) or self._plan(spec, model)
        if pool.error is not None:
            raise pool.error
        if pool.arrays is None:
            msg = f"pool {pool.label} was not prepared (no samples were loaded)"
            raise EstimationError(msg)
        return pool

    def curve(self, spec: SpecDef, measure: Measure, extra_ks: Iterable[int] = ()) -> Curve:
        from pytest_tts.estimate.curves import compute_curve, default_ks

        pool = self.pool_for(spec, measure.model)
        assert pool.arrays is not None
        n = pool.arrays.n_samples
        ks = sorted({int(k) for k in default_ks(n)} | {int(k) for k in extra_ks if 1 <= k <= n})
        key = (measure.strategy.text + repr(ks), 0.95)
        if key not in pool.curves:
            strategy = self.strategy(measure.strategy)
            backend = self.backend(pool.model, pool.base_dir)
            if callable(getattr(strategy, "search_curve", None)):
                assert self.store is not None
                context = SearchContext(
                    store=self.store,
                    backend=backend,
                    problems=tuple(pool.problems),
                    sampling=pool.spec.sampling,
                    oracle=(
                        self.verifier(pool.spec.oracle, pool.base_dir) if pool.spec.oracle else None
                    ),
                    verifiers={
                        n: self.verifier(r, pool.base_dir) for n, r in pool.verifiers.items()
                    },
                    flops_fn=self._flops_fn(backend),
                    offline=self.offline,
                    ks=tuple(ks),
                    confidence=0.95,
                    label=pool.label,
                )
                with self.live_output():
                    pool.curves[key] = strategy.search_curve(context)
                self.searched.append(getattr(strategy, "stats", None))
            else:
                pool.curves[key] = compute_curve(
                    strategy, pool.arrays, ks, flops_fn=self._flops_fn(backend)
                )
        return pool.curves[key]

    def _pool_flops(self, pool: Pool) -> float:
        """FLOPs of generating the whole pool (prefill once per prompt, every decode)."""
        assert pool.arrays is not None
        try:
            flops = self._flops_fn(self.backend(pool.model, pool.base_dir))
        except TTSError:
            return math.nan
        if flops is None:
            return math.nan
        arrays = pool.arrays
        total = 0.0
        for p in range(arrays.n_problems):
            total += flops(
                float(arrays.prompt_tokens[p]),
                float(arrays.completion_tokens[p].sum()),
                arrays.n_samples,
            )
        return total

    def _flops_fn(self, backend: Backend) -> Any:
        try:
            config = backend.model_config()
        except TTSError:
            return None
        if not config:
            return None
        hook = self.config.pluginmanager.hook.pytest_tts_count_flops
        from pytest_tts import builtins

        if all(impl.plugin is builtins for impl in hook.get_hookimpls()):
            # only the built-in FLOPs model: its vectorized form costs one call per curve
            from pytest_tts.estimate.flops import flops_from_config

            return flops_from_config(config)

        def flops(prompt_tokens: float, completion_tokens: float, k: int) -> float:
            value = hook(
                model_config=config,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                n_samples=k,
            )
            return math.nan if value is None else float(value)

        return flops

    def judge(self, item: Any) -> None:
        spec: SpecDef = item.spec
        expectation: Expectation = item.expectation
        check = expectation.check
        curves: list[tuple[Curve, str]] = []
        record = Judged(item.nodeid, spec, expectation, None, curves, "error")
        self.judged.append(record)
        started = time.perf_counter()
        try:
            gate = self._gate(item, spec, check, curves, record)
        except TTSError as exc:
            record.message = str(exc)
            record.duration = time.perf_counter() - started
            raise
        record.duration = time.perf_counter() - started
        record.gate = gate
        record.outcome = "passed" if gate.passed else "failed"
        result = self._expectation_result(record)
        from pytest_tts.report.json_io import junit_properties

        item.user_properties.extend(junit_properties(result))
        if not gate.passed:
            record.message = gate.render()
            raise ExpectationFailed(self._render_failure(record, result))

    def _render_failure(self, record: Judged, result: Any) -> str:
        from pytest_tts.report.failure import render_failure

        span = record.expectation.span
        try:
            source_line = Path(span.path).read_text(encoding="utf-8").splitlines()[span.line - 1]
        except (OSError, IndexError):
            source_line = record.expectation.text
        path = _relative(Path(span.path), self.config.rootpath)
        return render_failure(result, path, span.line, source_line)

    def _expectation_result(self, record: Judged) -> Any:
        from pytest_tts.report.adapt import budget_lines, error_result, expectation_result

        e = record.expectation
        kind = _KIND_NAMES.get(type(e.check).__name__, "")
        if record.gate is None:
            return error_result(
                TTSError(record.message or "not run"),
                id=e.id,
                text=e.text,
                line=e.span.line,
                nodeid=record.item_nodeid,
                kind=kind,
            )
        return expectation_result(
            record.gate,
            id=e.id,
            text=e.text,
            line=e.span.line,
            nodeid=record.item_nodeid,
            budgets=budget_lines(e.check),
            duration=record.duration,
        )

    # -- reports -------------------------------------------------------------------------

    def results(self) -> Any:
        from pytest_tts.report.adapt import curve_result
        from pytest_tts.report.results import Machine, PoolSummary, RunResults, SpecResult

        by_spec: dict[tuple[str, str, str], list[Judged]] = {}
        for record in self.judged:
            key = (record.spec.path, record.spec.name, record.spec.model.name)
            by_spec.setdefault(key, []).append(record)
        specs = []
        for key, records in by_spec.items():
            spec = records[0].spec
            pool = self.pools.get(key)
            curves: dict[str, Any] = {}
            for record in records:
                for curve, metric in record.curves:
                    label = f"{metric}:{curve.strategy}"
                    is_regression = isinstance(record.expectation.check, NoRegression)
                    baseline = record.baseline if is_regression else None
                    if label not in curves or baseline is not None:
                        curves[label] = curve_result(
                            curve, metric, baseline=baseline, model=spec.model.name
                        )
            provenance: dict[str, Any] = {}
            summary = PoolSummary()
            if pool is not None:
                try:
                    provenance = dict(self.backend(pool.model, pool.base_dir).provenance())
                except TTSError:
                    provenance = {}
                summary = PoolSummary(
                    pools=1,
                    problems=len(pool.problems),
                    samples_generated=pool.generated,
                    samples_reused=pool.reused,
                    tokens=pool.tokens,
                    flops=0.0 if math.isnan(pool.flops) else pool.flops,
                )
            start_line = spec.span.line if spec.span is not None else 1
            specs.append(
                SpecResult(
                    name=spec.name,
                    path=_relative(Path(spec.path), self.config.rootpath),
                    model=spec.model.name,
                    dataset=spec.dataset.name,
                    dataset_hash=pool.dataset_hash if pool is not None else "",
                    model_provenance=provenance,
                    sampling=dataclasses.asdict(spec.sampling),
                    source=spec.source,
                    source_line=start_line,
                    pools=summary,
                    curves=list(curves.values()),
                    expectations=[self._expectation_result(r) for r in records],
                    tags=spec.tags,
                )
            )
        return RunResults(
            started=_iso(self.started),
            finished=_iso(time.time()),
            pytest_tts_version=__version__,
            machine=Machine.current(),
            specs=specs,
            search=self._search_counts(),
        )

    def _search_counts(self) -> dict[str, int]:
        from pytest_tts.report.summary import SearchCounts

        searched = [s for s in self.searched if s is not None]
        return dataclasses.asdict(SearchCounts.total(searched)) if searched else {}

    def terminal_summary(self, reporter: Any) -> None:
        from pytest_tts.plugin import report_run

        if self.judged:
            report_run(self.config, reporter, self.results())

    def _gate(
        self,
        item: Any,
        spec: SpecDef,
        check: Any,
        curves: list[tuple[Curve, str]],
        record: Judged,
    ) -> GateResult:
        from pytest_tts.gates.compare import check_comparison
        from pytest_tts.gates.monotone import check_monotone
        from pytest_tts.gates.threshold import check_threshold
        from pytest_tts.gates.verifier_bound import check_verifier_bound

        if isinstance(check, Threshold):
            budget = check.budget
            extra = [int(budget.value)] if budget is not None and budget.unit == "n" else []
            curve = self.curve(spec, check.measure, extra)
            unit = budget.unit if budget is not None else "n"
            curves.append((curve, check.measure.metric))
            return check_threshold(
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
        if isinstance(check, Comparison):
            left = self.curve(spec, check.left)
            right = self.curve(spec, check.right)
            curves += [(left, check.left.metric), (right, check.right.metric)]
            return check_comparison(
                left.per_problem,
                left.cost(check.unit),
                right.per_problem,
                right.cost(check.unit),
                op=check.op,
                at=check.range,
                confidence=check.confidence,
                unit=check.unit,
                left_label=_measure_label(check.left, spec),
                right_label=_measure_label(check.right, spec),
                left_ids=left.problem_ids,
                right_ids=right.problem_ids,
            )
        if isinstance(check, Monotone):
            curve = self.curve(spec, check.measure)
            curves.append((curve, check.measure.metric))
            return check_monotone(
                curve.per_problem,
                curve.ks,
                curve.cost(check.unit),
                tolerance=check.tolerance,
                confidence=check.confidence,
                unit=check.unit,
                metric=check.measure.metric,
                strategy=curve.strategy,
            )
        if isinstance(check, VerifierBound):
            pool = self.pool_for(spec, spec.model)
            assert pool.arrays is not None
            return check_verifier_bound(
                pool.arrays.correct,
                pool.arrays.accepts(check.verifier.name),
                value=check.value,
                op=check.op,
                metric=check.metric,
                confidence=check.confidence,
                verifier_name=check.verifier.name,
            )
        if isinstance(check, NoRegression):
            return self._regression(item, spec, check, curves, record)
        msg = f"unknown expectation kind {type(check).__name__}"
        raise EstimationError(msg)

    def _provenance(self, spec: SpecDef, pool: Pool) -> Any:
        from pytest_tts.gates.baseline import Provenance

        backend = self.backend(pool.model, pool.base_dir)
        prov = dict(backend.provenance())
        sampling = dataclasses.asdict(spec.sampling)
        sampling["extra"] = dict(spec.sampling.extra)
        verifiers = {
            name: str(self.verifier(ref, pool.base_dir).identity())
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

    def _regression(
        self,
        item: Any,
        spec: SpecDef,
        check: NoRegression,
        curves: list[tuple[Curve, str]],
        record: Judged,
    ) -> GateResult:
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
        from pytest_tts.gates.regression import check_regression
        from pytest_tts.gates.result import GateResult

        curve = self.curve(spec, check.measure)
        curves.append((curve, check.measure.metric))
        pool = self.pool_for(spec, check.measure.model)
        provenance = self._provenance(spec, pool)
        path = baseline_path(spec.path, spec.name)
        expectation_id = item.expectation.id
        unit = check.budget.unit if check.budget is not None else "n"
        if self.update_baselines:
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
            record.baseline = entry
            rel = _relative(path, self.config.rootpath)
            return GateResult(
                passed=True,
                kind="regression",
                headline=f"baseline recorded in {rel} ({len(curve.ks)} budget points, "
                f"{len(curve.problem_ids)} problems)",
                method="--tts-update-baselines: recorded, not compared",
            )
        entry = load_entry(path, expectation_id, nodeid=item.nodeid)
        record.baseline = entry
        # The baseline pins the experiment (dataset, prompts, sampling, verifiers,
        # estimator): comparing across a change there is meaningless, so it is an error. The
        # model and the engine are what the gate tests: their change is reported, not refused.
        diffs = check_provenance(
            entry.provenance,
            provenance,
            allow_mismatch=self.allow_mismatch,
            where=item.nodeid,
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
        return check_regression(
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

    # -- end of session ------------------------------------------------------------------

    def close(self) -> None:
        for backend in self.backends.values():
            # shutting down: one failing engine must not keep the others running
            with contextlib.suppress(Exception):
                backend.close()
        self.backends.clear()
        for verifier in self.verifiers.values():
            close = getattr(verifier, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()
        self.verifiers.clear()
        if self.store is not None:
            self.store.close()
            self.store = None


class _Unjudged:
    accepted = False
    score = 0.0
    answer = None
    step_scores = None
    detail = "no oracle"


_UNJUDGED: Any = _Unjudged()


def _measures(expectation: Expectation) -> list[Measure]:
    check = expectation.check
    if isinstance(check, Comparison):
        return [check.left, check.right]
    if isinstance(check, (Threshold, Monotone, NoRegression)):
        return [check.measure]
    return []


def _takes_base_dir(factory: Any) -> bool:
    try:
        return "base_dir" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


def _is_strategy(value: Any) -> bool:
    return isinstance(value, PluginCall) and value.kind == "strategy"


def _verifier_refs(value: Any) -> Iterable[VerifierRef]:
    if isinstance(value, VerifierRef):
        yield value
    elif isinstance(value, PluginCall):
        for arg in (*value.args, *value.kwargs.values()):
            yield from _verifier_refs(arg)
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _verifier_refs(v)


def _measure_label(measure: Measure, spec: SpecDef) -> str:
    text = f"{measure.metric} using {measure.strategy.text}"
    if measure.model.name != spec.model.name:
        text = f"{measure.metric} of {measure.model.name} using {measure.strategy.text}"
    return text


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, 0.0)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


_KIND_NAMES = {
    "Threshold": "threshold",
    "Comparison": "comparison",
    "Monotone": "monotone",
    "VerifierBound": "verifier_bound",
    "NoRegression": "no_regression",
}


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat(timespec="seconds")
