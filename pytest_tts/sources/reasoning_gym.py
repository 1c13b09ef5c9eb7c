"""Seeded problem generators from the ``reasoning-gym`` package, scored by its own scorers.

In a spec::

    dataset chains = reasoning_gym("chain_sum", size = 100, seed = 0, min_terms = 2, max_terms = 3)

``name`` is a reasoning-gym dataset name, ``size`` and ``seed`` go to ``create_dataset``, and any
further keyword arguments are that dataset's configuration. ``prompt`` is a template over
``question`` (and ``answer``); the reference answer is the generator's. ``meta`` records the
dataset, its configuration and the problem's index, so `score` can rebuild the exact entry and
call the dataset's own ``score_answer``. A problem counts as solved only at score 1.0
(`is_correct`): reasoning-gym gives partial credit for near misses, which an oracle must not.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pytest_tts.errors import DatasetError
from pytest_tts.sources.base import PathLike, Source, render
from pytest_tts.types import Problem


@functools.lru_cache(maxsize=16)
def _dataset(name: str, size: int, seed: int, config_json: str) -> Any:
    try:
        import reasoning_gym
    except ImportError as exc:
        msg = "reasoning_gym needs the reasoning-gym package: pip install reasoning-gym"
        raise DatasetError(msg) from exc
    from reasoning_gym.factory import DATASETS

    if name not in DATASETS:
        import difflib

        close = difflib.get_close_matches(name, list(DATASETS), n=3)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        msg = f"reasoning_gym: unknown dataset {name!r}{hint} ({len(DATASETS)} are registered)"
        raise DatasetError(msg)
    try:
        return reasoning_gym.create_dataset(name, size=size, seed=seed, **json.loads(config_json))
    except (TypeError, ValueError, AssertionError) as exc:
        msg = f"reasoning_gym: cannot create {name!r} with size={size}, seed={seed}: {exc}"
        raise DatasetError(msg) from exc


class ReasoningGymSource(Source):
    name = "reasoning_gym"

    def __init__(
        self,
        dataset: str,
        *,
        size: int,
        seed: int,
        prompt: str,
        config: dict[str, Any],
        **options: Any,
    ) -> None:
        super().__init__(**options)
        for label, value in (("size", size), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                msg = f"reasoning_gym: {label} must be a non-negative integer, got {value!r}"
                raise DatasetError(msg)
        self.dataset = dataset
        self.size = size
        self.seed = seed
        self.prompt = prompt
        self.config = config
        self._config_json = json.dumps(config, sort_keys=True)

    def rows(self) -> list[Problem]:
        ds = _dataset(self.dataset, self.size, self.seed, self._config_json)
        problems = []
        for index in range(self.size):
            entry = ds[index]
            ident = f"{self.dataset}-{self.seed}-{index}"
            fields = {"question": entry["question"], "answer": entry["answer"]}
            problems.append(
                Problem(
                    id=ident,
                    prompt=render(self.prompt, fields, f"reasoning_gym {ident}"),
                    answer=str(entry["answer"]),
                    meta={
                        "dataset": self.dataset,
                        "size": self.size,
                        "seed": self.seed,
                        "config": dict(self.config),
                        "index": index,
                        "question": entry["question"],
                    },
                )
            )
        return problems


def reasoning_gym(
    name: str,
    size: int = 100,
    seed: int = 0,
    *,
    prompt: str = "{question}",
    limit: int | None = None,
    shuffle: int | None = None,
    chat: bool = False,
    tokenizer: PathLike | None = None,
    base_dir: PathLike | None = None,
    **config: Any,
) -> ReasoningGymSource:
    """``size`` problems of reasoning-gym's ``name`` generator with ``seed``; extra keywords
    are the generator's configuration."""
    return ReasoningGymSource(
        name,
        size=size,
        seed=seed,
        prompt=prompt,
        config=config,
        limit=limit,
        shuffle=shuffle,
        chat=chat,
        tokenizer=tokenizer,
        base_dir=base_dir,
    )


def score(problem: Problem, answer: str | None) -> float:
    """The dataset's own score for ``answer`` (0.0 to 1.0) on a problem from `reasoning_gym`."""
    meta = problem.meta
    missing = [k for k in ("dataset", "size", "seed", "config", "index") if k not in meta]
    if missing:
        msg = (
            f"problem {problem.id!r} did not come from the reasoning_gym source: "
            f"its meta lacks {', '.join(missing)}"
        )
        raise DatasetError(msg)
    config_json = json.dumps(meta["config"], sort_keys=True)
    ds = _dataset(str(meta["dataset"]), int(meta["size"]), int(meta["seed"]), config_json)
    entry = ds[int(meta["index"])]
    if entry["question"] != meta.get("question", entry["question"]):
        msg = (
            f"problem {problem.id!r}: reasoning-gym regenerated a different question "
            f"(is the installed reasoning-gym a different version?)"
        )
        raise DatasetError(msg)
    return float(ds.score_answer(answer, entry))


def is_correct(problem: Problem, answer: str | None) -> bool:
    """True only at score 1.0."""
    return score(problem, answer) == 1.0
