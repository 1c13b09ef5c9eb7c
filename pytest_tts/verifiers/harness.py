# pytest-tts sandbox harness
"""The harness that runs inside the sandbox (see ``sandbox.py``); never imported by the host.

The host passes this file's text to ``python -c``. It reads its job from stdin (marshal),
sets the rlimits and splits in two processes:

- the **candidate** (a child) runs the program and then serves calls: it receives a
  function's name and arguments, calls it and sends back the result. Results and arguments
  cross as ``marshal`` data, so only plain values (numbers, strings, bytes, None, and
  tuples, lists, sets and dicts of them) leave the program's process: an object whose
  ``__eq__`` always answers True cannot. It holds no handle on the report pipe.
- the **judge** (this process) never runs a line of the program. It runs the tests and
  ``check(entry_point)`` with the program's functions replaced by proxies, so every
  comparison is made here, on plain values, and reports on the private pipe: ``S`` when it
  started, ``F <kind>\t<text>`` on failure, ``P <nonce>`` when the tests returned. It makes
  itself non-dumpable first, so the candidate (same user, no capabilities) can neither trace
  it nor open its file descriptors through ``/proc``.

When the candidate dies without a word (``os._exit``, a signal from a limit), the judge ends
the same way, so the host reads the same exit status as from a single process.
"""

from __future__ import annotations

import builtins
import errno
import marshal
import os
import resource
import signal
import sys

# Not `from typing import TYPE_CHECKING`: importing typing would slow every sandbox start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

DISK_FULL = (errno.EFBIG, errno.ENOSPC, errno.EDQUOT)


def _send(fd: int, message: Any) -> None:
    data = marshal.dumps(message, 4)
    data = len(data).to_bytes(8, "little") + data
    while data:
        data = data[os.write(fd, data) :]


def _receive(fd: int) -> Any:
    """The next message, or None at the end of the pipe."""
    head = _read_exactly(fd, 8)
    if head is None:
        return None
    body = _read_exactly(fd, int.from_bytes(head, "little"))
    return None if body is None else marshal.loads(body)


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _failure(exc: BaseException) -> tuple[str, str]:
    """The report kind and text of an exception."""
    name = type(exc).__name__
    if isinstance(exc, SystemExit):
        return "exit", ""
    if isinstance(exc, MemoryError):
        return "memory", ""
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        return "disk", name + ": " + str(exc)
    try:
        return "error", name + ": " + str(exc)
    except BaseException:  # a __str__ that raises
        return "error", name


def _candidate(program: Any, requests: int, replies: int) -> NoReturn:
    """Run the program, then serve calls until the judge closes the pipe (child process)."""
    send, receive, exit_, exec_ = _send, _receive, os._exit, exec
    BaseException_, SystemExit_, type_, failure = BaseException, SystemExit, type, _failure
    callable_, isinstance_, repr_ = callable, isinstance, repr
    plain = (int, float, complex, str, bytes, bool, type(None), tuple, list, dict, set, frozenset)
    streams = (sys.stdout, sys.stderr)

    def flush() -> None:
        for stream in streams:
            try:  # noqa: SIM105
                stream.flush()
            except BaseException_:
                pass

    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec_(program, namespace)
    except SystemExit_:
        flush()
        send(replies, ("fail", "exit", "program"))
        exit_(0)
    except BaseException_ as exc:
        flush()
        kind, text = failure(exc)
        send(replies, ("fail", kind, text))
        exit_(0)
    flush()
    names: dict[str, tuple[str, bytes | None]] = {}
    for name, value in list(namespace.items()):
        if name.startswith("__"):
            continue
        if callable_(value):
            names[name] = ("call", None)
        elif type_(value) in plain:
            # not contextlib.suppress: the program may have replaced it by now
            try:  # noqa: SIM105
                names[name] = ("value", marshal.dumps(value, 4))
            except BaseException_:
                pass
    send(replies, ("ready", names))
    while True:
        request = receive(requests)
        if request is None:
            flush()
            exit_(0)
        name, args, kwargs = request
        try:
            result = namespace[name](*args, **kwargs)
            flush()
        except SystemExit_:
            send(replies, ("raise", "SystemExit", "the program called exit"))
            continue
        except BaseException_ as exc:
            try:
                text = str(exc)
            except BaseException_:
                text = ""
            send(replies, ("raise", type_(exc).__name__, text))
            continue
        try:
            data = marshal.dumps(result, 4)
        except BaseException_:
            what = type_(result).__name__
            send(replies, ("opaque", what, repr_(name)))
            continue
        if not isinstance_(result, plain):
            send(replies, ("opaque", type_(result).__name__, repr_(name)))
            continue
        send(replies, ("ok", data))


def _harness() -> None:
    # Two frames on stdin: the job, then the secrets (the tests and the nonce), read only
    # after the candidate was forked, so that its memory never held them.
    job = _receive(0)
    fd = job["fd"]

    def report(kind: str, text: object = "") -> None:
        try:
            line = "F " + kind + "\t" + str(text)[:300].replace("\n", " ") + "\n"
            os.write(fd, line.encode("utf-8", "replace"))
        except BaseException:
            pass

    def finish() -> NoReturn:
        for stream in (sys.stdout, sys.stderr):
            try:  # noqa: SIM105
                stream.flush()
            except BaseException:
                pass
        os._exit(0)

    os.write(fd, b"S\n")
    resource.setrlimit(resource.RLIMIT_AS, (job["memory"], job["memory"]))
    resource.setrlimit(resource.RLIMIT_CPU, (job["cpu"], job["cpu"] + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (job["fsize"], job["fsize"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if job["nproc"]:
        resource.setrlimit(resource.RLIMIT_NPROC, (job["nproc"], job["nproc"]))
    try:
        program = compile(job["program"], "<completion>", "exec")
    except SyntaxError as exc:
        report("syntax", exc)
        finish()
    _non_dumpable()
    to_child, requests = os.pipe()
    replies, from_child = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the secrets stay in the pipe
        for end in (fd, requests, replies):
            os.close(end)
        del job
        _candidate(program, to_child, from_child)
    secrets = _receive(0)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    token = ("P " + secrets["nonce"] + "\n").encode()
    try:
        test = compile(secrets["test"], "<test>", "exec")
    except SyntaxError as exc:
        report("syntax", exc)
        finish()
    os.close(to_child)
    os.close(from_child)

    def vanished() -> NoReturn:
        """The candidate ended without a word: end the way it did."""
        _, status = os.waitpid(child, 0)
        if os.WIFSIGNALED(status):
            signum = os.WTERMSIG(status)
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)

    first = _receive(replies)
    if first is None:
        vanished()
    if first[0] == "fail":
        report(first[1], first[2])
        finish()

    def proxy(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                _send(requests, (name, args, kwargs))
            except ValueError as exc:  # an argument marshal cannot carry
                msg = f"an argument to {name} cannot be sent to the program: {exc}"
                raise TypeError(msg) from None
            except BrokenPipeError:
                vanished()
            answer = _receive(replies)
            if answer is None:
                vanished()
            if answer[0] == "ok":
                return marshal.loads(answer[1])
            if answer[0] == "opaque":
                msg = (
                    f"{answer[2]} returned an object of type {answer[1]}, which cannot leave"
                    " the program (only plain values cross to the tests)"
                )
                raise TypeError(msg)
            kind = getattr(builtins, answer[1], None)
            if isinstance(kind, type) and issubclass(kind, BaseException):
                raise kind(answer[2]) if answer[2] else kind()
            raise RuntimeError(answer[1] + ": " + answer[2])

        call.__name__ = call.__qualname__ = name
        return call

    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    for name, (kind, value) in first[1].items():
        namespace[name] = proxy(name) if kind == "call" else marshal.loads(value)
    entry = job["entry_point"]
    stage = "tests"
    try:
        exec(test, namespace)
        if entry:
            if entry not in first[1]:
                report("error", "NameError: entry point " + repr(entry) + " is not defined")
                finish()
            stage = "check"
            namespace["check"](namespace[entry])
    except SystemExit:
        report("exit", stage)
    except AssertionError as exc:
        report("assertion", stage + (": " + str(exc) if str(exc) else ""))
    except BaseException as exc:
        report(*_failure(exc))
    else:
        os.write(fd, token)
    finish()


def _non_dumpable() -> None:
    """prctl(PR_SET_DUMPABLE, 0): /proc/<pid>/fd and ptrace need CAP_SYS_PTRACE from now on."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)


if __name__ == "__main__":
    _harness()
