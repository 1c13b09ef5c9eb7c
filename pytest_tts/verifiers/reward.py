"""``reward_model``: an outcome reward model scored through vLLM's pooling runner.

    verifier orm = reward_model("../models/tiny-orm", threshold = 0.5)

The model folder holds a sequence classifier (``*ForSequenceClassification``, e.g. the
bundled ``models/tiny-orm``), relative to the spec file like a generation model. Each sample
is scored as the text the policy saw followed by what it wrote (``problem.prompt +
completion``), in one ``LLM.classify`` call per batch on an engine started with
``runner = "pooling"``: the same vLLM build and code path as generation, on CPU or GPU.

- ``score`` is the model's probability that the answer is right: the sigmoid of its one
  logit, or, for a two-way classifier, the probability of class ``label`` (default 1).
- ``accepted`` is ``score >= threshold``: a reward model used as a filter or judged by
  ``false_positive_rate``.
- ``answer`` is the completion's answer by ``extract`` (default ``last_number``), so votes
  weighted by the reward still group answers.
- ``flops`` is the scoring pass (:func:`pytest_tts.estimate.flops.scoring_flops`: one
  causal forward pass over the scored tokens), which strategies that read the reward add to
  their cost.

The identity holds the model folder's content hash, not its path, so retraining the reward
model re-scores and moving it does not. The engine starts on the first batch with work (a
re-run whose verdicts are all cached starts none) and stops at ``close()``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_tts.errors import VerifierError
from pytest_tts.types import Verdict
from pytest_tts.verifiers.base import Item, make_identity
from pytest_tts.verifiers.exact import normalize_answer
from pytest_tts.verifiers.extractors import Extractor, resolve_extractor

# Engine arguments that change no score (kept out of the identity).
_NEUTRAL_ARGS = frozenset(
    {"max_num_seqs", "max_num_batched_tokens", "enforce_eager", "gpu_memory_utilization"}
)


class RewardModel:
    """Scores (problem, completion) pairs with a sequence classifier served by vLLM."""

    name = "reward_model"
    version = 1

    def __init__(
        self,
        model: Path,
        *,
        threshold: float,
        label: int,
        extract: Extractor,
        engine_args: dict[str, Any],
    ) -> None:
        from pytest_tts.backends.base import model_dir_hash

        if not (model / "config.json").is_file():
            msg = f"reward model folder {model} has no config.json"
            raise VerifierError(msg)
        if not 0.0 <= threshold <= 1.0:
            msg = f"reward_model threshold must be a probability in [0, 1], got {threshold:g}"
            raise VerifierError(msg)
        self.model = model
        self.threshold = float(threshold)
        self.label = int(label)
        self.extract = extract
        self.engine_args = {"dtype": "float32", **engine_args}
        self.model_hash = model_dir_hash(model)
        self._llm: Any = None
        self._config: dict[str, Any] | None = None

    def identity(self) -> str:
        args = {
            "model_hash": self.model_hash[:16],
            "threshold": self.threshold,
            "label": self.label,
            "extract": self.extract,
            **{k: v for k, v in self.engine_args.items() if k not in _NEUTRAL_ARGS},
        }
        return make_identity(self.name, self.version, args)

    def config(self) -> dict[str, Any]:
        if self._config is None:
            import json

            self._config = json.loads((self.model / "config.json").read_text())
        return self._config

    def engine(self) -> Any:
        if self._llm is None:
            from pytest_tts.backends.vllm import quiet_engine_environment

            quiet_engine_environment()
            from vllm import LLM

            try:
                self._llm = LLM(model=str(self.model), runner="pooling", **self.engine_args)
            except Exception as exc:
                msg = (
                    f"vLLM could not start the reward model {self.model}: "
                    f"{type(exc).__name__}: {exc}"
                )
                raise VerifierError(msg) from exc
        return self._llm

    def verify(self, items: Sequence[Item]) -> list[Verdict]:
        if not items:
            return []
        from pytest_tts.estimate.flops import scoring_flops

        texts = [problem.prompt + completion for problem, completion in items]
        try:
            outputs = self.engine().classify(texts, use_tqdm=False)
        except VerifierError:
            raise
        except Exception as exc:
            msg = f"reward model {self.model.name} failed to score: {type(exc).__name__}: {exc}"
            raise VerifierError(msg) from exc
        return [
            reward_verdict(
                list(output.outputs.probs),
                completion,
                scoring_flops(self.config(), len(output.prompt_token_ids or ()), 0, 1),
                threshold=self.threshold,
                label=self.label,
                extract=self.extract,
                who=f"reward model {self.model.name}",
            )
            for (_, completion), output in zip(items, outputs, strict=True)
        ]

    def close(self) -> None:
        from pytest_tts.backends.vllm import _shutdown

        llm, self._llm = self._llm, None
        if llm is not None:
            _shutdown(llm)

    def __repr__(self) -> str:
        return f"<verifier {self.identity()}>"


def reward_verdict(
    probs: Sequence[float],
    completion: str,
    flops: float,
    *,
    threshold: float,
    label: int,
    extract: Extractor,
    who: str,
) -> Verdict:
    """The verdict of one scored sample: the reward is the one output's probability, or class
    ``label``'s; accepted at ``threshold``; the answer by ``extract``."""
    if len(probs) == 1:
        score = float(probs[0])
    elif 0 <= label < len(probs):
        score = float(probs[label])
    else:
        msg = f"{who} has {len(probs)} classes; label = {label} is not one of them"
        raise VerifierError(msg)
    raw = extract(completion)
    answer = None if raw is None else normalize_answer(raw)
    accepted = score >= threshold
    return Verdict(
        accepted=accepted,
        score=score,
        answer=answer,
        detail=f"reward {score:.3f} {'>=' if accepted else '<'} {threshold:g}",
        flops=flops,
    )


class RemoteRewardModel:
    """A sequence classifier behind an OpenAI-compatible server's ``/classify`` (``vllm
    serve`` with ``--runner pooling``): one request per sample, ``max_concurrency`` at a
    time, retried like the ``openai`` backend's. Its FLOPs come from ``config`` (the served
    model's config.json) at the token count the server reports for each sample."""

    name = "reward_model"
    version = 1

    def __init__(
        self,
        base_url: str,
        served: str,
        *,
        model_hash: str,
        config: dict[str, Any],
        threshold: float,
        label: int,
        extract: Extractor,
        max_concurrency: int,
        max_retries: int,
    ) -> None:
        from pytest_tts.backends.openai import OpenAIBackend

        if not 0.0 <= threshold <= 1.0:
            msg = f"reward_model threshold must be a probability in [0, 1], got {threshold:g}"
            raise VerifierError(msg)
        self.http = OpenAIBackend(
            base_url, served, max_concurrency=max_concurrency, max_retries=max_retries
        )
        self.root = self.http.base_url.removesuffix("/v1")
        self.served = served
        self.model_hash = model_hash
        self._config = config
        self.threshold = float(threshold)
        self.label = int(label)
        self.extract = extract
        self.max_concurrency = max_concurrency

    def identity(self) -> str:
        args = {
            "model_hash": self.model_hash[:16],
            "threshold": self.threshold,
            "label": self.label,
            "extract": self.extract,
            "served": "remote",
        }
        return make_identity(self.name, self.version, args)

    def config(self) -> dict[str, Any]:
        return self._config

    def _score(self, text: str) -> tuple[list[float], int]:
        from pytest_tts.errors import BackendError

        url = f"{self.root}/classify"
        try:
            data = self.http._json("POST", url, json={"model": self.served, "input": [text]})
        except BackendError as exc:
            msg = f"remote reward model {self.served!r} at {self.root} failed to score: {exc}"
            raise VerifierError(msg) from exc
        rows = data.get("data") or []
        if len(rows) != 1 or "probs" not in rows[0]:
            msg = f"{url} answered no classification for one input: {str(data)[:300]}"
            raise VerifierError(msg)
        tokens = int((data.get("usage") or {}).get("prompt_tokens", 0))
        return [float(p) for p in rows[0]["probs"]], tokens

    def verify(self, items: Sequence[Item]) -> list[Verdict]:
        if not items:
            return []
        from concurrent.futures import ThreadPoolExecutor

        from pytest_tts.estimate.flops import scoring_flops

        texts = [problem.prompt + completion for problem, completion in items]
        with ThreadPoolExecutor(self.max_concurrency) as pool:
            scored = list(pool.map(self._score, texts))
        return [
            reward_verdict(
                probs,
                completion,
                scoring_flops(self._config, tokens, 0, 1),
                threshold=self.threshold,
                label=self.label,
                extract=self.extract,
                who=f"remote reward model {self.served!r}",
            )
            for (_, completion), (probs, tokens) in zip(items, scored, strict=True)
        ]

    def close(self) -> None:
        self.http.close()

    def __repr__(self) -> str:
        return f"<verifier {self.identity()}>"


def reward_model(
    model: str,
    threshold: float = 0.5,
    label: int = 1,
    extract: Any = "last_number",
    *,
    base_dir: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    model_dir: str | None = None,
    config: str | None = None,
    params: float | None = None,
    max_concurrency: int = 8,
    max_retries: int = 5,
    **engine_args: Any,
) -> RewardModel | RemoteRewardModel:
    """An outcome reward model (a sequence classifier) scored by vLLM, local or remote.

    ``model`` is a folder relative to the spec file, scored by an offline engine; or, with
    ``base_url`` (``"http://host:8000/v1"``), the name a server serves it under, scored
    through its ``/classify`` endpoint (``vllm serve --runner pooling``). A remote model
    needs its FLOPs and identity: ``model_dir`` (a local copy of the served folder: content
    hash and config.json), or ``config`` (a config.json or folder) or ``params`` (a
    parameter count). ``threshold``: accept when the reward is at least this. ``label``:
    the class whose probability is the reward, for classifiers with more than one output.
    ``extract``: how to read the answer (for votes). Other arguments are ``vllm.LLM`` engine
    arguments (``max_model_len``, ``dtype``; default float32) of the local engine.
    """
    from pytest_tts.backends.base import resolve_path

    if base_url is not None:
        return _remote(
            base_url,
            model,
            base_dir=base_dir,
            model_dir=model_dir,
            config=config,
            params=params,
            threshold=float(threshold),
            label=int(label),
            extract=resolve_extractor(extract),
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            engine_args=engine_args,
        )
    for name, value in (("model_dir", model_dir), ("config", config), ("params", params)):
        if value is not None:
            msg = f"reward_model: {name} is for a remote model (with base_url = ...)"
            raise VerifierError(msg)
    path = resolve_path(model, base_dir)
    if not path.is_dir():
        msg = f"reward model folder {path} does not exist (resolved from {model!r})"
        raise VerifierError(msg)
    return RewardModel(
        path,
        threshold=float(threshold),
        label=int(label),
        extract=resolve_extractor(extract),
        engine_args=engine_args,
    )


def _remote(
    base_url: str,
    served: str,
    *,
    base_dir: str | os.PathLike[str] | None,
    model_dir: str | None,
    config: str | None,
    params: float | None,
    threshold: float,
    label: int,
    extract: Extractor,
    max_concurrency: int,
    max_retries: int,
    engine_args: dict[str, Any],
) -> RemoteRewardModel:
    if engine_args:
        msg = (
            f"reward_model: {', '.join(sorted(engine_args))} configure a local engine; a"
            " remote model is configured by its server"
        )
        raise VerifierError(msg)
    if max_concurrency < 1:
        msg = f"reward_model: max_concurrency must be at least 1, got {max_concurrency}"
        raise VerifierError(msg)
    found, model_hash = remote_model_info(
        served, base_dir=base_dir, model_dir=model_dir, config=config, params=params,
        who="reward_model",
    )  # fmt: skip
    return RemoteRewardModel(
        base_url,
        served,
        model_hash=model_hash,
        config=found,
        threshold=threshold,
        label=label,
        extract=extract,
        max_concurrency=max_concurrency,
        max_retries=max_retries,
    )


def remote_model_info(
    served: str,
    *,
    base_dir: str | os.PathLike[str] | None,
    model_dir: str | None,
    config: str | None,
    params: float | None,
    who: str,
) -> tuple[dict[str, Any], str]:
    """(config, identity hash) of a model behind a server, from ``model_dir`` (a local copy
    of the served folder: its config.json and content hash), or ``config``/``params`` (then
    the identity is the served name)."""
    import json

    from pytest_tts.backends.base import flops_config, model_dir_hash, resolve_path
    from pytest_tts.errors import BackendError

    try:
        found = flops_config(config, params, base_dir, who=f"{who}({served!r})")
    except BackendError as exc:
        raise VerifierError(str(exc)) from exc
    model_hash = f"server:{served}"
    if model_dir is not None:
        if found is not None:
            msg = f"{who}: model_dir already gives the config; drop config/params"
            raise VerifierError(msg)
        folder = resolve_path(model_dir, base_dir)
        if not (folder / "config.json").is_file():
            msg = f"{who}: model_dir {folder} has no config.json"
            raise VerifierError(msg)
        found = json.loads((folder / "config.json").read_text())
        model_hash = model_dir_hash(folder)
    if found is None:
        msg = (
            f"{who}({served!r}, base_url = ...): its FLOPs need model_dir = (a local"
            " copy of the served folder), config = (its config.json) or params = (its"
            " parameter count)"
        )
        raise VerifierError(msg)
    return found, model_hash
