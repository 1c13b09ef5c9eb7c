# pytest-tts sandbox harness
"""The harness that runs inside the sandbox (see ``sandbox.py``); never imported by the host.

The host passes this file's text to ``python -c``. It reads its job from stdin (marshal),
sets the rlimits, runs the program, then the tests and ``check(entry_point)``, and reports
on a private pipe: ``S`` when it started, ``F <kind>\t<text>`` on failure, ``P <nonce>``
when the tests returned. Everything it needs after the program ran is bound to a local
first, so that the program cannot swap it out.
"""

from __future__ import annotations

import builtins
import errno
import marshal
import os
import resource
import sys

# Not `from typing import TYPE_CHECKING`: importing typing would slow every sandbox start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


def _harness() -> None:
    job = marshal.loads(sys.stdin.buffer.read())
    fd = job["fd"]
    write, exit_, exec_, compile_, getpid = os.write, os._exit, exec, compile, os.getpid
    BaseException_, SystemExit_, MemoryError_ = BaseException, SystemExit, MemoryError
    AssertionError_, SyntaxError_, type_, str_ = AssertionError, SyntaxError, type, str
    OSError_, disk_full = OSError, (errno.EFBIG, errno.ENOSPC, errno.EDQUOT)
    settrace, setprofile = sys.settrace, sys.setprofile
    out, err = sys.stdout, sys.stderr
    me = getpid()
    token = ("P " + job["nonce"] + "\n").encode()
    del job["nonce"]

    def report(kind: str, text: object = "") -> None:
        try:
            line = "F " + kind + "\t" + str_(text)[:300].replace("\n", " ") + "\n"
            write(fd, line.encode("utf-8", "replace"))
        except BaseException_:
            pass

    def finish() -> NoReturn:
        for stream in (out, err):
            # not contextlib.suppress: the program may have replaced it by now
            try:  # noqa: SIM105
                stream.flush()
            except BaseException_:
                pass
        exit_(0)

    write(fd, b"S\n")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    resource.setrlimit(resource.RLIMIT_AS, (job["memory"], job["memory"]))
    resource.setrlimit(resource.RLIMIT_CPU, (job["cpu"], job["cpu"] + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (job["fsize"], job["fsize"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if job["nproc"]:
        resource.setrlimit(resource.RLIMIT_NPROC, (job["nproc"], job["nproc"]))
    try:
        program = compile_(job["program"], "<completion>", "exec")
        test = compile_(job["test"], "<test>", "exec")
    except SyntaxError_ as exc:
        report("syntax", exc)
        finish()
    entry = job["entry_point"]
    pristine = dict(builtins.__dict__)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    stage = "program"
    try:
        exec_(program, namespace)
        settrace(None)
        setprofile(None)
        builtins.__dict__.clear()
        builtins.__dict__.update(pristine)
        namespace["__builtins__"] = builtins
        stage = "tests"
        exec_(test, namespace)
        if entry:
            if entry not in namespace:
                report("error", "NameError: entry point " + repr(entry) + " is not defined")
                finish()
            stage = "check"
            namespace["check"](namespace[entry])
    except SystemExit_:
        report("exit", stage)
    except MemoryError_:
        report("memory", stage)
    except AssertionError_ as exc:
        report("assertion", stage + (": " + str_(exc) if str_(exc) else ""))
    except OSError_ as exc:
        if exc.errno in disk_full:
            report("disk", type_(exc).__name__ + ": " + str_(exc))
        else:
            report("error", type_(exc).__name__ + ": " + str_(exc))
    except BaseException_ as exc:
        try:
            report("error", type_(exc).__name__ + ": " + str_(exc))
        except BaseException_:
            report("error", type_(exc).__name__)
    else:
        if getpid() == me:
            write(fd, token)
    finish()


if __name__ == "__main__":
    _harness()
