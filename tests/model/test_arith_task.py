"""The arithmetic task: reference solutions, the step checker and answer extraction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tts.tasks.arith import (
    ArithProblem,
    check_steps,
    extract_answer,
    format_prompt,
    generate_problems,
    is_correct,
    parse_question,
    reference_steps,
    split_steps,
)

ROOT = Path(__file__).resolve().parents[2]
operands = st.integers(min_value=0, max_value=99_999)


def test_worked_example() -> None:
    problem = ArithProblem(347, 285)
    assert problem.prompt == "Q:347+285\nA:"
    assert problem.solution == "7+5=12|4+8+1=13|3+2+1=6|=632"
    assert check_steps(problem.question, problem.solution) == [True, True, True, True]


def test_shorter_operand_is_padded_with_zero_and_final_carry_goes_to_answer() -> None:
    assert ArithProblem(47, 985).solution == "7+5=12|4+8+1=13|0+9+1=10|=1032"


@given(operands, operands)
def test_reference_solution_checks_and_states_the_sum(a: int, b: int) -> None:
    problem = ArithProblem(a, b)
    verdicts = check_steps(problem.question, problem.solution)
    assert verdicts == [True] * (len(reference_steps(problem.question)) + 1)
    assert extract_answer(problem.solution) == str(a + b)
    assert is_correct(problem.question, problem.solution)


@given(operands, operands, st.data())
def test_corrupting_one_step_flags_exactly_that_step(a: int, b: int, data: st.DataObject) -> None:
    problem = ArithProblem(a, b)
    segments = split_steps(problem.solution)
    i = data.draw(st.integers(min_value=0, max_value=len(segments) - 1))
    lhs, _, rhs = segments[i].rpartition("=")
    segments[i] = f"{lhs}={int(rhs) + data.draw(st.sampled_from([-1, 1, 10]))}"
    verdicts = check_steps(problem.question, "|".join(segments))
    assert verdicts == [j != i for j in range(len(segments))]


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("7+5=12|4+8=12|3+2=5|=522", [True, False, False, False]),  # dropped carry
        ("7+5=12|4+8+1=13|3+2+1=6|=632|=632", [True, True, True, True, False]),  # extra segment
        ("7+5=12|4+8+1=13", [True, True]),  # partial: step-wise search sees prefixes
        ("5+7=12|4+8+1=13|3+2+1=6|=632", [False, True, True, True]),  # digits swapped
        ("", []),
    ],
)
def test_check_steps_on_flawed_completions(completion: str, expected: list[bool]) -> None:
    assert check_steps("347+285", completion) == expected


@pytest.mark.parametrize(
    ("completion", "answer"),
    [
        ("7+5=12|=632", "632"),
        ("7+5=12|=0632 ", "632"),
        ("7+5=12|4+8+1=13", None),
        ("632", None),
        ("", None),
    ],
)
def test_extract_answer(completion: str, answer: str | None) -> None:
    assert extract_answer(completion) == answer


def test_parse_question_rejects_other_shapes() -> None:
    assert parse_question(" 12 + 3 ") == (12, 3)
    with pytest.raises(ValueError, match="expected a question of the form 'a\\+b'"):
        parse_question("12-3")


def test_generated_problems_are_seeded_distinct_and_respect_exclusions() -> None:
    first = generate_problems(50, seed=7)
    assert first == generate_problems(50, seed=7)
    assert first != generate_problems(50, seed=8)
    assert len({p.question for p in first}) == 50
    excluded = {p.question for p in first[:10]}
    assert not excluded & {p.question for p in generate_problems(50, 7, exclude=excluded)}


def test_committed_test_set_is_what_the_script_generates() -> None:
    lines = (ROOT / "data" / "arith-test.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    problems = generate_problems(200, seed=20261122)
    assert [r["question"] for r in rows] == [p.question for p in problems]
    assert all(r["answer"] == str(sum(parse_question(r["question"]))) for r in rows)
    assert format_prompt(rows[0]["question"]) == f"Q:{rows[0]['question']}\nA:"
