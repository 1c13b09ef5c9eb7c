"""step_check: per-step verdicts of addition completions, full and partial."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tts.errors import VerifierError
from pytest_tts.registry import Registry
from pytest_tts.tasks.arith import ArithProblem, format_prompt
from pytest_tts.types import Problem
from pytest_tts.verifiers.steps import question_of, step_check

PROBLEM = Problem("p", format_prompt("347+285"), "632")
RIGHT = "7+5=12|4+8+1=13|3+2+1=6|=632"


def test_a_correct_solution_is_accepted_with_every_step_right() -> None:
    v = step_check().verify([(PROBLEM, RIGHT)])[0]
    assert v.accepted
    assert v.step_scores == (1.0, 1.0, 1.0, 1.0)
    assert v.score == 1.0
    assert v.answer == "632"


def test_a_wrong_carry_is_located_and_scored_as_a_fraction() -> None:
    # the second column forgets the carry: step 2 is wrong, step 3 is right by reference
    v = step_check().verify([(PROBLEM, "7+5=12|4+8=12|3+2+1=6|=622")])[0]
    assert not v.accepted
    assert v.step_scores == (1.0, 0.0, 1.0, 0.0)
    assert v.score == 0.5
    assert v.answer == "622"
    assert "2, 4" in v.detail


def test_right_answer_through_a_wrong_step_is_not_accepted() -> None:
    v = step_check().verify([(PROBLEM, "7+5=12|4+8+1=14|3+2+1=6|=632")])[0]
    assert not v.accepted
    assert v.answer == "632"
    assert v.step_scores == (1.0, 0.0, 1.0, 1.0)


@pytest.mark.parametrize(
    ("prefix", "scores"),
    [
        ("7+5=12|", (1.0,)),
        ("7+5=12|4+8+1=13|", (1.0, 1.0)),
        ("7+5=12|4+8+1=13", (1.0, 1.0)),
        ("7+5=13|", (0.0,)),
        ("7+5=12|4+8=12|", (1.0, 0.0)),
    ],
)
def test_partial_prefixes_get_scores_for_the_steps_they_have(
    prefix: str, scores: tuple[float, ...]
) -> None:
    v = step_check().verify([(PROBLEM, prefix)])[0]
    assert not v.accepted
    assert v.step_scores == scores
    assert v.answer is None


def test_missing_final_answer_and_extra_segments_are_rejected() -> None:
    assert not step_check().verify([(PROBLEM, "7+5=12|4+8+1=13|3+2+1=6")])[0].accepted
    extra = step_check().verify([(PROBLEM, RIGHT + "|=632")])[0]
    assert not extra.accepted
    assert extra.step_scores == (1.0, 1.0, 1.0, 1.0, 0.0)
    empty = step_check().verify([(PROBLEM, "")])[0]
    assert (empty.accepted, empty.score, empty.step_scores) == (False, 0.0, ())


def test_question_from_meta_prompt_or_any_template() -> None:
    assert question_of(Problem("a", "whatever", "3", {"question": "1+2"})) == "1+2"
    assert question_of(Problem("b", "Q:12+30\nA:", None)) == "12+30"
    assert question_of(Problem("c", "Add these: 4 + 5 =", None)) == "4+5"
    with pytest.raises(VerifierError, match="needs an addition question"):
        question_of(Problem("d", "no question here", None))
    with pytest.raises(VerifierError, match="reference answer '7' is not 1\\+2 = 3"):
        question_of(Problem("e", "Q:1+2\nA:", "7"))


@given(st.integers(0, 999), st.integers(0, 999))
def test_the_reference_solution_is_always_accepted(a: int, b: int) -> None:
    problem = ArithProblem(a, b)
    item = Problem("x", problem.prompt, problem.answer)
    v = step_check().verify([(item, problem.solution)])[0]
    assert v.accepted
    assert v.score == 1.0
    # every prefix of whole steps scores all right and is not accepted
    segments = problem.solution.split("|")
    for i in range(1, len(segments)):
        partial = step_check().verify([(item, "|".join(segments[:i]) + "|")])[0]
        assert partial.step_scores == (1.0,) * i
        assert not partial.accepted


def test_identity_is_stable_and_registered() -> None:
    assert step_check().identity() == step_check().identity() == "step_check@1()"
    registry = Registry()
    from pytest_tts import builtins

    builtins.pytest_tts_register(registry)
    assert registry.get("verifier", "step_check")().identity() == "step_check@1()"
