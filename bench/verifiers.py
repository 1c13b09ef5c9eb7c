"""Verifiers on real samples: how imperfect is ``last_digit``, how good is ``math_equivalence``.

(a) The bundled arithmetic model (``models/tiny-arith``) samples ``--n`` completions for each
    problem of ``data/arith-test.jsonl`` through the project's vLLM backend (temperature 1,
    seeded per prompt). ``exact_match(extract = last_number)`` is the oracle; ``last_digit()``
    is the verifier under test: its false-positive rate (oracle-rejected samples it accepts)
    and false-negative rate, with 95% Clopper-Pearson intervals. The table also counts the
    samples where ``last_number`` and the task's own answer parser
    (``pytest_tts.tasks.arith.extract_answer``) read different answers.
(b) ``math_equivalence()`` on ``../shared/data/qwen_math_cot_100.jsonl`` (100 MATH problems x
    8 real completions): agreement with the file's correctness flags (skipped when absent).

(c) ``--judge``: the bundled LLM judge (``models/tiny-judge``, ``judge()`` verifier) on the
    bundled model's samples: its false-positive and true-positive rates against the oracle,
    and ``best_of_n(verifier = judge)`` against ``majority_vote`` by n and FLOPs (the
    judge's included).

Run: ``python bench/verifiers.py [--n 16] [--write]`` (``--write`` appends to
bench/RESULTS.md). Starting the engine takes about a minute on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from scipy.stats import binomtest
from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_tts.tasks import arith  # noqa: E402
from pytest_tts.types import Problem  # noqa: E402
from pytest_tts.verifiers.exact import exact_match, last_digit  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "qwen_math_cot_100.jsonl"


def rate(k: int, n: int) -> str:
    if n == 0:
        return "n/a"
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return f"{k}/{n} = {k / n:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def arith_samples(n: int) -> list[tuple[Problem, str]]:
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from pytest_tts.backends.base import GenerationRequest, prompt_seed
    from pytest_tts.backends.vllm import shutdown_all, vllm
    from pytest_tts.spec import Sampling

    rows = [json.loads(line) for line in (ROOT / "data" / "arith-test.jsonl").open()]
    problems = [
        Problem(
            r["id"], arith.format_prompt(r["question"]), r["answer"], {"question": r["question"]}
        )
        for r in rows
    ]
    sampling = Sampling(n=n, temperature=1.0, max_tokens=32, seed=0)
    backend = vllm("models/tiny-arith", base_dir=ROOT, dtype="float32", max_model_len=64)
    requests = [
        GenerationRequest(p.id, p.prompt, n, 0, prompt_seed(0, p.prompt), sampling)
        for p in problems
    ]
    by_id = {p.id: p for p in problems}
    items = []
    try:
        for result in backend.generate(requests):
            problem = by_id[str(result.request.tag)]
            items.extend((problem, c.text) for c in result.completions)
    finally:
        shutdown_all()
    return items


def last_digit_table(n: int) -> tuple[str, str]:
    start = time.perf_counter()
    items = arith_samples(n)
    generated = time.perf_counter() - start
    oracle = [v.accepted for v in exact_match(extract="last_number").verify(items)]
    weak = [v.accepted for v in last_digit().verify(items)]
    examples = [
        f"{problem.meta['question']} = {problem.answer}: {text!r}"
        for (problem, text), w, o in zip(items, weak, oracle, strict=True)
        if w and not o
    ]
    print("false positives of last_digit, e.g.:", *examples[:5], sep="\n  ")
    wrong = [w for w, o in zip(weak, oracle, strict=True) if not o]
    right = [w for w, o in zip(weak, oracle, strict=True) if o]
    parser_disagrees = sum(
        1
        for problem, text in items
        if arith.extract_answer(text) is not None
        and exact_match(extract="last_number").verify([(problem, text)])[0].answer
        != arith.extract_answer(text)
    )
    no_answer_segment = sum(1 for _, text in items if arith.extract_answer(text) is None)
    table = tabulate(
        [
            ("samples", len(items)),
            ("oracle accuracy (exact_match, last_number)", rate(sum(oracle), len(oracle))),
            ("last_digit false-positive rate", rate(sum(wrong), len(wrong))),
            ("last_digit false-negative rate", rate(len(right) - sum(right), len(right))),
            ("samples without a final '=answer' segment", no_answer_segment),
            (
                "last_number differs from the task's parser, where it has an answer",
                parser_disagrees,
            ),
        ],
        headers=["bundled arithmetic model", "value (95% Clopper-Pearson)"],
        tablefmt="github",
    )
    notes = (
        f"{len(items) // n} problems of data/arith-test.jsonl x {n} samples, temperature 1.0, "
        f"max_tokens 32, seeded per prompt; generation incl. engine start {generated:.0f} s. "
        "Samples of one problem are correlated, so the intervals are optimistic."
    )
    return table, notes


def math_table() -> tuple[str, str] | None:
    if not SHARED.exists():
        print(f"skipping math-verify agreement: {SHARED} is absent")
        return None
    from pytest_tts.verifiers.math_equiv import math_equivalence

    verifier = math_equivalence()
    agree = total = accepted = flagged = 0
    start = time.perf_counter()
    for line in SHARED.open():
        record = json.loads(line)
        problem = Problem(str(record["idx"]), record["question"], record["gt"])
        for verdict, flag in zip(
            verifier.verify([(problem, t) for t in record["code"]]), record["score"], strict=True
        ):
            total += 1
            agree += verdict.accepted == bool(flag)
            accepted += verdict.accepted
            flagged += bool(flag)
    seconds = time.perf_counter() - start
    table = tabulate(
        [
            ("completions", total),
            ("accepted by math_equivalence", accepted),
            ("flagged correct in the file", flagged),
            ("agreement", rate(agree, total)),
            ("completions/s", f"{total / seconds:.0f}"),
        ],
        headers=["qwen_math_cot_100.jsonl", "value"],
        tablefmt="github",
    )
    return table, "Full completions (math-verify extracts the answer itself) against `gt`."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--judge", action="store_true", help="only the judge section (-n 8)")
    args = parser.parse_args()
    if args.judge:
        return judge_main(args.n, args.write)
    sections = []
    table, notes = last_digit_table(args.n)
    print(table, notes, sep="\n")
    sections.append(f"### last_digit against exact_match\n\n{table}\n\n{notes}\n")
    maths = math_table()
    if maths is not None:
        print(*maths, sep="\n")
        sections.append(
            f"### math_equivalence against reference flags\n\n{maths[0]}\n\n{maths[1]}\n"
        )
    if args.write:
        results = ROOT / "bench" / "RESULTS.md"
        if not results.exists():
            results.write_text("# Benchmark results\n")
        with results.open("a") as f:
            f.write(
                "\n## Verifiers on real samples (bench/verifiers.py)\n\n"
                "Machine: 2-core x86_64 CPU, 24 GiB; date 2026-11-22.\n\n" + "\n".join(sections)
            )
    return 0


# -- judge (pytest_tts.verifiers.judge) on the bundled model's pool ---------------------------


def arith_pool(n: int, max_tokens: int = 40) -> tuple[list[Problem], list[Any]]:
    """``n`` samples of each test problem, as the example specs draw them (seed 0, T = 1)."""
    from pytest_tts.backends.base import GenerationRequest, prompt_seed
    from pytest_tts.backends.vllm import vllm
    from pytest_tts.spec import Sampling
    from pytest_tts.types import Sample

    rows = [json.loads(line) for line in (ROOT / "data" / "arith-test.jsonl").open()]
    problems = [
        Problem(
            r["id"], arith.format_prompt(r["question"]), r["answer"], {"question": r["question"]}
        )
        for r in rows
    ]
    sampling = Sampling(n=n, temperature=1.0, max_tokens=max_tokens, seed=0)
    backend = vllm("models/tiny-arith", base_dir=ROOT, dtype="float32", max_model_len=64)
    requests = [
        GenerationRequest(p.id, p.prompt, n, 0, prompt_seed(0, p.prompt), sampling)
        for p in problems
    ]
    samples: list[Any] = []
    try:
        for result in backend.generate(requests):
            samples.extend(
                Sample(
                    str(result.request.tag),
                    i,
                    c.text,
                    c.prompt_tokens,
                    c.completion_tokens,
                    c.finish_reason,
                )
                for i, c in enumerate(result.completions)
            )
    finally:
        backend.close()
    return problems, samples


def judge_tables(n: int) -> tuple[str, str]:
    """The bundled judge against the oracle, and best-of-n with it against majority vote."""
    from pytest_tts.estimate.curves import compute_curve
    from pytest_tts.estimate.flops import generation_flops
    from pytest_tts.estimate.pool import pool_from_samples
    from pytest_tts.strategies.order import best_of_n
    from pytest_tts.strategies.vote import majority_vote
    from pytest_tts.verifiers.judge import judge

    start = time.perf_counter()
    problems, samples = arith_pool(n)
    generated = time.perf_counter() - start
    by_id = {p.id: p for p in problems}
    items = [(by_id[s.problem_id], s.text) for s in samples]
    oracle = exact_match(extract="last_number").verify(items)
    verifier = judge(model="models/tiny-judge", base_dir=ROOT)
    start = time.perf_counter()
    try:
        verdicts = verifier.verify(items)
    finally:
        verifier.close()
    judged = time.perf_counter() - start
    wrong = [j.accepted for j, o in zip(verdicts, oracle, strict=True) if not o.accepted]
    right = [j.accepted for j, o in zip(verdicts, oracle, strict=True) if o.accepted]
    unparseable = sum(v.detail.startswith("unparseable") for v in verdicts)
    judge_flops = sum(v.flops for v in verdicts) / len(verdicts)
    errors = tabulate(
        [
            ("samples", len(items)),
            (
                "oracle accuracy (exact_match, last_number)",
                rate(sum(o.accepted for o in oracle), len(oracle)),
            ),
            ("judge false-positive rate", rate(sum(wrong), len(wrong))),
            ("judge true-positive rate", rate(sum(right), len(right))),
            ("unparseable verdicts", unparseable),
            ("judge FLOPs per verdict (mean)", f"{judge_flops:.3g}"),
            ("verdicts/s (engine start included)", f"{len(items) / judged:.0f}"),
        ],
        headers=["judge(model = models/tiny-judge)", "value (95% Clopper-Pearson)"],
        tablefmt="github",
    )
    pool = pool_from_samples(
        samples, oracle, {"judge": verdicts}, problem_ids=[p.id for p in problems]
    )
    config = json.loads((ROOT / "models" / "tiny-arith" / "config.json").read_text())

    def flops_fn(prompt: float, tokens: float, k: int) -> float:
        return generation_flops(config, prompt, tokens, k)

    ks = [k for k in (1, 2, 4, 8, 16, 32, 64) if k <= n]
    curves = {
        name: compute_curve(strategy, pool, ks, flops_fn=flops_fn)
        for name, strategy in (
            ("majority_vote", majority_vote()),
            ("best_of_n(verifier = judge)", best_of_n("judge")),
        )
    }
    lines = []
    for i, k in enumerate(ks):
        vote, best = curves["majority_vote"], curves["best_of_n(verifier = judge)"]
        lines.append(
            (
                k,
                f"{vote.mean[i]:.3f} [{vote.ci_low[i]:.3f}, {vote.ci_high[i]:.3f}]",
                f"{vote.cost_flops[i]:.3g}",
                f"{best.mean[i]:.3f} [{best.ci_low[i]:.3f}, {best.ci_high[i]:.3f}]",
                f"{best.cost_flops[i]:.3g}",
            )
        )
    curve_table = tabulate(
        lines,
        headers=["n", "majority_vote", "FLOPs/problem", "best_of_n(judge)", "FLOPs/problem"],
        tablefmt="github",
    )
    notes = (
        f"{len(problems)} problems of data/arith-test.jsonl x {n} samples of models/tiny-arith "
        f"(temperature 1.0, max_tokens 40, seed 0, seeded per prompt, as the example specs), "
        f"generated in {generated:.0f} s incl. engine start; judged by models/tiny-judge "
        f"(greedy, one vote) through the vLLM backend in {judged:.0f} s incl. engine start. "
        "Accuracy with 95% bootstrap intervals over problems; best-of-n's FLOPs include the "
        "judge's. Samples of one problem are correlated, so the rate intervals are optimistic."
    )
    return f"{errors}\n\n{curve_table}", notes


def judge_main(n: int, write: bool) -> int:
    tables, notes = judge_tables(n)
    print(tables, notes, sep="\n\n")
    if write:
        with (ROOT / "bench" / "RESULTS.md").open("a") as f:
            f.write(
                "\n## The bundled judge on the bundled model's samples (bench/verifiers.py --judge)"
                "\n\nMachine: 2-core x86_64 CPU, 24 GiB; date 2026-11-22.\n\n"
                f"{tables}\n\n{notes}\n"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
