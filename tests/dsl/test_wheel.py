"""The grammar ships in the wheel: build it, install it apart, parse with the installed copy."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from .conftest import ROOT

SCRIPT = """
import pytest_tts.dsl as dsl
module = dsl.parse('spec "s" { expect accuracy >= 0.5 at flops <= 4G using majority_vote }')
print(dsl.__file__)
print(type(module.items[0]).__name__, module.items[0].body[0].budget.value.value)
"""


def run(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(args, capture_output=True, text=True, check=False, cwd=cwd)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_wheel_contains_the_grammar_and_parses(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(
        sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)
    )
    (wheel,) = dist.glob("pytest_tts-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "pytest_tts/dsl/tts.lark" in archive.namelist()

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    # Dependencies (lark, pytest, ...) come from this environment's site-packages, added as a
    # plain path: .pth files there (the editable install of this checkout) are not processed.
    site = Path(
        run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--no-deps",
        "-q",
        str(wheel),
    )

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [str(python), "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    location, parsed = result.stdout.splitlines()
    assert Path(location).is_relative_to(venv)
    assert parsed == "SpecBlock 4000000000"
