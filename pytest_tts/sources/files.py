"""Local datasets: JSON Lines and CSV files with a prompt template and field mapping.

In a spec::

    dataset sums = jsonl("data/arith-test.jsonl", prompt = "Q:{question}\\nA:", answer = "answer")
    dataset qa   = csv("qa.csv", prompt = "{q}", answer = "a", id = "key", limit = 50, shuffle = 0)

``prompt`` is a ``str.format`` template over the row's fields; ``answer`` names the reference
field (``answer = ""`` for none); ``id`` names the id field (when the rows have no such field,
ids are ``"<file stem>-<row number>"``); ``meta`` lists fields to keep in ``Problem.meta``
(default: every field that is not the id); ``difficulty`` names the field that bins problems
by difficulty (``difficulty = "level"``: every row must have it), for expectations asked
``per difficulty``. Relative paths resolve against the spec's folder.
"""

from __future__ import annotations

import csv as csv_module
import inspect
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_tts.errors import DatasetError
from pytest_tts.sources.base import PathLike, Source, field, render, resolve, template_fields
from pytest_tts.types import Problem


def _with_option(
    signature: inspect.Signature, option: inspect.Parameter, *, after: str
) -> inspect.Signature:
    """``signature`` with ``option`` inserted after the parameter named ``after``."""
    params = list(signature.parameters.values())
    at = [p.name for p in params].index(after) + 1
    return signature.replace(parameters=[*params[:at], option, *params[at:]])


class FileSource(Source):
    """Rows from a local file, mapped to problems by templates and field names."""

    name = "file"

    def __init__(
        self,
        path: PathLike,
        *,
        prompt: str = "{question}",
        answer: str = "answer",
        id: str = "id",
        meta: Sequence[str] | None = None,
        difficulty: str | None = None,
        limit: int | None = None,
        shuffle: int | None = None,
        chat: bool = False,
        tokenizer: PathLike | None = None,
        base_dir: PathLike | None = None,
    ) -> None:
        super().__init__(
            limit=limit, shuffle=shuffle, chat=chat, tokenizer=tokenizer, base_dir=base_dir
        )
        self.path = resolve(path, base_dir)
        if not isinstance(prompt, str):
            msg = f"{self.name}: prompt must be a format string, got {prompt!r}"
            raise DatasetError(msg)
        template_fields(prompt, f"{self.name}({str(path)!r})")  # reject a bad template early
        self.prompt = prompt
        self.answer = answer
        self.id = id
        self.meta = None if meta is None else list(meta)
        if difficulty is not None and (not isinstance(difficulty, str) or not difficulty):
            msg = f"{self.name}: difficulty must name a field, got {difficulty!r}"
            raise DatasetError(msg)
        self.difficulty = difficulty

    def read(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def rows(self) -> list[Problem]:
        if not self.path.is_file():
            msg = f"{self.name}: expected a file at {self.path}, found {_what_is(self.path)}"
            raise DatasetError(msg)
        return self.problems(self.read(), str(self.path), self.path.stem)

    def problems(
        self, rows: Iterable[Mapping[str, Any]], where_prefix: str, stem: str
    ) -> list[Problem]:
        """Rows mapped to problems by the source's templates and field names; ``where_prefix``
        names the data in errors ("<where_prefix> (row N)"), ``stem`` prefixes made-up ids."""
        problems = []
        seen: dict[str, int] = {}
        for number, row in enumerate(rows, start=1):
            where = f"{where_prefix} (row {number})"
            ident = str(row[self.id]) if self.id in row else f"{stem}-{number}"
            if ident in seen:
                msg = f"{where}: id {ident!r} is not unique (row {seen[ident]} has it too)"
                raise DatasetError(msg)
            seen[ident] = number
            reference = None if not self.answer else field(row, self.answer, "answer", where)
            keep = self.meta if self.meta is not None else [k for k in row if k != self.id]
            meta = {k: field(row, k, "meta", where) for k in keep}
            problems.append(
                Problem(
                    id=ident,
                    prompt=render(self.prompt, row, where),
                    answer=None if reference is None else str(reference),
                    meta=meta,
                    difficulty=self._difficulty(row, where),
                )
            )
        return problems

    def _difficulty(self, row: Mapping[str, Any], where: str) -> str | None:
        """The row's difficulty bin; a missing or empty value is an error (a columnar
        dataset fills a field some rows lack with None)."""
        if self.difficulty is None:
            return None
        value = row.get(self.difficulty)
        if value is None or str(value).strip() == "":
            msg = (
                f"{where}: the difficulty field {self.difficulty!r} is missing"
                + ("" if self.difficulty not in row else f" (its value is {value!r})")
                + "; every problem needs a difficulty bin"
            )
            raise DatasetError(msg)
        return str(value)


class JsonlSource(FileSource):
    """A JSON Lines file, one object per line (the module docstring describes the options)."""

    name = "jsonl"

    def read(self) -> list[dict[str, Any]]:
        rows = []
        with self.path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    msg = f"{self.path}:{number}: expected a JSON object per line: {exc}"
                    raise DatasetError(msg) from exc
                if not isinstance(row, Mapping):
                    msg = (
                        f"{self.path}:{number}: expected a JSON object, found {type(row).__name__}"
                    )
                    raise DatasetError(msg)
                rows.append(dict(row))
        return rows


class CsvSource(FileSource):
    """A CSV file with a header row; values are strings (``delimiter = ";"`` for others)."""

    name = "csv"
    # The spec checker binds a spec's arguments to the factory's signature: FileSource's
    # options, and the delimiter (``**options`` alone would hide their names).
    __signature__ = _with_option(
        inspect.signature(FileSource),
        inspect.Parameter(
            "delimiter", inspect.Parameter.KEYWORD_ONLY, default=",", annotation="str"
        ),
        after="meta",
    )

    def __init__(self, path: PathLike, *, delimiter: str = ",", **options: Any) -> None:
        super().__init__(path, **options)
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            msg = f"csv: delimiter must be one character, got {delimiter!r}"
            raise DatasetError(msg)
        self.delimiter = delimiter

    def read(self) -> list[dict[str, Any]]:
        with self.path.open(encoding="utf-8", newline="") as f:
            reader = csv_module.DictReader(f, delimiter=self.delimiter)
            if not reader.fieldnames:
                msg = f"{self.path}: expected a header row naming the columns, found an empty file"
                raise DatasetError(msg)
            rows = []
            for number, row in enumerate(reader, start=2):
                if None in row or None in row.values():
                    msg = (
                        f"{self.path}:{number}: expected {len(reader.fieldnames)} columns "
                        f"({', '.join(reader.fieldnames)}), found a row of a different width"
                    )
                    raise DatasetError(msg)
                rows.append(dict(row))
            return rows


# The registered factories are the classes themselves (their signatures are the arguments a
# spec may pass).
jsonl = JsonlSource
csv = CsvSource


def _what_is(path: Path) -> str:
    if path.is_dir():
        return "a directory"
    if path.parent.is_dir():
        return "nothing (the folder exists)"
    return "nothing (not even the folder)"
