"""``unit_tests`` and ``weak_tests``: judge code completions by running tests in the sandbox.

Problems are HumanEval-style: ``problem.meta["test"]`` holds test source that defines
``check(candidate)``, ``problem.meta["entry_point"]`` names the function under test. The
program is the code prompt (``problem.meta["code_prompt"]`` when the engine's prompt carries
a chat template, else ``problem.prompt``) followed by the completion; the tests run in the
same namespace after it, then ``check(<entry_point>)`` — what HumanEval's own checker runs,
inside :mod:`pytest_tts.verifiers.sandbox`.

``weak_tests`` keeps only a seeded subset of ``check``'s assertions: a realistic imperfect
verifier whose false-positive rate against ``unit_tests`` is measurable.

``Verdict.answer`` is None for both (code answers are not grouped by voting); ``detail`` is
the sandbox's outcome (``passed``, ``assertion failed: check``, ``timeout: wall-clock limit``,
``memory``, ``exit before tests``, …).
"""

from __future__ import annotations

import ast
import math
import random
from collections.abc import Sequence

from pytest_tts.errors import VerifierError
from pytest_tts.types import Problem, Verdict
from pytest_tts.verifiers.base import Item, binary, make_identity
from pytest_tts.verifiers.sandbox import Job, Limits, Sandbox


def code_job(problem: Problem, completion: str, test: str | None = None) -> Job:
    """The sandbox job for one completion of a HumanEval-style problem."""
    meta = problem.meta
    if "test" not in meta or "entry_point" not in meta:
        missing = [key for key in ("test", "entry_point") if key not in meta]
        msg = (
            f"unit tests need problem.meta['test'] and ['entry_point']; problem {problem.id!r} "
            f"lacks {', '.join(missing)}"
        )
        raise VerifierError(msg)
    prompt = str(meta.get("code_prompt", problem.prompt))
    return Job(
        program=prompt + completion,
        test=str(meta["test"]) if test is None else test,
        entry_point=str(meta["entry_point"]),
    )


class UnitTests:
    """Accepts when every assertion of the problem's ``check`` passes under the sandbox."""

    name = "unit_tests"
    version = 1

    def __init__(self, limits: Limits, workers: int | None = None) -> None:
        self.limits = limits
        self.workers = workers
        self._sandbox: Sandbox | None = None

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = Sandbox(self.limits, workers=self.workers)
        return self._sandbox

    def _args(self) -> dict[str, object]:
        # workers do not change verdicts, so they stay out of the identity.
        return {
            "timeout": self.limits.timeout_s,
            "memory_mb": self.limits.memory_mb,
            "max_processes": self.limits.max_processes,
            "output_kb": self.limits.output_bytes >> 10,
        }

    def identity(self) -> str:
        return make_identity(self.name, self.version, self._args())

    def tests_for(self, problem: Problem) -> str | None:
        """The test source to run (None: the problem's own, unchanged)."""
        return None

    def verify(self, items: Sequence[Item]) -> list[Verdict]:
        jobs = [code_job(p, c, self.tests_for(p)) for p, c in items]
        return [
            binary(outcome.passed, None, outcome.describe()) for outcome in self.sandbox.run(jobs)
        ]

    def __repr__(self) -> str:
        return f"<verifier {self.identity()}>"


def subset_tests(test: str, fraction: float, rng: random.Random) -> str:
    """``test`` with only a random ``fraction`` of ``check``'s assertion statements.

    The top-level statements of ``check`` that contain an ``assert`` (a bare assert or a loop
    of them) are the units; ``ceil(fraction · units)`` of them (at least one) are kept, in
    their original order, with every other statement. Source without a ``check`` function,
    or with no assertion in it, comes back unchanged.
    """
    tree = ast.parse(test)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "check":
            units = [
                i
                for i, stmt in enumerate(node.body)
                if any(isinstance(sub, ast.Assert) for sub in ast.walk(stmt))
            ]
            if not units:
                return test
            keep = set(rng.sample(units, max(1, math.ceil(fraction * len(units)))))
            node.body = [s for i, s in enumerate(node.body) if i not in units or i in keep]
            return ast.unparse(tree)
    return test


class WeakTests(UnitTests):
    """Runs only a seeded subset of each problem's assertions: imperfect on purpose."""

    name = "weak_tests"
    version = 1

    def __init__(
        self, limits: Limits, fraction: float, seed: int, workers: int | None = None
    ) -> None:
        super().__init__(limits, workers)
        self.fraction = fraction
        self.seed = seed
        self._subsets: dict[str, str] = {}

    def _args(self) -> dict[str, object]:
        return {**super()._args(), "fraction": self.fraction, "seed": self.seed}

    def tests_for(self, problem: Problem) -> str | None:
        if problem.id not in self._subsets:
            if "test" not in problem.meta:
                return None  # code_job reports the missing tests
            rng = random.Random(f"{self.seed}:{problem.id}")
            try:
                self._subsets[problem.id] = subset_tests(
                    str(problem.meta["test"]), self.fraction, rng
                )
            except SyntaxError as exc:
                msg = f"the tests of problem {problem.id!r} are not valid Python: {exc}"
                raise VerifierError(msg) from None
        return self._subsets[problem.id]


def _limits(timeout: float, memory_mb: int, max_processes: int, output_kb: int) -> Limits:
    return Limits(
        timeout_s=float(timeout),
        memory_mb=int(memory_mb),
        max_processes=int(max_processes),
        output_bytes=int(output_kb) << 10,
    )


def unit_tests(
    timeout: float = 10,
    memory_mb: int = 1024,
    max_processes: int = 32,
    output_kb: int = 1024,
    workers: int | None = None,
) -> UnitTests:
    """HumanEval-style unit tests under the bubblewrap sandbox.

    ``timeout``: wall-clock (and CPU) seconds per completion; ``memory_mb``: address space per
    process and, with a memory cgroup, total memory; ``max_processes``: tasks (processes and
    threads) at once; ``output_kb``: stdout+stderr cap; ``workers``: completions judged at
    once (default: one per core).
    """
    return UnitTests(_limits(timeout, memory_mb, max_processes, output_kb), workers)


def weak_tests(
    fraction: float = 0.3,
    seed: int = 0,
    timeout: float = 10,
    memory_mb: int = 1024,
    max_processes: int = 32,
    output_kb: int = 1024,
    workers: int | None = None,
) -> WeakTests:
    """``unit_tests`` with only a seeded ``fraction`` of each problem's assertions."""
    if not 0 < fraction <= 1:
        msg = f"fraction must be in (0, 1], got {fraction!r}"
        raise VerifierError(msg)
    return WeakTests(
        _limits(timeout, memory_mb, max_processes, output_kb), float(fraction), int(seed), workers
    )
