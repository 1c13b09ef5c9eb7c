"""The reasoning_gym source and its scorer (correct only at score 1.0)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from pytest_tts.errors import DatasetError
from pytest_tts.sources.reasoning_gym import is_correct, reasoning_gym, score
from pytest_tts.types import Problem

pytest.importorskip("reasoning_gym")


def test_seeded_problems_are_reproducible_and_score_their_own_answers() -> None:
    problems = reasoning_gym("basic_arithmetic", size=8, seed=3).load()
    again = reasoning_gym("basic_arithmetic", size=8, seed=3).load()
    other = reasoning_gym("basic_arithmetic", size=8, seed=4).load()
    assert problems == again
    assert [p.prompt for p in problems] != [p.prompt for p in other]
    assert [p.id for p in problems] == [f"basic_arithmetic-3-{i}" for i in range(8)]
    for p in problems:
        assert p.answer is not None
        assert score(p, p.answer) == 1.0
        assert is_correct(p, p.answer)
        assert score(p, None) == 0.0


def test_partial_credit_is_not_correct() -> None:
    (problem,) = reasoning_gym("basic_arithmetic", size=1, seed=1).load()
    assert problem.answer is not None
    partial = score(problem, problem.answer + "x")
    assert 0.0 < partial < 1.0
    assert not is_correct(problem, problem.answer + "x")


def test_configuration_reaches_the_generator() -> None:
    problems = reasoning_gym("basic_arithmetic", 10, 0, min_terms=2, max_terms=2).load()
    assert all(p.meta["config"] == {"min_terms": 2, "max_terms": 2} for p in problems)
    for p in problems:  # two terms: two numbers in each expression
        assert len(re.findall(r"\d+", p.prompt)) == 2, p.prompt
        assert score(p, p.answer) == 1.0


def test_prompt_template_limit_shuffle_and_hash() -> None:
    source = reasoning_gym("chain_sum", 20, 0, prompt="{question}\nAnswer:", limit=5, shuffle=2)
    problems = source.load()
    assert len(problems) == 5
    assert all(p.prompt.endswith("\nAnswer:") for p in problems)
    assert [p.id for p in problems] != [f"chain_sum-0-{i}" for i in range(5)]
    assert source.content_hash() != reasoning_gym("chain_sum", 20, 0, limit=5).content_hash()


def test_errors_name_what_was_expected() -> None:
    with pytest.raises(
        DatasetError, match="unknown dataset 'basic_arithmetc'; did you mean 'basic_arithmetic'"
    ):
        reasoning_gym("basic_arithmetc", 5, 0).load()
    with pytest.raises(DatasetError, match="size must be a non-negative integer, got -5"):
        reasoning_gym("basic_arithmetic", -5, 0)
    with pytest.raises(DatasetError, match="did not come from the reasoning_gym source"):
        score(Problem("x", "1+1"), "2")
    (problem,) = reasoning_gym("basic_arithmetic", 1, 0).load()
    tampered = dataclasses.replace(problem, meta={**problem.meta, "question": "other"})
    with pytest.raises(DatasetError, match="regenerated a different question"):
        score(tampered, "1")
