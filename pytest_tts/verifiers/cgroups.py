"""cgroup v1 groups for sandboxed jobs: a process cap and a memory cap per job.

Processes here run as root, and root ignores ``RLIMIT_NPROC``; the ``pids`` controller's
``pids.max`` is what stops a fork storm. The ``memory`` controller caps a job's total
memory (tmpfs included) where ``RLIMIT_AS`` only caps each process. Each job gets fresh
groups under this process's own, joined before the sandbox starts, swept and removed after.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shlex
import signal
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pytest_tts.errors import VerifierError

log = logging.getLogger(__name__)

_CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CgroupSupport:
    """Writable cgroup v1 hierarchies (None where unavailable)."""

    pids: Path | None
    memory: Path | None


def _own_cgroup(controller: str) -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return _CGROUP_ROOT / controller / path.lstrip("/")
    return None


@cache
def cgroup_support() -> CgroupSupport:
    """Which cgroup v1 controllers this process can create child groups in."""
    found: dict[str, Path | None] = {}
    for controller in ("pids", "memory"):
        base = _own_cgroup(controller)
        ok = False
        if base is not None and base.is_dir():
            probe = base / f"pytest-tts-probe-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                probe.mkdir()
                probe.rmdir()
                ok = True
            except OSError:
                ok = False
        found[controller] = base if ok else None
    support = CgroupSupport(pids=found["pids"], memory=found["memory"])
    if support.pids is None:
        log.warning(
            "sandbox: no writable pids cgroup; a fork storm is bounded only by the host's "
            "pid_max (processes run as root ignore RLIMIT_NPROC)"
        )
    if support.memory is None:
        log.warning("sandbox: no writable memory cgroup; memory is bounded per process only")
    return support


class JobCgroups:
    """The per-job cgroups: created before the job, swept and removed after it."""

    def __init__(self, support: CgroupSupport, max_processes: int, memory_bytes: int) -> None:
        name = f"pytest-tts-{os.getpid()}-{secrets.token_hex(6)}"
        self.dirs: list[Path] = []
        self.pids: Path | None = None
        self.memory: Path | None = None
        if support.pids is not None:
            self.pids = support.pids / name
            self.pids.mkdir()
            self.dirs.append(self.pids)
            (self.pids / "pids.max").write_text(str(max_processes))
        if support.memory is not None:
            self.memory = support.memory / name
            self.memory.mkdir()
            self.dirs.append(self.memory)
            (self.memory / "memory.limit_in_bytes").write_text(str(memory_bytes))

    def join_script(self) -> str:
        procs = " ".join(shlex.quote(str(d / "cgroup.procs")) for d in self.dirs)
        return f'for f in {procs}; do echo $$ > "$f" || exit 97; done; exec "$@"'

    def hit_pids_limit(self) -> bool:
        if self.pids is None:
            return False
        for line in _read(self.pids / "pids.events").splitlines():
            key, _, value = line.partition(" ")
            if key == "max" and value.strip() not in ("", "0"):
                return True
        return False

    def memory_events(self) -> tuple[bool, bool]:
        """(the OOM killer struck, usage reached the limit at least once)."""
        if self.memory is None:
            return False, False
        oom = False
        for line in _read(self.memory / "memory.oom_control").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip() not in ("", "0"):
                oom = True
        reached = _read(self.memory / "memory.failcnt").strip() not in ("", "0")
        return oom, reached

    def sweep(self, grace_s: float = 1.0) -> int:
        """Kill every member, remove the groups, and return how many had to be killed.

        Members still dying from the sandbox's own teardown get ``grace_s`` to go; those
        left after it are stragglers (the PID namespace should leave none). Raises
        VerifierError if a group cannot be removed.
        """
        stragglers = 0
        for d in self.dirs:
            deadline = time.monotonic() + grace_s
            while _read(d / "cgroup.procs").split() and time.monotonic() < deadline:
                time.sleep(0.005)
            for attempt in range(200):
                members = [int(p) for p in _read(d / "cgroup.procs").split()]
                if not members:
                    break
                if attempt == 0:
                    stragglers = max(stragglers, len(members))
                for pid in members:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.01)
            for _ in range(200):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
            else:
                msg = f"sandbox cgroup {d} could not be removed: processes survived the sandbox"
                raise VerifierError(msg)
        return stragglers


def user_processes() -> int:
    """How many processes this user runs now (RLIMIT_NPROC counts them all, host-wide)."""
    uid, count = str(os.getuid()), 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            for line in _read(entry / "status").splitlines():
                if line.startswith("Uid:"):
                    count += line.split()[1] == uid
                    break
    return count


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
