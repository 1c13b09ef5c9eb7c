from __future__ import annotations

import ast
import random
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_tts.errors import VerifierError
from pytest_tts.types import Problem
from pytest_tts.verifiers import sandbox
from pytest_tts.verifiers.code import subset_tests, unit_tests, weak_tests

SQUARES_TEST = "def check(candidate):\n" + "".join(
    f"    assert candidate({i}) == {i * i}\n" for i in range(10)
)
SQUARES = Problem(
    "squares", "def square(x):\n", None, {"test": SQUARES_TEST, "entry_point": "square"}
)


def humaneval_problem(record: dict[str, Any]) -> Problem:
    meta = {"test": record["test"], "entry_point": record["entry_point"]}
    return Problem(record["task_id"], record["prompt"], None, meta)


def test_canonical_humaneval_solutions_pass_and_wrong_ones_fail(
    humaneval: dict[str, dict[str, Any]], clean_machine: None
) -> None:
    records = list(humaneval.values())[:20]
    problems = [humaneval_problem(r) for r in records]
    verifier = unit_tests(timeout=30)
    right = verifier.verify(
        [(p, r["canonical_solution"]) for p, r in zip(problems, records, strict=True)]
    )
    assert [v.detail for v in right] == ["passed"] * 20
    assert all(v.accepted and v.score == 1.0 and v.answer is None for v in right)
    # Each problem's solution judged against the next problem's tests: wrong everywhere.
    shifted = [records[(i + 1) % 20]["canonical_solution"] for i in range(20)]
    wrong = verifier.verify(list(zip(problems, shifted, strict=True)))
    assert not any(v.accepted for v in wrong), [v.detail for v in wrong]
    assert {v.detail.split(":")[0] for v in wrong} <= {"assertion failed", "error"}


def kept_inputs(test: str) -> list[int]:
    (check,) = (n for n in ast.parse(test).body if isinstance(n, ast.FunctionDef))
    return [
        stmt.test.left.args[0].value  # type: ignore[attr-defined]
        for stmt in check.body
        if isinstance(stmt, ast.Assert)
    ]


def test_subset_keeps_a_seeded_fraction_of_the_assertions() -> None:
    kept = kept_inputs(subset_tests(SQUARES_TEST, 0.3, random.Random(1)))
    assert len(kept) == 3
    assert kept == sorted(kept)
    assert kept == kept_inputs(subset_tests(SQUARES_TEST, 0.3, random.Random(1)))
    assert len(kept_inputs(subset_tests(SQUARES_TEST, 0.01, random.Random(1)))) == 1
    assert len(kept_inputs(subset_tests(SQUARES_TEST, 1.0, random.Random(1)))) == 10
    setup = "def check(candidate):\n    table = {1: 1}\n    for k, v in table.items():\n"
    setup += "        assert candidate(k) == v\n    assert candidate(2) == 4\n"
    subset = subset_tests(setup, 0.5, random.Random(0))
    assert "table = {1: 1}" in subset
    assert subset.count("assert") == 1
    assert subset_tests("x = 1\n", 0.5, random.Random(0)) == "x = 1\n"


def test_subset_chooses_uniformly() -> None:
    # Every 3-subset of 10 assertions is equally likely: each assertion is kept 3/10 of the time.
    counts = [0] * 10
    trials = 3000
    for seed in range(trials):
        for i in kept_inputs(subset_tests(SQUARES_TEST, 0.3, random.Random(seed))):
            counts[i] += 1
    assert all(abs(c / trials - 0.3) < 0.04 for c in counts), counts


def test_weak_tests_accept_what_unit_tests_reject(clean_machine: None) -> None:
    weak, full = weak_tests(fraction=0.3, seed=7), unit_tests()
    kept = kept_inputs(weak.tests_for(SQUARES) or "")
    assert len(kept) == 3
    cheat = f"    return x * x if x in {kept!r} else -1\n"
    honest = "    return x * x\n"
    (weak_cheat, weak_honest) = weak.verify([(SQUARES, cheat), (SQUARES, honest)])
    (full_cheat, full_honest) = full.verify([(SQUARES, cheat), (SQUARES, honest)])
    assert (weak_cheat.accepted, full_cheat.accepted) == (True, False)
    assert (weak_honest.accepted, full_honest.accepted) == (True, True)
    assert weak_tests(fraction=0.3, seed=8).tests_for(SQUARES) != weak.tests_for(SQUARES)


def test_identities() -> None:
    assert unit_tests().identity() == (
        "unit_tests@1(max_processes=32, memory_mb=1024, output_kb=1024, timeout=10)"
    )
    assert unit_tests(workers=1).identity() == unit_tests(workers=2).identity()
    assert unit_tests(timeout=5).identity() != unit_tests().identity()
    assert weak_tests().identity() == (
        "weak_tests@1(fraction=0.3, max_processes=32, memory_mb=1024, output_kb=1024, "
        "seed=0, timeout=10)"
    )
    assert weak_tests(seed=1).identity() != weak_tests().identity()
    with pytest.raises(VerifierError, match=r"fraction must be in \(0, 1\]"):
        weak_tests(fraction=0)


def test_problems_without_tests_are_an_error() -> None:
    bare = Problem("bare", "def f():\n", None, {"test": "def check(c): pass"})
    with pytest.raises(VerifierError, match="lacks entry_point"):
        unit_tests().verify([(bare, "    return 1\n")])


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    sandbox.bwrap_path.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    yield
    sandbox.bwrap_path.cache_clear()


def test_missing_bubblewrap_is_a_clear_error(no_bwrap: None) -> None:
    with pytest.raises(VerifierError, match="apt-get install -y bubblewrap"):
        unit_tests().verify([(SQUARES, "    return x * x\n")])


def test_program_output_is_captured(clean_machine: None) -> None:
    runner = sandbox.Sandbox(sandbox.Limits(timeout_s=30))
    program = textwrap.dedent(
        """
        import sys
        print("to stdout")
        print("to stderr", file=sys.stderr)
        """
    )
    (outcome,) = runner.run([sandbox.Job(program)])
    assert outcome.passed
    assert "to stdout" in outcome.output
    assert "to stderr" in outcome.output


def test_code_prompt_replaces_a_templated_prompt(clean_machine: None) -> None:
    chat = Problem(
        "chat/square",
        "<|user|>Complete the function.<|assistant|>def square(x):\n",
        None,
        {**SQUARES.meta, "code_prompt": "def square(x):\n"},
    )
    (with_code_prompt,) = unit_tests().verify([(chat, "    return x * x\n")])
    assert with_code_prompt.accepted, with_code_prompt.detail
    templated = Problem(chat.id, chat.prompt, None, dict(SQUARES.meta))
    (without,) = unit_tests().verify([(templated, "    return x * x\n")])
    assert (without.accepted, without.detail.split(":")[0]) == (False, "syntax error")
