"""The backend protocol: what generation needs from an engine.

A backend is made by a factory registered under a name (``vllm``, ``openai``, ``replay``),
called with the spec's model arguments plus ``base_dir`` (the spec file's folder, against
which relative paths resolve). Making one must be cheap: no engine starts until
``generate`` is called with something to do.

Seeding contract: a request asks for samples ``first_index .. first_index + n - 1`` of one
prompt whose per-prompt base seed is ``seed``; sample ``i`` is the one an ``n = 1`` request
with seed ``seed + i`` would give. vLLM's ``SamplingParams(n=N, seed=s)`` already draws its
j-th completion with seed ``s + j``, so a backend asks for ``n`` with seed
``seed + first_index``, and a top-up from 16 to 64 samples equals one request for 64.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pytest_tts.errors import BackendError
from pytest_tts.spec import Sampling
from pytest_tts.types import PARAMS_KEY


@dataclass(frozen=True)
class GenerationRequest:
    """Samples ``first_index .. first_index + n - 1`` of one prompt.

    ``tag`` is the caller's (it comes back on the result unchanged); ``seed`` is the
    prompt's base seed (sample i uses ``seed + i``); ``problem_id`` lets a replay backend
    match records by id when prompts differ in formatting.
    """

    tag: Hashable
    prompt: str
    n: int
    first_index: int
    seed: int
    sampling: Sampling
    want_logprobs: bool = False
    problem_id: str = ""


@dataclass(frozen=True)
class Completion:
    """One generated sample; ``token_ids``/``logprobs`` cover the generated tokens only."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"
    token_ids: tuple[int, ...] | None = None
    logprobs: tuple[float, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GenerationResult:
    """The answer to one request: ``completions[j]`` is sample ``first_index + j``."""

    request: GenerationRequest
    completions: tuple[Completion, ...]


@runtime_checkable
class Backend(Protocol):
    """What ``pytest_tts.generate`` needs from a backend."""

    #: A short name for progress lines and reports (``vllm:models/tiny-arith``).
    label: str

    def provenance(self) -> dict[str, Any]:
        """Everything about the model and engine that decides the samples.

        Must not start an engine: it is called on every run, warm ones included. Holds the
        model's content hash, the engine name and version, and the engine arguments that
        change numerics.
        """
        ...

    def model_config(self) -> dict[str, Any]:
        """The model's ``config.json`` (for FLOPs accounting); ``{}`` when unknown."""
        ...

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[GenerationResult]:
        """Generate every request, yielding each result as soon as it is complete.

        All requests go to the engine at once (one batch); results come back in completion
        order. Raises ``EngineError`` when the engine returns something other than asked.
        """
        ...

    def close(self) -> None:
        """Release the engine (idempotent)."""
        ...


# Optional: ``start(self) -> None`` loads the engine ahead of ``generate``; the fill path
# calls it when something is missing, so that progress and throughput time generation only.


def resolve_path(path: str | os.PathLike[str], base_dir: str | os.PathLike[str] | None) -> Path:
    """``path`` as given when absolute, else relative to ``base_dir`` (the spec's folder)."""
    p = Path(path).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return p


def flops_config(
    config: str | os.PathLike[str] | None,
    params: float | None,
    base_dir: str | os.PathLike[str] | None,
    *,
    who: str,
) -> dict[str, Any] | None:
    """The model config a remote or replayed pool's FLOPs come from: ``config`` (a
    ``config.json`` file, or a model folder holding one) or ``params`` (a parameter count:
    2 x params FLOPs per token). None when neither is given: FLOPs are then unknown."""
    import json

    if config is not None and params is not None:
        msg = f"{who}: give config = ... or params = ..., not both"
        raise BackendError(msg)
    if params is not None:
        if isinstance(params, bool) or not isinstance(params, (int, float)) or not params > 0:
            msg = f"{who}: params must be a positive number of parameters, got {params!r}"
            raise BackendError(msg)
        return {PARAMS_KEY: float(params)}
    if config is None:
        return None
    file = resolve_path(config, base_dir)
    if file.is_dir():
        file = file / "config.json"
    if not file.is_file():
        msg = f"{who}: config file {file} does not exist (resolved from {str(config)!r})"
        raise BackendError(msg)
    try:
        loaded = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"{who}: config file {file} is not JSON: {exc}"
        raise BackendError(msg) from exc
    if not isinstance(loaded, dict):
        msg = f"{who}: config file {file} holds {type(loaded).__name__}, not an object"
        raise BackendError(msg)
    return loaded


# Files that do not change what a model generates.
_IGNORED_SUFFIXES = (".md", ".txt.lock", ".lock")

_hash_memo: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    digest = _hash_memo.get(key)
    if digest is None:
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        _hash_memo[key] = digest
    return digest


def model_dir_hash(folder: Path) -> str:
    """sha256 over every file of a model folder (weights, config, tokenizer), by relative path.

    Hidden files and documentation (``*.md``) are skipped; a file's hash is memoized per
    process by (path, size, mtime).
    """
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and not p.name.endswith(_IGNORED_SUFFIXES)
    )
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(folder).as_posix().encode() + b"\0")
        h.update(file_sha256(p).encode() + b"\n")
    return h.hexdigest()


def sampling_provenance(sampling: Sampling) -> dict[str, Any]:
    """The sampling parameters that decide samples (everything but n)."""
    return {
        "temperature": float(sampling.temperature),
        "top_p": float(sampling.top_p),
        "max_tokens": int(sampling.max_tokens),
        "seed": int(sampling.seed),
        "extra": {k: sampling.extra[k] for k in sorted(sampling.extra)},
    }


def prompt_seed(seed: int, prompt: str) -> int:
    """The per-prompt base seed: a hash of the spec's seed and the prompt text.

    Distinct prompts get independent noise; 30 bits leave room for ``seed + index``.
    """
    digest = hashlib.sha256(f"{seed}\0{prompt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x3FFFFFFF


def check_result(request: GenerationRequest, completions: Iterable[Completion]) -> None:
    """Raise EngineError unless exactly ``request.n`` completions came back."""
    from pytest_tts.errors import EngineError

    got = len(tuple(completions))
    if got != request.n:
        msg = (
            f"asked for {request.n} samples of prompt {request.prompt[:40]!r} "
            f"(indices {request.first_index}..{request.first_index + request.n - 1}), "
            f"the engine returned {got}"
        )
        raise EngineError(msg)
