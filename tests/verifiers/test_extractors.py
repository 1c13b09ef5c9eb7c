from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tts.errors import UnknownNameError, VerifierError
from pytest_tts.spec import PluginCall
from pytest_tts.tasks import arith
from pytest_tts.verifiers.extractors import (
    Extractor,
    boxed,
    full,
    gsm8k,
    last_number,
    regex,
    resolve_extractor,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7+5=12|4+8+1=13|3+2+1=6|=632", "632"),
        ("7+5=12,c1|4+8+1=13,c1|3+2+1=6|=632", "632"),
        ("The total is 1,000 dollars.", "1,000"),
        ("so x = -5", "-5"),
        ("10-3", "3"),
        ("(2)-3", "3"),
        ("pi is about 3.14", "3.14"),
        ("a half is .5", ".5"),
        ("three quarters: 3/4.", "3/4"),
        ("1,2345", "2345"),
        ("H2O and CO2", None),
        ("no digits here", None),
        ("", None),
    ],
)
def test_last_number(text: str, expected: str | None) -> None:
    assert last_number()(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so the answer is \boxed{\frac{1}{2}}.", r"\frac{1}{2}"),
        (r"\boxed{1} at first, finally \boxed{\{x\}^{2}}", r"\{x\}^{2}"),
        (r"\boxed{a{b{c}}d}", "a{b{c}}d"),
        (r"$\boxed 5$", "5"),
        (r"\fbox{7}", "7"),
        (r"\boxed{} empty", None),
        (r"\boxed{unbalanced", None),
        ("no box", None),
    ],
)
def test_boxed(text: str, expected: str | None) -> None:
    assert boxed()(text) == expected


def test_gsm8k_and_regex_and_full() -> None:
    assert gsm8k()("She pays 5 + 7 = 12.\n#### 1,200\n") == "1,200"
    assert gsm8k()("#### 3\nlater\n#### 4") == "4"
    assert gsm8k()("no marker 5") is None
    assert regex(r"answer: (\w+)")("answer: a, answer: b") == "b"
    assert regex(r"\d+")("1 22 333") == "333"
    assert regex(r"(a)(b)", group=2)("ab") == "b"
    assert regex(r"x(\d)?")("x") is None
    assert full()("  spaced out \n") == "spaced out"
    assert full()("   ") is None


def test_regex_rejects_bad_patterns_and_groups() -> None:
    with pytest.raises(VerifierError, match="valid regular expression"):
        regex("(unclosed")
    with pytest.raises(VerifierError, match="between 0 and 1"):
        regex("(a)", group=2)


def test_identities_name_the_arguments() -> None:
    assert last_number().identity() == "last_number"
    assert regex("a(b)").identity() == 'regex(group=1, pattern="a(b)")'
    assert regex("a(b)", group=1).identity() == regex("a(b)").identity()
    assert regex("a(b)", group=0).identity() != regex("a(b)").identity()


def test_resolve_accepts_names_calls_extractors_and_callables() -> None:
    assert resolve_extractor(None).name == "full"
    assert resolve_extractor("boxed")(r"\boxed{3}") == "3"
    call = PluginCall("extractor", "regex", kwargs={"pattern": "=(\\d+)$"}, text="regex(...)")
    resolved = resolve_extractor(call)
    assert resolved("1+1=2|=2") == "2"
    assert resolved.identity() == 'regex(group=1, pattern="=(\\\\d+)$")'
    mine = last_number()
    assert resolve_extractor(mine) is mine

    def first_word(text: str) -> str | None:
        return text.split()[0] if text.split() else None

    custom = resolve_extractor(first_word)
    assert isinstance(custom, Extractor)
    assert custom("hello world") == "hello"
    assert custom.identity().endswith("first_word")


def test_resolve_reports_unknown_names_with_suggestions() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'last_number'"):
        resolve_extractor("last_numbr")
    with pytest.raises(VerifierError, match="must name an extractor"):
        resolve_extractor(PluginCall("strategy", "majority_vote"))


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_last_number_reads_the_arithmetic_tasks_answer(a: int, b: int) -> None:
    solution = arith.ArithProblem(a, b).solution
    assert last_number()(solution) == arith.extract_answer(solution) == str(a + b)


def test_last_number_agrees_with_the_arithmetic_task_on_answered_completions() -> None:
    # Wrong steps and wrong answers too: whenever the task finds an answer, so does last_number.
    rng = random.Random(0)
    for _ in range(500):
        problem = arith.random_problem(rng)
        steps = arith.reference_steps(problem.question)
        if rng.random() < 0.5:
            steps[rng.randrange(len(steps))] = f"{rng.randrange(10)}+{rng.randrange(10)}=17"
        answer = str(int(problem.answer) + rng.choice([0, 0, 1, -10, 100]))
        completion = "|".join([*steps, "=" + answer])
        assert arith.extract_answer(completion) == answer
        assert last_number()(completion) == answer
