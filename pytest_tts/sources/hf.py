"""Hugging Face ``datasets`` as a source: ``hf_dataset("path-or-name", split = "test", ...)``.

In a spec::

    dataset math = hf_dataset("data/math500", split = "test", prompt = "{problem}",
                              answer = "answer", id = "unique_id", difficulty = "level")

``path`` is, in this order:

- a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` (read with
  ``load_from_disk``; a ``DatasetDict`` gives the ``split``);
- a local data file (``.parquet``, ``.jsonl``/``.json``, ``.csv``, ``.arrow``): its rows are
  the ``split``;
- a local folder of data files (``datasets`` finds the splits from file names, e.g.
  ``test-00000-of-00001.parquet``);
- otherwise a dataset name on the Hugging Face Hub, with ``config`` its configuration; this
  needs a network (and honours ``HF_DATASETS_OFFLINE``).

Relative paths resolve against the spec's folder. Field mapping is that of ``jsonl``:
``prompt`` template, ``answer``, ``id`` (``"<name>-<row>"`` when absent), ``meta``,
``difficulty``, ``limit``, ``shuffle``, ``chat``. The pool's provenance hashes the problems
actually read (ids, prompts, references, kept fields), so any change of the data that
reaches the model or the verifier makes a new pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_tts.errors import DatasetError
from pytest_tts.sources.base import PathLike, resolve
from pytest_tts.sources.files import FileSource
from pytest_tts.types import Problem

# data file suffix -> the datasets builder that reads it
BUILDERS = {
    ".parquet": "parquet",
    ".jsonl": "json",
    ".json": "json",
    ".csv": "csv",
    ".arrow": "arrow",
}


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        msg = "hf_dataset needs the datasets package: pip install 'pytest-tts[hf]'"
        raise DatasetError(msg) from None
    return datasets


class HFSource(FileSource):
    """Rows of a Hugging Face dataset (local or on the Hub), mapped like a JSONL file."""

    name = "hf_dataset"

    def __init__(
        self,
        path: str,
        *,
        split: str = "test",
        config: str | None = None,
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
            path,
            prompt=prompt,
            answer=answer,
            id=id,
            meta=meta,
            difficulty=difficulty,
            limit=limit,
            shuffle=shuffle,
            chat=chat,
            tokenizer=tokenizer,
            base_dir=base_dir,
        )
        if not isinstance(split, str) or not split:
            msg = f"hf_dataset: split must name a split, got {split!r}"
            raise DatasetError(msg)
        self.name_or_path = str(path)
        self.split = split
        self.config = config
        self.local = resolve(path, base_dir)

    def rows(self) -> list[Problem]:
        where = f"hf_dataset({self.name_or_path!r}, split = {self.split!r})"
        table = self._load(where)
        stem = Path(self.name_or_path).stem or "row"
        return self.problems((dict(r) for r in table), where, stem)

    def _load(self, where: str) -> Any:
        datasets = _datasets()
        datasets.disable_progress_bars()  # pytest-tts shows its own progress
        path = self.local
        try:
            if path.is_dir() and any(
                (path / marker).is_file()
                for marker in ("dataset_info.json", "state.json", "dataset_dict.json")
            ):
                loaded = datasets.load_from_disk(str(path))
                if isinstance(loaded, datasets.DatasetDict):
                    if self.split not in loaded:
                        msg = (
                            f"{where}: the saved dataset at {path} has no split {self.split!r}"
                            f" (it has: {', '.join(loaded)})"
                        )
                        raise DatasetError(msg)
                    return loaded[self.split]
                return loaded
            if path.is_file():
                builder = BUILDERS.get(path.suffix.lower())
                if builder is None:
                    msg = (
                        f"{where}: cannot read {path.name}: expected one of "
                        f"{', '.join(BUILDERS)} or a save_to_disk folder"
                    )
                    raise DatasetError(msg)
                return datasets.load_dataset(
                    builder, data_files={self.split: str(path)}, split=self.split
                )
            if path.is_dir():
                return datasets.load_dataset(str(path), self.config, split=self.split)
            if _looks_local(self.name_or_path):
                msg = (
                    f"{where}: no dataset at {path}: not a file, not a folder "
                    "(a Hub name has the form 'owner/name' and no file suffix)"
                )
                raise DatasetError(msg)
            return datasets.load_dataset(self.name_or_path, self.config, split=self.split)
        except DatasetError:
            raise
        except Exception as exc:  # datasets raises many kinds; each becomes one clear line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            msg = f"{where}: could not load: {type(exc).__name__}: {first}"
            raise DatasetError(msg) from exc


def _looks_local(name: str) -> bool:
    """A path-like name (``./x``, ``../x``, ``/x``, ``x.parquet``) is never a Hub dataset."""
    return (
        name.startswith((".", "/", "~"))
        or Path(name).suffix.lower() in BUILDERS
        or name.count("/") > 1
    )


# The registered factory is the class itself (its signature is what a spec may pass).
hf_dataset = HFSource
