"""``pytest-tts check`` and ``pytest-tts fmt``: the spec language without running pytest."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_tts.errors import SpecError


def add_check_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "check",
        help="parse and check .tts files; print every diagnostic; exit 1 on any error",
        description="Parse and check spec files without running pytest. Names are looked up "
        "in the built-in registry, installed plugins, and the modules given with --plugin.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".tts files or folders")
    parser.add_argument(
        "-p",
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="a module or .py file (e.g. a conftest.py) whose pytest_tts_register "
        "adds names; repeatable",
    )
    parser.set_defaults(func=run_check)


def add_fmt_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "fmt",
        help="rewrite .tts files in the canonical layout (--check: only report)",
        description="Format spec files in place. With --check nothing is written and the "
        "exit status is 1 if any file would change.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".tts files or folders")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file would change"
    )
    parser.set_defaults(func=run_fmt)


def spec_files(paths: list[str]) -> Iterator[Path]:
    """The .tts files named, and those under the folders named, in a stable order."""
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from sorted(path.rglob("*.tts"))
        else:
            yield path


def _load_plugin(name: str) -> Any:
    if name.endswith(".py") or Path(name).is_file():
        spec = importlib.util.spec_from_file_location(f"_tts_plugin_{abs(hash(name))}", name)
        if spec is None or spec.loader is None:
            msg = f"cannot load plugin file {name!r}"
            raise ImportError(msg)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(name)


def run_check(args: argparse.Namespace) -> int:
    from pytest_tts.dsl.checker import load_spec_file
    from pytest_tts.registry import build_registry, standalone_pluginmanager

    pm = standalone_pluginmanager()
    for name in args.plugin:
        pm.register(_load_plugin(name), name=f"cli-plugin:{name}")
    registry = build_registry(pm)
    failed = 0
    checked = 0
    for path in spec_files(args.paths):
        checked += 1
        try:
            result = load_spec_file(path, registry)
        except SpecError as exc:
            failed += 1
            print(exc.rendered, end="\n\n", file=sys.stderr)
        except OSError as exc:
            failed += 1
            print(f"{path}: error[io]: {exc.strerror or exc}", end="\n\n", file=sys.stderr)
        else:
            n = sum(len(spec.expectations) for spec in result.specs)
            print(f"{path}: ok ({len(result.specs)} specs, {n} expectations)")
    if failed:
        print(f"{failed} of {checked} files have errors", file=sys.stderr)
    return 1 if failed or not checked else 0


def run_fmt(args: argparse.Namespace) -> int:
    from pytest_tts.dsl.formatter import format_file

    changed = 0
    failed = 0
    for path in spec_files(args.paths):
        try:
            if format_file(path, write=not args.check):
                changed += 1
                print(f"{'would reformat' if args.check else 'reformatted'} {path}")
        except SpecError as exc:
            failed += 1
            print(exc.rendered, end="\n\n", file=sys.stderr)
        except OSError as exc:
            failed += 1
            print(f"{path}: error[io]: {exc.strerror or exc}", file=sys.stderr)
    if failed:
        return 1
    return 1 if args.check and changed else 0
