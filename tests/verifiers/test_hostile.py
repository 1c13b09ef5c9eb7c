"""Hostile completions: each must be contained, classified, and leave the machine clean.

Every attack is bounded on its own (dozens of processes, a few GB, seconds), so that a
containment failure shows up as a failed test rather than a machine brought down.
"""

from __future__ import annotations

import os
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_tts.types import Problem, Verdict
from pytest_tts.verifiers import sandbox
from pytest_tts.verifiers.base import binary
from pytest_tts.verifiers.code import UnitTests, code_job, unit_tests
from pytest_tts.verifiers.sandbox import Job

PROMPT = 'def add(a: float, b: float) -> float:\n    """Return a + b."""\n'
TEST = textwrap.dedent(
    """
    def check(candidate):
        assert abs(candidate(1.0, 2.0) - 3.0) < 1e-9
        assert abs(candidate(-4.0, 4.0)) < 1e-9
    """
)
PROBLEM = Problem("hostile/add", PROMPT, None, {"test": TEST, "entry_point": "add"})
RIGHT = "    return a + b\n"
WRONG = "    return a - b\n"


def body(code: str, ret: str = RIGHT) -> str:
    """A completion: the function body, then module-level code."""
    return ret + textwrap.dedent(code)


@dataclass(frozen=True)
class Case:
    completion: str
    status: str
    detail: str = ""

    @property
    def verifier(self) -> str:
        # Only the cases that must time out get a short limit; the others get a long one,
        # so that a loaded machine cannot turn them into timeouts.
        return "quick" if self.status == "timeout" else "patient"


CASES: dict[str, Case] = {
    "correct": Case(RIGHT, "passed"),
    "wrong": Case(WRONG, "assertion failed"),
    "syntax": Case("    return a +\n", "syntax error"),
    "infinite_loop": Case(
        body(
            """
            import time
            start = time.monotonic()
            while time.monotonic() - start < 120:
                pass
            """
        ),
        "timeout",
    ),
    "sleep_forever": Case(body("import time\ntime.sleep(120)\n"), "timeout"),
    "fork_storm": Case(
        body(
            """
            import os, time
            for _ in range(60):  # a few dozen sleepers if nothing stops it
                if os.fork() == 0:
                    time.sleep(10)
                    os._exit(0)
            """
        ),
        "process limit",
    ),
    "exponential_fork_storm": Case(
        body(
            """
            import os, time
            for _ in range(6):  # 64 processes if nothing stops it
                try:
                    os.fork()
                except OSError:
                    pass
            time.sleep(1)
            """,
            WRONG,
        ),
        "process limit",
    ),
    "thread_storm": Case(
        body(
            """
            import threading, time
            for _ in range(100):
                threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
            """
        ),
        "process limit",
    ),
    "orphans_left_behind": Case(
        body(
            """
            import os, time
            for _ in range(4):
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        time.sleep(60)
                    os._exit(0)
            """
        ),
        "passed",
    ),
    "memory_bomb": Case(body("hog = bytearray(3 << 30)\n"), "memory"),
    "memory_gradual": Case(
        body(
            """
            hog = []
            for _ in range(48):  # 3 GiB in 64 MiB steps
                hog.append(b"x" * (64 << 20))
            """
        ),
        "memory",
    ),
    "memory_numpy": Case(body("import numpy\nhog = numpy.ones(1 << 32)\n"), "memory"),
    "memory_across_processes": Case(
        # Four children of 300 MiB each stay under the per-process address-space limit;
        # only the sandbox-wide memory cgroup stops them. The answer is right only if all
        # four managed to fill their memory.
        body(
            """
            import os
            children = []
            for _ in range(4):
                pid = os.fork()
                if pid == 0:
                    hog = b"x" * (300 << 20)
                    os._exit(0)
                children.append(pid)
            ok = all(os.waitpid(pid, 0)[1] == 0 for pid in children)
            def add(a, b):
                return a + b if ok else a - b
            """
        ),
        "memory",
    ),
    "exit_before_tests": Case(body("import os\nos._exit(0)\n", WRONG), "exit before tests"),
    "sys_exit_before_tests": Case(
        body("import sys\nsys.exit(0)\n", WRONG), "exit before tests", "SystemExit"
    ),
    "exit_inside_candidate": Case("    import os\n    os._exit(0)\n", "exit before tests"),
    "system_exit_inside_candidate": Case("    raise SystemExit(0)\n", "exit before tests"),
    "atexit_rewrites_status": Case(
        body("import atexit, os\natexit.register(os._exit, 0)\n", WRONG), "assertion failed"
    ),
    "forged_success_text": Case(
        body(
            """
            import os
            print("passed")
            os.write(1, b"P " + b"0" * 32 + b"\\n")
            for fd in range(3, 64):
                try:
                    os.write(fd, b"P " + b"0" * 32 + b"\\n")
                except OSError:
                    pass
            os._exit(0)
            """,
            WRONG,
        ),
        "exit before tests",
    ),
    "patched_builtins": Case(
        body("import builtins\nbuiltins.abs = lambda x: 0\n", WRONG), "assertion failed"
    ),
    "own_check": Case(
        body(
            """
            import builtins
            def check(candidate):
                pass
            builtins.check = check
            """,
            WRONG,
        ),
        "assertion failed",
    ),
    "swapped_assertion_error": Case(
        body(
            """
            import builtins
            builtins.AssertionError = type("Nope", (Exception,), {})
            """,
            WRONG,
        ),
        "assertion failed",
    ),
    "trace_hook": Case(
        body(
            """
            import sys
            def tracer(frame, event, arg):
                if frame.f_code.co_name == "check":
                    raise SystemExit(0)
                return None
            sys.settrace(tracer)
            """,
            WRONG,
        ),
        "assertion failed",
    ),
    "print_gigabytes": Case(
        body(
            """
            import sys
            chunk = "x" * (1 << 20)
            for _ in range(2048):
                sys.stdout.write(chunk)
            """
        ),
        "output limit",
    ),
    "stderr_gigabytes": Case(
        body(
            """
            import os
            chunk = b"x" * (1 << 20)
            for _ in range(2048):
                os.write(2, chunk)
            """
        ),
        "output limit",
    ),
    "fill_the_disk": Case(
        body(
            """
            chunk = b"x" * (1 << 20)
            with open("big", "wb") as f:
                for _ in range(2048):
                    f.write(chunk)
            """
        ),
        "disk limit",
    ),
    "network": Case(
        body(
            """
            import socket
            try:
                socket.create_connection(("1.1.1.1", 80), timeout=2).close()
                reached = True
            except OSError:
                reached = False
            def add(a, b):
                return a - b if reached else a + b
            """
        ),
        "passed",
    ),
    "signal_everything": Case(
        body(
            """
            import os, signal
            for target in (-1, 1, os.getppid()):
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass
            """
        ),
        # Nothing outside the sandbox is reached; inside, the judge (the program's parent,
        # same user) is, so a program that kills everything fails instead of passing.
        "killed",
    ),
    "privileged_operations": Case(
        body(
            """
            import resource, subprocess
            escaped = []
            try:
                resource.setrlimit(resource.RLIMIT_AS, (-1, -1))
                escaped.append("rlimit")
            except (ValueError, OSError):
                pass
            r = subprocess.run(["mount", "-o", "remount,rw", "/"], capture_output=True)
            if r.returncode == 0:
                escaped.append("mount")
            for sysctl in ("/proc/sys/kernel/pid_max", "/proc/sys/vm/overcommit_memory"):
                try:
                    value = open(sysctl).read()
                    with open(sysctl, "w") as f:  # the same value: harmless if it escaped
                        f.write(value)
                    escaped.append(sysctl)
                except OSError:
                    pass
            def add(a, b):
                return a - b if escaped else a + b
            """
        ),
        "passed",
    ),
}

LIMITS = {"memory_mb": 512, "max_processes": 16, "output_kb": 64}


@pytest.fixture(scope="module")
def verifiers() -> dict[str, UnitTests]:
    return {"quick": unit_tests(timeout=3, **LIMITS), "patient": unit_tests(timeout=60, **LIMITS)}


@pytest.fixture(scope="module")
def verifier(verifiers: dict[str, UnitTests]) -> UnitTests:
    return verifiers["patient"]


def _check(case: Case, verdict: Verdict) -> None:
    status = verdict.detail.split(":", 1)[0]
    assert (status, verdict.accepted) == (case.status, case.status == "passed"), verdict.detail
    assert case.detail in verdict.detail
    assert verdict.score == (1.0 if case.status == "passed" else 0.0)


def _job(completion: str) -> Job:
    return code_job(PROBLEM, completion)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_completion_is_contained_and_classified(
    name: str, verifiers: dict[str, UnitTests], clean_machine: None
) -> None:
    case = CASES[name]
    (outcome,) = verifiers[case.verifier].sandbox.run([_job(case.completion)])
    _check(case, binary(outcome.passed, None, outcome.describe()))
    assert outcome.stragglers == 0, "processes outlived the sandbox's PID namespace"


def test_whole_corpus_in_parallel_batches(
    verifiers: dict[str, UnitTests], clean_machine: None
) -> None:
    for kind, verifier in verifiers.items():
        names = sorted(name for name, case in CASES.items() if case.verifier == kind)
        verdicts = verifier.verify([(PROBLEM, CASES[name].completion) for name in names])
        for name, verdict in zip(names, verdicts, strict=True):
            _check(CASES[name], verdict)


def test_no_writes_outside_the_sandbox(
    verifier: UnitTests, clean_machine: None, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex
    targets = [
        tmp_path / f"canary-{tag}",
        Path(__file__).parent / f"canary-{tag}",
        Path("/root") / f"canary-{tag}",
        Path("/etc") / f"canary-{tag}",
        Path("/tmp") / f"canary-{tag}",
        Path(f"/canary-{tag}"),
    ]
    completion = body(
        f"""
        import os
        written = []
        for path in {[str(t) for t in targets]!r}:
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write("escaped")
                written.append(path)
            except OSError:
                pass
        with open("scratch.txt", "w") as f:  # its own directory is writable
            f.write("fine")
        tmp_ok = open("/tmp/scratch.txt").read() == "fine" and os.getcwd() == "/tmp"
        def add(a, b):
            return a + b if tmp_ok else a - b
        """
    )
    (verdict,) = verifier.verify([(PROBLEM, completion)])
    assert verdict.accepted, verdict.detail
    assert [t for t in targets if t.exists()] == []


def test_host_files_and_environment_are_invisible(
    verifier: UnitTests, clean_machine: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = uuid.uuid4().hex
    monkeypatch.setenv("TTS_SECRET_CANARY", secret)
    canary = tmp_path / "secret.txt"
    canary.write_text(secret)
    completion = body(
        f"""
        import os
        print(sorted(os.environ.items()))
        leaks = [k for k, v in os.environ.items() if {secret!r} in v or "CANARY" in k]
        for path in ({str(canary)!r}, {str(Path(__file__).resolve())!r}, "/root/.bashrc"):
            try:
                leaks.append(open(path).read()[:40])
            except OSError:
                pass
        print(leaks)
        def add(a, b):
            return a - b if leaks else a + b
        """
    )
    (outcome,) = verifier.sandbox.run([_job(completion)])
    assert outcome.passed, outcome.describe()
    assert "PATH" in outcome.output
    assert secret not in outcome.output
    assert os.environ["TTS_SECRET_CANARY"] == secret


def test_without_cgroups_the_sandbox_still_cleans_up(
    monkeypatch: pytest.MonkeyPatch, clean_machine: None
) -> None:
    # Without writable cgroups the only process cap is RLIMIT_NPROC, which root ignores: the
    # storm is then bounded by nothing but itself (60 sleepers here). The PID namespace still
    # takes every one of them down when the program ends.
    monkeypatch.setattr(sandbox, "cgroup_support", lambda: sandbox.CgroupSupport(None, None))
    verifier = unit_tests(timeout=60, **LIMITS)
    assert verifier.sandbox.cgroups == sandbox.CgroupSupport(None, None)
    (verdict,) = verifier.verify([(PROBLEM, CASES["fork_storm"].completion)])
    if os.getuid() == 0:
        assert (verdict.accepted, verdict.detail) == (True, "passed")
    else:
        assert (verdict.accepted, verdict.detail.split(":")[0]) == (False, "error")
    (verdict,) = verifier.verify([(PROBLEM, CASES["memory_bomb"].completion)])
    assert (verdict.accepted, verdict.detail.split(":")[0]) == (False, "memory")


def test_a_program_that_reads_its_parent_frame_cannot_forge_success(
    verifier: UnitTests, clean_machine: None
) -> None:
    # Every frame above the program, every descriptor it holds and its parent's through
    # /proc: the tests and the nonce never were in its process, and the report pipe is closed.
    forge = body(
        """
        import os, sys
        found = []
        frame = sys._getframe(0)
        while frame is not None:
            for value in list(frame.f_locals.values()):
                if isinstance(value, (bytes, str)) and str(value).startswith(("P ", "b'P ")):
                    found.append(value if isinstance(value, bytes) else value.encode())
                if isinstance(value, dict):
                    found += [str(v).encode() for k, v in value.items() if k in ("nonce", "test")]
            frame = frame.f_back
        print("found", found, flush=True)
        paths = [f"/proc/{os.getppid()}/fd/{n}" for n in range(64)]
        for fd in list(range(3, 64)) + paths:
            try:
                target = os.open(fd, os.O_WRONLY) if isinstance(fd, str) else fd
                for line in found + [b"P 0\\n"]:
                    os.write(target, line)
            except OSError:
                pass
        os._exit(0)
        """,
        WRONG,
    )
    (verdict,) = verifier.verify([(PROBLEM, forge)])
    assert not verdict.accepted
    assert verdict.detail.startswith("exit before tests"), verdict.detail
    assert "found []" in verifier.sandbox.run([_job(forge)])[0].output


def test_an_always_equal_result_cannot_leave_the_program(
    verifier: UnitTests, clean_machine: None
) -> None:
    problem = Problem(
        "hostile/eq",
        "def twice(x):\n",
        None,
        {"test": "def check(candidate):\n    assert candidate(2) == 4\n", "entry_point": "twice"},
    )
    cheat = "    class Anything:\n        def __eq__(self, other):\n            return True\n"
    cheat += "    return Anything()\n"
    (verdict,) = verifier.verify([(problem, cheat)])
    assert not verdict.accepted
    assert verdict.detail == (
        "error: TypeError: 'twice' returned an object of type Anything, which cannot leave"
        " the program (only plain values cross to the tests)"
    )


def test_tests_reach_the_program_through_plain_values(
    verifier: UnitTests, clean_machine: None
) -> None:
    """What HumanEval-style tests need keeps working across the process line: helpers the
    tests call besides the entry point, module constants, the program's exceptions (by
    builtin type), keyword arguments and nested containers; and the program's output."""
    problem = Problem(
        "split/plain",
        "SCALE = 3\n\ndef encode(s):\n    return s[::-1]\n\ndef decode(s):\n",
        None,
        {
            "test": (
                "def check(candidate):\n"
                "    assert candidate(encode('abc')) == 'abc'\n"
                "    assert SCALE == 3\n"
                "    assert candidate(s={'k': [1, (2, 3)]}) == {'k': [1, (2, 3)]}\n"
                "    try:\n"
                "        candidate(None)\n"
                "    except ValueError as exc:\n"
                "        assert str(exc) == 'no text'\n"
                "    else:\n"
                "        raise AssertionError('no ValueError')\n"
            ),
            "entry_point": "decode",
        },
    )
    solution = (
        "    print('decoding', s)\n"
        "    if s is None:\n"
        "        raise ValueError('no text')\n"
        "    return s if isinstance(s, dict) else s[::-1]\n"
    )
    (verdict,) = verifier.verify([(problem, solution)])
    assert (verdict.accepted, verdict.detail) == (True, "passed")
    (outcome,) = verifier.sandbox.run([code_job(problem, solution)])
    assert "decoding cba" in outcome.output


def test_a_program_that_exits_inside_a_call_fails(verifier: UnitTests, clean_machine: None) -> None:
    quitter = "    import os\n    os._exit(0)\n"
    (verdict,) = verifier.verify([(PROBLEM, quitter)])
    assert (verdict.accepted, verdict.detail.split(":")[0]) == (False, "exit before tests")
