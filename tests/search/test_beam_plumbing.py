"""Beam search plumbing with a scripted backend (the real engine is in test_beam_engine.py).

The backend writes the next step of the reference solution, right or wrong by the sample's
index, so every outcome below is known in advance.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pytest_tts.backends.base import GenerationRequest
from pytest_tts.errors import EstimationError, MissingSamplesError
from pytest_tts.search import SearchContext
from pytest_tts.search.beam import beam_search
from pytest_tts.search.loop import widths_up_to
from pytest_tts.search.paths import aggregate, path_score
from pytest_tts.spec import PluginCall, Sampling, VerifierRef
from pytest_tts.store import SampleStore
from pytest_tts.tasks.arith import format_prompt, parse_question, reference_steps
from pytest_tts.types import Problem, Verdict
from pytest_tts.verifiers.exact import exact_match
from pytest_tts.verifiers.steps import step_check
from tests.fakes import ScriptedBackend

_PREFIX = re.compile(r"^Q:(\d+\+\d+)\nA:(.*)$", re.DOTALL)


def StepBackend(right: Callable[[int], bool]) -> ScriptedBackend:
    """Continues a prefix with its next reference step; ``right(index)`` says if it is right."""

    def next_step(request: GenerationRequest, index: int) -> str:
        assert request.sampling.extra["stop"] == ["|"]
        match = _PREFIX.match(request.prompt)
        assert match is not None, request.prompt
        question, done = match.group(1), match.group(2)
        segments = [*reference_steps(question), f"={sum(parse_question(question))}"]
        position = done.count("|")
        segment = segments[position]
        if not right(index):
            segment = segment[:-1] + str((int(segment[-1]) + 1) % 10)
        return segment + ("|" if position < len(segments) - 1 else "")

    return ScriptedBackend(next_step)


QUESTIONS = ["347+285", "12+9", "905+95"]
PROBLEMS = tuple(Problem(q, format_prompt(q), str(sum(parse_question(q)))) for q in QUESTIONS)


def context(store: SampleStore, backend: Any, *, offline: bool = False) -> SearchContext:
    return SearchContext(
        store=store,
        backend=backend,
        problems=PROBLEMS,
        sampling=Sampling(n=4, temperature=1.0, max_tokens=40, seed=3),
        oracle=exact_match(extract="last_number"),
        verifiers={"steps": step_check()},
        flops_fn=lambda prompt, completion, k: 10.0 * prompt + completion,
        offline=offline,
        ks=(1, 2, 3, 4),
        label="arith × sums",
    )


def test_one_expansion_keeps_the_only_draw_and_two_find_the_right_step(
    store: SampleStore,
) -> None:
    backend = StepBackend(right=lambda i: i % 2 == 1)  # even draws are wrong
    ref = VerifierRef("steps", PluginCall("verifier", "step_check", text="step_check()"))
    greedy = beam_search(prm=ref, width=1, expansions=1).search_curve(context(store, backend))
    assert greedy.per_problem.tolist() == [[0.0]] * 3
    searched = beam_search(prm=ref, width=2, expansions=2).search_curve(context(store, backend))
    assert searched.ks.tolist() == [1, 2]
    assert searched.per_problem.tolist() == [[1.0, 1.0]] * 3
    assert searched.cost_samples.tolist() == [2.0, 4.0]


def test_one_engine_call_per_round_and_a_rerun_generates_nothing(store: SampleStore) -> None:
    backend = StepBackend(right=lambda i: i % 3 != 0)
    strategy = beam_search(prm="steps", width=4, expansions=2)
    first = strategy.search_curve(context(store, backend))
    # 3-digit problems take 4 rounds (3 columns + the answer): one batched call each
    assert len(backend.calls) == 4
    assert strategy.stats.generated > 0
    again = beam_search(prm="steps", width=4, expansions=2)
    second = again.search_curve(context(store, backend))
    assert len(backend.calls) == 4
    assert again.stats.generated == 0
    assert again.stats.reused == strategy.stats.generated + strategy.stats.reused
    np.testing.assert_array_equal(first.per_problem, second.per_problem)
    np.testing.assert_array_equal(first.cost_tokens, second.cost_tokens)
    offline = beam_search(prm="steps", width=4, expansions=2)
    third = offline.search_curve(context(store, backend, offline=True))
    np.testing.assert_array_equal(first.per_problem, third.per_problem)


def test_costs_are_real_token_counts_with_the_prefix_once_per_request(
    store: SampleStore,
) -> None:
    backend = StepBackend(right=lambda i: True)
    strategy = beam_search(prm="steps", width=1, expansions=3)
    curve = strategy.search_curve(context(store, backend))
    expected_tokens = []
    expected_flops = []
    expected_cached = []
    for problem in PROBLEMS:
        solution = [*reference_steps(problem.id), f"={problem.answer}"]
        tokens = flops = cached = 0.0
        done = ""
        for i, segment in enumerate(solution):
            text = segment + ("|" if i < len(solution) - 1 else "")
            prompt = len(problem.prompt + done) + 1
            tokens += prompt + 3 * len(text)
            flops += 10.0 * prompt + 3 * len(text)
            # an ideal prefix cache prefills only the first round's prompt
            cached += (10.0 * prompt if i == 0 else 0.0) + 3 * len(text)
            done += text
        expected_tokens.append(tokens)
        expected_flops.append(flops)
        expected_cached.append(cached)
    assert curve.per_problem.tolist() == [[1.0]] * 3
    assert curve.cost_tokens.tolist() == pytest.approx([np.mean(expected_tokens)])
    assert curve.cost_flops.tolist() == pytest.approx([np.mean(expected_flops)])
    assert [row[0].flops_cached for row in strategy.costs] == pytest.approx(expected_cached)


def test_wider_beams_reuse_the_narrower_beams_draws(store: SampleStore) -> None:
    backend = StepBackend(right=lambda i: True)
    beam_search(prm="steps", width=4, expansions=2).search_curve(context(store, backend))
    first_round = backend.calls[0]
    # widths 1, 2, 4 share the prompt: one request per problem, for the widest need (4 x 2)
    assert sorted((r.prompt, r.n) for r in first_round) == sorted((p.prompt, 8) for p in PROBLEMS)


def test_offline_with_an_empty_store_fails_clearly(store: SampleStore) -> None:
    with pytest.raises(MissingSamplesError, match="--tts-offline"):
        beam_search(prm="steps", width=1, expansions=1).search_curve(
            context(store, StepBackend(lambda i: True), offline=True)
        )


def test_arguments_and_names_are_checked(store: SampleStore) -> None:
    with pytest.raises(EstimationError, match="width must be a positive integer, got 0"):
        beam_search(prm="steps", width=0)
    with pytest.raises(EstimationError, match="aggregate must be one of"):
        beam_search(prm="steps", aggregate="max")
    with pytest.raises(EstimationError, match="'units' is not among the spec's verifiers"):
        beam_search(prm="units").search_curve(context(store, StepBackend(lambda i: True)))


def test_widths_and_aggregates() -> None:
    assert widths_up_to(1) == [1]
    assert widths_up_to(4) == [1, 2, 4]
    assert widths_up_to(6) == [1, 2, 4, 6]
    assert aggregate((1.0, 0.5, 0.8), "min") == 0.5
    assert aggregate((1.0, 0.5, 0.8), "product") == pytest.approx(0.4)
    assert aggregate((1.0, 0.5, 0.8), "last") == 0.8
    assert aggregate((), "min") == 0.0


def test_an_outcome_verifier_scores_the_whole_path() -> None:
    # a reward model or judge gives no step scores: its score is the path's, for any aggregate
    reward = Verdict(False, 0.73, "12")
    assert [path_score(reward, how) for how in ("min", "product", "mean", "last")] == [0.73] * 4
    steps = Verdict(False, 0.5, None, (1.0, 0.0))
    assert path_score(steps, "min") == 0.0
    assert path_score(steps, "mean") == 0.5


def test_particle_filter_survives_on_right_steps_and_is_cached(store: SampleStore) -> None:
    from pytest_tts.search.particles import particle_filter

    backend = StepBackend(right=lambda i: i % 2 == 1)  # each prefix's first draw is wrong
    strategy = particle_filter(prm="steps", particles=8)
    curve = strategy.search_curve(context(store, backend))
    assert curve.ks.tolist() == [1, 2, 4, 8]
    assert curve.cost_samples.tolist() == [1.0, 2.0, 4.0, 8.0]
    # one particle only ever sees a prefix's first (wrong) draw
    assert curve.per_problem[:, 0].tolist() == [0.0] * 3
    # eight particles: about half of each round's draws are right, and they outweigh the
    # wrong ones 55 to 1 (exp(1 / 0.25)); losing all of them has odds below 1e-10
    assert curve.per_problem[:, -1].tolist() == [1.0] * 3
    calls = len(backend.calls)
    again = particle_filter(prm="steps", particles=8)
    rerun = again.search_curve(context(store, backend))
    assert len(backend.calls) == calls
    assert again.stats.generated == 0
    np.testing.assert_array_equal(rerun.per_problem, curve.per_problem)


def test_lookahead_rolls_candidates_out_and_pays_for_it(store: SampleStore) -> None:
    from pytest_tts.search.beam import lookahead_search

    plain = beam_search(prm="steps", width=1, expansions=2)
    base = plain.search_curve(context(store, StepBackend(right=lambda i: True)))
    backend = StepBackend(right=lambda i: True)
    strategy = lookahead_search(prm="steps", width=1, expansions=2, lookahead=1)
    curve = strategy.search_curve(context(store, backend))
    assert strategy.text.startswith("lookahead_search(")
    assert curve.per_problem.tolist() == [[1.0]] * 3
    # rollouts of the last column's candidates reach the answer: 1 + 1 calls per round
    # while a candidate is open, and the extra tokens show in the cost
    assert strategy.stats.rounds > plain.stats.rounds
    assert curve.cost_tokens[0] > base.cost_tokens[0]
    again = lookahead_search(prm="steps", width=1, expansions=2, lookahead=1)
    again.search_curve(context(store, backend))
    assert again.stats.generated == 0


def test_lookahead_with_wrong_rollouts_cannot_tell_candidates_apart(store: SampleStore) -> None:
    from pytest_tts.search.beam import lookahead_search

    # every prefix's first draw (the rollout's) is wrong, so every rollout scores 0 and the
    # ranking falls back to draw order: the first, wrong, candidate is kept
    backend = StepBackend(right=lambda i: i % 2 == 1)
    strategy = lookahead_search(prm="steps", width=1, expansions=2, lookahead=1)
    curve = strategy.search_curve(context(store, backend))
    assert curve.per_problem.tolist() == [[0.0]] * 3
    with pytest.raises(EstimationError, match="lookahead must be a non-negative integer"):
        lookahead_search(prm="steps", lookahead=-1)


def test_cached_prefix_cost_counts_the_first_prompt_only(store: SampleStore) -> None:
    backend = StepBackend(right=lambda i: i % 3 != 0)
    full = beam_search(prm="steps", width=2, expansions=2)
    full_curve = full.search_curve(context(store, backend))
    cached = beam_search(prm="steps", width=2, expansions=2, prefix_cost="cached")
    cached_curve = cached.search_curve(context(store, backend))
    assert cached.text.endswith('prefix_cost = "cached")')
    np.testing.assert_array_equal(cached_curve.per_problem, full_curve.per_problem)
    assert np.all(cached_curve.cost_flops < full_curve.cost_flops)
    assert np.all(cached_curve.cost_tokens < full_curve.cost_tokens)
    mean_cached = [np.mean([row[i].flops_cached for row in full.costs]) for i in range(2)]
    assert cached_curve.cost_flops.tolist() == pytest.approx(mean_cached)
    with pytest.raises(EstimationError, match="prefix_cost must be one of 'full', 'cached'"):
        beam_search(prm="steps", prefix_cost="none")
