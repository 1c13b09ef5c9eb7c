"""Search verdicts through the store's verdict cache, and a model-based verifier's FLOPs.

A real ``step_check`` and ``exact_match`` wrapped to count their calls, a real SQLite store,
and the scripted backend of test_beam_plumbing.py (the real engine: test_beam_engine.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_beam_plumbing import PROBLEMS, StepBackend

from pytest_tts.search import SearchContext
from pytest_tts.search.beam import beam_search, lookahead_search
from pytest_tts.search.particles import particle_filter
from pytest_tts.search.sampling import StepSampler
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore
from pytest_tts.tasks.arith import reference_steps
from pytest_tts.verifiers.cache import verdict_key
from pytest_tts.verifiers.exact import exact_match
from pytest_tts.verifiers.steps import step_check


def generation_flops(prompt: float, completion: float, k: int) -> float:
    return 10.0 * prompt + completion


def verifier_flops(text: str) -> float:
    """A stand-in for a reward model's cost: a fixed part and a part per character."""
    return 1000.0 + 7.0 * len(text)


def context(store: SampleStore, backend: Any, prm: Any, oracle: Any) -> SearchContext:
    return SearchContext(
        store=store,
        backend=backend,
        problems=PROBLEMS,
        sampling=Sampling(n=4, temperature=1.0, max_tokens=40, seed=3),
        oracle=oracle,
        verifiers={"steps": prm},
        flops_fn=generation_flops,
        offline=False,
        ks=(1, 2, 3, 4),
        label="arith × sums",
    )


def strategies() -> list[Any]:
    return [
        beam_search(prm="steps", width=4, expansions=2),
        lookahead_search(prm="steps", width=2, expansions=2, lookahead=2),
        particle_filter(prm="steps", particles=4),
    ]


def test_a_warm_rerun_calls_no_verifier(store: SampleStore, counting: Any) -> None:
    backend = StepBackend(right=lambda i: i % 3 != 0)
    prm, oracle = counting(step_check()), counting(exact_match(extract="last_number"))
    first = [s.search_curve(context(store, backend, prm, oracle)) for s in strategies()]
    assert prm.calls > 0
    # at most one batch of final answers per strategy (fewer: one finds another's answers)
    assert 1 <= oracle.calls <= 3
    cold = (prm.calls, prm.items, oracle.calls)

    rerun = strategies()
    again = [s.search_curve(context(store, backend, prm, oracle)) for s in rerun]
    assert (prm.calls, prm.items, oracle.calls) == cold
    for strategy in rerun:
        assert strategy.stats.generated == 0
        assert strategy.stats.verified == 0
        assert strategy.stats.verdicts_cached == strategy.stats.verdicts > 0
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.per_problem, b.per_problem)
        np.testing.assert_array_equal(a.cost_flops, b.cost_flops)

    # a fresh verifier instance with the same identity reads the same cache
    fresh = counting(step_check())
    beam_search(prm="steps", width=4, expansions=2).search_curve(
        context(store, backend, fresh, oracle)
    )
    assert fresh.calls == 0


def test_each_path_is_verified_once_and_stored_under_its_draw(
    store: SampleStore, counting: Any
) -> None:
    backend = StepBackend(right=lambda i: i % 2 == 1)
    prm, oracle = counting(step_check()), counting(exact_match(extract="last_number"))
    ctx = context(store, backend, prm, oracle)
    strategy = particle_filter(prm="steps", particles=8)
    strategy.search_curve(ctx)
    # runs at 1, 2, 4 and 8 particles share draws, and resampled particles share paths:
    # each distinct path reaches the verifier once, in one call per round
    assert prm.items + oracle.items == strategy.stats.verified
    assert prm.items == strategy.stats.generated
    assert prm.calls == strategy.stats.rounds

    # the first step's verdict sits in the step pool under (prompt, sample index)
    pool = StepSampler(ctx, "|", 12).pool()
    problem = PROBLEMS[0]
    key = verdict_key(prm, problem)
    cached = store.get_verdicts(pool, key, [(problem.prompt, 0), (problem.prompt, 1)])
    first_step = reference_steps(problem.id)[0]
    wrong = first_step[:-1] + str((int(first_step[-1]) + 1) % 10)
    assert cached[(problem.prompt, 0)] == step_check().verify([(problem, wrong + "|")])[0]
    assert cached[(problem.prompt, 1)] == step_check().verify([(problem, first_step + "|")])[0]
    assert cached[(problem.prompt, 1)].step_scores == (1.0,)


def brute_force(problem_id: str, answer: str, draws: int) -> tuple[float, float]:
    """Generation and verifier FLOPs of a search whose every draw is the reference step and
    that scores ``draws`` distinct draws per round (all of the same path)."""
    solution = [*reference_steps(problem_id), f"={answer}"]
    prompt_len = len(next(p.prompt for p in PROBLEMS if p.id == problem_id))
    generation = scoring = 0.0
    done = ""
    for i, segment in enumerate(solution):
        text = segment + ("|" if i < len(solution) - 1 else "")
        generation += generation_flops(prompt_len + len(done) + 1, draws * len(text), draws)
        done += text
        scoring += draws * verifier_flops(done)
    return generation, scoring


def test_a_model_based_verifiers_flops_are_the_searchs_cost(
    store: SampleStore, counting: Any
) -> None:
    backend = StepBackend(right=lambda i: True)
    prm = counting(step_check(), flops=verifier_flops)
    oracle = counting(exact_match(extract="last_number"), flops=lambda text: 1e12)
    beam = beam_search(prm="steps", width=1, expansions=3)
    curve = beam.search_curve(context(store, backend, prm, oracle))
    expected = [brute_force(p.id, str(p.answer), 3) for p in PROBLEMS]
    assert [row[0].verifier_flops for row in beam.costs] == pytest.approx([s for _, s in expected])
    # the oracle's FLOPs (1e12 a verdict) judge the search and are not its cost
    assert curve.cost_flops.tolist() == pytest.approx([np.mean([g + s for g, s in expected])])
    cached_prefix = [row[0].flops_cached - row[0].verifier_flops for row in beam.costs]
    assert all(c < g for c, (g, _) in zip(cached_prefix, expected, strict=True))

    # a warm re-run computes no verdict, and costs the same: the cost is the method's
    calls = prm.calls
    again = beam_search(prm="steps", width=1, expansions=3)
    rerun = again.search_curve(context(store, backend, prm, oracle))
    assert prm.calls == calls
    np.testing.assert_array_equal(rerun.cost_flops, curve.cost_flops)
    assert [row[0].flops_cached for row in again.costs] == [
        row[0].flops_cached for row in beam.costs
    ]

    particles = particle_filter(prm="steps", particles=4)
    filtered = particles.search_curve(context(store, backend, prm, oracle))
    for j, k in enumerate(filtered.ks.tolist()):
        sums = [brute_force(p.id, str(p.answer), k) for p in PROBLEMS]
        assert [row[j].verifier_flops for row in particles.costs] == pytest.approx(
            [s for _, s in sums]
        )
        assert filtered.cost_flops[j] == pytest.approx(np.mean([g + s for g, s in sums]))


def test_a_verifier_that_loses_verdicts_fails_clearly(store: SampleStore) -> None:
    from pytest_tts.errors import VerifierError

    class Lossy:
        def identity(self) -> str:
            return "lossy@1()"

        def verify(self, items: Any) -> list[Any]:
            return step_check().verify(items)[:-1]

    backend = StepBackend(right=lambda i: True)
    ctx = context(store, backend, Lossy(), exact_match(extract="last_number"))
    with pytest.raises(VerifierError, match=r"verifier steps returned 5 verdicts for 6 paths"):
        beam_search(prm="steps", width=1, expansions=2).search_curve(ctx)
