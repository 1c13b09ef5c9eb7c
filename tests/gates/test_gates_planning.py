"""Planning: noncentral-t sample sizes, checked against simulation of the gate's test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pytest_tts.cli import main
from pytest_tts.gates.baseline import BaselineEntry, BaselineFile, Provenance, write_baseline
from pytest_tts.gates.planning import (
    bernoulli_variance,
    difference_sd,
    plan_rows,
    power_at,
    required_problems,
)
from pytest_tts.gates.regression import paired_t


def test_required_is_the_smallest_reaching_power() -> None:
    n = required_problems(drop=0.03, sd=0.25, power=0.9, alpha=0.05, points=3)
    assert power_at(n, drop=0.03, sd=0.25, alpha=0.05, points=3) >= 0.9
    assert power_at(n - 1, drop=0.03, sd=0.25, alpha=0.05, points=3) < 0.9


def test_close_to_the_normal_approximation() -> None:
    # ((z_0.95 + z_0.8) * 0.2 / 0.02)^2 = 618.3
    assert 615 <= required_problems(drop=0.02, sd=0.2) <= 625


def test_power_matches_simulation_of_the_gate_test() -> None:
    n = required_problems(drop=0.05, sd=0.3, tolerance=0.01, power=0.8)
    rng = np.random.default_rng(0)
    d = rng.normal(0.05, 0.3, (20_000, n, 1))
    _, _, _, p = paired_t(d, 0.01)
    assert (p[:, 0] <= 0.05).mean() == pytest.approx(0.8, abs=0.02)


def test_edge_cases() -> None:
    assert required_problems(drop=0.01, sd=0.0) == 1
    with pytest.raises(ValueError, match="must exceed the tolerance"):
        required_problems(drop=0.01, sd=0.1, tolerance=0.02)


def test_variance_model() -> None:
    v = np.array([0.5, 0.5, 1.0, 0.0])
    assert bernoulli_variance(v)[0] == pytest.approx(0.125)
    assert bernoulli_variance(v, pool_samples=2)[0] == pytest.approx(0.25)
    assert difference_sd(0.125, k=1, samples=4) == pytest.approx((2 * 0.125 / 4) ** 0.5)
    assert difference_sd(0.125, k=4, samples=16) == pytest.approx(
        difference_sd(0.125, k=1, samples=4)
    )
    with pytest.raises(ValueError, match="needs at least 8 samples"):
        difference_sd(0.1, k=8, samples=4)


def test_more_samples_need_fewer_problems() -> None:
    rows = plan_rows([0.2], [1], [1, 4, 16], drop=0.03, available=100)
    needed = [r["problems needed"] for r in rows]
    assert needed[0] > needed[1] > needed[2]
    assert rows[0]["power at 100"] < rows[2]["power at 100"]


def test_cli_with_a_known_sd(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--drop", "0.02", "--sd", "0.2"]) == 0
    out = capsys.readouterr().out
    needed = required_problems(drop=0.02, sd=0.2)
    assert str(needed) in out
    assert "level 0.05 / 1 point(s)" in out


def test_cli_from_a_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(0, 9, (120, 2)) / 8
    entry = BaselineEntry.from_arrays(
        values, [f"p{i}" for i in range(120)], [1, 4], provenance=Provenance(sampling={"n": 8})
    )
    path = tmp_path / "b.json"
    write_baseline(path, BaselineFile(spec="s", entries={"e1": entry}))
    assert main(["plan", "--drop", "0.05", "--baseline", str(path), "--samples", "4,16"]) == 0
    out = capsys.readouterr().out
    assert "power at 120" in out
    assert "pool of 8 samples" in out
    lines = [ln.split() for ln in out.splitlines() if ln.strip()[:1].isdigit()]
    assert [(row[0], row[1]) for row in lines] == [("1", "4"), ("1", "16"), ("4", "4"), ("4", "16")]


def test_cli_from_a_pool_of_outcomes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pool.jsonl"
    rng = np.random.default_rng(1)
    path.write_text(
        "".join(json.dumps({"score": (rng.random(4) < 0.6).tolist()}) + "\n" for _ in range(50))
    )
    assert main(["plan", "--drop", "0.05", "--values", str(path)]) == 0
    assert "pool of 4 samples" in capsys.readouterr().out


def test_cli_reports_errors_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--drop", "0.05", "--baseline", str(tmp_path / "none.json")]) == 2
    assert "error: no baseline file at" in capsys.readouterr().err
    assert main(["plan", "--drop", "0.01", "--tolerance", "0.02", "--sd", "0.1"]) == 2
    assert "must exceed the tolerance" in capsys.readouterr().err
