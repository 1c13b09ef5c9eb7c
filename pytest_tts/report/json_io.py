"""Results as JSON (``--tts-json``) and key figures as JUnit XML properties."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pytest_tts.errors import ReportError
from pytest_tts.report.coerce import plain
from pytest_tts.report.results import ExpectationResult, RunResults


def dumps(results: RunResults) -> str:
    """The JSON text of ``results`` (strict JSON: non-finite floats are ``null``)."""
    return json.dumps(results.to_dict(), indent=1, ensure_ascii=False, allow_nan=False)


def write_json(results: RunResults, path: str | os.PathLike[str]) -> Path:
    """Write ``results`` to ``path`` atomically (a reader never sees half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # a plain open() so the file gets the usual permissions (mkstemp would make it 0600)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(dumps(results) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def loads(text: str, *, source: str = "results text") -> RunResults:
    """Results from the JSON text ``dumps`` wrote; a clear ``ReportError`` when that fails.

    ``source`` names where the text came from in error messages.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{source} is not readable JSON: {exc}"
        raise ReportError(msg) from None
    if not isinstance(data, dict) or "specs" not in data:
        msg = (
            f"{source} is not pytest-tts results: expected an object "
            f"with 'schema_version' and 'specs', found {type(data).__name__}"
        )
        raise ReportError(msg)
    try:
        return RunResults.from_dict(data)
    except (TypeError, ValueError, KeyError) as exc:
        msg = f"{source} does not match the results schema: {exc}"
        raise ReportError(msg) from None


def read_json(path: str | os.PathLike[str]) -> RunResults:
    """Read results written by ``write_json``; a clear ``ReportError`` when that fails."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"results file {os.fspath(path)!r} does not exist"
        raise ReportError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"results file {os.fspath(path)!r} is not readable JSON: {exc}"
        raise ReportError(msg) from None
    return loads(text, source=f"results file {os.fspath(path)!r}")


def _prop_value(value: Any) -> str | int | float:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return value
    return json.dumps(value, ensure_ascii=False)


def junit_properties(result: ExpectationResult) -> list[tuple[str, str | int | float]]:
    """Key figures of one expectation as JUnit ``<property>`` pairs, names prefixed ``tts.``.

    Attach with ``item.user_properties.extend(junit_properties(result))``.
    """
    props: list[tuple[str, str | int | float]] = [
        ("tts.outcome", result.outcome),
        ("tts.kind", result.kind),
        ("tts.expectation", result.text.strip()),
    ]
    if result.headline:
        props.append(("tts.headline", result.headline))
    if result.method:
        props.append(("tts.method", result.method))
    if result.target is not None:
        props.append(("tts.target", result.target))
    for budget in result.budgets:
        props.append((f"tts.budget.{budget.unit}", budget.value))
    for key, value in result.properties.items():
        props.append((f"tts.{key}", _prop_value(value)))
    return props
