"""Budget forcing on the bundled model through a real vLLM engine and a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_tts.backends.vllm import vllm
from pytest_tts.estimate.curves import compute_curve
from pytest_tts.estimate.pool import pool_from_samples
from pytest_tts.generate import SampleRequest, ensure_samples, load_samples
from pytest_tts.search import SearchContext
from pytest_tts.search.forcing import budget_forcing
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore
from pytest_tts.strategies.coverage import single
from pytest_tts.strategies.vote import majority_vote
from pytest_tts.tasks.arith import format_prompt
from pytest_tts.types import Problem
from pytest_tts.verifiers.exact import exact_match

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "arith-test.jsonl"
SAMPLING = Sampling(n=4, temperature=1.0, max_tokens=40, seed=0)

pytestmark = pytest.mark.engine


def first_problems(count: int) -> list[Problem]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return [Problem(r["id"], format_prompt(r["question"]), r["answer"]) for r in rows[:count]]


def test_budget_forcing_on_the_bundled_model(
    vllm_backend: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    if tiny_model_dir != ROOT / "models" / "tiny-arith":
        pytest.skip("needs the trained models/tiny-arith (its traces end their steps with |=)")
    # the same engine as vllm_backend (reasoning is no engine argument), with its marker
    backend = vllm(str(tiny_model_dir), dtype="float32", max_model_len=64, reasoning="|=")
    problems = first_problems(12)
    oracle = exact_match(extract="last_number")
    with SampleStore.in_dir(tmp_path / "cache") as store:
        request = SampleRequest(backend, problems, SAMPLING, label="arith x sums")
        ensure_samples(store, [request])

        def context() -> SearchContext:
            return SearchContext(
                store=store,
                backend=backend,
                problems=tuple(problems),
                sampling=SAMPLING,
                oracle=oracle,
                verifiers={"exact": oracle},
                flops_fn=None,
                offline=False,
                ks=(1, 2, 4),
                label="arith x sums",
                request=request,
            )

        # beyond every trace (at most 31 tokens), each keeps its own answer: nothing is
        # generated and the curve is the pool's single-sample accuracy
        loaded = load_samples(store, request)
        samples = [s for p in problems for s in loaded[p.id]]
        verdicts = oracle.verify([(p, s.text) for p in problems for s in loaded[p.id]])
        arrays = pool_from_samples(samples, verdicts, n=4, problem_ids=[p.id for p in problems])
        natural = compute_curve(single(), arrays, [1]).per_problem[:, 0]
        beyond = budget_forcing(budgets=[36])
        curve = beyond.search_curve(context())
        assert beyond.stats.forced_generated == 0
        np.testing.assert_allclose(curve.per_problem[:, 0], natural)

        # cut short, traces are forced to answer through the engine; a warm run reuses all
        cold = budget_forcing(majority_vote(), k=2, budgets=[4, 12, 36])
        first = cold.search_curve(context())
        assert cold.stats.forced_generated > 0
        assert first.forced is not None
        assert first.forced[0] == 1.0  # no trace reasons in 4 tokens
        assert first.forced[-1] == 0.0
        assert np.all(np.diff(first.cost_tokens) >= 0)
        warm = budget_forcing(majority_vote(), k=2, budgets=[4, 12, 36])
        again = warm.search_curve(context())
        assert warm.stats.forced_generated == 0
        assert warm.stats.forced_reused == cold.stats.forced_generated
        np.testing.assert_array_equal(first.per_problem, again.per_problem)
