"""Engine start-up noise stays off the user's terminal; errors do not.

vLLM's engine core runs in a spawned process, so what it prints at start-up is silenced
through the environment (``pytest_tts.backends.vllm.QUIET_ENGINE_ENVIRONMENT``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tts.backends.vllm import QUIET_ENGINE_ENVIRONMENT, quiet_engine_environment

NOISE = (
    "Triton is installed, but doesn't include CPU backend",
    "FutureWarning",
    "torch.distributed.reduce_op",
    "NUMA binding",
    "Triton not available",
)

SCRIPT = """
import sys
from pytest_tts.backends.base import GenerationRequest
from pytest_tts.backends.vllm import vllm
from pytest_tts.spec import Sampling

if __name__ == "__main__":
    backend = vllm(sys.argv[1], dtype="float32", max_model_len=64)
    request = GenerationRequest(
        tag=0, prompt="Q:12+30\\nA:", n=2, first_index=0, seed=0,
        sampling=Sampling(n=2, max_tokens=12), want_logprobs=False, problem_id="p0",
    )
    (result,) = backend.generate([request])
    print("COMPLETIONS", len(result.completions))
    backend.close()
"""


@pytest.mark.engine
def test_engine_start_prints_no_third_party_noise(tiny_model_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "generate.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in QUIET_ENGINE_ENVIRONMENT}
    done = subprocess.run(
        [sys.executable, str(script), str(tiny_model_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "COMPLETIONS 2" in done.stdout
    noisy = [line for line in done.stderr.splitlines() if any(n in line for n in NOISE)]
    assert noisy == []


def test_an_engine_that_cannot_start_still_says_why(tmp_path: Path) -> None:
    """The quiet defaults hide warnings only: a model folder that is not a model fails with
    the reason (no engine starts, so this is fast)."""
    from pytest_tts.backends.vllm import vllm
    from pytest_tts.errors import BackendError

    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    backend = vllm(str(tmp_path), dtype="float32", max_model_len=64)
    with pytest.raises(BackendError, match="vLLM could not start"):
        backend.start()


def test_quiet_defaults_never_override_the_users_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in QUIET_ENGINE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VLLM_LOGGING_LEVEL", "DEBUG")
    monkeypatch.setenv("PYTHONWARNINGS", "default")
    logger = logging.getLogger("vllm")
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    quiet_engine_environment()
    assert os.environ["VLLM_LOGGING_LEVEL"] == "DEBUG"
    assert os.environ["PYTHONWARNINGS"] == "default"
    assert os.environ["TORCH_CPP_LOG_LEVEL"] == "ERROR"
    assert logger.level == logging.DEBUG
