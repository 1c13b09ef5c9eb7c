"""``judge(..., base_url = ...)``: the bundled judge behind a real ``vllm`` server.

The remote judge is prompted through the server's completions endpoint (the ``openai``
backend) and must give the verdicts, scores and FLOPs the offline engine gives on the same
weights; a server that is down, or a judge without a FLOPs source, is a clear error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_tts.errors import TTSError, VerifierError
from pytest_tts.tasks.arith import generate_problems
from pytest_tts.verifiers.judge import judge
from tests.servers import free_port, vllm_server
from tests.verifiers.test_judge_engine import JUDGE, as_problem, dropped_carries

ROOT = Path(__file__).resolve().parents[2]


def test_a_remote_judge_needs_a_flops_source_and_a_server() -> None:
    with pytest.raises(VerifierError, match="identity and FLOPs need model_dir"):
        judge("referee", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(VerifierError, match="is for a judge behind a server"):
        judge(str(JUDGE), params=6.4e5)
    down = judge("referee", base_url=f"http://127.0.0.1:{free_port()}/v1", model_dir=str(JUDGE))
    down.backend.max_retries = 0  # type: ignore[attr-defined]
    # the identity needs no server (an offline run reads it for every cached verdict)
    assert (
        down.identity() == judge("other", base_url="http://x/v1", model_dir=str(JUDGE)).identity()
    )
    (problem,) = [as_problem("12+30")]
    with pytest.raises(TTSError, match="cannot reach the server"):
        down.verify([(problem, "2+0=2|1+3=4|=42")])


@pytest.fixture(scope="module")
def referee_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("judge-server") / "server.log"
    with vllm_server(JUDGE, "referee", log, "--seed", "0") as url:
        yield url


@pytest.mark.engine
@pytest.mark.skipif(not (JUDGE / "model.safetensors").exists(), reason="no bundled judge")
def test_the_judge_behind_vllm_serve_judges_as_the_offline_engine(referee_server: str) -> None:
    problems = generate_problems(10, seed=4242, digits=(2, 3))
    items = [(as_problem(p.question), p.solution) for p in problems]
    items += [(as_problem(p.question), dropped_carries(p)) for p in problems]
    remote = judge("referee", base_url=referee_server, model_dir=str(JUDGE), max_model_len=64)
    local = judge(model="models/tiny-judge", base_dir=ROOT, max_model_len=64)
    try:
        far = remote.verify(items)
        near = local.verify(items)
    finally:
        remote.close()
        local.close()
    for r, loc in zip(far, near, strict=True):
        assert (r.accepted, r.score, r.answer) == (loc.accepted, loc.score, loc.answer)
        assert r.flops == pytest.approx(loc.flops)
