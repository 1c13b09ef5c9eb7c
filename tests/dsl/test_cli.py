"""``pytest-tts check`` and ``pytest-tts fmt``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tts.cli import main

PLUGIN = '''
import pytest


def toy_backend(path):
    """A backend that exists only for these tests."""


def toy_source(limit=None):
    """A dataset source that exists only for these tests."""


def toy_verifier():
    """A verifier that exists only for these tests."""


@pytest.hookimpl
def pytest_tts_register(registry):
    registry.add_backend("toy_backend", toy_backend)
    registry.add_source("toy_source", toy_source)
    registry.add_verifier("toy_verifier", toy_verifier)
'''

GOOD = """\
model m = toy_backend("x")
dataset d = toy_source(limit = 3)
verifier v = toy_verifier()

spec "s" {
    model m
    dataset d
    sample n = 4
    oracle v
    expect coverage >= 0.5 at n = 4
}
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "toy_plugin.py").write_text(PLUGIN, encoding="utf-8")
    specs = tmp_path / "specs"
    (specs / "nested").mkdir(parents=True)
    (specs / "good.tts").write_text(GOOD, encoding="utf-8")
    (specs / "nested" / "also_good.tts").write_text(GOOD, encoding="utf-8")
    return tmp_path


def test_check_accepts_valid_specs(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["check", "-p", str(tree / "toy_plugin.py"), str(tree / "specs")])
    out = capsys.readouterr().out
    assert status == 0
    assert f"{tree / 'specs' / 'good.tts'}: ok (1 specs, 1 expectations)" in out
    assert f"{tree / 'specs' / 'nested' / 'also_good.tts'}: ok" in out


def test_check_prints_every_diagnostic_and_fails(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tree / "specs" / "bad.tts"
    bad.write_text(
        GOOD.replace("sample n = 4", "sample n = 4, temprature = 1").replace(
            "at n = 4", "at n = 8"
        ),
        encoding="utf-8",
    )
    status = main(["check", "-p", str(tree / "toy_plugin.py"), str(tree / "specs")])
    err = capsys.readouterr().err
    assert status == 1
    assert f"{bad}:8:19: error[unknown-sampling-parameter]" in err
    assert f"{bad}:10:35: error[budget-beyond-pool]" in err
    assert "1 of 3 files have errors" in err


def test_check_without_the_plugin_reports_unknown_names(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tree / "specs" / "good.tts")]) == 1
    assert "error[unknown-backend]: unknown backend 'toy_backend'" in capsys.readouterr().err


def test_fmt_check_reports_without_writing_then_fmt_rewrites(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messy = tree / "specs" / "good.tts"
    messy.write_text(GOOD.replace("sample n = 4", "sample   n=4"), encoding="utf-8")
    before = messy.read_text(encoding="utf-8")
    assert main(["fmt", "--check", str(tree / "specs")]) == 1
    assert f"would reformat {messy}" in capsys.readouterr().out
    assert messy.read_text(encoding="utf-8") == before
    assert main(["fmt", str(tree / "specs")]) == 0
    assert messy.read_text(encoding="utf-8") == GOOD
    assert main(["fmt", "--check", str(tree / "specs")]) == 0


def test_fmt_refuses_a_file_that_does_not_parse(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tree / "specs" / "good.tts"
    broken.write_text(GOOD.replace("oracle v\n", "oracle v\n    expect\n"), encoding="utf-8")
    assert main(["fmt", str(broken)]) == 1
    assert "error[syntax]" in capsys.readouterr().err
    assert "expect\n" in broken.read_text(encoding="utf-8")


def test_python_dash_m_runs_the_same_command(tree: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_tts", "fmt", "--check", str(tree / "specs")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
