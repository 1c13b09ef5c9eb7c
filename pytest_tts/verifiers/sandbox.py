"""Run untrusted Python programs (and the tests that judge them) in a bubblewrap sandbox.

Mechanism, per job:

- **bubblewrap** (``bwrap``, Debian package ``bubblewrap``) builds an empty root with only
  ``/usr``, the dynamic loader's cache and the interpreter's own prefixes bound read-only,
  a fresh ``/dev`` and ``/proc``, and a private, size-capped tmpfs at ``/tmp`` that is the
  working directory; then ``--remount-ro /``. Nothing of the host's ``/root``, ``/home``,
  ``/work`` or ``/tmp`` is visible, and nothing can be written anywhere but the private
  ``/tmp``, which vanishes with the sandbox. ``/proc`` is the sandbox's own, with
  ``/proc/sys`` read-only: uid 0 inside is the host's root, so a writable ``/proc/sys``
  would let a program change the host's sysctls. ``--unshare-all`` gives it no network, its own
  PID, IPC, UTS and mount namespaces; ``--cap-drop ALL`` takes root's capabilities away, so
  the limits below cannot be raised from inside; ``--clearenv`` hands it a scrubbed
  environment; ``--die-with-parent`` kills it if the caller dies; ``--new-session`` detaches
  it from the terminal.
- **cgroups v1**: a fresh ``pids`` cgroup caps processes and threads (``pids.max``; root
  ignores ``RLIMIT_NPROC``, so this is what stops a fork storm) and a fresh ``memory`` cgroup
  caps the sandbox's total memory, tmpfs included. Both are joined before ``bwrap`` starts,
  swept (every member killed) and removed at the end.
- **rlimits**, set by the harness before any untrusted code runs: address space
  (``RLIMIT_AS``), CPU seconds, file size, no core files.
- **the caller** enforces the wall-clock limit and the output cap (stdout and stderr share
  one pipe; past the cap the sandbox is killed), then kills the whole session, whose PID
  namespace takes every descendant with it.

Success is a positive signal: the harness writes ``P <nonce>`` to a private pipe after the
tests returned, where the nonce is random per job. The harness splits in two processes
(see ``harness.py``): the program runs in a child that holds no handle on that pipe and
never had the tests or the nonce in its memory (they are read from stdin only after the
fork), and the tests run in the parent, which never runs a line of the program. The tests
call the program's functions through proxies; arguments and results cross as ``marshal``
data, so every comparison is made in the parent on plain values (numbers, strings, bytes,
None and containers of them): an object whose ``__eq__`` always answers True, or any other
object of the program's own, cannot reach the tests, and such a result is an error. The
parent is non-dumpable, so the child cannot trace it or open its descriptors through
``/proc``. ``os._exit(0)``, ``sys.exit(0)`` or an ``atexit`` handler never reach the signal.

What the split costs: tests that pass a callable to the program, read an argument it
mutated in place, or expect a generator or an object of the program's own get an error (the
HumanEval tests do none of these; ``bench/sandbox.py`` checks all 164 canonical solutions).
A program that kills every process it can signal takes the parent with it and fails.

Not contained: a program may still patch modules in its own process (``math.isclose =
…``), which only changes what it computes. These are attacks on the program's own answers,
not on the tests or the machine.

Without writable cgroups (see :func:`~pytest_tts.verifiers.cgroups.cgroup_support`) the
harness falls back to ``RLIMIT_NPROC`` (the user's current process count plus
``max_processes``), which root ignores: for root a fork storm is then bounded only by the
host's ``pid_max``/``threads-max`` (the PID namespace still kills every process at the end),
and total memory only by ``RLIMIT_AS`` per process times the number of processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import marshal
import math
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pytest_tts.errors import VerifierError
from pytest_tts.verifiers.cgroups import (
    CgroupSupport,
    JobCgroups,
    cgroup_support,
    user_processes,
)

INSTALL_HINT = "apt-get update && apt-get install -y bubblewrap"
HARNESS_MARK = "# pytest-tts sandbox harness"

# The harness's source, run with ``python -c`` inside the sandbox (see harness.py).
HARNESS = (Path(__file__).parent / "harness.py").read_text(encoding="utf-8")
assert HARNESS.startswith(HARNESS_MARK)


@dataclass(frozen=True)
class Limits:
    """What one sandboxed job may use. ``cpu_s`` defaults to the wall-clock timeout."""

    timeout_s: float = 10.0
    cpu_s: int | None = None
    memory_mb: int = 1024
    max_processes: int = 32
    output_bytes: int = 1 << 20
    tmp_mb: int = 64

    def __post_init__(self) -> None:
        for name in ("timeout_s", "memory_mb", "max_processes", "output_bytes", "tmp_mb"):
            value = getattr(self, name)
            if not value > 0:
                msg = f"sandbox limit {name} must be positive, got {value!r}"
                raise VerifierError(msg)

    @property
    def cpu_seconds(self) -> int:
        return self.cpu_s if self.cpu_s is not None else max(1, math.ceil(self.timeout_s))


@dataclass(frozen=True)
class Job:
    """A program, then tests run in its namespace, then ``check(<entry_point>)`` if named."""

    program: str
    test: str = ""
    entry_point: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How a job ended.

    ``status`` is one of: ``passed``, ``assertion failed``, ``error``, ``syntax error``,
    ``timeout``, ``memory``, ``process limit``, ``output limit``, ``disk limit`` (its tmpfs
    or the file-size limit is full), ``exit before tests``, ``killed``. ``detail`` adds
    specifics (the exception, the signal); ``output`` is the
    captured stdout and stderr, at most the output cap. ``stragglers`` counts processes
    that outlived the sandbox's own teardown and were killed through the cgroup (expected: 0).
    """

    status: str
    detail: str = ""
    output: str = ""
    wall_s: float = 0.0
    stragglers: int = 0

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def describe(self) -> str:
        return f"{self.status}: {self.detail}" if self.detail else self.status


@cache
def bwrap_path() -> str:
    """The ``bwrap`` executable, checked to work here; raises VerifierError otherwise."""
    path = shutil.which("bwrap")
    if path is None:
        msg = (
            "the unit_tests sandbox needs bubblewrap ('bwrap' not found on PATH); "
            f"install it with: {INSTALL_HINT}"
        )
        raise VerifierError(msg)
    probe = subprocess.run(
        [path, *_mounts(), "--unshare-all", "--cap-drop", "ALL", "--", "/bin/true"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        msg = (
            f"bubblewrap cannot create a sandbox here (exit {probe.returncode}): "
            f"{probe.stderr.strip()[:300]}"
        )
        raise VerifierError(msg)
    return path


def _mounts() -> list[str]:
    """Read-only binds: /usr, its usual top-level links, the loader cache, Python's prefixes."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        args += ["--ro-bind-try", etc, etc]
    prefixes: list[str] = []
    for prefix in (sys.base_prefix, sys.prefix, sys.exec_prefix):
        for p in {prefix, os.path.realpath(prefix)}:
            if not p.startswith("/usr/") and p not in prefixes:
                prefixes.append(p)
    for p in sorted(prefixes, key=len):
        args += ["--ro-bind", p, p]
    return args


def owner_tag(pid: int | None = None) -> str:
    """The command-line marker of sandboxes started by process ``pid`` (default: this one)."""
    return f"pytest-tts-owner={os.getpid() if pid is None else pid}"


def _bwrap_argv(limits: Limits, python: str) -> list[str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    # The private /tmp comes first: an interpreter or virtualenv that lives under the host's
    # /tmp (a CI checkout, say) is then bound on top of it instead of being hidden by it.
    argv = [bwrap_path(), "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp", *_mounts()]
    # uid 0 inside maps to the host's root, so a writable /proc/sys would let a program
    # change the host's sysctls (kernel.pid_max, vm.overcommit_memory): bind it read-only.
    argv += ["--dev", "/dev", "--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys"]
    argv += ["--remount-ro", "/"]
    argv += ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    argv += ["--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    # The owner's pid in the command line (inherited by every fork) tells whose sandbox a
    # process belongs to, for leak checks when several test processes share a machine.
    argv += ["--chdir", "/tmp", "--", python, "-s", "-B", "-c", HARNESS, owner_tag()]
    return argv


class Sandbox:
    """Runs :class:`Job` objects under bubblewrap, ``workers`` at a time."""

    def __init__(
        self, limits: Limits | None = None, workers: int | None = None, python: str | None = None
    ) -> None:
        self.limits = limits or Limits()
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.python = python or sys.executable
        self._argv = _bwrap_argv(self.limits, self.python)
        self.cgroups: CgroupSupport = cgroup_support()

    def run(self, jobs: Sequence[Job]) -> list[Outcome]:
        """One outcome per job, in order; jobs run in parallel across ``workers``."""
        if len(jobs) <= 1 or self.workers == 1:
            return [self.run_one(job) for job in jobs]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(jobs))) as pool:
            return list(pool.map(self.run_one, jobs))

    def run_one(self, job: Job) -> Outcome:
        limits = self.limits
        nonce = secrets.token_hex(16)
        memory_bytes = (limits.memory_mb + limits.tmp_mb + 64) << 20
        groups = JobCgroups(self.cgroups, limits.max_processes, memory_bytes)
        read_fd, write_fd = os.pipe()
        payload = {
            "fd": write_fd,
            "program": job.program,
            "entry_point": job.entry_point,
            "memory": limits.memory_mb << 20,
            "cpu": limits.cpu_seconds,
            "fsize": max(limits.output_bytes, limits.tmp_mb << 20),
            "nproc": 0 if groups.pids is not None else user_processes() + limits.max_processes,
        }
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", groups.join_script(), "sh", *self._argv],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,
                env={"PATH": "/usr/bin:/bin"},
            )
        except OSError as exc:
            os.close(read_fd)
            os.close(write_fd)
            groups.sweep()
            msg = f"could not start the sandbox: {exc}"
            raise VerifierError(msg) from None
        os.close(write_fd)
        try:
            # The harness reads the tests and the nonce only after it split off the process
            # that runs the program: two frames, each its length then its marshal data.
            frames = b"".join(
                len(data).to_bytes(8, "little") + data
                for data in (
                    marshal.dumps(payload, 4),
                    marshal.dumps({"test": job.test, "nonce": nonce}, 4),
                )
            )
            output, over, timed_out = self._communicate(proc, frames, start)
        finally:
            self._kill(proc)
        wall = time.monotonic() - start
        messages = _drain(read_fd)
        pids_hit, (oom, memory_full) = groups.hit_pids_limit(), groups.memory_events()
        stragglers = groups.sweep()
        text = output.decode("utf-8", "replace")
        outcome = _classify(
            messages,
            nonce,
            proc.returncode,
            text,
            wall,
            over,
            timed_out,
            pids_hit,
            oom,
            memory_full,
        )
        return dataclasses.replace(outcome, stragglers=stragglers)

    def _communicate(
        self, proc: subprocess.Popen[bytes], payload: bytes, start: float
    ) -> tuple[bytes, bool, bool]:
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            proc.stdin.write(payload)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        cap = self.limits.output_bytes
        deadline = start + self.limits.timeout_s
        output = bytearray()
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return bytes(output), False, True
                if not selector.select(timeout=min(remaining, 0.5)):
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                output += chunk
                if len(output) > cap:
                    return bytes(output[:cap]), True, False
        remaining = deadline - time.monotonic()
        try:
            proc.wait(timeout=max(remaining, 0.01))
        except subprocess.TimeoutExpired:
            return bytes(output), False, True
        return bytes(output), False, False

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _drain(fd: int) -> list[str]:
    os.set_blocking(fd, False)
    data = bytearray()
    try:
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
            if len(data) > 1 << 20:
                break
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace").splitlines()


def _classify(
    messages: list[str],
    nonce: str,
    returncode: int | None,
    output: str,
    wall: float,
    over: bool,
    timed_out: bool,
    pids_hit: bool,
    oom: bool,
    memory_full: bool,
) -> Outcome:
    def outcome(status: str, detail: str = "") -> Outcome:
        return Outcome(status, detail, output, wall)

    if f"P {nonce}" in messages:
        return outcome("passed")
    if over:
        return outcome("output limit", "output exceeded the cap")
    if timed_out:
        # A program that hit a limit often hangs afterwards: at the memory cgroup's limit the
        # kernel reclaims the program's own code pages before it kills anything, and a fork
        # storm's processes wait for children that could not start. The limit is the cause.
        if oom or memory_full:
            return outcome("memory", "memory limit reached, then the wall-clock limit")
        if pids_hit:
            return outcome("process limit", "process limit reached, then the wall-clock limit")
        return outcome("timeout", "wall-clock limit")
    if "S" not in messages:
        if returncode == 97:
            msg = "the sandbox could not join its cgroups"
        else:
            msg = f"the sandbox did not start (exit {returncode}): {output.strip()[:300]}"
        raise VerifierError(msg)
    failures = [m[2:] for m in messages if m.startswith("F ")]
    kind, _, text = failures[0].partition("\t") if failures else ("", "", "")
    signum = returncode - 128 if returncode is not None and returncode > 128 else None
    if kind == "memory" or oom:
        return outcome("memory", text or "memory limit")
    if pids_hit:
        return outcome("process limit", text)
    if kind == "syntax":
        return outcome("syntax error", text)
    if kind == "disk":
        return outcome("disk limit", text)
    if kind == "assertion":
        return outcome("assertion failed", text)
    if kind == "exit":
        return outcome("exit before tests", f"SystemExit during {text}")
    if kind == "error":
        return outcome("error", text)
    if signum == signal.SIGXCPU:
        return outcome("timeout", "CPU time limit")
    if signum == signal.SIGXFSZ:
        return outcome("output limit", "file size limit")
    if signum is not None:
        return outcome("killed", f"killed by {signal.Signals(signum).name}")
    return outcome(
        "exit before tests", f"exited with status {returncode} before the tests finished"
    )
