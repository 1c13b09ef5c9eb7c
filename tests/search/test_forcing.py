"""Budget forcing: traces cut at thinking budgets, forced answers, and the budget x k grid.

A scripted backend (one character per token, as the bundled model's tokenizer has) writes
traces ``steps|=answer`` and forced answers whose rightness depends on how much reasoning
the forced prompt holds; the real engine runs the same path in ``test_forcing_engine.py``
and ``specs/thinking.tts``.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_tts.backends.base import Completion, GenerationRequest
from pytest_tts.errors import EstimationError
from pytest_tts.estimate.curves import compute_curve
from pytest_tts.estimate.thinking import check_budgets, reasoning_tokens, tokens_within
from pytest_tts.generate import SampleRequest, ensure_samples
from pytest_tts.search.contract import SearchContext
from pytest_tts.search.forcing import BudgetForcing, Trace, _cut_at, budget_forcing
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore
from pytest_tts.strategies.coverage import single
from pytest_tts.strategies.vote import majority_vote
from pytest_tts.types import Problem, Sample
from pytest_tts.verifiers.exact import exact_match
from tests.fakes import ScriptedBackend

SAMPLING = Sampling(n=4, temperature=1.0, max_tokens=40, seed=0)
QUESTION = re.compile(r"^Q:(\d+)\+(\d+)\nA:(.*)$", re.DOTALL)


def script(request: GenerationRequest, index: int) -> Completion:
    """A full trace for a bare prompt; a forced answer for a prompt that holds reasoning.

    Traces have 1 to 4 steps of 3 characters (by sample index and problem), then ``|=`` and
    the answer, right on odd indices. A forced answer is right when the cut reasoning holds
    at least two whole steps, or else on every third index.
    """
    a, b, done = QUESTION.match(request.prompt).groups()  # type: ignore[union-attr]
    right = int(a) + int(b)
    if not done:
        steps = 1 + (index + int(a)) % 4
        answer = right if index % 2 else right + 1
        text = "|".join(f"s{i}s" for i in range(steps)) + f"|={answer}"
    else:
        whole = done.count("|") - 1  # the cue's bar is not a step
        text = str(right if whole >= 2 or index % 3 == 0 else right + 7)
    ids = tuple(ord(c) for c in text)
    return Completion(text, len(request.prompt) + 1, len(text), token_ids=ids)


class CharBackend(ScriptedBackend):
    """One token per character: ids are code points."""

    reasoning = "|="

    def detokenize(self, ids: Any) -> str:
        return "".join(chr(i) for i in ids)

    def count_tokens(self, text: str) -> int:
        return len(text)


def problems(count: int = 6) -> list[Problem]:
    return [
        Problem(id=f"p{i}", prompt=f"Q:{10 + i}+{20 + 3 * i}\nA:", answer=str(30 + 4 * i))
        for i in range(count)
    ]


def context(store: SampleStore, backend: Any, items: list[Problem], **kw: Any) -> SearchContext:
    request = SampleRequest(backend, items, SAMPLING, label="m x d")
    ensure_samples(store, [request])
    oracle = exact_match(extract="last_number")
    defaults: dict[str, Any] = {
        "store": store,
        "backend": backend,
        "problems": tuple(items),
        "sampling": SAMPLING,
        "oracle": oracle,
        "verifiers": {"exact": oracle},
        "flops_fn": None,
        "offline": False,
        "ks": (1, 2, 4),
        "label": "m x d",
        "request": request,
    }
    return SearchContext(**{**defaults, **kw})


# -- reasoning tokens and cuts ---------------------------------------------------------------


def test_reasoning_tokens_count_ids_before_the_marker() -> None:
    text = "ab|cd|=42"
    ids = [ord(c) for c in text]
    decode = lambda xs: "".join(chr(i) for i in xs)  # noqa: E731
    assert reasoning_tokens(text, ids, "|=", decode) == 5
    assert reasoning_tokens(text, ids, "</think>", decode) is None
    # a token of several characters that straddles the marker is not reasoning
    pieces = ["ab|", "cd|=", "42"]
    assert reasoning_tokens(text, [0, 1, 2], "|=", lambda xs: "".join(pieces[i] for i in xs)) == 1
    # a server decodes the EOS a finished sample ends with: it is no reasoning token
    with_eos = [*ids, 0]
    decode_eos = lambda xs: "".join("</s>" if i == 0 else chr(i) for i in xs)  # noqa: E731
    assert tokens_within(with_eos, len("ab|cd"), decode_eos) == 5
    assert tokens_within(with_eos, len(text), decode_eos) == len(ids)


def test_a_trace_keeps_its_answer_within_the_budget_and_is_cut_beyond() -> None:
    sample = Sample("p", 0, "abc|=1", 3, 6)
    finished = Trace(sample, 4, True, tuple(range(6)))
    unfinished = Trace(sample, 6, False, tuple(range(6)))
    assert _cut_at(finished, 4) is None
    assert _cut_at(finished, 3) == 3
    # a trace that never reached its marker has no answer: it is forced at its end
    assert _cut_at(unfinished, 10) == 6
    assert _cut_at(unfinished, 2) == 2


@pytest.mark.parametrize(
    ("budgets", "error"),
    [
        ([], "at least one"),
        ([4, 0], "positive integer"),
        ([-8], "positive integer"),
        ([8, 8], "must increase"),
        ([16, 8], "must increase"),
        ([4.5], "positive integer"),
    ],
)
def test_bad_budget_grids_are_clear_errors(budgets: list[Any], error: str) -> None:
    with pytest.raises(EstimationError, match=error):
        check_budgets(budgets)


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(EstimationError, match="k must be a positive integer"):
        budget_forcing(k=0)
    with pytest.raises(EstimationError, match="answer_tokens"):
        budget_forcing(answer_tokens=0)
    with pytest.raises(EstimationError, match="single reads one sample"):
        budget_forcing(k=4)
    with pytest.raises(EstimationError, match="cue must be a non-empty string"):
        budget_forcing(cue="")
    forcing = budget_forcing(majority_vote(), k=2, budgets=[4, 8], end="|=")
    assert forcing.text == "budget_forcing(majority_vote, k = 2, budgets = [4, 8], end = '|=')"


# -- the curve and the grid ---------------------------------------------------------------------


def brute_force(ctx: SearchContext, budget: int, k: int, cue: str = "|=") -> np.ndarray:
    """Majority vote over every k-subset of the samples at ``budget``, recomputed by hand
    from the script: cut text, the j-th forced answer of a shared forced prompt, the vote
    (ties split evenly)."""
    out = []
    for problem in ctx.problems:
        seen: Counter[str] = Counter()
        answers = []
        for index in range(SAMPLING.n):
            request = GenerationRequest("t", problem.prompt, 1, 0, 0, SAMPLING)
            trace = script(request, index).text
            reasoning = trace.index("|=")
            if reasoning <= budget:
                answers.append(trace.rsplit("=", 1)[1])
                continue
            prompt = problem.prompt + trace[:budget] + cue
            j = seen[prompt]
            seen[prompt] += 1
            forced = GenerationRequest("t", prompt, 1, 0, 0, SAMPLING)
            answers.append(script(forced, j).text)
        values = []
        for subset in itertools.combinations(answers, k):
            counts = Counter(subset)
            top = max(counts.values())
            winners = [a for a, c in counts.items() if c == top]
            values.append(sum(a == problem.answer for a in winners) / len(winners))
        out.append(float(np.mean(values)))
    return np.array(out)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_grid_equals_brute_force_enumeration(store: SampleStore, k: int) -> None:
    backend = CharBackend(script)
    ctx = context(store, backend, problems())
    forcing = budget_forcing(majority_vote(), k=k, budgets=[2, 5, 8, 11, 15])
    curve = forcing.search_curve(ctx)
    for column, b in enumerate(forcing.budgets):
        np.testing.assert_allclose(curve.per_problem[:, column], brute_force(ctx, b, k), atol=1e-12)
        assert forcing.grid["mean"][column][forcing.grid["ks"].index(k)] == pytest.approx(
            curve.mean[column]
        )
    assert list(curve.cost_thinking) == [2, 5, 8, 11, 15]
    assert curve.forced is not None
    assert curve.forced[0] == 1.0
    assert curve.forced[-1] == 0.0


def test_at_budgets_beyond_every_trace_nothing_is_generated(store: SampleStore) -> None:
    backend = CharBackend(script)
    ctx = context(store, backend, problems())
    calls = len(backend.calls)
    forcing = budget_forcing(budgets=[15, 20])  # the longest reasoning is 15 characters
    curve = forcing.search_curve(ctx)
    assert len(backend.calls) == calls
    assert forcing.stats.forced_generated == 0
    assert curve.forced is not None
    assert list(curve.forced) == [0.0, 0.0]
    # the natural samples' single-sample accuracy, at both budgets
    assert ctx.request is not None
    natural = compute_curve(single(), _pool_arrays(store, ctx), [1])
    np.testing.assert_allclose(curve.per_problem[:, 0], natural.per_problem[:, 0])
    np.testing.assert_allclose(curve.per_problem[:, 1], natural.per_problem[:, 0])


def _pool_arrays(store: SampleStore, ctx: SearchContext) -> Any:
    from pytest_tts.estimate.pool import pool_from_samples
    from pytest_tts.generate import load_samples

    loaded = load_samples(store, ctx.request)
    samples = [s for p in ctx.problems for s in loaded[p.id]]
    verdicts = list(ctx.oracle.verify([(p, s.text) for p in ctx.problems for s in loaded[p.id]]))
    return pool_from_samples(
        samples, verdicts, n=SAMPLING.n, problem_ids=[p.id for p in ctx.problems]
    )


def test_a_warm_run_generates_nothing_and_one_more_budget_only_that_budget(
    store: SampleStore,
) -> None:
    backend = CharBackend(script)
    ctx = context(store, backend, problems())
    first = budget_forcing(budgets=[2, 5])
    cold = first.search_curve(ctx)
    assert first.stats.forced_generated > 0
    again = budget_forcing(budgets=[2, 5])
    warm = again.search_curve(ctx)
    assert again.stats.forced_generated == 0
    assert again.stats.forced_reused == first.stats.forced_generated
    assert again.stats.verified == 0  # verdicts come from the store too
    np.testing.assert_array_equal(cold.per_problem, warm.per_problem)
    grown = budget_forcing(budgets=[2, 5, 8])
    grown.search_curve(ctx)
    only_8 = budget_forcing(budgets=[8])
    fresh = context(SampleStore.in_dir(store.path.parent.parent / "other"), backend, problems())
    only_8.search_curve(fresh)
    assert grown.stats.forced_generated == only_8.stats.forced_generated > 0


def test_costs_count_the_cut_reasoning_the_cue_and_the_forced_answer(store: SampleStore) -> None:
    backend = CharBackend(script)
    ctx = context(store, backend, problems(1))
    curve = budget_forcing(budgets=[2]).search_curve(ctx)
    request = GenerationRequest("t", ctx.problems[0].prompt, 1, 0, 0, SAMPLING)
    prompt = ctx.problems[0].prompt
    expected = []
    for index in range(SAMPLING.n):
        trace = script(request, index).text
        forced = script(GenerationRequest("t", prompt + trace[:2] + "|=", 1, 0, 0, SAMPLING), 0)
        # prompt tokens (with BOS) + 2 reasoning tokens + the 2-token cue + the answer
        expected.append(len(prompt) + 1 + 2 + 2 + len(forced.text))
    assert curve.cost_tokens[0] == pytest.approx(np.mean(expected))


def test_a_marker_that_never_occurs_names_the_pool(store: SampleStore) -> None:
    backend = CharBackend(script)
    ctx = context(store, backend, problems(2))
    with pytest.raises(
        EstimationError, match=r"'</think>' occurs in none of the 8 completions of pool m x d"
    ):
        budget_forcing(end="</think>").search_curve(ctx)


def test_a_model_without_a_marker_is_a_clear_error(store: SampleStore) -> None:
    backend = CharBackend(script)
    backend.reasoning = None  # type: ignore[assignment]
    ctx = context(store, backend, problems(2))
    with pytest.raises(EstimationError, match="declares no reasoning marker"):
        budget_forcing().search_curve(ctx)


def test_a_forced_prompt_beyond_the_context_is_a_clear_error(store: SampleStore) -> None:
    backend = CharBackend(script, model_config={"max_position_embeddings": 20})
    ctx = context(store, backend, problems(2))
    with pytest.raises(EstimationError, match="beyond the model's context of 20"):
        budget_forcing(budgets=[8], answer_tokens=8).search_curve(ctx)


def test_k_beyond_the_pool_is_a_clear_error(store: SampleStore) -> None:
    ctx = context(store, CharBackend(script), problems(2))
    with pytest.raises(EstimationError, match="k = 8 exceeds the pool's n = 4"):
        budget_forcing(majority_vote(), k=8).search_curve(ctx)


def test_offline_without_forced_answers_names_what_is_missing(store: SampleStore) -> None:
    ctx = context(store, CharBackend(script), problems(2), offline=True)
    with pytest.raises(Exception, match="forced answers"):
        budget_forcing(budgets=[2]).search_curve(ctx)


def test_a_strategy_that_searches_cannot_select(tmp_path: Path) -> None:
    from pytest_tts.search.beam import beam_search

    with pytest.raises(EstimationError, match="must select among samples"):
        budget_forcing(beam_search("steps"))
    assert isinstance(budget_forcing(), BudgetForcing)


KILL_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from pytest_tts.store import SampleStore
from tests.search.test_forcing import CharBackend, context, problems, script
from pytest_tts.search.forcing import budget_forcing


def slow(request, index):
    if request.prompt.endswith("|="):
        time.sleep(0.02)  # forced answers trickle in: the kill lands mid-fill
    return script(request, index)


with SampleStore.in_dir(Path(sys.argv[1])) as store:
    ctx = context(store, CharBackend(slow), problems(12))
    print("pool ready", flush=True)
    budget_forcing(budgets=[2, 5, 8, 11]).search_curve(ctx)
"""


def test_forced_answers_survive_a_kill_mid_fill(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    cache = tmp_path / "cache"
    (tmp_path / "kill.py").write_text(KILL_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "kill.py"), str(cache), str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    pool = 12 * SAMPLING.n
    committed = 0
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"pool ready"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with SampleStore.in_dir(cache) as store:
                committed = store.sample_count() - pool
            if committed > 0:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert committed > 0
    # a clean run on its own store: how many forced answers the curve needs, and its values
    with SampleStore.in_dir(tmp_path / "clean") as store:
        clean = budget_forcing(budgets=[2, 5, 8, 11])
        expected = clean.search_curve(context(store, CharBackend(script), problems(12)))
    with SampleStore.in_dir(cache) as store:
        kept = store.sample_count() - pool
        assert 0 < kept < clean.stats.forced_generated
        resumed = budget_forcing(budgets=[2, 5, 8, 11])
        curve = resumed.search_curve(context(store, CharBackend(script), problems(12)))
        # every forced answer the killed run committed is reused; only the rest is generated
        assert resumed.stats.forced_generated == clean.stats.forced_generated - kept
        assert store.sample_count() - pool == clean.stats.forced_generated
    np.testing.assert_array_equal(curve.per_problem, expected.per_problem)
