"""``pytest-tts plan``: problems and samples needed to detect a drop with a given power."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tabulate import tabulate

from pytest_tts.errors import TTSError
from pytest_tts.gates.planning import bernoulli_variance, plan_rows, required_problems
from pytest_tts.report.gates.text import fmt


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "plan",
        help="how many problems and samples detect a drop of d with power p at level alpha",
        description="Plan a regression gate: the number of problems (and samples per problem) "
        "that the paired one-sided test needs to detect a given drop. The per-problem variance "
        "comes from --sd, a stored baseline, or a file of per-problem values or sample outcomes.",
    )
    p.add_argument("--drop", type=float, required=True, help="true drop to detect (e.g. 0.02)")
    p.add_argument("--tolerance", type=float, default=0.0, help="the gate's tolerance (default 0)")
    p.add_argument("--power", type=float, default=0.8, help="wanted power (default 0.8)")
    p.add_argument("--alpha", type=float, default=0.05, help="level, 1 - confidence (default 0.05)")
    p.add_argument(
        "--points", type=int, default=None, help="budget points tested (default: as many as ks)"
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--sd", type=float, help="sd of per-problem paired differences, known")
    src.add_argument("--baseline", type=Path, help="a baseline JSON file (__baselines__/…json)")
    src.add_argument(
        "--values",
        type=Path,
        help=".npy/.json: per-problem values [P] or sample outcomes [P, S]; "
        ".jsonl with --field: one record per problem, the field a list of sample outcomes",
    )
    p.add_argument(
        "--expectation", help="with --baseline: the expectation id (default: the only one)"
    )
    p.add_argument("--field", default="score", help="with a .jsonl file: the field (default score)")
    p.add_argument(
        "--pool-samples", type=int, default=None, help="samples per problem behind the values"
    )
    p.add_argument("--k", default="1", help="budget points, comma separated (default 1)")
    p.add_argument(
        "--samples",
        default="1,4,16,64",
        help="samples per problem to plan for, comma separated (default 1,4,16,64)",
    )
    p.add_argument(
        "--shift-sd", type=float, default=0.0, help="spread of true per-problem changes (default 0)"
    )
    p.set_defaults(func=run)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _load_values(path: Path, field: str) -> tuple[NDArray[np.float64], int | None]:
    """Per-problem values [P] and the pool size behind them (None when unknown)."""
    if path.suffix == ".npy":
        arr = np.load(path)
    elif path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        missing = [i for i, r in enumerate(rows) if field not in r]
        if missing:
            msg = f"{path}: record {missing[0] + 1} has no field {field!r}"
            raise ValueError(msg)
        arr = np.array([np.asarray(r[field], dtype=np.float64) for r in rows])
    else:
        arr = np.asarray(json.loads(path.read_text(encoding="utf-8")), dtype=np.float64)
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 2:
        return arr.mean(axis=1), arr.shape[1]
    if arr.ndim == 1:
        return arr, None
    msg = f"{path}: expected a [problems] or [problems, samples] array, got shape {arr.shape}"
    raise ValueError(msg)


def run(args: argparse.Namespace) -> int:
    from pytest_tts.gates.baseline import read_baseline

    samples = _ints(args.samples)
    try:
        if args.sd is not None:
            ks = _ints(args.k)
            sd_rows = [
                {
                    "sd of difference": args.sd,
                    "problems needed": required_problems(
                        drop=args.drop,
                        sd=args.sd,
                        tolerance=args.tolerance,
                        power=args.power,
                        alpha=args.alpha,
                        points=args.points or len(ks),
                    ),
                }
            ]
            print(
                tabulate([[fmt(v) for v in r.values()] for r in sd_rows], headers=list(sd_rows[0]))
            )
            _footer(args, args.points or len(ks), source="--sd as given")
            return 0
        if args.baseline is not None:
            stored = read_baseline(args.baseline)
            eid = args.expectation or (
                next(iter(stored.entries)) if len(stored.entries) == 1 else None
            )
            if eid is None or eid not in stored.entries:
                known = ", ".join(sorted(stored.entries)) or "none"
                print(
                    f"error: name one of the expectations with --expectation: {known}",
                    file=sys.stderr,
                )
                return 2
            entry = stored.entries[eid]
            pool = args.pool_samples or entry.provenance.sampling.get("n")
            ks = list(entry.ks)
            mu_var = bernoulli_variance(entry.matrix(), pool)
            available = len(entry.values)
            source = f"baseline {args.baseline} [{eid}], pool of {pool or 'unknown'} samples"
        else:
            values, pool_found = _load_values(args.values, args.field)
            pool = args.pool_samples or pool_found
            ks = _ints(args.k)
            mu_var = np.repeat(bernoulli_variance(values, pool), len(ks))
            available = values.shape[0]
            source = f"{args.values}, pool of {pool or 'unknown'} samples"
        rows = plan_rows(
            mu_var,
            ks,
            samples,
            drop=args.drop,
            tolerance=args.tolerance,
            power=args.power,
            alpha=args.alpha,
            points=args.points,
            shift_sd=args.shift_sd,
            available=available,
        )
    except (TTSError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print("error: no samples-per-problem value is at least the budget k", file=sys.stderr)
        return 2
    print(tabulate([[fmt(v) for v in r.values()] for r in rows], headers=list(rows[0])))
    _footer(args, args.points or len(ks), source=source)
    return 0


def _footer(args: argparse.Namespace, points: int, *, source: str) -> None:
    print(
        f"\ndetect a drop of {fmt(args.drop)} beyond a tolerance of {fmt(args.tolerance)} "
        f"with power {fmt(args.power)}: one-sided paired t test at level {fmt(args.alpha)} "
        f"/ {points} point(s) "
        f"(Bonferroni, a safe side for Holm); variance from {source}; model: "
        "Var(D) = 2 (k/n) mu(1 - mu) + shift_sd^2 (see pytest_tts.gates.planning)"
    )
