"""Repository-wide pytest settings: the slow tier is opt-in.

Tests and specs marked ``slow`` (real engines on larger models, HumanEval under the sandbox)
are skipped unless ``--run-slow`` is given, so ``pytest`` and ``pytest specs/`` stay quick.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run tests and specs marked 'slow'",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow tier: run with --run-slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
