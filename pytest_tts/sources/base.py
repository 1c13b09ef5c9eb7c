"""What every dataset source shares: row mapping, limit and shuffle, chat templates, hashing.

A source factory is called with the spec's arguments plus ``base_dir`` (the spec file's folder,
against which relative paths resolve) and returns a `Source`. ``load()`` returns the mapped
problems; ``content_hash()`` is a sha256 over exactly those problems, for provenance. Both take
an optional ``tokenizer_path``: the runtime passes the model's folder there, and a source made
with ``chat = true`` needs it to apply the model's chat template (a source may also name its own
``tokenizer`` argument, which wins).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import string
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_tts.errors import DatasetError
from pytest_tts.types import Problem

PathLike = str | os.PathLike[str]


def resolve(path: PathLike, base_dir: PathLike | None) -> Path:
    """``path`` as given when absolute, else relative to ``base_dir`` (the spec's folder)."""
    p = Path(path).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return p


def template_fields(template: str, where: str) -> list[str]:
    """The field names a ``str.format`` template uses; DatasetError when it cannot parse."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        msg = f"{where}: prompt template {template!r} is not a valid format string: {exc}"
        raise DatasetError(msg) from exc
    names = []
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if name == "" or name.isdigit():
            msg = (
                f"{where}: prompt template {template!r} must name its fields "
                f"(e.g. '{{question}}'), found a positional '{{{name}}}'"
            )
            raise DatasetError(msg)
        names.append(name.split(".")[0].split("[")[0])
    return names


def render(template: str, row: Mapping[str, Any], where: str) -> str:
    """``template.format(**row)``, with a DatasetError that names the missing field."""
    missing = [f for f in template_fields(template, where) if f not in row]
    if missing:
        msg = (
            f"{where}: prompt template {template!r} needs field {missing[0]!r}, "
            f"but the row has {', '.join(map(repr, row)) or 'no fields'}"
        )
        raise DatasetError(msg)
    try:
        return template.format(**row)
    except (KeyError, IndexError, AttributeError, ValueError) as exc:
        msg = f"{where}: prompt template {template!r} cannot be filled from the row: {exc}"
        raise DatasetError(msg) from exc


def field(row: Mapping[str, Any], name: str, role: str, where: str) -> Any:
    """``row[name]``, with a DatasetError that lists the fields there are."""
    if name not in row:
        msg = (
            f"{where}: the {role} field {name!r} is missing; "
            f"the row has {', '.join(map(repr, row)) or 'no fields'}"
        )
        raise DatasetError(msg)
    return row[name]


def select(items: Sequence[Any], limit: int | None, shuffle: int | None) -> list[Any]:
    """Shuffle with seed ``shuffle`` (when given), then keep the first ``limit``."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        msg = f"limit must be a non-negative integer, got {limit!r}"
        raise DatasetError(msg)
    if shuffle is not None and (isinstance(shuffle, bool) or not isinstance(shuffle, int)):
        msg = f"shuffle must be an integer seed, got {shuffle!r}"
        raise DatasetError(msg)
    chosen = list(items)
    if shuffle is not None:
        random.Random(shuffle).shuffle(chosen)
    return chosen if limit is None else chosen[:limit]


def hash_problems(problems: Iterable[Problem]) -> str:
    """sha256 over the problems' ids, prompts, answers and meta, in order."""
    digest = hashlib.sha256()
    for p in problems:
        record: dict[str, Any] = {
            "id": p.id,
            "prompt": p.prompt,
            "answer": p.answer,
            "meta": dict(p.meta),
        }
        if p.difficulty is not None:
            record["difficulty"] = p.difficulty
        digest.update(json.dumps(record, sort_keys=True, default=repr).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def apply_chat_template(prompts: list[str], tokenizer_path: PathLike, where: str) -> list[str]:
    """Each prompt as one user turn through the tokenizer's chat template, ready to generate."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path))
    except (OSError, ValueError) as exc:
        msg = f"{where}: chat = true, but no tokenizer could be loaded from {tokenizer_path}: {exc}"
        raise DatasetError(msg) from exc
    if not getattr(tokenizer, "chat_template", None):
        msg = f"{where}: chat = true, but the tokenizer at {tokenizer_path} has no chat template"
        raise DatasetError(msg)
    adds_bos = tokenizer("x")["input_ids"][:1] == [tokenizer.bos_token_id]
    out = []
    for prompt in prompts:
        text = str(
            tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
        )
        # A tokenizer that adds BOS itself would otherwise see two at generation time.
        bos = getattr(tokenizer, "bos_token", None)
        if bos and adds_bos and text.startswith(bos):
            text = text[len(bos) :]
        out.append(text)
    return out


class Source:
    """A loaded-on-demand list of problems with limit, seeded shuffle and chat templating.

    Subclasses implement ``rows()``, returning every problem in the dataset's own order with
    prompts before any chat template; ``load`` applies shuffle, limit and chat, and caches.
    """

    name = "source"

    def __init__(
        self,
        *,
        limit: int | None = None,
        shuffle: int | None = None,
        chat: bool = False,
        tokenizer: PathLike | None = None,
        base_dir: PathLike | None = None,
    ) -> None:
        if not isinstance(chat, bool):
            msg = f"{self.name}: chat must be true or false, got {chat!r}"
            raise DatasetError(msg)
        self.limit = limit
        self.shuffle = shuffle
        self.chat = chat
        self.base_dir = base_dir
        self.tokenizer = None if tokenizer is None else resolve(tokenizer, base_dir)
        self._cache: dict[str | None, list[Problem]] = {}
        select([], limit, shuffle)  # validate the options now, not at load time

    def rows(self) -> list[Problem]:
        raise NotImplementedError

    def load(self, tokenizer_path: PathLike | None = None) -> list[Problem]:
        """The problems after shuffle and limit, with the chat template applied if asked.

        ``tokenizer_path`` is the model's folder (the runtime passes it); it matters only for
        ``chat = true`` and is overridden by the source's own ``tokenizer`` argument.
        """
        tok = self.tokenizer if self.tokenizer is not None else tokenizer_path
        key = str(tok) if self.chat and tok is not None else None
        if key not in self._cache:
            problems = select(self.rows(), self.limit, self.shuffle)
            if self.chat:
                if tok is None:
                    msg = (
                        f"{self.name}: chat = true needs the model's tokenizer; pass "
                        f'tokenizer_path to load() or tokenizer = "DIR" to the source'
                    )
                    raise DatasetError(msg)
                prompts = apply_chat_template([p.prompt for p in problems], tok, self.name)
                problems = [
                    dataclasses.replace(p, prompt=text, meta={**p.meta, "raw_prompt": p.prompt})
                    for p, text in zip(problems, prompts, strict=True)
                ]
            self._cache[key] = problems
        return list(self._cache[key])

    def content_hash(self, tokenizer_path: PathLike | None = None) -> str:
        """sha256 over the problems ``load(tokenizer_path)`` returns."""
        return hash_problems(self.load(tokenizer_path))
