"""Adaptive filling (``--tts-adaptive``): generate only what the verdicts need.

In: the ready pools with their problems loaded, the expectations that read each pool, the
store, the instances, the settings. Out: every pool filled and verified, but a pool whose
items were all decided early holds only the problems it used (``pool.problems``), and an
:class:`~pytest_tts.gates.adaptive.AdaptiveThresholdResult` per item decided early.

A pool is adaptive when every item that reads it has an anytime-valid gate
(:mod:`pytest_tts.gates.adaptive`):

- a threshold ``with confidence c`` on a selection strategy, at ``n`` or without a budget
  (not ``by fit``, not ``per difficulty``);
- a comparison of two strategies of the pool ``at matched n ... with confidence c`` whose
  costs are their k (not ``single``, which costs one sample at every k: such a comparison
  interpolates costs and keeps its pool to the end);
- a comparison of two strategies of the pool ``at matched tokens`` or ``flops ... with
  confidence c``: the first round's problems fix each curve's mean costs (the matching),
  and only the problems after them enter the confidence sequence, so the decision is about
  the claim at those costs (:func:`~pytest_tts.gates.adaptive.check_adaptive_matched_cost`);
- the same comparisons across two models (``accuracy of other ...``): their pools take the
  same problems in the same order (the order comes from the seed and the problem ids) and
  the same rounds, and the paired per-problem differences decide; when either pool must be
  read whole, both are;
- a verifier's false-positive or false-negative rate bound;
- monotonicity ``with confidence c`` (the drop between consecutive budget points);
- a regression at ``n`` (or without a budget) against a stored baseline (not while
  recording baselines).

Its problems are taken in a seeded random order (the sampling seed and the problem ids) in
rounds of 32, 64, 128, ... problems. The rounds before the last read only as many samples of
each problem as the pool's items need (:func:`samples_needed`: 32 for gates at ``n = 16`` on
a pool of 64), the last one all n. After each round the items still open are asked again;
the pool stops once all are decided, else when the dataset is exhausted, and the items still
open are judged by the fixed gate on the whole pool. Every other pool (an item without a
confidence level has no error rate to keep; comparisons at matched thinking tokens) is filled
whole, as without ``--tts-adaptive``.

Everything generated stays in the store, so a later fixed run tops up only what is missing.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_tts.errors import EstimationError
from pytest_tts.spec import (
    Comparison,
    Expectation,
    Monotone,
    NoRegression,
    StepMetric,
    Threshold,
    VerifierBound,
)

if TYPE_CHECKING:
    from pytest_tts.run.plan import PoolState
    from pytest_tts.spec import Measure, SpecDef

FIRST_ROUND = 32
GROWTH = 2

ItemKey = tuple[str, str, str, str]  # (spec file, spec name, model, expectation id)
CurveOf = Callable[["PoolState", "Measure", list[int]], Any]
# an early decision: AdaptiveThresholdResult, AdaptiveComparisonResult or AdaptiveRateResult
Decision = Any


def item_key(spec: SpecDef, expectation: Expectation) -> ItemKey:
    return (spec.path, spec.name, spec.model.name, expectation.id)


def not_adaptive(expectation: Expectation, *, update_baselines: bool = False) -> str:
    """Why ``expectation`` has no anytime-valid gate (empty when it has one)."""
    check = expectation.check
    if isinstance(check, NoRegression):
        if update_baselines:
            return "recording a baseline reads the whole pool"
        if check.budget is not None and check.budget.unit != "n":
            return f"a budget in {check.budget.unit} reads the whole pool"
        return ""
    if isinstance(check, Comparison):
        if check.confidence is None:
            return "no confidence level (no error rate to keep): it reads the whole pool"
        if check.unit not in ("n", "tokens", "flops"):
            return f"a comparison at matched {check.unit} reads the whole pool"
        if check.op == "=":
            return "'=' cannot be decided early"
        if check.unit != "n" and any(
            m.strategy.name in ("budget_forcing", "frontier") for m in (check.left, check.right)
        ):
            return f"a comparison of {check.unit} with thinking budgets reads the whole pool"
        return ""
    if isinstance(check, VerifierBound):
        return "" if check.op != "=" else "'=' cannot be decided early"
    if isinstance(check, Monotone):
        if check.confidence is None:
            return "no confidence level (no error rate to keep): it reads the whole pool"
        if check.unit != "n":
            return f"monotonicity in {check.unit} reads the whole pool"
        return ""
    if isinstance(check, StepMetric):
        return "a step-level measure is bounded by a bootstrap: it reads the whole pool"
    if not isinstance(check, Threshold):
        return f"{type(check).__name__.lower()} expectations have no adaptive gate"
    if check.confidence is None:
        return "no confidence level (no error rate to keep): it reads the whole pool"
    if check.by_fit or check.per_difficulty:
        return "'by fit' and 'per difficulty' read the whole pool"
    if check.budget is not None and check.budget.unit != "n":
        return f"a budget in {check.budget.unit} reads the whole pool (costs vary by problem)"
    if check.op == "=":
        return "'=' cannot be decided early"
    return ""


def samples_needed(
    readers: Sequence[tuple[SpecDef, Expectation]],
    n: int,
    reads_k_samples: Callable[[Measure], bool] | None,
) -> int:
    """Samples per problem the early rounds of a pool read: twice the largest k its items
    read, at most n.

    A selection strategy's value at k is an unbiased estimate of the problem's k-sample
    value from any n' >= k of its samples (the mean over k-subsets), so a gate at ``n = 16``
    on a pool of 64 can decide from fewer samples a problem. With exactly k the value is one
    vote (0 or 1) and its variance costs problems; 2k is the better trade in
    ``bench/adaptive.py`` (a gate at k = 8 on the bundled 64-sample pool, 0.05 from its
    threshold, read 0.40-0.50 of a fixed run's samples with 16 a problem, 0.59-0.69 with 8 and
    0.51-0.52 with all 64; 0.10 away, 0.04-0.05 with 8 or 16 and 0.14 with 64). Thresholds at
    ``n = K`` (or ``n <= K``) and comparisons at matched n within ``[a, K]`` read K; every
    other item (no budget, costs, rates, monotonicity, regressions) reads all n.
    """
    from pytest_tts.run.plan import measures_of

    if reads_k_samples is None:
        return n
    most = 0
    for _, expectation in readers:
        check = expectation.check
        k = n
        if isinstance(check, Threshold) and check.budget is not None:
            if check.budget.unit == "n" and check.budget.op in ("=", "<=", "<"):
                k = int(check.budget.value)
        elif isinstance(check, Comparison) and check.unit == "n" and check.range is not None:
            k = int(check.range[1])
        if not all(reads_k_samples(m) for m in measures_of(expectation)):
            k = n
        most = max(most, min(2 * max(k, 1), n))
    return most or n


def round_sizes(problems: int, first: int = FIRST_ROUND) -> list[int]:
    """Problems used after each round: first, first * 2, ... and finally all."""
    sizes = []
    size = first
    while size < problems:
        sizes.append(size)
        size *= GROWTH
    sizes.append(problems)
    return sizes


def problem_order(pool: PoolState) -> list[int]:
    """A seeded random order of the pool's problems, the same in every run of the spec:
    each problem's place comes from the sampling seed and its id, so the pools of two models
    on one dataset take the same problems in the same order (their rows pair)."""
    seed = pool.spec.sampling.seed
    keys = [
        (hashlib.sha256(f"{seed}:{problem.id}".encode()).digest(), i)
        for i, problem in enumerate(pool.problems)
    ]
    return [i for _, i in sorted(keys)]


@dataclass
class AdaptivePool:
    """One pool's adaptive state: its full problem list, draw order and open items."""

    pool: PoolState
    problems: list[Any]
    order: list[int]
    items: list[tuple[SpecDef, Expectation]]
    decided: dict[ItemKey, Decision] = field(default_factory=dict)
    # comparisons at matched tokens/FLOPs: (problems the costs came from, left, right costs)
    matched: dict[ItemKey, tuple[int, Any, Any]] = field(default_factory=dict)
    trajectories: dict[ItemKey, list[tuple[int, float, float]]] = field(default_factory=dict)
    used: int = 0
    per_problem: int = 0  # samples per problem in the rounds before the last (0: all n)
    read: int = 0  # samples per problem the last round read

    @property
    def done(self) -> bool:
        return self.pool.error is not None or len(self.decided) == len(self.items)


@dataclass
class AdaptiveReport:
    """What adaptive mode did: decisions per item, and samples used against a fixed run."""

    decisions: dict[ItemKey, Decision] = field(default_factory=dict)
    # pool label -> problems_used, problems, samples_used, samples_fixed
    pools: dict[str, dict[str, int]] = field(default_factory=dict)
    whole: dict[str, str] = field(default_factory=dict)  # pool label -> why it read it all

    def count(
        self, pool: PoolState, problems_used: int, problems: int, per_problem: int | None = None
    ) -> None:
        n = pool.spec.sampling.n
        self.pools[pool.label] = {
            "problems_used": problems_used,
            "problems": problems,
            "samples_per_problem": per_problem or n,
            "samples_used": problems_used * (per_problem or n),
            "samples_fixed": problems * n,
        }


def fill_adaptively(
    pools: Sequence[PoolState],
    items: Iterable[tuple[SpecDef, Expectation]],
    *,
    fill: Callable[[Sequence[PoolState]], None],
    verify: Callable[[Sequence[PoolState]], None],
    curve: CurveOf,
    baseline: Callable[[SpecDef, Expectation, PoolState], Any] | None = None,
    update_baselines: bool = False,
    reads_k_samples: Callable[[Measure], bool] | None = None,
) -> AdaptiveReport:
    """Fill and verify ``pools`` round by round (see the module docstring); ``fill`` and
    ``verify`` run the stages on a list of pools, ``curve(pool, measure, extra_ks)`` gives
    a measure's curve on the pool as it is now; ``baseline(spec, expectation, pool)`` a
    regression's stored baseline (None, or raising, keeps the pool whole for it);
    ``reads_k_samples(measure)`` whether the measure's value at k needs only k samples of a
    problem (a selection strategy; None: never assumed, every round reads all n)."""
    from pytest_tts.run.plan import models_of, pool_key

    report = AdaptiveReport()
    by_pool: dict[Any, list[tuple[SpecDef, Expectation]]] = {}
    for spec, expectation in items:
        for pkey in dict.fromkeys(pool_key(spec, m) for m in models_of(spec, expectation)):
            by_pool.setdefault(pkey, []).append((spec, expectation))
    whole: list[PoolState] = []
    adaptive: list[AdaptivePool] = []
    keys = {id(p): k for k, p in _keyed(pools)}
    why_whole: dict[Any, str] = {}
    for pool in pools:
        readers = by_pool.get(keys[id(pool)], [])
        reasons = [
            f"{e.id}: {why or 'its baseline cannot be read here: it reads the whole pool'}"
            for _, e in readers
            if (why := not_adaptive(e, update_baselines=update_baselines))
            or (isinstance(e.check, NoRegression) and baseline is None)
        ]
        if not pool.ready or not readers or reasons:
            why_whole[keys[id(pool)]] = reasons[0] if pool.ready and reasons else ""
    # A comparison of two models pairs their pools: both go adaptively, in the same order
    # and rounds, or both whole.
    for key, why in _paired_whole(pools, by_pool, keys, why_whole).items():
        why_whole.setdefault(key, why)
    for pool in pools:
        key = keys[id(pool)]
        if key in why_whole:
            whole.append(pool)
            if why_whole[key]:
                report.whole[pool.label] = why_whole[key]
            continue
        readers = by_pool[key]
        state = AdaptivePool(pool, list(pool.problems), problem_order(pool), readers)
        state.per_problem = samples_needed(readers, pool.spec.sampling.n, reads_k_samples)
        adaptive.append(state)
    states = {keys[id(s.pool)]: s for s in adaptive}
    if whole:
        fill(whole)
        verify(whole)
    sizes = {id(s): round_sizes(len(s.problems)) for s in adaptive}
    round_no = 0
    while True:
        active = [s for s in adaptive if not s.done and round_no < len(sizes[id(s)])]
        if not active:
            break
        for state in active:
            used = sizes[id(state)][round_no]
            prefix = [state.problems[i] for i in state.order[:used]]
            pool = state.pool
            pool.problems = prefix
            assert pool.request is not None
            # the rounds before the last read only the samples their items need; the last
            # one (the fixed gate's, on the whole pool) reads all n
            n = pool.spec.sampling.n
            state.read = n if used == len(state.problems) else (state.per_problem or n)
            pool.request = dataclasses.replace(
                pool.request,
                problems=prefix,
                sampling=dataclasses.replace(pool.request.sampling, n=state.read),
            )
            pool.curves = {}
            state.used = used
        fill([s.pool for s in active])
        verify([s.pool for s in active])
        for state in active:
            if state.pool.error is not None or state.pool.arrays is None:
                continue
            last = state.used == len(state.problems)
            for spec, expectation in state.items:
                key = item_key(spec, expectation)
                if key in state.decided:
                    continue
                try:
                    result = _decide(state, spec, expectation, curve, baseline, states)
                except EstimationError:
                    result = None  # the fixed gate reports it, on the whole pool
                if result is None:
                    continue  # no adaptive gate after all: judged on the whole pool
                at = result.best if hasattr(result, "best") else result.worst
                path = state.trajectories.setdefault(key, [])
                path.append((state.used, float(result.lower[at]), float(result.upper[at])))
                if result.decided and not last:
                    decision = dataclasses.replace(result, trajectory=tuple(path))
                    for other in adaptive:  # a comparison of two models: both pools hold it
                        if (spec, expectation) in other.items:
                            other.decided[key] = decision
        round_no += 1
    for state in adaptive:
        report.count(state.pool, state.used, len(state.problems), state.read)
        report.decisions.update(state.decided)
    for pool in whole:
        if pool.arrays is not None:
            report.count(pool, len(pool.problems), len(pool.problems))
    return report


def _decide(
    state: AdaptivePool,
    spec: SpecDef,
    expectation: Expectation,
    curve: CurveOf,
    baseline: Callable[[SpecDef, Expectation, PoolState], Any] | None,
    states: dict[Any, AdaptivePool] | None = None,
) -> Any:
    """The adaptive gate of ``expectation`` on the pool's problems so far (None: it has
    none after all, and its pool goes to the end)."""
    from pytest_tts.gates.adaptive import (
        check_adaptive_comparison,
        check_adaptive_monotone,
        check_adaptive_rate,
        check_adaptive_threshold,
    )

    check = expectation.check
    total = len(state.problems)
    if isinstance(check, NoRegression):
        return _regression(state, spec, expectation, check, curve, baseline)
    if isinstance(check, Monotone):
        found = curve(state.pool, check.measure, [])
        if len(found.ks) < 2:
            return None
        return check_adaptive_monotone(
            found.per_problem,
            found.ks,
            tolerance=check.tolerance,
            confidence=float(check.confidence or 0.95),
            problems_total=total,
            metric=check.measure.metric,
            strategy=found.strategy,
        )
    if isinstance(check, VerifierBound):
        arrays = state.pool.arrays
        assert arrays is not None
        correct = np.asarray(arrays.correct)
        accepts = np.asarray(arrays.accepts(check.verifier.name))
        if check.metric == "false_positive_rate":
            errors, trials = (accepts & ~correct).sum(axis=1), (~correct).sum(axis=1)
        else:
            errors, trials = (~accepts & correct).sum(axis=1), correct.sum(axis=1)
        return check_adaptive_rate(
            errors,
            trials,
            op=check.op,
            value=check.value,
            confidence=check.confidence,
            problems_total=total,
            metric=check.metric,
            verifier_name=check.verifier.name,
        )
    if isinstance(check, Comparison):
        from pytest_tts.run.plan import pool_key

        pools = [
            (states or {}).get(pool_key(spec, m.model), state) for m in (check.left, check.right)
        ]
        if any(p.used != state.used for p in pools):
            return None  # a paired pool that did not take this round: the fixed gate
        left = curve(pools[0].pool, check.left, [])
        right = curve(pools[1].pool, check.right, [])
        if list(left.problem_ids) != list(right.problem_ids):
            return None  # not the same problems in the same order: the fixed gate
        ks = [int(k) for k in left.ks]
        if ks != [int(k) for k in right.ks]:
            msg = f"the curves of {left.strategy} and {right.strategy} have different budgets"
            raise EstimationError(msg)
        if check.unit != "n":
            return _matched_cost(state, item_key(spec, expectation), check, left, right)
        for side in (left, right):
            if not np.allclose(side.cost_samples, side.ks):
                # a strategy whose cost is not its k (``single`` costs one sample at every k):
                # matched n interpolates costs, which the fixed gate does on the whole pool
                return None
        return check_adaptive_comparison(
            left.per_problem,
            right.per_problem,
            ks,
            op=check.op,
            confidence=float(check.confidence or 0.95),
            at=check.range,
            problems_total=total,
            left_label=f"{check.left.metric} using {left.strategy}",
            right_label=f"{check.right.metric} using {right.strategy}",
        )
    assert isinstance(check, Threshold)
    budget = check.budget
    found = curve(state.pool, check.measure, [int(budget.value)] if budget is not None else [])
    return check_adaptive_threshold(
        found.per_problem,
        found.ks,
        op=check.op,
        value=check.value,
        confidence=float(check.confidence or 0.95),
        budget_n=None if budget is None else (budget.op, budget.value),
        problems_total=total,
        metric=check.measure.metric,
        strategy=found.strategy,
    )


def _matched_cost(
    state: AdaptivePool, key: ItemKey, check: Comparison, left: Any, right: Any
) -> Any:
    """A comparison at matched tokens or FLOPs: the first round's problems fix each curve's
    costs (nothing is decided on them), later rounds decide on the problems after them."""
    from pytest_tts.gates.adaptive import check_adaptive_matched_cost

    if key not in state.matched:
        lc, rc = left.cost(check.unit), right.cost(check.unit)
        if lc is None or rc is None:
            return None  # unknown costs: the fixed gate says so, on the whole pool
        state.matched[key] = (state.used, np.asarray(lc), np.asarray(rc))
        return None
    pilot, lc, rc = state.matched[key]
    return check_adaptive_matched_cost(
        left.per_problem,
        lc,
        right.per_problem,
        rc,
        pilot=pilot,
        op=check.op,
        confidence=float(check.confidence or 0.95),
        unit=check.unit,
        at=check.range,
        problems_total=len(state.problems),
        left_label=f"{check.left.metric} using {left.strategy}",
        right_label=f"{check.right.metric} using {right.strategy}",
    )


def _regression(
    state: AdaptivePool,
    spec: SpecDef,
    expectation: Expectation,
    check: NoRegression,
    curve: CurveOf,
    baseline: Callable[[SpecDef, Expectation, PoolState], Any] | None,
) -> Any:
    """The adaptive regression check against the stored baseline, on the problems seen that
    the baseline has, at the budget points both have (None without a usable baseline)."""
    from pytest_tts.errors import TTSError
    from pytest_tts.gates.adaptive import check_adaptive_regression

    if baseline is None:
        return None
    try:
        entry = baseline(spec, expectation, state.pool)
    except TTSError:
        return None  # the fixed gate reports it, on the whole pool
    found = curve(state.pool, check.measure, [])
    ks = [int(k) for k in found.ks]
    stored = [int(k) for k in entry.ks]
    budget = check.budget

    def within(k: int) -> bool:
        if budget is None:
            return True
        if budget.op == "=":
            return k == budget.value
        return k < budget.value if budget.op == "<" else k <= budget.value

    common = [k for k in ks if k in stored and within(k)]
    rows = [i for i, pid in enumerate(found.problem_ids) if pid in entry.values]
    if not common or not rows:
        return None
    current = np.asarray(found.per_problem)[np.ix_(rows, [ks.index(k) for k in common])]
    base = np.array(
        [[entry.values[found.problem_ids[i]][stored.index(k)] for k in common] for i in rows]
    )
    return check_adaptive_regression(
        current,
        base,
        common,
        tolerance=check.tolerance,
        confidence=check.confidence,
        problems_total=len(state.problems),
        metric=check.measure.metric,
        strategy=found.strategy,
    )


def _keyed(pools: Sequence[PoolState]) -> list[tuple[Any, PoolState]]:
    from pytest_tts.run.plan import pool_key

    return [(pool_key(p.spec, p.model), p) for p in pools]


def _paired_whole(
    pools: Sequence[PoolState],
    by_pool: dict[Any, list[tuple[SpecDef, Expectation]]],
    keys: dict[int, Any],
    why_whole: dict[Any, str],
) -> dict[Any, str]:
    """Pools that must be filled whole because a comparison of two models pairs them with
    a pool that is filled whole, or with one on other problems; with the reason."""
    from pytest_tts.run.plan import models_of, pool_key

    by_key = {keys[id(p)]: p for p in pools}
    out: dict[Any, str] = {}
    changed = True
    while changed:  # pairs can chain: repeat until nothing more goes whole
        changed = False
        for readers in by_pool.values():
            for spec, expectation in readers:
                linked = list(
                    dict.fromkeys(pool_key(spec, m) for m in models_of(spec, expectation))
                )
                if len(linked) < 2:
                    continue
                members = [by_key.get(k) for k in linked]
                if all(k in why_whole or k in out for k in linked):
                    continue
                if any(m is None for m in members):
                    why = "a comparison of two models whose pools are not both in this run"
                elif any(k in why_whole or k in out for k in linked):
                    why = "a comparison of two models pairs it with a pool read whole"
                elif len({tuple(p.id for p in m.problems) for m in members if m}) > 1:
                    why = "a comparison of two models on different problems reads both whole"
                else:
                    continue
                for k in linked:
                    if k not in why_whole and k not in out:
                        out[k] = why
                        changed = True
    return out
