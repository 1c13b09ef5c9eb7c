"""Stored baselines: per-problem curve values with their provenance, one JSON file per spec.

Layout: ``<spec dir>/__baselines__/<spec file stem>/<slugified spec name>.json``, e.g.
``specs/__baselines__/addition/voting-pays-off-on-two-digit-addition.json``. One file holds
every regression expectation of that spec, keyed by the expectation's id::

    {
      "expectations": {
        "<expectation id>": {
          "costs": {"flops": [...], "n": [...], "tokens": [...]},
          "ks": [1, 2, 4],
          "metric": "accuracy",
          "provenance": {"dataset_hash": ..., "date": ..., "engine": ..., ...},
          "strategy": "majority_vote",
          "values": {"<problem id>": [v_k1, v_k2, v_k4], ...}
        }
      },
      "format": 1,
      "spec": "<spec name>"
    }

Files are written atomically (a temporary file in the same folder, then ``os.replace``),
with sorted keys, two-space indentation and one line per problem, so a baseline update
reads as a small diff in review. Concurrent updates of one file (pytest-xdist workers)
are serialized with an advisory lock on the folder where ``fcntl`` exists.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pytest_tts.errors import BaselineError, MissingBaselineError, ProvenanceMismatchError

FORMAT_VERSION = 1
BASELINE_DIR = "__baselines__"
UPDATE_OPTION = "--tts-update-baselines"
# Fields that never make two runs incomparable. ``date`` changes on every update.
DEFAULT_IGNORED = ("date",)


def slugify(name: str) -> str:
    """A file-name-safe, lowercase ASCII form of a name: "Voting pays!" -> "voting-pays"."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()
    return text or "spec"


def baseline_path(spec_path: str | os.PathLike[str], spec_name: str) -> Path:
    """Where the baseline of spec ``spec_name`` in file ``spec_path`` lives."""
    spec = Path(spec_path)
    return spec.parent / BASELINE_DIR / spec.stem / f"{slugify(spec_name)}.json"


@dataclass(frozen=True)
class Provenance:
    """What a curve was measured under. Every field but ``date`` must match to compare.

    ``sampling`` holds the sampling parameters (n, temperature, top_p, max_tokens, seed,
    ...); ``extra`` anything else worth pinning (e.g. a verifier's version). Both are
    compared key by key.
    """

    model_hash: str = ""
    engine: str = ""
    engine_version: str = ""
    dataset_hash: str = ""
    sampling: Mapping[str, Any] = field(default_factory=dict)
    estimator_version: str = ""
    date: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sampling"] = dict(self.sampling)
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Provenance:
        known = {f: data[f] for f in cls.__dataclass_fields__ if f in data}
        extra = dict(known.pop("extra", {}) or {})
        extra.update({k: v for k, v in data.items() if k not in cls.__dataclass_fields__})
        return cls(**known, extra=extra)

    def flat(self) -> dict[str, Any]:
        """Field name -> value, with ``sampling.*`` and ``extra.*`` spread out."""
        out: dict[str, Any] = {}
        for name, value in self.to_json().items():
            if name in ("sampling", "extra"):
                out.update({f"{name}.{k}": v for k, v in value.items()})
            else:
                out[name] = value
        return out


@dataclass(frozen=True)
class BaselineEntry:
    """One regression expectation's stored curve: per-problem values at each budget point."""

    ks: tuple[int, ...]
    values: Mapping[str, tuple[float, ...]]
    costs: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    strategy: str = ""
    metric: str = "accuracy"
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        k = len(self.ks)
        for pid, row in self.values.items():
            if len(row) != k:
                msg = f"problem {pid!r} has {len(row)} values for {k} budget points"
                raise ValueError(msg)
            if not all(math.isfinite(v) for v in row):
                msg = f"problem {pid!r} has a non-finite value: {list(row)}"
                raise ValueError(msg)
        for unit, row in self.costs.items():
            if len(row) != k:
                msg = f"costs in {unit!r} have {len(row)} values for {k} budget points"
                raise ValueError(msg)

    @property
    def problem_ids(self) -> list[str]:
        return sorted(self.values)

    def matrix(self) -> NDArray[np.float64]:
        """float[P, K] in the order of ``problem_ids``."""
        ids = self.problem_ids
        return np.array([self.values[pid] for pid in ids], dtype=np.float64).reshape(
            len(ids), len(self.ks)
        )

    @classmethod
    def from_arrays(
        cls,
        per_problem: ArrayLike,
        problem_ids: Sequence[str],
        ks: Sequence[int] | ArrayLike,
        *,
        costs: Mapping[str, Sequence[float] | ArrayLike] | None = None,
        strategy: str = "",
        metric: str = "accuracy",
        provenance: Provenance | None = None,
    ) -> BaselineEntry:
        values = np.asarray(per_problem, dtype=np.float64)
        if values.ndim != 2 or values.shape[0] != len(problem_ids):
            msg = f"expected [{len(problem_ids)} problems, K] values, got shape {values.shape}"
            raise ValueError(msg)
        if len(set(problem_ids)) != len(problem_ids):
            msg = "problem ids must be unique"
            raise ValueError(msg)
        return cls(
            ks=tuple(int(k) for k in np.asarray(ks).reshape(-1)),
            values={
                str(pid): tuple(float(v) for v in row)
                for pid, row in zip(problem_ids, values, strict=True)
            },
            costs={
                u: tuple(float(c) for c in np.asarray(v).reshape(-1))
                for u, v in (costs or {}).items()
            },
            strategy=strategy,
            metric=metric,
            provenance=provenance or Provenance(),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ks": list(self.ks),
            "values": {pid: list(row) for pid, row in self.values.items()},
            "costs": {unit: list(row) for unit, row in self.costs.items()},
            "strategy": self.strategy,
            "metric": self.metric,
            "provenance": self.provenance.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BaselineEntry:
        return cls(
            ks=tuple(int(k) for k in data["ks"]),
            values={str(pid): tuple(float(v) for v in row) for pid, row in data["values"].items()},
            costs={
                str(u): tuple(float(c) for c in row) for u, row in data.get("costs", {}).items()
            },
            strategy=str(data.get("strategy", "")),
            metric=str(data.get("metric", "accuracy")),
            provenance=Provenance.from_json(data.get("provenance", {})),
        )


@dataclass(frozen=True)
class BaselineFile:
    """All stored curves of one spec, keyed by expectation id."""

    spec: str
    entries: Mapping[str, BaselineEntry] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "spec": self.spec,
            "expectations": {eid: e.to_json() for eid, e in self.entries.items()},
        }


def dumps(data: Any, indent: int = 0) -> str:
    """Stable JSON: sorted keys, two-space indent, lists of scalars on one line."""
    pad = "  " * indent
    if isinstance(data, Mapping):
        if not data:
            return "{}"
        items = [
            f"{pad}  {json.dumps(str(k))}: {dumps(data[k], indent + 1)}"
            for k in sorted(data, key=str)
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(data, (list, tuple)):
        if all(not isinstance(v, (Mapping, list, tuple)) for v in data):
            return "[" + ", ".join(json.dumps(v, allow_nan=False) for v in data) + "]"
        items = [f"{pad}  {dumps(v, indent + 1)}" for v in data]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(data, allow_nan=False)


def read_baseline(path: str | os.PathLike[str]) -> BaselineFile:
    """Read a baseline file; ``MissingBaselineError`` if absent, ``BaselineError`` if unreadable."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"no baseline file at {p}; run `pytest {UPDATE_OPTION}` to record one"
        raise MissingBaselineError(msg) from None
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT_VERSION:
            found = data.get("format")
            msg = f"baseline format {found!r} is not supported (expected {FORMAT_VERSION})"
            raise BaselineError(f"{p}: {msg}")
        entries = {str(eid): BaselineEntry.from_json(e) for eid, e in data["expectations"].items()}
        return BaselineFile(spec=str(data.get("spec", "")), entries=entries)
    except BaselineError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        msg = (
            f"{p}: unreadable baseline ({type(exc).__name__}: {exc}); fix it or re-record it "
            f"with `pytest {UPDATE_OPTION}`"
        )
        raise BaselineError(msg) from exc


def load_entry(
    path: str | os.PathLike[str], expectation_id: str, *, nodeid: str | None = None
) -> BaselineEntry:
    """The stored curve of one expectation; ``MissingBaselineError`` says how to record it."""
    target = nodeid or expectation_id
    how = f"run `pytest {UPDATE_OPTION} {target}` to record it from this run"
    try:
        stored = read_baseline(path)
    except MissingBaselineError:
        msg = f"no baseline for {target}: {Path(path)} does not exist; {how}"
        raise MissingBaselineError(msg) from None
    if expectation_id not in stored.entries:
        known = ", ".join(sorted(stored.entries)) or "none"
        msg = f"no baseline for {target} in {Path(path)} (it holds: {known}); {how}"
        raise MissingBaselineError(msg)
    return stored.entries[expectation_id]


def write_baseline(path: str | os.PathLike[str], baseline: BaselineFile) -> None:
    """Write atomically: a temporary file beside the target, then ``os.replace``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(baseline.to_json()) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux/macOS
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def update_entry(
    path: str | os.PathLike[str], spec_name: str, expectation_id: str, entry: BaselineEntry
) -> None:
    """Record (or replace) one expectation's curve, keeping the file's other entries."""
    p = Path(path)
    with _locked(p.parent):
        try:
            current = dict(read_baseline(p).entries)
        except MissingBaselineError:
            current = {}
        current[expectation_id] = entry
        write_baseline(p, BaselineFile(spec=spec_name, entries=current))


def provenance_differences(
    baseline: Provenance, current: Provenance, *, ignore: Collection[str] = DEFAULT_IGNORED
) -> dict[str, tuple[object, object]]:
    """Field -> (baseline value, current value) for every field that differs (``date`` never)."""
    b, c = baseline.flat(), current.flat()
    out: dict[str, tuple[object, object]] = {}
    for name in sorted(set(b) | set(c)):
        if name in ignore:
            continue
        if b.get(name) != c.get(name):
            out[name] = (b.get(name), c.get(name))
    return out


def check_provenance(
    baseline: Provenance,
    current: Provenance,
    *,
    allow_mismatch: bool = False,
    where: str = "",
    ignore: Collection[str] = DEFAULT_IGNORED,
) -> dict[str, tuple[object, object]]:
    """Raise ``ProvenanceMismatchError`` naming every differing field, unless allowed.

    Returns the differences (empty when they match) so that an allowed comparison can be
    flagged in the report (see ``mismatch_notes``).
    """
    diffs = provenance_differences(baseline, current, ignore=ignore)
    if diffs and not allow_mismatch:
        lines = "\n".join(
            f"  {name}: baseline {b!r}, current {c!r}" for name, (b, c) in diffs.items()
        )
        place = f" for {where}" if where else ""
        msg = (
            f"the baseline{place} was recorded under different provenance "
            f"({len(diffs)} field(s)):\n"
            f"{lines}\n"
            f"re-record it with `pytest {UPDATE_OPTION}`, or compare anyway with "
            "`--tts-allow-provenance-mismatch` (the report flags it)"
        )
        raise ProvenanceMismatchError(msg, diffs)
    return diffs


def mismatch_notes(diffs: Mapping[str, tuple[object, object]]) -> list[str]:
    """Report notes for an allowed provenance mismatch (one per differing field)."""
    return [
        f"provenance mismatch allowed: {name} baseline {b!r}, current {c!r}"
        for name, (b, c) in diffs.items()
    ]
