"""Coercion for the results model: numpy values, lists and timestamps to plain, frozen,
JSON-ready values (:mod:`pytest_tts.report.results` builds every field through these).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any, cast


def to_float(value: Any) -> float:
    return math.nan if value is None else float(value)


def floats(values: Any, what: str) -> tuple[float, ...]:
    """A tuple of floats from a list, tuple or numpy array (``None`` entries become NaN)."""
    if values is None:
        return ()
    if hasattr(values, "tolist"):
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        msg = f"{what} must be a sequence of numbers, got {values!r}"
        raise TypeError(msg)
    return tuple(to_float(v) for v in values)


def opt_floats(values: Any, what: str) -> tuple[float, ...] | None:
    return None if values is None else floats(values, what)


def plain(value: Any) -> Any:
    """``value`` as plain JSON types: numpy values unwrapped, tuples as lists, NaN as None."""
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        value = value.tolist()
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


def frozen_dict(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return {} if value is None else cast(dict[str, Any], plain(dict(value)))


def timestamp(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, (int, float)):
        stamp = _dt.datetime.fromtimestamp(value, tz=_dt.UTC)
        return stamp.isoformat(timespec="seconds")
    return str(value)


def set_field(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that are fields of ``cls`` (newer writers may add fields)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def as_dict(obj: object) -> dict[str, Any]:
    return {f.name: plain(getattr(obj, f.name)) for f in fields(cast(Any, obj))}
