"""The terminal summary at each verbosity (golden files in ``golden/``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_tts.report.results import Machine, PoolSummary, RunResults, SpecResult
from pytest_tts.report.summary import render_summary, total_line


@pytest.mark.parametrize(
    ("verbosity", "name"),
    [(-2, "summary_qq.txt"), (-1, "summary_q.txt"), (0, "summary.txt"), (1, "summary_v.txt")],
)
def test_summary_matches_golden(
    results: RunResults, golden: Callable[[str, str], None], verbosity: int, name: str
) -> None:
    golden(name, render_summary(results, verbosity))


def test_quiet_summary_is_narrower_than_the_default(results: RunResults) -> None:
    default = render_summary(results, 0).splitlines()
    quiet = render_summary(results, -1).splitlines()
    assert max(map(len, quiet[:-1])) < max(map(len, default[:-1]))
    assert render_summary(results, -2) == total_line(results)


def test_totals_add_up_over_specs() -> None:
    def spec(name: str, generated: int, reused: int, tokens: int, flops: float) -> SpecResult:
        pools = PoolSummary(
            samples_generated=generated, samples_reused=reused, tokens=tokens, flops=flops
        )
        return SpecResult(name=name, path=f"{name}.tts", model="m", pools=pools)

    run = RunResults(
        "2026-11-22T10:00:00",
        "2026-11-22T10:01:00",
        "0",
        Machine("x", 2),
        [spec("a", 100, 20, 1_500_000, 2e12), spec("b", 0, 1_000, 600_000, 5e11)],
    )
    assert total_line(run) == (
        "pytest-tts: 2 specs, 0 expectations (no expectations); "
        "samples 100 generated, 1,020 reused; 2.1M tokens, 2.5T FLOPs"
    )


def test_a_run_without_specs_prints_only_the_total() -> None:
    run = RunResults("2026-11-22T10:00:00", "2026-11-22T10:00:01", "0", Machine("x", 2))
    assert render_summary(run, 1) == (
        "pytest-tts: 0 specs, 0 expectations (no expectations); "
        "samples 0 generated, 0 reused; 0 tokens, 0 FLOPs"
    )


def test_unknown_flops_are_said_so_not_counted_as_zero() -> None:
    def one(name: str, flops: float | None) -> SpecResult:
        return SpecResult(name, "s.tts", "m", "d", pools=PoolSummary(1, 10, 10, 0, 100, flops))

    run = RunResults("t0", "t1", "0", Machine("x", 2), [one("a", None)])
    assert total_line(run).endswith("100 tokens, FLOPs unknown")
    run = RunResults("t0", "t1", "0", Machine("x", 2), [one("a", None), one("b", 2e12)])
    assert total_line(run).endswith("200 tokens, 2T FLOPs (unknown for 1 spec)")
    assert "unknown" in render_summary(run, 1)
