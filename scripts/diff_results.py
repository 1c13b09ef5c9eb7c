"""Diff two ``--tts-json`` results files, ignoring what changes from run to run.

    .venv/bin/python scripts/diff_results.py BEFORE.json AFTER.json

Prints one line per difference (``path: before -> after``) and exits 1 when there is any,
0 when the two runs found the same curves, findings and verdicts. Ignored: timestamps
(``started``, ``finished``, a baseline's ``date``), durations, the machine description and
the package version. Floats are compared exactly: the estimators are deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

IGNORED_KEYS = frozenset(
    {"started", "finished", "duration", "machine", "pytest_tts_version", "date"}
)


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Every place where ``after`` differs from ``before``, as ``path: before -> after``."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            if key in IGNORED_KEYS:
                continue
            where = f"{path}.{key}" if path else str(key)
            if key not in after:
                out.append(f"{where}: only before")
            elif key not in before:
                out.append(f"{where}: only after")
            else:
                out += differences(before[key], after[key], where)
        return out
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{path}: {len(before)} items -> {len(after)} items"]
        out = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out += differences(b, a, f"{path}[{_label(b, i)}]")
        return out
    if before != after:
        return [f"{path}: {before!r} -> {after!r}"]
    return []


def _label(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in ("id", "name", "strategy"):
            if key in item:
                return f"{index}:{item[key]}"
    return str(index)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    found = differences(
        json.loads(args.before.read_text(encoding="utf-8")),
        json.loads(args.after.read_text(encoding="utf-8")),
    )
    for line in found:
        print(line)
    print(f"{len(found)} difference{'s' * (len(found) != 1)}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
