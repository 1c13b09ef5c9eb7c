"""``pytest-tts report RESULTS.json -o PATH.html``: rebuild the HTML report from saved results."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``report`` subcommand to the ``pytest-tts`` subparsers object."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="rebuild the HTML report (or print the summary) from a --tts-json results file",
        description="Rebuild the self-contained HTML report from results that a run wrote with "
        "--tts-json, without running anything again.",
    )
    parser.add_argument("results", metavar="RESULTS.json", help="results written by --tts-json")
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH.html",
        help="where to write the HTML report (default: RESULTS.html beside the results)",
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="also print the terminal summary of the results",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pytest_tts.errors import ReportError
    from pytest_tts.report.html import write_html
    from pytest_tts.report.json_io import read_json
    from pytest_tts.report.summary import render_summary

    try:
        results = read_json(args.results)
    except ReportError as exc:
        print(f"pytest-tts report: error: {exc}", file=sys.stderr)
        return 2
    output = Path(args.output) if args.output else Path(args.results).with_suffix(".html")
    write_html(results, output)
    if args.summary:
        print(render_summary(results))
    print(f"wrote {output} ({len(results.specs)} specs)")
    return 0
