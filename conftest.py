"""Repository-wide pytest settings: the slow tier is opt-in.

Tests and specs marked ``slow`` (real engines on larger models, HumanEval under the sandbox)
are skipped unless ``--run-slow`` is given, so ``pytest`` and ``pytest specs/`` stay quick.

Some model folders are too large to commit and are made by a script instead
(``MODEL_RECIPES``). Under ``--run-slow``, a slow spec item whose model is such a folder,
not made yet, is skipped with the command that makes it. Any other missing model folder,
and every spec not marked slow, still fails its items ("model folder … does not exist"):
a mistyped path must not turn into a skip.

Specs may read real data from ``../shared/data`` (files no one here generated, kept outside
the project). In a checkout without that folder their items are skipped, saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# model folder (relative to the rootdir) -> the command that makes it
MODEL_RECIPES = {
    "models/smollm2-135m-instruct": "python scripts/get_smollm2.py",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run tests and specs marked 'slow'",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    root = Path(config.rootpath)
    shared = root.parent / "shared"
    for item in items:
        absent = _absent_shared_files(item, shared)
        if absent:
            reason = f"shared data file {absent} is not present (no such file under {shared})"
            item.add_marker(pytest.mark.skip(reason=reason))
    if not config.getoption("--run-slow"):
        skip = pytest.mark.skip(reason="slow tier: run with --run-slow")
        for item in slow:
            item.add_marker(skip)
        return
    for item in slow:
        for folder in _models_to_make(item, root):
            command = MODEL_RECIPES[folder]
            reason = f"model folder {folder} does not exist yet: run `{command}` first"
            item.add_marker(pytest.mark.skip(reason=reason))
            break


def _models_to_make(item: pytest.Item, root: Path) -> list[str]:
    """The recipe folders (keys of ``MODEL_RECIPES``) a spec item's models name that do not
    exist; empty for items that are not from a ``.tts`` spec."""
    spec: Any = getattr(item, "spec", None)
    if spec is None:
        return []
    base = Path(spec.path).parent
    models = [spec.model]
    check = getattr(getattr(item, "expectation", None), "check", None)
    for side in ("measure", "left", "right"):
        measure = getattr(check, side, None)
        if measure is not None:
            models.append(measure.model)
    missing: list[str] = []
    for model in models:
        call = model.backend
        for value in (*call.args, *call.kwargs.values()):
            if not isinstance(value, str):
                continue
            path = Path(value) if Path(value).is_absolute() else base / value
            try:
                folder = path.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                continue
            if folder in MODEL_RECIPES and not path.is_dir() and folder not in missing:
                missing.append(folder)
    return missing


def _absent_shared_files(item: pytest.Item, shared: Path) -> str:
    """The first file under ``shared`` that a spec item's model or dataset names and that does
    not exist; empty when there is none (or the item is not from a ``.tts`` spec)."""
    spec: Any = getattr(item, "spec", None)
    if spec is None:
        return ""
    base = Path(spec.path).parent
    for call in (spec.model.backend, spec.dataset.source):
        for value in (*call.args, *call.kwargs.values()):
            if not isinstance(value, str) or "shared" not in value:
                continue
            path = Path(value) if Path(value).is_absolute() else base / value
            if path.resolve().is_relative_to(shared.resolve()) and not path.exists():
                return value
    return ""
