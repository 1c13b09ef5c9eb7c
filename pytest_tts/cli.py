"""The ``pytest-tts`` command line (also ``python -m pytest_tts``).

Each subcommand lives beside the code it drives and is listed in ``SUBCOMMANDS`` as a lazy
``"module:function"`` path; the function receives the subparsers object and adds its parser,
whose ``func`` default runs it and returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pytest_tts import __version__

SUBCOMMANDS: dict[str, str] = {
    "cache": "pytest_tts.cache_cli:add_cache_parser",
    "check": "pytest_tts.dsl.cli:add_check_parser",
    "curves": "pytest_tts.estimate.cli:add_curves_parser",
    "fmt": "pytest_tts.dsl.cli:add_fmt_parser",
    "plan": "pytest_tts.plan_cli:add_parser",
    "report": "pytest_tts.report.cli:add_parser",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytest-tts",
        description="Test-time-scaling specs as build gates. Run the specs themselves with "
        "`pytest specs/`; these commands check, format and inspect without running pytest.",
    )
    parser.add_argument("--version", action="version", version=f"pytest-tts {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in sorted(SUBCOMMANDS):
        module_name, _, attr = SUBCOMMANDS[name].partition(":")
        getattr(importlib.import_module(module_name), attr)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    status: int = args.func(args)
    return status
