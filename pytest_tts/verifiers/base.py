"""The verifier protocol and the helpers every built-in verifier shares.

A verifier is any object with two methods:

``identity() -> str``
    Its name, version and every argument that can change a verdict, in one canonical
    string such as ``exact_match@1(extract=last_number, ignore_case=false)``. The store keys
    cached verdicts by it, so it must be the same in every run with the same arguments
    (however the spec spelled them) and must change when the version or an argument does.

``verify(items) -> list[Verdict]``
    One :class:`~pytest_tts.types.Verdict` per ``(problem, completion)`` pair, in order.
    Batched so that verifiers which execute code can spread a batch over cores. A verifier
    raises :class:`~pytest_tts.errors.VerifierError` only when it cannot reach a verdict
    (a missing sandbox, a problem without tests); a sample it rejects is a verdict with
    ``accepted=False`` and a ``detail`` that says why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from pytest_tts.types import Problem, Verdict

Item = tuple[Problem, str]


@runtime_checkable
class Verifier(Protocol):
    """What the pipeline needs from a verifier (see the module docstring)."""

    def identity(self) -> str: ...

    def verify(self, items: Sequence[Item]) -> list[Verdict]: ...


def canonical_value(value: Any) -> str:
    """The canonical text of one argument value, for identities.

    Strings are JSON-quoted, booleans are ``true``/``false``, floats use ``repr`` (so ``0.3``
    and ``0.30`` agree), integers their decimal form, tuples/lists are bracketed, and objects
    that have an ``identity()`` (extractors, nested verifiers) contribute it.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(canonical_value(v) for v in value) + "]"
    identity = getattr(value, "identity", None)
    if callable(identity):
        return str(identity())
    msg = f"cannot form a canonical identity for an argument of type {type(value).__name__}"
    raise TypeError(msg)


def make_identity(name: str, version: int, args: Mapping[str, Any]) -> str:
    """``name@version(k1=v1, k2=v2)`` with arguments sorted by name."""
    inner = ", ".join(f"{key}={canonical_value(args[key])}" for key in sorted(args))
    return f"{name}@{version}({inner})"


class PerSampleVerifier:
    """A verifier that judges each sample on its own: subclasses implement ``verify_one``.

    ``name``, ``version`` and ``args`` (every argument, defaults included) make the identity.
    Bump ``version`` whenever a change of code can change a verdict: cached verdicts of the
    old version are then no longer used.
    """

    name: str = ""
    version: int = 1

    def __init__(self, **args: Any) -> None:
        self.args: dict[str, Any] = dict(args)

    def identity(self) -> str:
        return make_identity(self.name, self.version, self.args)

    def verify(self, items: Sequence[Item]) -> list[Verdict]:
        return [self.verify_one(problem, completion) for problem, completion in items]

    def verify_one(self, problem: Problem, completion: str) -> Verdict:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<verifier {self.identity()}>"


def binary(accepted: bool, answer: str | None, detail: str = "") -> Verdict:
    """The verdict of a binary verifier: score 1.0 when accepted, else 0.0."""
    return Verdict(accepted=accepted, score=1.0 if accepted else 0.0, answer=answer, detail=detail)
