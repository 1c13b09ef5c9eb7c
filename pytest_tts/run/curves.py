"""Stage 4, estimate: the curve of one measure (metric, strategy, model) on its pool.

In: a verified pool, the measure's strategy call, extra budget points, and what a search
strategy needs to generate (store, instances, ``offline``, callbacks). Out: a ``Curve``
(per-problem values, mean and interval, costs in samples, tokens and FLOPs at every budget
point), cached on the pool per strategy and budget points. A selection strategy reads the
pool's arrays; a search strategy (:class:`pytest_tts.search.SearchStrategy`) generates step
by step through the store, and its counters are appended to ``searched``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pytest_tts.errors import EstimationError
from pytest_tts.run.settings import live

if TYPE_CHECKING:
    from pytest_tts.estimate.curves import Curve
    from pytest_tts.run.instances import Instances
    from pytest_tts.run.plan import PoolState
    from pytest_tts.run.settings import Callbacks
    from pytest_tts.spec import PluginCall
    from pytest_tts.store import SampleStore

# every curve's interval level: gates with their own level bound the per-problem values
CURVE_CONFIDENCE = 0.95


def pool_curve(
    pool: PoolState,
    call: PluginCall,
    extra_ks: Iterable[int] = (),
    *,
    store: SampleStore,
    instances: Instances,
    offline: bool,
    callbacks: Callbacks,
    searched: list[Any],
    difficulty: str | None = None,
) -> Curve:
    """The curve of strategy ``call`` on ``pool`` at the default budget points (powers of
    two up to n, and n) plus ``extra_ks``; with ``difficulty``, on the pool's problems of
    that difficulty bin only."""
    from pytest_tts.estimate.curves import compute_curve, default_ks
    from pytest_tts.search.contract import SearchContext, is_search_strategy

    pool.checked()
    assert pool.arrays is not None
    n = pool.arrays.n_samples
    ks = sorted({int(k) for k in default_ks(n)} | {int(k) for k in extra_ks if 1 <= k <= n})
    key = call.text + repr(ks) + ("" if difficulty is None else f"@{difficulty}")
    if key in pool.curves:
        return pool.curves[key]
    if call.name == "frontier" and any(_thinks(a) for a in call.args):
        # thinking longer against sampling more: the frontier of whole curves in tokens
        from pytest_tts.estimate.frontier import frontier_curve

        if difficulty is not None:
            msg = f"{call.text} reads budget_forcing curves and cannot be asked per difficulty"
            raise EstimationError(msg)
        members = [
            pool_curve(
                pool,
                member,
                extra_ks,
                store=store,
                instances=instances,
                offline=offline,
                callbacks=callbacks,
                searched=searched,
            )
            for member in call.args
        ]
        pool.curves[key] = frontier_curve(members, unit="tokens")
        return pool.curves[key]
    strategy = instances.strategy(call)
    arrays = pool.arrays
    if difficulty is not None:
        rows = [i for i, p in enumerate(pool.problems) if p.difficulty == difficulty]
        if not rows:
            msg = f"pool {pool.label} has no problem of difficulty {difficulty!r}"
            raise EstimationError(msg)
        if is_search_strategy(strategy):
            msg = f"{call.text} searches step by step and cannot be asked per difficulty"
            raise EstimationError(msg)
        arrays = arrays.subset(rows)
    backend = instances.backend(pool.model, pool.base_dir)
    flops_fn = instances.flops_fn(backend)
    if is_search_strategy(strategy):
        oracle = pool.spec.oracle
        context = SearchContext(
            store=store,
            backend=backend,
            problems=tuple(pool.problems),
            sampling=pool.spec.sampling,
            oracle=instances.verifier(oracle, pool.base_dir) if oracle else None,
            verifiers={
                name: instances.verifier(ref, pool.base_dir) for name, ref in pool.verifiers.items()
            },
            flops_fn=flops_fn,
            offline=offline,
            ks=tuple(ks),
            confidence=CURVE_CONFIDENCE,
            label=pool.label,
            request=pool.request,
        )
        with live(callbacks):
            pool.curves[key] = strategy.search_curve(context)
        searched.append(getattr(strategy, "stats", None))
    else:
        pool.curves[key] = compute_curve(
            strategy, arrays, ks, flops_fn=flops_fn, confidence=CURVE_CONFIDENCE
        )
    return pool.curves[key]


def _thinks(value: Any) -> bool:
    from pytest_tts.spec import PluginCall

    return isinstance(value, PluginCall) and value.name == "budget_forcing"
