"""The OpenAI-compatible backend: retries on a flaky stdlib server, then a real vLLM server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pytest_tts.backends.base import GenerationRequest, prompt_seed
from pytest_tts.backends.openai import openai
from pytest_tts.errors import BackendError, ServerUnavailableError
from pytest_tts.generate import SampleRequest, ensure_samples, load_samples
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore
from pytest_tts.types import Problem
from tests.servers import free_port
from tests.servers import vllm_server as serve

SAMPLING = Sampling(n=3, max_tokens=8, seed=11)


def request(prompt: str, n: int, first: int, *, logprobs: bool = False) -> GenerationRequest:
    return GenerationRequest(
        (prompt, first), prompt, n, first, prompt_seed(SAMPLING.seed, prompt), SAMPLING, logprobs
    )


class Flaky(BaseHTTPRequestHandler):
    """Answers 429, then 503, then a valid completion; counts the attempts."""

    attempts: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Flaky.attempts.append(body)
        if len(Flaky.attempts) <= 2:
            self.send_response(429 if len(Flaky.attempts) == 1 else 503)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        choices = [
            {"index": i, "text": f"t{i}", "finish_reason": "length", "token_ids": [1, 2]}
            for i in range(body["n"])
        ]
        payload = json.dumps(
            {"choices": choices, "usage": {"prompt_tokens": 4, "completion_tokens": 2 * body["n"]}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_retries_429_and_5xx_then_succeeds() -> None:
    Flaky.attempts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        backend = openai(url, "m", backoff_s=0.01, model_hash="h", engine_version="1")
        (result,) = backend.generate([request("Q:1+1\nA:", 3, 5)])
        backend.close()
    finally:
        server.shutdown()
        server.server_close()
    assert len(Flaky.attempts) == 3
    body = Flaky.attempts[-1]
    assert (body["n"], body["seed"]) == (3, prompt_seed(SAMPLING.seed, "Q:1+1\nA:") + 5)
    assert [c.text for c in result.completions] == ["t0", "t1", "t2"]
    assert [c.completion_tokens for c in result.completions] == [2, 2, 2]
    assert result.completions[0].prompt_tokens == 4


def test_server_down_is_a_clear_error() -> None:
    backend = openai(f"http://127.0.0.1:{free_port()}/v1", "m", max_retries=1, backoff_s=0.01)
    with pytest.raises(
        ServerUnavailableError, match=r"cannot reach the server at .*\(tried 2 times"
    ):
        backend.provenance()
    with pytest.raises(ServerUnavailableError, match="is it running"):
        list(backend.generate([request("p", 1, 0)]))


def test_pinned_provenance_needs_no_server() -> None:
    backend = openai("http://127.0.0.1:9/v1", "m", model_hash="abc", engine_version="0.32.0")
    assert backend.provenance() == {
        "engine": "openai",
        "engine_version": "0.32.0",
        "model": "m",
        "model_hash": "abc",
    }
    with pytest.raises(BackendError, match="max_concurrency must be at least 1"):
        openai("http://x/v1", "m", max_concurrency=0)


@pytest.fixture(scope="module")
def vllm_server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``vllm`` OpenAI-compatible server of the tiny model on loopback."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with serve(tiny_model_dir, "tiny", log, "--seed", "0") as url:
        yield url


@pytest.mark.engine
def test_real_server_counts_logprobs_and_topups(vllm_server: str, tmp_path: Path) -> None:
    backend = openai(vllm_server, "tiny", max_concurrency=4)
    prov = backend.provenance()
    assert prov["engine"] == "openai"
    assert prov["engine_version"] not in ("", "unknown")
    prompts = [f"Q:{a}+{a}\nA:" for a in range(6)]
    whole = {
        r.request.prompt: r
        for r in backend.generate([request(p, 5, 0, logprobs=True) for p in prompts])
    }
    assert set(whole) == set(prompts)
    for result in whole.values():
        assert len(result.completions) == 5
        for c in result.completions:
            assert c.prompt_tokens == len(result.request.prompt) + 1  # characters + BOS
            assert c.completion_tokens == len(c.token_ids) <= SAMPLING.max_tokens
            assert len(c.logprobs) == c.completion_tokens
            assert c.finish_reason in {"stop", "length"}
    part = list(backend.generate([request(p, 3, 2) for p in prompts[:2]]))
    for r in part:
        expected = whole[r.request.prompt].completions[2:5]
        assert [c.token_ids for c in r.completions] == [c.token_ids for c in expected]

    problems = [Problem(str(i), p) for i, p in enumerate(prompts)]
    with SampleStore.in_dir(tmp_path) as store:
        pool = SampleRequest(backend, problems, Sampling(n=4, max_tokens=8, seed=11))
        assert ensure_samples(store, [pool]).generated == 24
        assert ensure_samples(store, [pool]).generated == 0
        assert len(load_samples(store, pool)) == 6
    backend.close()


@pytest.mark.engine
def test_budget_forcing_through_a_real_server(vllm_server: str, tmp_path: Path) -> None:
    from pytest_tts.search import SearchContext
    from pytest_tts.search.forcing import budget_forcing
    from pytest_tts.verifiers.exact import exact_match

    backend = openai(vllm_server, "tiny", max_concurrency=4, reasoning="|=")
    assert backend.detokenize([]) == ""
    assert backend.count_tokens("|=") == 2  # one token per character, no BOS
    problems = [Problem(str(i), f"Q:{12 + i}+{34 + 5 * i}\nA:", str(46 + 6 * i)) for i in range(6)]
    sampling = Sampling(n=4, temperature=1.0, max_tokens=40, seed=0)
    oracle = exact_match(extract="last_number")
    with SampleStore.in_dir(tmp_path) as store:
        pool = SampleRequest(backend, problems, sampling)
        ensure_samples(store, [pool])
        for rows in load_samples(store, pool).values():
            for s in rows:
                # the server decodes special tokens too (the EOS a finished sample ends with)
                assert backend.detokenize(s.token_ids or ()).startswith(s.text)
        context = SearchContext(
            store=store,
            backend=backend,
            problems=tuple(problems),
            sampling=sampling,
            oracle=oracle,
            verifiers={"exact": oracle},
            flops_fn=None,
            offline=False,
            ks=(1,),
            label="tiny x sums",
            request=pool,
        )
        forcing = budget_forcing(budgets=[4, 36])
        curve = forcing.search_curve(context)
        assert forcing.stats.forced_generated > 0  # every trace reasons longer than 4
        assert curve.forced is not None
        assert list(curve.forced) == [1.0, 0.0]
        warm = budget_forcing(budgets=[4, 36])
        warm.search_curve(context)
        assert warm.stats.forced_generated == 0
    backend.close()
