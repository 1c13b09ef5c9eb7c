"""Real data: math_equivalence against a released model's labels, and the coverage law's
forecast against what was measured.

(a) ``math_equivalence()`` on ``../shared/data/qwen_math_cot_100.jsonl`` (100 MATH problems
    x 8 completions of a released Qwen2.5-Math model, with the file's correctness labels):
    agreement overall and per MATH level, every disagreement with its reference, the file's
    extracted answer and ours, and which reference form math-verify parsed. Skipped when the
    file is absent.
(b) The Large Language Monkeys coverage law as ``coverage >= x at n = K by fit`` uses it:
    fitted on the first 8 and the first 16 samples per problem of the bundled model's pool
    (``specs/addition.tts``'s: 200 problems x 64, temperature 1.0), forecast at n = 64 with
    its bootstrap interval over problems (two-sided 0.95), against pass@64 measured on the
    whole pool; the same on the Qwen file, fitted on 4 samples and forecast at 8.

(c) The error rate of ``by fit`` by simulation: problems whose success rates follow a Beta
    distribution (the mixture Large Language Monkeys use to explain the law), pools of N
    samples drawn from them, the gate's one-sided 0.95 lower bound at K compared with the
    population's exact coverage at K, 1 - B(α, β + K) / B(α, β): how often the bound lies
    above the truth (a gate with its threshold at the truth would pass falsely).

Run: ``python bench/real_data.py [--write]`` (``--write`` appends to bench/RESULTS.md). Part
(b) generates the bundled model's pool through the engine when the store (``.tts-cache``)
does not hold it yet (about 2 minutes on 2 CPU cores), else reads it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import binomtest
from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_tts.estimate.pool import PoolArrays  # noqa: E402
from pytest_tts.gates.fit import check_fit_threshold  # noqa: E402
from pytest_tts.strategies.coverage import pass_at_k_values  # noqa: E402
from pytest_tts.types import Problem  # noqa: E402
from pytest_tts.verifiers.math_equiv import math_equivalence, reference_forms  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "qwen_math_cot_100.jsonl"

POOL_SPEC = """\
model arith = vllm("{root}/models/tiny-arith", dtype = "float32", max_model_len = 64)
dataset sums = jsonl("{root}/data/arith-test.jsonl", prompt = "Q:{{question}}\\nA:",
                     answer = "answer", limit = 200)
verifier exact = exact_match(extract = last_number)

spec "voting pays off on addition" {{
    model arith
    dataset sums
    sample n = 64, temperature = 1.0, max_tokens = 40, seed = 0
    oracle exact
    expect coverage >= 0.0 at n = 64
}}
"""


def rate(k: int, n: int) -> str:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return f"{k}/{n} = {k / n:.4f} [{ci.low:.4f}, {ci.high:.4f}]"


def agreement() -> str:
    """(a) math_equivalence against the file's labels."""
    records = [json.loads(line) for line in SHARED.read_text().splitlines() if line.strip()]
    verifier = math_equivalence()
    per_level: dict[str, list[int]] = {}
    forms: Counter[str] = Counter()
    differ: list[list[Any]] = []
    accepted = labelled = agree = total = 0
    started = time.perf_counter()
    for record in records:
        problem = Problem(str(record["idx"]), record["question"], record["gt"])
        for i, form in enumerate(reference_forms(record["gt"])):
            if any(not isinstance(x, str) for x in verifier._mv.parse(form)):
                forms[["as written", "in $...$", "boxed", "bare"][min(i, 3)]] += 1
                break
        else:
            forms["unparseable"] += 1
        verdicts = verifier.verify([(problem, text) for text in record["code"]])
        level = per_level.setdefault(record["level"], [0, 0])
        for j, (verdict, label) in enumerate(zip(verdicts, record["score"], strict=True)):
            total += 1
            accepted += verdict.accepted
            labelled += bool(label)
            same = verdict.accepted == bool(label)
            agree += same
            level[0] += same
            level[1] += 1
            if not same:
                differ.append(
                    [
                        record["idx"],
                        j,
                        record["gt"],
                        record["pred"][j],
                        verdict.answer,
                        label,
                        verdict.accepted,
                    ]
                )
    elapsed = time.perf_counter() - started
    rows = [
        ["completions", total],
        ["labelled correct in the file", labelled],
        ["accepted by math_equivalence", accepted],
        ["agreement (95% Clopper-Pearson)", rate(agree, total)],
        [
            "accuracy at n = 1: labels / math_equivalence",
            f"{labelled / total:.4f} / {accepted / total:.4f}",
        ],
        [
            "references parsed (first form that parsed)",
            ", ".join(f"{k} {v}" for k, v in forms.items()),
        ],
        ["completions/s", f"{total / elapsed:.0f}"],
    ]
    rows += [[f"agreement on {name}", rate(a, n)] for name, (a, n) in sorted(per_level.items())]
    out = [
        "### math_equivalence against the labels of a released model (qwen_math_cot_100.jsonl)",
        "",
        tabulate(rows, headers=["", "value"], tablefmt="github"),
        "",
        "Every completion where they differ:",
        "",
        tabulate(
            differ,
            headers=[
                "idx",
                "sample",
                "reference",
                "file's answer",
                "ours",
                "label",
                "math_equivalence",
            ],
            tablefmt="github",
        )
        if differ
        else "(none)",
    ]
    return "\n".join(out)


def bundled_pool(spec_text: str = POOL_SPEC) -> PoolArrays:
    """The bundled model's pool of specs/addition.tts (generated once, then from the store);
    ``spec_text`` may add verifiers to it (formatted with ``root``)."""
    import tempfile

    from pytest_tts.dsl.checker import load_spec_file
    from pytest_tts.registry import build_registry
    from pytest_tts.run import Settings
    from pytest_tts.run.engine import Engine

    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "pool.tts"
        spec_path.write_text(spec_text.format(root=ROOT.as_posix()))
        registry = build_registry()
        (spec,) = load_spec_file(spec_path, registry).specs
        settings = Settings(rootdir=ROOT, cache_dir=ROOT / ".tts-cache")
        engine = Engine(settings, registry)
        try:
            engine.prepare([(spec, e) for e in spec.expectations])
            arrays = engine.pool(spec, spec.model).arrays
            assert arrays is not None
            return arrays
        finally:
            engine.close()


def forecast_rows(
    name: str, correct: np.ndarray, fitted_on: list[int], target: int
) -> list[list[Any]]:
    n_total = correct.shape[1]
    measured = float(
        pass_at_k_values(n_total, correct.sum(axis=1), np.array([target]))[:, 0].mean()
    )
    rows = []
    for n in fitted_on:
        part = correct[:, :n]
        ks = np.arange(1, n + 1)
        per_problem = pass_at_k_values(n, part.sum(axis=1), ks)
        gate = check_fit_threshold(
            per_problem, ks, op=">=", value=0.0, k_target=target, confidence=0.975
        )
        covered = gate.low <= measured <= gate.high
        rows.append(
            [
                name,
                n,
                f"{float(per_problem[:, -1].mean()):.4f}",
                f"a = {gate.fit.a:.4g}, b = {gate.fit.b:.4g}, R² = {gate.fit.r2:.3f}",
                target,
                f"{gate.forecast:.4f}",
                f"[{gate.low:.4f}, {gate.high:.4f}]",
                f"{measured:.4f}",
                f"{gate.forecast - measured:+.4f}",
                "yes" if covered else "NO",
            ]
        )
    return rows


def forecasts() -> str:
    """(b) the fitted law's forecast against the measured coverage."""
    started = time.perf_counter()
    pool = bundled_pool()
    load_s = time.perf_counter() - started
    rows = forecast_rows("bundled tiny-arith, 200 problems", np.asarray(pool.correct), [8, 16], 64)
    if SHARED.is_file():
        records = [json.loads(line) for line in SHARED.read_text().splitlines() if line.strip()]
        labels = np.array([[bool(x) for x in r["score"]] for r in records])
        rows += forecast_rows("Qwen2.5-Math on MATH, 100 problems", labels, [4], 8)
    table = tabulate(
        rows,
        headers=[
            "pool",
            "fitted on n",
            "pass@n measured",
            "law exp(-a·k^b)",
            "forecast at",
            "forecast",
            "bootstrap 0.95 interval",
            "measured",
            "forecast - measured",
            "covered",
        ],
        tablefmt="github",
    )
    return "\n".join(
        [
            "### The coverage law's forecast against the measured coverage (`by fit`)",
            "",
            table,
            "",
            f"Bundled pool read or generated in {load_s:.0f} s. The interval is the 2.5% and "
            "97.5% quantiles of 1,000 forecasts, each from the law refitted on a resample of "
            "the problems (what `coverage >= x at n = K by fit with confidence c` compares).",
        ]
    )


def simulated_error_rate(runs: int = 400, resamples: int = 300) -> str:
    """(c) how often the fit gate's lower bound at K exceeds the population's coverage."""
    from scipy.special import betaln

    rng = np.random.default_rng(0)
    rows = []
    for alpha, beta, problems, n, target in [
        (0.3, 2.0, 200, 16, 64),
        (0.3, 2.0, 200, 16, 16),
        (0.5, 5.0, 200, 8, 64),
        (1.0, 10.0, 100, 16, 128),
    ]:
        truth = 1.0 - float(np.exp(betaln(alpha, beta + target) - betaln(alpha, beta)))
        above = 0
        forecasts = []
        started = time.perf_counter()
        for run in range(runs):
            p = rng.beta(alpha, beta, problems)
            correct = rng.random((problems, n)) < p[:, None]
            ks = np.arange(1, n + 1)
            per_problem = pass_at_k_values(n, correct.sum(axis=1), ks)
            gate = check_fit_threshold(
                per_problem,
                ks,
                op=">=",
                value=truth,
                k_target=target,
                confidence=0.95,
                resamples=resamples,
                seed=run,
            )
            above += gate.passed
            forecasts.append(gate.forecast)
        rows.append(
            [
                f"Beta({alpha:g}, {beta:g})",
                problems,
                n,
                target,
                f"{truth:.4f}",
                f"{float(np.mean(forecasts)):.4f}",
                rate(above, runs),
                f"{(time.perf_counter() - started) / runs * 1000:.0f}",
            ]
        )
    table = tabulate(
        rows,
        headers=[
            "success rates",
            "problems",
            "pool n",
            "K",
            "true coverage at K",
            "mean forecast",
            "bound above the truth (nominal <= 0.05)",
            "ms per gate",
        ],
        tablefmt="github",
    )
    return "\n".join(
        [
            "### Error rate of `coverage >= x at n = K by fit with confidence 0.95` (simulated)",
            "",
            table,
            "",
            f"{runs} pools per row, {resamples} bootstrap resamples per gate, seeds 0..{runs - 1}.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    machine = f"{platform.machine()}, {__import__('os').cpu_count()} cores"
    parts = [
        "## Real data: labels, reference forms, the coverage law (`bench/real_data.py`)",
        "",
        f"Machine: {machine}, no GPU; date {dt.date.today().isoformat()}.",
        "",
    ]
    if SHARED.is_file():
        parts += [agreement(), ""]
    else:
        parts += [f"(a) skipped: {SHARED} is absent", ""]
    parts += [forecasts(), "", simulated_error_rate(), ""]
    text = "\n".join(parts)
    print(text)
    if args.write:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
