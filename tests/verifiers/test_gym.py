"""gym_score: reasoning-gym's own scorer as an oracle, correct only at 1.0."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_tts.verifiers.gym import final_line, gym_score

pytest.importorskip("reasoning_gym")


@pytest.fixture(scope="module")
def problems() -> list[Any]:
    from pytest_tts.sources.reasoning_gym import reasoning_gym

    source = reasoning_gym("basic_arithmetic", size=5, seed=0, min_terms=2, max_terms=2)
    return source.load()


def test_the_reference_answer_scores_one_and_a_wrong_one_zero(problems: list[Any]) -> None:
    verifier = gym_score("last_number")
    items = [(p, f"Let me think.\nThe answer is {p.answer}") for p in problems]
    items += [(p, f"Answer: {int(p.answer) + 1}") for p in problems]
    verdicts = verifier.verify(items)
    assert [v.accepted for v in verdicts] == [True] * len(problems) + [False] * len(problems)
    assert all(v.score == 1.0 for v in verdicts[: len(problems)])
    assert verdicts[0].answer == str(problems[0].answer)


def test_without_an_extractor_the_final_answer_line_is_scored(problems: list[Any]) -> None:
    verdict = gym_score().verify([(problems[0], f"work\nAnswer: {problems[0].answer}.")])[0]
    assert verdict.accepted
    assert gym_score().verify([(problems[0], "")])[0].detail == "no answer extracted"


def test_final_line() -> None:
    assert final_line("a\nthe answer is 42.") == "42"
    assert final_line("first\n\n last line \n") == "last line"
    assert final_line("   ") is None


def test_identity_names_the_extractor() -> None:
    assert gym_score().identity() == 'gym_score@1(extract="final_line")'
    assert gym_score("last_number").identity() == "gym_score@1(extract=last_number)"
