"""``pytest-tts curves SAMPLES.jsonl``: scaling curves of an imported sample file, no pytest."""

from __future__ import annotations

import argparse
import ast
import json
import sys
from typing import Any

from tabulate import tabulate

from pytest_tts.errors import TTSError
from pytest_tts.estimate.curves import Curve, compute_curve
from pytest_tts.estimate.flops import generation_flops
from pytest_tts.estimate.io import ProblemFields, read_pool
from pytest_tts.estimate.pool import PoolArrays
from pytest_tts.registry import Registry, build_registry
from pytest_tts.strategies.base import Strategy


def build_strategy(text: str, registry: Registry) -> Strategy:
    """A strategy from its spec text: ``majority_vote``, ``best_of_n(verifier = rm)``,
    ``frontier(majority_vote, best_of_n(verifier = rm))``.

    Bare names in keyword values are names (of verifiers); positional arguments are
    strategies themselves.
    """
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        msg = f"cannot read strategy {text!r}; write it as in a spec, e.g. best_of_n(verifier = rm)"
        raise TTSError(msg) from None
    return _build(node, text, registry)


def _build(node: ast.expr, text: str, registry: Registry) -> Any:
    if isinstance(node, ast.Name):
        return registry.get("strategy", node.id)()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_build(a, text, registry) for a in node.args]
        kwargs = {kw.arg: _value(kw.value, text) for kw in node.keywords if kw.arg}
        return registry.get("strategy", node.func.id)(*args, **kwargs)
    msg = f"cannot read strategy {text!r}: expected name or name(arguments)"
    raise TTSError(msg)


def _value(node: ast.expr, text: str) -> Any:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand, text)
    msg = f"cannot read an argument of strategy {text!r}: use numbers, strings or names"
    raise TTSError(msg)


def default_strategies(pool: PoolArrays) -> list[str]:
    names = ["single", "pass_at_k", "majority_vote"]
    names += [f"best_of_n(verifier = {name})" for name in sorted(pool.scores)]
    return names


def _table(curve: Curve, flops: bool) -> str:
    headers = ["k", "mean", f"{curve.confidence:.0%} CI", "tokens"] + (["FLOPs"] if flops else [])
    rows = []
    for i, k in enumerate(curve.ks):
        row: list[Any] = [
            int(k),
            f"{curve.mean[i]:.4f}",
            f"[{curve.ci_low[i]:.4f}, {curve.ci_high[i]:.4f}]",
            f"{curve.cost_tokens[i]:.4g}",
        ]
        if flops:
            row.append(f"{curve.cost_flops[i]:.4g}")
        rows.append(row)
    note = "" if curve.exact else f"  (Monte Carlo, max SE {curve.mc_se.max():.2g})"
    return f"{curve.strategy}{note}\n" + tabulate(rows, headers=headers, disable_numparse=True)


def run(args: argparse.Namespace) -> int:
    try:
        fields = ProblemFields(
            id=args.id_field,
            answers=args.answers_field,
            correct=args.correct_field,
            scores=dict(_pair(s) for s in args.score) if args.score else _default_scores(args),
            completion_tokens=args.tokens_field,
        )
        pool = read_pool(args.samples, args.layout, fields)
        registry = build_registry()
        texts = args.strategy or default_strategies(pool)
        flops_fn = None
        if args.model_config:
            with open(args.model_config, encoding="utf-8") as handle:
                config = json.load(handle)

            def flops_fn(prompt: float, completion: float, n: int) -> float:
                return generation_flops(config, prompt, completion, n)

        ks = [int(k) for k in args.ks.split(",")] if args.ks else None
        curves = [
            compute_curve(
                build_strategy(t, registry),
                pool,
                ks,
                flops_fn=flops_fn,
                confidence=args.confidence,
                seed=args.seed,
            )
            for t in texts
        ]
    except (TTSError, OSError) as exc:
        print(f"pytest-tts curves: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        payload = {
            "samples": str(args.samples),
            "problems": pool.n_problems,
            "n": pool.n_samples,
            "curves": [c.to_dict(per_problem=args.per_problem) for c in curves],
        }
        json.dump(payload, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(f"{args.samples}: {pool.n_problems} problems x {pool.n_samples} samples\n")
        print("\n\n".join(_table(c, flops_fn is not None) for c in curves))
    return 0


def _default_scores(args: argparse.Namespace) -> dict[str, str]:
    """reward = pred_score when the file has that field (Qwen2.5-Math's reward scores)."""
    with open(args.samples, encoding="utf-8") as handle:
        first = handle.readline()
    try:
        has = "pred_score" in json.loads(first)
    except (json.JSONDecodeError, TypeError):
        has = False
    return {"reward": "pred_score"} if has else {}


def _pair(text: str) -> tuple[str, str]:
    name, sep, source = text.partition("=")
    if not sep or not name or not source:
        msg = f"--score takes NAME=FIELD, got {text!r}"
        raise TTSError(msg)
    return name.strip(), source.strip()


def add_curves_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "curves",
        help="scaling curves of an imported sample file",
        description="Compute scaling curves (exact expectations over random k-subsets, "
        "bootstrap intervals over problems) of a JSON-lines sample file, without pytest.",
    )
    parser.add_argument("samples", help="JSON lines: one record per sample or per problem")
    parser.add_argument(
        "--strategy",
        action="append",
        metavar="TEXT",
        help="a strategy as written in a spec, e.g. 'best_of_n(verifier = reward)'; repeatable "
        "(default: single, pass_at_k, majority_vote and best_of_n for each score)",
    )
    parser.add_argument("--ks", help="comma-separated budgets (default: 1..N, or powers of two)")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "--per-problem", action="store_true", help="with --json: per-problem values"
    )
    parser.add_argument("--model-config", help="a config.json for FLOPs costs")
    parser.add_argument("--layout", choices=["auto", "samples", "problems"], default="auto")
    group = parser.add_argument_group("per-problem records (defaults: Qwen2.5-Math eval files)")
    group.add_argument("--id-field", default="idx")
    group.add_argument("--answers-field", default="pred")
    group.add_argument("--correct-field", default="score")
    group.add_argument(
        "--score",
        action="append",
        metavar="NAME=FIELD",
        help="a score list per sample (step-score lists use their last); default reward=pred_score",
    )
    group.add_argument("--tokens-field", help="completion token counts per sample")
    parser.set_defaults(func=run)
