"""Beam search on the bundled model through a real vLLM engine and a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_tts.estimate.flops import generation_flops
from pytest_tts.search import SearchContext
from pytest_tts.search.beam import beam_search
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore
from pytest_tts.tasks.arith import format_prompt
from pytest_tts.types import Problem
from pytest_tts.verifiers.exact import exact_match
from pytest_tts.verifiers.steps import step_check

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "arith-test.jsonl"

pytestmark = pytest.mark.engine


def first_problems(count: int) -> tuple[Problem, ...]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return tuple(Problem(r["id"], format_prompt(r["question"]), r["answer"]) for r in rows[:count])


def test_beam_search_on_the_bundled_model_is_accurate_and_cached(
    vllm_backend: Any, tiny_model_dir: Path, tmp_path: Path, counting: Any
) -> None:
    if tiny_model_dir != ROOT / "models" / "tiny-arith":
        pytest.skip("needs the trained models/tiny-arith (accuracy is asserted)")
    config = vllm_backend.model_config()
    problems = first_problems(10)
    prm, oracle = counting(step_check()), counting(exact_match(extract="last_number"))
    # 10 problems x (1 + 2 beams) x 2 expansions of <= 45-token prefixes stay within the
    # engine's default per-step token budget, so no prompt is split (see bench/search.py)
    with SampleStore.in_dir(tmp_path) as store:
        context = SearchContext(
            store=store,
            backend=vllm_backend,
            problems=problems,
            sampling=Sampling(n=4, temperature=1.0, max_tokens=40, seed=0),
            oracle=oracle,
            verifiers={"steps": prm},
            flops_fn=lambda p, c, k: generation_flops(config, p, c, k),
            offline=False,
            ks=(1, 2, 3, 4),
            label="arith × first 10",
        )
        first = beam_search("steps", width=2, expansions=2)
        curve = first.search_curve(context)
        # 2- and 3-digit problems: 3 or 4 segments, so 3 to 4 rounds (and at most max_steps)
        assert 3 <= first.stats.rounds <= 8
        assert first.stats.generated > 0
        assert curve.ks.tolist() == [1, 2]
        assert curve.cost_samples.tolist() == [2.0, 4.0]
        # one sample of this model is right about 57% of the time; a step verifier that
        # keeps the right step of two draws per step lifts that well above
        assert curve.mean[-1] >= 0.8, curve.mean
        assert np.all(np.isfinite(curve.cost_flops))
        assert np.all(curve.cost_flops > 0)
        # at least two drawn steps of ~6 tokens per column, and a prefix read every round
        assert curve.cost_tokens[0] > 2 * 20
        assert curve.cost_tokens[1] > curve.cost_tokens[0]
        assert curve.cost_flops[1] > curve.cost_flops[0]

        # every drawn step's path was scored once, and the final answers judged
        assert prm.items == first.stats.generated
        assert oracle.calls == 1
        verify_calls = (prm.calls, oracle.calls)

        again = beam_search("steps", width=2, expansions=2)
        rerun = again.search_curve(context)
        assert again.stats.generated == 0
        # a warm re-run reads every verdict from the store: no verifier runs
        assert (prm.calls, oracle.calls) == verify_calls
        assert again.stats.verified == 0
        assert again.stats.reused == first.stats.generated + first.stats.reused
        np.testing.assert_array_equal(rerun.per_problem, curve.per_problem)
        np.testing.assert_array_equal(rerun.cost_flops, curve.cost_flops)
