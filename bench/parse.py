"""Parse + check speed of the spec language against json.loads of the same content.

Generates one ``.tts`` file with 1,000 expectations (10 specs x 100, a mix of every kind of
``expect``) and an equivalent JSON document (the same declarations, specs and expectations
as nested objects), then times, in the same process:

- ``json.loads`` of the JSON text (the reference),
- ``parse`` (Lark LALR + syntax tree), ``check`` (names, ranges, expansion), and both,
- ``format_source`` (parse + canonical layout).

Results (medians of several repeats) go to stdout and, with ``--write``, replace this
script's section of ``bench/RESULTS.md``.

    python bench/parse.py --write
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tabulate import tabulate

from pytest_tts.dsl import check, format_source, parse
from pytest_tts.registry import Registry

SECTION = "## Spec parsing and checking (`bench/parse.py`)"
STRATEGIES = ["majority_vote", "best_of_n(verifier = units)", "weighted_vote(verifier = units)"]


def _factory(**_: Any) -> None: ...


def registry() -> Registry:
    reg = Registry()
    reg.add_backend("vllm", lambda path, dtype="auto": None)
    reg.add_source("jsonl", lambda path, prompt="{question}", answer="answer", limit=None: None)
    reg.add_verifier("exact_match", lambda extract=None: None)
    reg.add_verifier("last_digit", lambda: None)
    reg.add_extractor("last_number", lambda: None)
    for name in ("single", "pass_at_k", "majority_vote"):
        reg.add_strategy(name, lambda: None)
    reg.add_strategy("best_of_n", lambda verifier=None: None)
    reg.add_strategy("weighted_vote", lambda verifier=None: None)
    return reg


def expectation(i: int) -> tuple[str, dict[str, Any]]:
    """The i-th expectation as spec text and as the equivalent JSON object."""
    strategy = STRATEGIES[i % len(STRATEGIES)]
    name = strategy.split("(")[0]
    threshold = round(0.30 + (i % 50) / 100, 2)
    kind = i % 5
    if kind == 0:
        text = f"expect accuracy >= {threshold} at n = {1 + i % 64} using {strategy}"
        obj = {
            "kind": "threshold",
            "metric": "accuracy",
            "op": ">=",
            "value": threshold,
            "budget": {"unit": "n", "op": "=", "value": 1 + i % 64},
            "strategy": name,
        }
    elif kind == 1:
        text = f"expect accuracy >= {threshold} at flops <= {1 + i % 9}e9 using {strategy}"
        obj = {
            "kind": "threshold",
            "metric": "accuracy",
            "op": ">=",
            "value": threshold,
            "budget": {"unit": "flops", "op": "<=", "value": (1 + i % 9) * 1e9},
            "strategy": name,
        }
    elif kind == 2:
        text = (
            f"expect accuracy using {strategy} >= accuracy using single "
            f"at matched tokens in [1e3, {2 + i % 7}e5]"
        )
        obj = {
            "kind": "comparison",
            "left": {"metric": "accuracy", "strategy": name},
            "op": ">=",
            "right": {"metric": "accuracy", "strategy": "single"},
            "unit": "tokens",
            "range": [1e3, (2 + i % 7) * 1e5],
        }
    elif kind == 3:
        text = f"expect coverage >= {threshold} at n <= {1 + i % 64} with confidence 0.9"
        obj = {
            "kind": "threshold",
            "metric": "coverage",
            "op": ">=",
            "value": threshold,
            "budget": {"unit": "n", "op": "<=", "value": 1 + i % 64},
            "confidence": 0.9,
        }
    else:
        text = (
            f"expect no regression of accuracy using {strategy} at n <= {1 + i % 64} "
            f"against baseline within 0.0{1 + i % 9}"
        )
        obj = {
            "kind": "no_regression",
            "metric": "accuracy",
            "strategy": name,
            "budget": {"unit": "n", "op": "<=", "value": 1 + i % 64},
            "tolerance": (1 + i % 9) / 100,
        }
    return text, obj


def documents(n_specs: int = 10, per_spec: int = 100) -> tuple[str, str]:
    header = (
        'model arith = vllm("models/tiny-arith", dtype = "float32")\n'
        'dataset sums = jsonl("data/sums.jsonl", prompt = "Q:{question}\\nA:", limit = 200)\n'
        "verifier exact = exact_match(extract = last_number)\n"
        "verifier units = last_digit()\n"
    )
    lines = [header]
    specs_json = []
    for s in range(n_specs):
        lines.append(
            f'\nspec "spec {s}" {{\n    model arith\n    dataset sums\n'
            f"    sample n = 64, temperature = 1.0, max_tokens = 24, seed = {s}\n"
            "    oracle exact\n"
        )
        exps = []
        for e in range(per_spec):
            text, obj = expectation(s * per_spec + e)
            lines.append(f"    {text}\n")
            exps.append(obj)
        lines.append("}\n")
        specs_json.append(
            {
                "name": f"spec {s}",
                "model": "arith",
                "dataset": "sums",
                "sample": {"n": 64, "temperature": 1.0, "max_tokens": 24, "seed": s},
                "oracle": "exact",
                "expectations": exps,
            }
        )
    doc = {
        "models": {
            "arith": {
                "backend": "vllm",
                "args": ["models/tiny-arith"],
                "kwargs": {"dtype": "float32"},
            }
        },
        "datasets": {
            "sums": {
                "source": "jsonl",
                "args": ["data/sums.jsonl"],
                "kwargs": {"prompt": "Q:{question}\nA:", "limit": 200},
            }
        },
        "verifiers": {
            "exact": {"factory": "exact_match", "kwargs": {"extract": "last_number"}},
            "units": {"factory": "last_digit"},
        },
        "specs": specs_json,
    }
    return "".join(lines), json.dumps(doc, indent=2)


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` calls (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()

    text, json_text = documents()
    reg = registry()
    module = parse(text, "bench.tts")
    checked = check(module, reg)
    n_exp = sum(len(s.expectations) for s in checked.specs)
    assert n_exp == 1000, n_exp
    assert len(json.loads(json_text)["specs"]) == 10

    reference = timed(lambda: json.loads(json_text), args.repeats)
    rows = []
    for label, fn in [
        ("json.loads (reference)", lambda: json.loads(json_text)),
        ("parse", lambda: parse(text, "bench.tts")),
        ("check", lambda: check(module, reg)),
        ("parse + check", lambda: check(parse(text, "bench.tts"), reg)),
        ("format_source", lambda: format_source(text)),
    ]:
        seconds = reference if label.startswith("json") else timed(fn, args.repeats)
        rows.append([label, round(seconds * 1000, 2), round(seconds / reference, 1)])
    table = tabulate(rows, headers=["operation", "ms (median)", "x json.loads"], tablefmt="github")
    load = os.getloadavg()[0]
    note = (
        f"Input: one file, 10 specs x 100 expectations = {n_exp} expectations, "
        f"{len(text):,} characters ({len(text.splitlines()):,} lines); the JSON document holds "
        f"the same declarations, specs and expectations ({len(json_text):,} characters). "
        f"Medians of {args.repeats} runs after a warm-up; Python {platform.python_version()}; "
        f"load average {load:.1f} on 2 shared cores."
    )
    print(table)
    print(note)
    if args.write:
        write_section(table, note)


def write_section(table: str, note: str) -> None:
    path = Path(__file__).with_name("RESULTS.md")
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    today = dt.date.today().isoformat()
    section = (
        f"{SECTION}\n\nMachine: 2-core x86_64 CPU, 24 GiB (shared); date {today}.\n\n"
        f"{table}\n\n{note}\n"
    )
    if SECTION in old:
        start = old.index(SECTION)
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + section + (old[end + 1 :] if end >= 0 else "")
    else:
        new = old.rstrip("\n") + "\n\n" + section
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
