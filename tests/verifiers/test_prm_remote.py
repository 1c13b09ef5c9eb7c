"""``process_reward_model(..., base_url = ...)``: a PRM behind a server's ``/pooling``.

Plumbing against stdlib HTTP servers (a scripted step scorer, one that answers 500, one
started without the step tag, none at all), then the bundled PRM behind a real ``vllm
serve --runner pooling --pooler-config '{"step_tag_id": 16}'`` on loopback, checked against
the same weights scored by the offline engine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pytest_tts.errors import VerifierError
from pytest_tts.store import SampleStore
from pytest_tts.types import Problem, Sample
from pytest_tts.verifiers.cache import verdict_key, verify_cached
from pytest_tts.verifiers.process_reward import (
    RemoteProcessRewardModel,
    process_reward_model,
    step_flops,
)
from tests.servers import free_port, vllm_server

ROOT = Path(__file__).resolve().parents[2]
PRM = ROOT / "models" / "tiny-prm"


class StepScorer(BaseHTTPRequestHandler):
    """Answers /pooling with one row per '|' in the input: P(right) 0.9, except 0.2 for a
    step whose text holds '9'; ``tagged`` False answers no rows (a server without the step
    tag); ``status`` other than 200 answers that instead."""

    status: ClassVar[int] = 200
    tagged: ClassVar[bool] = True
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(body)
        if self.status != 200:
            self.send_response(self.status)
            self.end_headers()
            self.wfile.write(b"engine crashed")
            return
        text = body["input"]
        completion = text.split("A:", 1)[1]
        steps = completion.split("|")[:-1]
        rows = [[0.8, 0.2] if "9" in s else [0.1, 0.9] for s in steps] if self.tagged else []
        data = {
            "data": [{"index": 0, "object": "pooling", "data": rows}],
            "usage": {"prompt_tokens": len(text), "total_tokens": len(text)},
        }
        out = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[StepScorer]]]:
    handler = type("Handler", (StepScorer,), {"status": 200, "tagged": True, "seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


ITEMS = [
    (Problem("p", "Q:12+30\nA:", "42"), "2+0=2|1+3=4|=42"),
    (Problem("q", "Q:19+1\nA:", "20"), "9+1=10|1+0+1=2|=20"),
]


def test_step_scores_flops_and_answers_come_from_the_server(
    server: tuple[str, type[StepScorer]],
) -> None:
    url, handler = server
    prm = process_reward_model("prm", step_tag="|", delimiter="|", base_url=url, model_dir=str(PRM))
    assert isinstance(prm, RemoteProcessRewardModel)
    assert prm.tag_id == 16
    first, second = prm.verify(ITEMS)
    config = json.loads((PRM / "config.json").read_text())
    assert first.step_scores == (0.9, 0.9, 0.9)
    assert (first.score, first.accepted, first.answer) == (0.9, True, "42")
    assert second.step_scores == (0.2, 0.9, 0.9)
    assert (second.score, second.accepted) == (0.2, False)
    text = ITEMS[0][0].prompt + ITEMS[0][1] + "|"
    assert first.flops == pytest.approx(step_flops(config, len(text)))
    assert sorted(b["input"] for b in handler.seen) == sorted(p.prompt + c + "|" for p, c in ITEMS)
    assert all(b["task"] == "token_classify" and b["model"] == "prm" for b in handler.seen)
    prm.close()


def test_a_server_without_the_step_tag_says_how_to_start_it(
    server: tuple[str, type[StepScorer]],
) -> None:
    url, handler = server
    handler.tagged = False
    prm = process_reward_model("prm", step_tag="|", delimiter="|", base_url=url, model_dir=str(PRM))
    with pytest.raises(VerifierError, match=r"""--pooler-config '\{"step_tag_id": 16\}'"""):
        prm.verify(ITEMS)


def test_a_server_error_is_clear_and_nothing_is_cached(
    server: tuple[str, type[StepScorer]], tmp_path: Path
) -> None:
    url, handler = server
    handler.status = 500
    prm = process_reward_model(
        "prm", step_tag="|", delimiter="|", base_url=url, params=6.6e5, max_retries=1
    )
    samples = [(p, Sample(p.id, 0, c, 5, len(c))) for p, c in ITEMS]
    with SampleStore.in_dir(tmp_path) as store:
        pool = store.pool({"engine": "test"})
        with pytest.raises(VerifierError, match=r"remote process reward model 'prm' .* 500"):
            verify_cached(prm, store, pool, samples)
        for problem, _sample in samples:
            assert store.get_verdicts(pool, verdict_key(prm, problem), [(problem.prompt, 0)]) == {}
        handler.status = 200
        assert len(verify_cached(prm, store, pool, samples)) == 2


def test_a_server_that_is_down_and_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    down = process_reward_model(
        "prm", step_tag="|", delimiter="|", params=6.6e5, max_retries=0,
        base_url=f"http://127.0.0.1:{free_port()}/v1",
    )  # fmt: skip
    with pytest.raises(VerifierError, match="cannot reach the server"):
        down.verify(ITEMS)
    with pytest.raises(VerifierError, match="FLOPs need model_dir"):
        process_reward_model("prm", base_url="http://x/v1")
    with pytest.raises(VerifierError, match="configure a local engine"):
        process_reward_model("prm", base_url="http://x/v1", params=1e6, max_model_len=64)
    with pytest.raises(VerifierError, match="is for a remote model"):
        process_reward_model(str(PRM), step_tag="|", params=1e6)
    with pytest.raises(VerifierError, match="is not one token"):
        process_reward_model("prm", base_url="http://x/v1", model_dir=str(PRM))  # <extra_0>
    local_hash = process_reward_model(str(PRM), step_tag="|", delimiter="|").model_hash
    served = process_reward_model(
        "prm", step_tag="|", delimiter="|", base_url="http://x/v1", model_dir=str(PRM)
    )
    assert served.model_hash == local_hash


@pytest.fixture(scope="module")
def prm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bundled PRM behind a real vLLM server (pooling runner, step tag '|') on loopback."""
    log = tmp_path_factory.mktemp("prm-server") / "server.log"
    extra = ("--runner", "pooling", "--pooler-config", '{"step_tag_id": 16}')
    with vllm_server(PRM, "prm", log, *extra) as url:
        yield url


@pytest.mark.engine
def test_the_prm_behind_vllm_serve_scores_as_the_offline_engine(prm_server: str) -> None:
    items = [
        (Problem(f"p{a}", f"Q:{a}+{a + 7}\nA:"), f"{a % 10}+{(a + 7) % 10}={d}|={2 * a + 7}")
        for a in range(10, 22)
        for d in (5, 6)
    ]
    remote = process_reward_model(
        "prm", step_tag="|", delimiter="|", base_url=prm_server, model_dir=str(PRM),
        max_concurrency=4,
    )  # fmt: skip
    local = process_reward_model(str(PRM), step_tag="|", delimiter="|", max_model_len=64)
    try:
        far = remote.verify(items)
        near = local.verify(items)
    finally:
        remote.close()
        local.close()
    for r, loc in zip(far, near, strict=True):
        assert r.step_scores == pytest.approx(loc.step_scores, abs=1e-5)
        assert r.flops == pytest.approx(loc.flops)
        assert (r.accepted, r.answer) == (loc.accepted, loc.answer)
