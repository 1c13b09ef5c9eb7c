"""``reward_model(..., base_url = ...)``: a reward model behind a server's ``/classify``.

Plumbing against stdlib HTTP servers (a scripted classifier, one that answers 500, none at
all), then the bundled ORM behind a real ``vllm`` server started on loopback, checked
against the same weights scored by the offline engine.
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
from pytest_tts.estimate.flops import scoring_flops
from pytest_tts.store import SampleStore
from pytest_tts.types import Problem, Sample
from pytest_tts.verifiers.cache import verdict_key, verify_cached
from pytest_tts.verifiers.reward import RemoteRewardModel, reward_model
from tests.servers import free_port, vllm_server

ROOT = Path(__file__).resolve().parents[2]
ORM = ROOT / "models" / "tiny-orm"


class Classifier(BaseHTTPRequestHandler):
    """Answers /classify with a reward that grows with the text's length; ``status`` other
    than 200 answers that instead."""

    status: ClassVar[int] = 200
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(body)
        if self.status != 200:
            self.send_response(self.status)
            self.end_headers()
            self.wfile.write(b"engine crashed")
            return
        text = body["input"][0]
        data = {
            "data": [{"index": 0, "label": None, "probs": [len(text) / 100], "num_classes": 1}],
            "usage": {"prompt_tokens": len(text) + 1, "total_tokens": len(text) + 1},
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
def server() -> Iterator[tuple[str, type[Classifier]]]:
    handler = type("Handler", (Classifier,), {"status": 200, "seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


ITEMS = [(Problem("p", "Q:12+30\nA:", "42"), "2+0=2|1+3=4|=42"), (Problem("q", "Q:1+1\nA:"), "=3")]


def test_scores_flops_and_answers_come_from_the_server(
    server: tuple[str, type[Classifier]],
) -> None:
    url, handler = server
    orm = reward_model("orm", base_url=url, model_dir=str(ORM), threshold=0.2)
    assert isinstance(orm, RemoteRewardModel)
    verdicts = orm.verify(ITEMS)
    config = json.loads((ORM / "config.json").read_text())
    for (problem, completion), verdict in zip(ITEMS, verdicts, strict=True):
        text = problem.prompt + completion
        assert verdict.score == pytest.approx(len(text) / 100)
        assert verdict.accepted == (verdict.score >= 0.2)
        assert verdict.flops == pytest.approx(scoring_flops(config, len(text) + 1, 0, 1))
        assert verdict.answer == completion.rsplit("=", 1)[1]
    assert sorted(b["input"][0] for b in handler.seen) == sorted(p.prompt + c for p, c in ITEMS)
    assert all(b["model"] == "orm" for b in handler.seen)
    orm.close()


def test_a_server_error_is_clear_and_nothing_is_cached(
    server: tuple[str, type[Classifier]], tmp_path: Path
) -> None:
    url, handler = server
    handler.status = 500
    orm = reward_model("orm", base_url=url, params=6.4e5, max_retries=1)
    samples = [(p, Sample(p.id, 0, c, 5, len(c))) for p, c in ITEMS]
    with SampleStore.in_dir(tmp_path) as store:
        pool = store.pool({"engine": "test"})
        with pytest.raises(VerifierError, match=r"remote reward model 'orm' at .* answered 500"):
            verify_cached(orm, store, pool, samples)
        for problem, _sample in samples:
            got = store.get_verdicts(pool, verdict_key(orm, problem), [(problem.prompt, 0)])
            assert got == {}
        # the server recovers: the same call now scores and caches
        handler.status = 200
        assert len(verify_cached(orm, store, pool, samples)) == 2
        key = verdict_key(orm, ITEMS[0][0])
        assert store.get_verdicts(pool, key, [(ITEMS[0][0].prompt, 0)])


def test_a_server_that_is_down_is_a_clear_error() -> None:
    orm = reward_model(
        "orm", base_url=f"http://127.0.0.1:{free_port()}/v1", params=6.4e5, max_retries=0
    )
    with pytest.raises(VerifierError, match="cannot reach the server"):
        orm.verify(ITEMS)


def test_bad_remote_arguments_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(VerifierError, match="FLOPs need model_dir"):
        reward_model("orm", base_url="http://x/v1")
    with pytest.raises(VerifierError, match="configure a local engine"):
        reward_model("orm", base_url="http://x/v1", params=1e6, max_model_len=64)
    with pytest.raises(VerifierError, match=r"has no config\.json"):
        reward_model("orm", base_url="http://x/v1", model_dir=str(tmp_path))
    with pytest.raises(VerifierError, match="is for a remote model"):
        reward_model(str(ORM), params=1e6)
    # the identity is the served weights' hash: the same folder served or local-copied agrees
    a = reward_model("orm", base_url="http://x/v1", model_dir=str(ORM))
    b = reward_model("other-name", base_url="http://y/v1", model_dir=str(ORM))
    assert a.identity() == b.identity()
    assert a.identity() != reward_model("orm", base_url="http://x/v1", params=1e6).identity()


@pytest.fixture(scope="module")
def orm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bundled ORM behind a real vLLM server (pooling runner) on loopback."""
    log = tmp_path_factory.mktemp("orm-server") / "server.log"
    with vllm_server(ORM, "orm", log, "--runner", "pooling") as url:
        yield url


@pytest.mark.engine
def test_the_orm_behind_vllm_serve_scores_as_the_offline_engine(orm_server: str) -> None:
    texts = [
        (Problem(f"p{a}", f"Q:{a}+{a + 7}\nA:"), f"{a % 10}+{(a + 7) % 10}=x|={2 * a + 7 + d}")
        for a in range(10, 22)
        for d in (0, 1)
    ]
    remote = reward_model("orm", base_url=orm_server, model_dir=str(ORM), max_concurrency=4)
    local = reward_model(str(ORM), max_model_len=64)
    try:
        far = remote.verify(texts)
        near = local.verify(texts)
    finally:
        remote.close()
        local.close()
    for r, loc in zip(far, near, strict=True):
        assert r.score == pytest.approx(loc.score, abs=1e-5)
        assert r.flops == pytest.approx(loc.flops)
        assert r.accepted == loc.accepted
        assert r.answer == loc.answer
