"""The orchestrator: plan → generate → verify, then estimate and judge one expectation at a
time, then results. It holds the run's state and calls each stage with explicit inputs.

::

    engine = Engine(settings, registry)
    engine.prepare(selected)               # [(SpecDef, Expectation), ...] to run
    record = engine.judge(spec, expectation, nodeid)
    results = engine.results()             # pytest_tts.report.results.RunResults
    engine.close()

``prepare`` runs once, for every selected expectation at once: one pool per (spec, model),
one batched fill per engine, one verification pass. :func:`pytest_tts.run.run_specs` does
all of it for a list of spec files.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pytest_tts.errors import TTSError, VerifierError
from pytest_tts.run.instances import CountFlops, Instances
from pytest_tts.run.plan import PoolKey, PoolState, load_problems, plan_pool, plan_pools, pool_key
from pytest_tts.run.results import Judged, build_results
from pytest_tts.run.settings import ADAPTIVE_TAG, Callbacks, Settings

if TYPE_CHECKING:
    from pytest_tts.estimate.curves import Curve
    from pytest_tts.generate import FillReport
    from pytest_tts.registry import Registry
    from pytest_tts.report.results import RunResults
    from pytest_tts.run.adaptive import AdaptiveReport
    from pytest_tts.spec import Expectation, Measure, ModelRef, SpecDef
    from pytest_tts.store import SampleStore


class Engine:
    """One run's state: instances, the store, pools, and the expectations judged so far."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        *,
        callbacks: Callbacks | None = None,
        count_flops: CountFlops | None = None,
    ) -> None:
        self.settings = settings
        self.callbacks = callbacks if callbacks is not None else Callbacks()
        self.instances = Instances(registry, settings.rootdir, count_flops)
        self.store: SampleStore | None = None
        self.pools: dict[PoolKey, PoolState] = {}
        self.judged: list[Judged] = []
        self.fill: FillReport | None = None
        # step-wise searches' counters (their continuations are in no pool's counts)
        self.searched: list[Any] = []
        self.prepared = False
        self.started = time.time()
        # decisions and counts of --tts-adaptive (None in a fixed run)
        self.adaptive: AdaptiveReport | None = None

    def prepare(self, selected: Iterable[tuple[SpecDef, Expectation]]) -> None:
        """Plan, fill and verify every pool the selected expectations read (once per run)."""
        if self.prepared:
            return
        self.prepared = True
        from pytest_tts.run.fill import fill_pools
        from pytest_tts.run.verify import verify_pools
        from pytest_tts.store import SampleStore

        self.settings.store_dir.mkdir(parents=True, exist_ok=True)
        self.store = SampleStore.in_dir(self.settings.store_dir)
        selected = list(selected)
        self.pools = plan_pools(selected, self.instances)
        pools = list(self.pools.values())
        load_problems(pools, self.instances)
        store = self.store

        def fill(some: Iterable[PoolState]) -> None:
            report = fill_pools(
                list(some), store, offline=self.settings.offline, callbacks=self.callbacks
            )
            self.fill = report if report is not None else self.fill

        def verify(some: Iterable[PoolState]) -> None:
            verify_pools(list(some), store, self.instances)

        # --tts-adaptive takes every pool; without it, the pools of specs tagged adaptive
        # (a pool is read only by its own spec's items)
        if not self.settings.adaptive:
            rest = [p for p in pools if ADAPTIVE_TAG not in p.spec.tags]
            if rest:
                fill(rest)
                verify(rest)
            pools = [p for p in pools if ADAPTIVE_TAG in p.spec.tags]
            selected = [(s, e) for s, e in selected if ADAPTIVE_TAG in s.tags]
            if not pools:
                return
        from pytest_tts.run.adaptive import fill_adaptively
        from pytest_tts.run.curves import pool_curve

        def curve(pool: PoolState, measure: Measure, extra_ks: list[int]) -> Curve:
            return pool_curve(
                pool,
                measure.strategy,
                extra_ks,
                store=store,
                instances=self.instances,
                offline=self.settings.offline,
                callbacks=self.callbacks,
                searched=[],
            )

        def baseline(spec: SpecDef, expectation: Expectation, pool: PoolState) -> Any:
            from pytest_tts.run.judge import stored_baseline

            return stored_baseline(spec, expectation, pool, self.instances, self.settings)

        def reads_k_samples(measure: Measure) -> bool:
            from pytest_tts.search.contract import is_search_strategy

            if measure.strategy.name in ("budget_forcing", "frontier"):
                return False
            try:
                return not is_search_strategy(self.instances.strategy(measure.strategy))
            except TTSError:
                return False  # the item reports it; its pool reads all n

        self.adaptive = fill_adaptively(
            pools,
            selected,
            fill=fill,
            verify=verify,
            curve=curve,
            baseline=baseline,
            update_baselines=self.settings.update_baselines,
            reads_k_samples=reads_k_samples,
        )

    def pool(self, spec: SpecDef, model: ModelRef) -> PoolState:
        """The verified pool of ``spec`` on ``model``; raises its error, or says it was not
        prepared when no selected expectation needed it."""
        key = pool_key(spec, model)
        if key not in self.pools:
            self.pools[key] = plan_pool(spec, model, self.instances)
        return self.pools[key].checked()

    def curve(
        self,
        spec: SpecDef,
        measure: Measure,
        extra_ks: Iterable[int] = (),
        difficulty: str | None = None,
    ) -> Curve:
        """The measure's curve on its pool, or on one difficulty bin of it (cached per
        strategy, budget points and bin)."""
        from pytest_tts.run.curves import pool_curve

        assert self.store is not None
        return pool_curve(
            self.pool(spec, measure.model),
            measure.strategy,
            extra_ks,
            difficulty=difficulty,
            store=self.store,
            instances=self.instances,
            offline=self.settings.offline,
            callbacks=self.callbacks,
            searched=self.searched,
        )

    def judge(self, spec: SpecDef, expectation: Expectation, nodeid: str = "") -> Judged:
        """Judge one expectation; the record says whether it passed, failed or could not be
        judged (``error``, with the TTSError)."""
        from pytest_tts.run.judge import JudgeInputs, judge

        record = Judged(nodeid or expectation.id, spec, expectation)
        self.judged.append(record)
        inputs = JudgeInputs(
            spec=spec,
            expectation=expectation,
            nodeid=record.nodeid,
            curves_of=lambda measure, extra, difficulty: self.curve(
                spec, measure, extra, difficulty
            ),
            pool=lambda model: self.pool(spec, model),
            settings=self.settings,
            instances=self.instances,
        )
        started = time.perf_counter()
        try:
            record.notes, over = self._problem_errors(spec, expectation)
            if over:
                raise VerifierError(record.notes)
            decided = self._decided(spec, expectation)
            record.gate = decided if decided is not None else judge(inputs)
        except TTSError as exc:
            record.error = exc
            record.message = str(exc)
        finally:
            record.duration = time.perf_counter() - started
            record.curves = inputs.reads.curves
            record.baseline = inputs.reads.baseline
            record.fits = inputs.reads.fits
        if record.gate is not None:
            record.outcome = "passed" if record.gate.passed else "failed"
            if not record.gate.passed:
                from pytest_tts.report.gates import render_gate

                record.message = render_gate(record.gate).render()
                if record.notes:
                    record.message += "\n" + record.notes
        return record

    def _decided(self, spec: SpecDef, expectation: Expectation) -> Any:
        """The adaptive decision of this expectation, when its pool stopped early."""
        if self.adaptive is None:
            return None
        from pytest_tts.run.adaptive import item_key

        return self.adaptive.decisions.get(item_key(spec, expectation))

    def _problem_errors(self, spec: SpecDef, expectation: Expectation) -> tuple[str, bool]:
        """The note on problems the verifiers this expectation reads could not judge, and
        whether they are more than tolerated (see :func:`problem_error_report`)."""
        from pytest_tts.run.plan import measures_of, verifier_refs
        from pytest_tts.run.verify import problem_error_report
        from pytest_tts.spec import StepMetric, VerifierBound

        notes: list[str] = []
        over = False
        check = expectation.check
        models = {m.model.name: m.model for m in measures_of(expectation)} or {
            spec.model.name: spec.model
        }
        for model in models.values():
            pool = self.pool(spec, model)
            names = [] if spec.oracle is None else [spec.oracle.name]
            for measure in measures_of(expectation):
                if measure.model.name == model.name:
                    names += [ref.name for ref in verifier_refs(measure.strategy)]
            if isinstance(check, VerifierBound):
                names.append(check.verifier.name)
            if isinstance(check, StepMetric):
                names += [check.verifier.name, check.step_oracle.name]
            note, too_many = problem_error_report(pool, names, self.instances)
            if note:
                notes.append(note)
            over = over or too_many
        return "\n".join(notes), over

    def results(self) -> RunResults:
        """Everything judged so far, as the reports read it."""
        return build_results(
            self.judged,
            self.pools,
            self.instances,
            rootdir=self.settings.rootdir,
            started=self.started,
            searched=self.searched,
            adaptive=self.adaptive.pools if self.adaptive is not None else {},
            adaptive_whole=self.adaptive.whole if self.adaptive is not None else {},
        )

    def close(self) -> None:
        """Shut every engine down and close the store (explicitly: left to interpreter exit,
        vLLM logs errors into closed streams)."""
        self.instances.close()
        if self.store is not None:
            self.store.close()
            self.store = None
