"""An OpenAI-compatible server: ``openai(base_url = "http://gpu-box:8000/v1", model = "...")``.

The path for models served on a multi-GPU or multi-node vLLM deployment (or any server that
speaks ``/v1/completions``). Each prompt is one completions request with ``n`` and the
prompt's seed (vLLM gives the j-th of n choices seed + j, as the offline engine does), so
top-ups and caching work exactly as with the ``vllm`` backend. Requests run concurrently, at
most ``max_concurrency`` at a time; 429 and 5xx answers and dropped connections are retried
with exponential backoff (honouring ``Retry-After``) up to ``max_retries`` times.

Provenance comes from the server (``/v1/models``, ``/version``) unless pinned: pass
``model_hash`` (e.g. the sha256 the serving job printed, or ``model_dir`` to hash a local
copy) and ``engine_version`` so that an offline CI run, with no server, finds the pool.
Token ids and counts per choice use vLLM's ``return_token_ids`` extension; servers without
it get counts from per-token logprobs, else usage split evenly (flagged ``tokens_estimated``).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import httpx

from pytest_tts.backends.base import (
    Completion,
    GenerationRequest,
    GenerationResult,
    check_result,
    flops_config,
    model_dir_hash,
    resolve_path,
)
from pytest_tts.errors import BackendError, EngineError, ServerUnavailableError

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class OpenAIBackend:
    """Completions from an OpenAI-compatible HTTP server."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        max_concurrency: int = 8,
        max_retries: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 600.0,
        api_key: str | None = None,
        model_hash: str | None = None,
        engine_version: str | None = None,
        token_ids: bool = True,
        reasoning: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.reasoning = reasoning
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.token_ids = token_ids
        self.label = f"openai:{model}"
        self._model_hash = model_hash
        self._engine_version = engine_version
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=10.0),
            headers=headers,
            limits=httpx.Limits(max_connections=max_concurrency),
        )
        self._provenance: dict[str, Any] | None = None
        self._config: dict[str, Any] | None = None

    # HTTP with retries

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        delay = self.backoff_s
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._client.request(method, url, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if last:
                    msg = (
                        f"cannot reach the server at {url}: {exc} (tried {attempt + 1} times; "
                        "is it running, and is base_url right?)"
                    )
                    raise ServerUnavailableError(msg) from exc
            except httpx.TransportError as exc:
                if last:
                    msg = f"the server at {url} keeps failing: {type(exc).__name__}: {exc}"
                    raise ServerUnavailableError(msg) from exc
            else:
                if response.status_code not in RETRY_STATUS:
                    return response
                if last:
                    msg = (
                        f"the server at {url} answered {response.status_code} "
                        f"{response.text[:200]!r} after {attempt + 1} attempts"
                    )
                    raise ServerUnavailableError(msg)
                retry_after = response.headers.get("retry-after", "")
                if retry_after.replace(".", "", 1).isdigit():
                    delay = max(delay, float(retry_after))
            time.sleep(delay * (1 + 0.1 * random.random()))
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self._request(method, url, **kwargs)
        if response.status_code >= 400:
            msg = f"{method} {url} answered {response.status_code}: {response.text[:500]}"
            raise BackendError(msg)
        return response.json()

    def detokenize(self, token_ids: Sequence[int]) -> str:
        """The text of ``token_ids``, from the server's ``/detokenize`` (vLLM's extension)."""
        root = self.base_url.removesuffix("/v1")
        data = self._json(
            "POST", f"{root}/detokenize", json={"model": self.model, "tokens": list(token_ids)}
        )
        return str(data.get("prompt", ""))

    def count_tokens(self, text: str, *, add_special_tokens: bool = False) -> int:
        """Tokens of ``text`` inside a prompt (with BOS and the like only when
        ``add_special_tokens``), from the server's ``/tokenize``."""
        root = self.base_url.removesuffix("/v1")
        data = self._json(
            "POST",
            f"{root}/tokenize",
            json={"model": self.model, "prompt": text, "add_special_tokens": add_special_tokens},
        )
        return int(data.get("count", len(data.get("tokens", []))))

    # protocol

    def _server_model(self) -> dict[str, Any]:
        models = self._json("GET", f"{self.base_url}/models").get("data", [])
        for m in models:
            if m.get("id") == self.model:
                return dict(m)
        known = ", ".join(str(m.get("id")) for m in models) or "none"
        msg = f"the server at {self.base_url} does not serve {self.model!r} (it serves: {known})"
        raise BackendError(msg)

    def provenance(self) -> dict[str, Any]:
        if self._provenance is None:
            model_hash = self._model_hash
            if model_hash is None:
                info = self._server_model()
                model_hash = f"server:{info.get('root') or self.model}"
            version = self._engine_version
            if version is None:
                root = self.base_url.removesuffix("/v1")
                response = self._request("GET", f"{root}/version")
                ok = response.status_code == 200
                version = str(response.json().get("version", "unknown")) if ok else "unknown"
            self._provenance = {
                "engine": "openai",
                "engine_version": version,
                "model": self.model,
                "model_hash": model_hash,
            }
        return self._provenance

    def model_config(self) -> dict[str, Any]:
        return dict(self._config or {})

    def _body(self, r: GenerationRequest) -> dict[str, Any]:
        s = r.sampling
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": r.prompt,
            "n": r.n,
            "seed": r.seed + r.first_index,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            **dict(s.extra),
        }
        if r.want_logprobs:
            body["logprobs"] = 0
        if self.token_ids:
            body["return_token_ids"] = True
        return body

    def _complete(self, r: GenerationRequest) -> GenerationResult:
        data = self._json("POST", f"{self.base_url}/completions", json=self._body(r))
        choices = sorted(data.get("choices", []), key=lambda c: c.get("index", 0))
        if [c.get("index", 0) for c in choices] != list(range(r.n)):
            msg = (
                f"asked {self.base_url} for {r.n} completions of {r.prompt[:40]!r}, got choices "
                f"{[c.get('index') for c in choices]}"
            )
            raise EngineError(msg)
        usage = data.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens", 0))
        completions = []
        for c in choices:
            extra: dict[str, Any] = {}
            ids = c.get("token_ids")
            lp = (c.get("logprobs") or {}).get("token_logprobs")
            if ids is not None:
                count = len(ids)
            elif lp is not None:
                count = len(lp)
            else:
                count = int(usage.get("completion_tokens", 0)) // max(r.n, 1)
                extra["tokens_estimated"] = True
            if r.want_logprobs and lp is None:
                msg = f"asked {self.base_url} for logprobs of {r.prompt[:40]!r}, got none"
                raise EngineError(msg)
            completions.append(
                Completion(
                    text=c.get("text", ""),
                    prompt_tokens=prompt_tokens,
                    completion_tokens=count,
                    finish_reason=str(c.get("finish_reason") or "stop"),
                    token_ids=None if ids is None else tuple(int(t) for t in ids),
                    logprobs=None if lp is None else tuple(float(x) for x in lp),
                    extra=extra,
                )
            )
        check_result(r, completions)
        return GenerationResult(r, tuple(completions))

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[GenerationResult]:
        if not requests:
            return
        pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="tts-http")
        pending: set[Future[GenerationResult]] = set()
        queue = iter(requests)
        try:
            # keep at most max_concurrency requests in flight; yield each as it completes
            for r in queue:
                pending.add(pool.submit(self._complete, r))
                if len(pending) >= self.max_concurrency:
                    break
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending.add(pool.submit(self._complete, nxt))
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self._client.close()


def openai(
    base_url: str,
    model: str,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    max_concurrency: int = 8,
    max_retries: int = 5,
    backoff_s: float = 0.5,
    timeout_s: float = 600.0,
    api_key_env: str = "OPENAI_API_KEY",
    model_hash: str | None = None,
    model_dir: str | None = None,
    engine_version: str | None = None,
    token_ids: bool = True,
    config: str | None = None,
    params: float | None = None,
    reasoning: str | None = None,
) -> OpenAIBackend:
    """A model behind an OpenAI-compatible ``/v1/completions`` endpoint.

    ``model_dir`` (a local copy of the served folder) gives the model's content hash and its
    config.json for FLOPs; ``model_hash`` pins the hash directly. The API key, if any, is
    read from the environment variable named by ``api_key_env``. Without ``model_dir``,
    ``config`` (a config.json or folder) or ``params`` (a parameter count) gives FLOPs;
    with none of them the pool's FLOPs are unknown. ``reasoning`` is the marker that ends a
    completion's reasoning (``"</think>"``), for thinking budgets (``budget_forcing``).
    """
    if max_concurrency < 1:
        msg = f"max_concurrency must be at least 1, got {max_concurrency}"
        raise BackendError(msg)
    config_dict = flops_config(config, params, base_dir, who=f"openai({model!r})")
    if model_dir is not None:
        if config_dict is not None:
            msg = f"openai({model!r}): model_dir already gives the config; drop config/params"
            raise BackendError(msg)
        folder = resolve_path(model_dir, base_dir)
        if not (folder / "config.json").is_file():
            msg = f"model_dir {folder} has no config.json"
            raise BackendError(msg)
        model_hash = model_hash or model_dir_hash(folder)
        import json

        config_dict = json.loads((folder / "config.json").read_text())
    backend = OpenAIBackend(
        base_url,
        model,
        max_concurrency=max_concurrency,
        max_retries=max_retries,
        backoff_s=backoff_s,
        timeout_s=timeout_s,
        api_key=os.environ.get(api_key_env),
        model_hash=model_hash,
        engine_version=engine_version,
        token_ids=token_ids,
        reasoning=reasoning,
    )
    backend._config = config_dict
    return backend
