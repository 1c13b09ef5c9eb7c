"""``process_reward_model``: a learned process reward model scored by vLLM's step pooling.

    verifier prm = process_reward_model("../models/tiny-prm", step_tag = "|", delimiter = "|")

A process reward model (PRM) scores every step of a solution. The folder holds a token
classifier with a step head, such as Qwen2.5-Math-PRM's ``Qwen2ForProcessRewardModel`` or
the bundled ``models/tiny-prm``. vLLM serves it with the pooling runner's step pooling
(``LLM.encode(..., pooling_task = "token_classify")`` with ``PoolingParams(step_tag_id)``),
which returns the classifier's probabilities at every occurrence of the step tag token.

Each sample is scored as the prompt followed by its steps, each ended by the tag:
the completion is split at ``delimiter`` (default ``"\\n\\n"``; a trailing delimiter ends
the last step, as in a step-wise search's partial path), and the text is
``prompt + tag.join(steps) + tag`` (Qwen's recipe: ``step_tag`` ``"<extra_0>"``). When the
delimiter is the tag (the bundled task's ``|``), that is the completion itself with one
more tag after its last step. Then:

- ``step_scores``: the probability of class ``label`` (default 1, "this step is right") at
  each step's tag; the last ones, when the prompt holds tags of its own;
- ``score``: the steps aggregated by ``aggregate``: ``min`` (the weakest step, default),
  ``product``, ``mean`` or ``last``; step-wise searches aggregate ``step_scores`` by their
  own ``aggregate`` argument;
- ``accepted``: ``score >= threshold``; ``answer``: by ``extract`` (default
  ``last_number``), so votes weighted by the PRM still group answers;
- ``flops``: one forward pass over the scored tokens
  (:func:`pytest_tts.estimate.flops.scoring_flops`) plus the step head
  (:func:`pytest_tts.estimate.flops.step_head_flops`), which every strategy that reads
  the PRM pays.

``process_reward_model("name", base_url = "http://host:8000/v1", model_dir = ...)`` scores
through a server's ``/pooling`` endpoint (``task = "token_classify"``) instead. A server
cannot take the step tag per request: start it with ``vllm serve DIR --runner pooling
--pooler-config '{"step_tag_id": ID}'`` (the tag's token id; without it a
``Qwen2ForProcessRewardModel`` server pools Qwen's ``<extra_0>``, 151651). Its FLOPs and
identity come from ``model_dir`` (a local copy of the served folder, whose tokenizer also
checks the tag), ``config`` or ``params``; a server that is down or answers an error is a
``VerifierError`` naming it, and nothing is cached.

Errors, before anything is cached: a folder without a step head (its ``architectures`` name
no ``*ForProcessRewardModel`` or ``*ForTokenClassification``); a ``step_tag`` that is not a
single token of the PRM's tokenizer (it would never occur); a ``delimiter`` that occurs in
none of a batch's completions (every completion would be one step); a scored text that
comes back with fewer tags than steps (cut at ``max_model_len``). The identity holds the
folder's content hash, so retraining re-scores. The engine starts on the first batch with
work and stops at ``close()``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_tts.errors import VerifierError
from pytest_tts.types import Verdict
from pytest_tts.verifiers.base import Item, make_identity
from pytest_tts.verifiers.exact import normalize_answer
from pytest_tts.verifiers.extractors import Extractor, resolve_extractor

AGGREGATES = ("min", "product", "mean", "last")
STEP_HEADS = ("ForProcessRewardModel", "ForTokenClassification")
# a batch with at least this many non-empty completions and no delimiter in any is an error
DELIMITER_CHECK_MIN = 4
_NEUTRAL_ARGS = frozenset(
    {"max_num_seqs", "max_num_batched_tokens", "enforce_eager", "gpu_memory_utilization"}
)


def split_steps(completion: str, delimiter: str) -> list[str]:
    """The steps of ``completion``: split at ``delimiter``, each stripped; a trailing
    delimiter ends the last step; an empty completion has none."""
    body = completion.strip()
    if body.endswith(delimiter):
        body = body[: -len(delimiter)].strip()
    if not body:
        return []
    return [step.strip() for step in body.split(delimiter)]


def tagged_text(prompt: str, steps: Sequence[str], tag: str) -> str:
    """What the PRM reads: the prompt, then every step followed by the tag."""
    return prompt + tag.join(steps) + tag


def aggregate(scores: Sequence[float], how: str) -> float:
    if not scores:
        return 0.0
    if how == "min":
        return float(min(scores))
    if how == "product":
        return float(math.prod(scores))
    if how == "mean":
        return float(sum(scores) / len(scores))
    return float(scores[-1])


class ProcessRewardModel:
    """Scores every step of (problem, completion) pairs with a PRM served by vLLM."""

    name = "process_reward_model"
    version = 1

    def __init__(
        self,
        model: Path,
        *,
        step_tag: str,
        delimiter: str,
        aggregate: str,
        threshold: float,
        label: int,
        extract: Extractor,
        engine_args: dict[str, Any],
    ) -> None:
        import json

        from pytest_tts.backends.base import model_dir_hash

        if not (model / "config.json").is_file():
            msg = f"process reward model folder {model} has no config.json"
            raise VerifierError(msg)
        self._config: dict[str, Any] = json.loads((model / "config.json").read_text())
        architectures = [str(a) for a in self._config.get("architectures") or []]
        if not any(a.endswith(STEP_HEADS) for a in architectures):
            msg = (
                f"{model} has no process reward head (architectures: "
                f"{', '.join(architectures) or 'none'}); process_reward_model needs a step "
                "classifier such as Qwen2ForProcessRewardModel (an outcome reward model is "
                "reward_model(...))"
            )
            raise VerifierError(msg)
        check_settings(aggregate=aggregate, threshold=threshold, delimiter=delimiter)
        if not step_tag:
            msg = "process_reward_model: step_tag must be a non-empty string"
            raise VerifierError(msg)
        self.model = model
        self.step_tag = step_tag
        self.delimiter = delimiter
        self.how = aggregate
        self.threshold = float(threshold)
        self.label = int(label)
        self.extract = extract
        self.engine_args = {"dtype": "float32", **engine_args}
        self.model_hash = model_dir_hash(model)
        self.tag_id = tag_id_of(model, step_tag)
        self._llm: Any = None

    def identity(self) -> str:
        args = {
            "model_hash": self.model_hash[:16],
            **step_settings(self),
            **{k: v for k, v in self.engine_args.items() if k not in _NEUTRAL_ARGS},
        }
        return make_identity(self.name, self.version, args)

    def config(self) -> dict[str, Any]:
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
                    f"vLLM could not start the process reward model {self.model}: "
                    f"{type(exc).__name__}: {exc}"
                )
                raise VerifierError(msg) from exc
        return self._llm

    def verify(self, items: Sequence[Item]) -> list[Verdict]:
        if not items:
            return []
        steps = [split_steps(completion, self.delimiter) for _, completion in items]
        check_delimiter([c for _, c in items], self.delimiter)
        todo = [i for i, s in enumerate(steps) if s]
        texts = [tagged_text(items[i][0].prompt, steps[i], self.step_tag) for i in todo]
        scored: dict[int, tuple[list[list[float]], int]] = {}
        if texts:
            from vllm import PoolingParams

            try:
                outputs = self.engine().encode(
                    texts,
                    pooling_task="token_classify",
                    pooling_params=PoolingParams(step_tag_id=self.tag_id),
                    use_tqdm=False,
                )
            except VerifierError:
                raise
            except Exception as exc:
                msg = (
                    f"process reward model {self.model.name} failed to score: "
                    f"{type(exc).__name__}: {exc}"
                )
                raise VerifierError(msg) from exc
            for i, output in zip(todo, outputs, strict=True):
                rows = output.outputs.data.tolist()
                scored[i] = (rows, len(output.prompt_token_ids or ()))
        return [
            self._verdict(completion, steps[i], *scored.get(i, ([], 0)))
            for i, (_, completion) in enumerate(items)
        ]

    def _verdict(
        self, completion: str, steps: list[str], rows: list[list[float]], tokens: int
    ) -> Verdict:
        return step_verdict(
            rows,
            steps,
            completion,
            step_flops(self._config, tokens),
            how=self.how,
            threshold=self.threshold,
            label=self.label,
            extract=self.extract,
            who=f"process reward model {self.model.name}",
        )

    def close(self) -> None:
        from pytest_tts.backends.vllm import _shutdown

        llm, self._llm = self._llm, None
        if llm is not None:
            _shutdown(llm)

    def __repr__(self) -> str:
        return f"<verifier {self.identity()}>"


class RemoteProcessRewardModel:
    """A PRM behind an OpenAI-compatible server's ``/pooling`` (``vllm serve --runner
    pooling --pooler-config '{"step_tag_id": ID}'``): one request per sample,
    ``max_concurrency`` at a time, retried like the ``openai`` backend's."""

    name = "process_reward_model"
    version = 1

    def __init__(
        self,
        base_url: str,
        served: str,
        *,
        model_hash: str,
        config: dict[str, Any],
        tag_id: int | None,
        step_tag: str,
        delimiter: str,
        aggregate: str,
        threshold: float,
        label: int,
        extract: Extractor,
        max_concurrency: int,
        max_retries: int,
    ) -> None:
        from pytest_tts.backends.openai import OpenAIBackend

        check_settings(aggregate=aggregate, threshold=threshold, delimiter=delimiter)
        self.http = OpenAIBackend(
            base_url, served, max_concurrency=max_concurrency, max_retries=max_retries
        )
        self.root = self.http.base_url.removesuffix("/v1")
        self.served = served
        self.model_hash = model_hash
        self._config = config
        self.tag_id = tag_id
        self.step_tag = step_tag
        self.delimiter = delimiter
        self.how = aggregate
        self.threshold = float(threshold)
        self.label = int(label)
        self.extract = extract
        self.max_concurrency = max_concurrency

    def identity(self) -> str:
        args = {
            "model_hash": self.model_hash[:16],
            **step_settings(self),
            "served": "remote",
        }
        return make_identity(self.name, self.version, args)

    def config(self) -> dict[str, Any]:
        return self._config

    def _score(self, text: str) -> tuple[list[list[float]], int]:
        from pytest_tts.errors import BackendError

        url = f"{self.root}/pooling"
        body = {"model": self.served, "input": text, "task": "token_classify"}
        try:
            data = self.http._json("POST", url, json=body)
        except BackendError as exc:
            msg = f"remote process reward model {self.served!r} at {self.root} failed: {exc}"
            raise VerifierError(msg) from exc
        rows = data.get("data") or []
        if len(rows) != 1 or not isinstance(rows[0].get("data"), list):
            msg = f"{url} answered no step scores for one input: {str(data)[:300]}"
            raise VerifierError(msg)
        steps = rows[0]["data"]
        if steps and not isinstance(steps[0], list):
            steps = [steps]  # one step of a single-label head comes back flat
        tokens = int((data.get("usage") or {}).get("prompt_tokens", 0))
        return [[float(x) for x in row] for row in steps], tokens

    def verify(self, items: Sequence[Item]) -> list[Verdict]:
        if not items:
            return []
        from concurrent.futures import ThreadPoolExecutor

        steps = [split_steps(completion, self.delimiter) for _, completion in items]
        check_delimiter([c for _, c in items], self.delimiter)
        texts = [
            tagged_text(problem.prompt, s, self.step_tag)
            for (problem, _), s in zip(items, steps, strict=True)
            if s
        ]
        with ThreadPoolExecutor(self.max_concurrency) as pool:
            scored = iter(list(pool.map(self._score, texts)))
        out = []
        for (_, completion), s in zip(items, steps, strict=True):
            rows, tokens = next(scored) if s else ([], 0)
            if s and len(rows) < len(s):
                tag = "the tag's token id" if self.tag_id is None else str(self.tag_id)
                msg = (
                    f"remote process reward model {self.served!r} returned {len(rows)} step "
                    f"score(s) for {len(s)} steps: start the server with --pooler-config "
                    f"'{{\"step_tag_id\": {tag}}}' (the tag {self.step_tag!r})"
                )
                raise VerifierError(msg)
            out.append(
                step_verdict(
                    rows,
                    s,
                    completion,
                    step_flops(self._config, tokens),
                    how=self.how,
                    threshold=self.threshold,
                    label=self.label,
                    extract=self.extract,
                    who=f"remote process reward model {self.served!r}",
                )
            )
        return out

    def close(self) -> None:
        self.http.close()

    def __repr__(self) -> str:
        return f"<verifier {self.identity()}>"


def step_settings(prm: ProcessRewardModel | RemoteProcessRewardModel) -> dict[str, Any]:
    """The settings that change a PRM's verdicts, local or remote (part of its identity)."""
    return {
        "step_tag": prm.step_tag,
        "delimiter": prm.delimiter,
        "aggregate": prm.how,
        "threshold": prm.threshold,
        "label": prm.label,
        "extract": prm.extract,
    }


def step_flops(config: dict[str, Any], tokens: int) -> float:
    """One forward pass over ``tokens`` scored tokens and the step head at each of them."""
    from pytest_tts.estimate.flops import scoring_flops, step_head_flops

    if tokens <= 0:
        return 0.0
    return scoring_flops(config, tokens, 0, 1) + step_head_flops(config, tokens)


def check_settings(*, aggregate: str, threshold: float, delimiter: str) -> None:
    if aggregate not in AGGREGATES:
        msg = (
            f"process_reward_model: aggregate must be one of {', '.join(AGGREGATES)}, "
            f"got {aggregate!r}"
        )
        raise VerifierError(msg)
    if not 0.0 <= threshold <= 1.0:
        msg = f"process_reward_model: threshold must be in [0, 1], got {threshold:g}"
        raise VerifierError(msg)
    if not delimiter:
        msg = "process_reward_model: delimiter must be a non-empty string"
        raise VerifierError(msg)


def check_delimiter(completions: Sequence[str], delimiter: str) -> None:
    """A batch whose completions never contain the delimiter would score each as one step:
    most likely the wrong delimiter, so it is an error."""
    filled = [c for c in completions if c.strip()]
    if len(filled) >= DELIMITER_CHECK_MIN and not any(delimiter in c for c in filled):
        msg = (
            f"the step delimiter {delimiter!r} occurs in none of the {len(filled)} completions "
            f"(e.g. {filled[0][:60]!r}): every completion would be one step; pass the "
            "delimiter that separates their steps (delimiter = ...)"
        )
        raise VerifierError(msg)


def step_verdict(
    rows: Sequence[Sequence[float]],
    steps: Sequence[str],
    completion: str,
    flops: float,
    *,
    how: str,
    threshold: float,
    label: int,
    extract: Extractor,
    who: str,
) -> Verdict:
    """The verdict of one scored sample from the classifier's rows at the step tags."""
    raw = extract(completion)
    answer = None if raw is None else normalize_answer(raw)
    if not steps:
        return Verdict(False, 0.0, answer, (), "empty completion", flops=flops)
    if len(rows) < len(steps):
        msg = (
            f"{who} returned {len(rows)} step score(s) for {len(steps)} steps: the scored "
            "text was cut (raise max_model_len) or the tag is split by the tokenizer"
        )
        raise VerifierError(msg)
    scores: list[float] = []
    for row in rows[-len(steps) :]:
        if len(row) == 1:
            scores.append(float(row[0]))
        elif 0 <= label < len(row):
            scores.append(float(row[label]))
        else:
            msg = f"{who} has {len(row)} classes; label = {label} is not one of them"
            raise VerifierError(msg)
    score = aggregate(scores, how)
    accepted = score >= threshold
    weakest = min(range(len(scores)), key=scores.__getitem__)
    return Verdict(
        accepted=accepted,
        score=score,
        answer=answer,
        step_scores=tuple(scores),
        detail=(
            f"{how} of {len(scores)} step(s) {score:.3f} {'>=' if accepted else '<'} "
            f"{threshold:g}; weakest step {weakest + 1} ({scores[weakest]:.3f})"
        ),
        flops=flops,
    )


def process_reward_model(
    model: str,
    step_tag: str = "<extra_0>",
    delimiter: str = "\n\n",
    aggregate: str = "min",
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
) -> ProcessRewardModel | RemoteProcessRewardModel:
    """A process reward model (a step classifier) scored by vLLM's step pooling.

    ``model`` is a folder relative to the spec file. ``step_tag``: the token the PRM reads
    after every step (Qwen2.5-Math-PRM's ``<extra_0>`` by default); ``delimiter``: what
    separates steps in a completion. ``aggregate``: how the steps make the sample's score
    (``min``, ``product``, ``mean``, ``last``); ``threshold``: accept at or above it;
    ``label``: the class whose probability is a step's score. ``extract``: how to read the
    answer (for votes). Other arguments are ``vllm.LLM`` engine arguments (``max_model_len``,
    ``dtype``; default float32). With ``base_url``, ``model`` is the served name and
    ``model_dir``/``config``/``params`` give its FLOPs and identity (see the module doc).
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
            step_tag=str(step_tag),
            delimiter=str(delimiter),
            aggregate=str(aggregate),
            threshold=float(threshold),
            label=int(label),
            extract=resolve_extractor(extract),
            max_concurrency=max_concurrency,
            max_retries=max_retries,
            engine_args=engine_args,
        )
    for name, value in (("model_dir", model_dir), ("config", config), ("params", params)):
        if value is not None:
            msg = f"process_reward_model: {name} is for a remote model (with base_url = ...)"
            raise VerifierError(msg)

    path = resolve_path(model, base_dir)
    if not path.is_dir():
        msg = f"process reward model folder {path} does not exist (resolved from {model!r})"
        raise VerifierError(msg)
    return ProcessRewardModel(
        path,
        step_tag=str(step_tag),
        delimiter=str(delimiter),
        aggregate=str(aggregate),
        threshold=float(threshold),
        label=int(label),
        extract=resolve_extractor(extract),
        engine_args=engine_args,
    )


def tag_id_of(folder: Path, step_tag: str) -> int:
    """The step tag's one token id in ``folder``'s tokenizer, or a clear error."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except Exception as exc:
        msg = f"cannot load the tokenizer of {folder}: {type(exc).__name__}: {exc}"
        raise VerifierError(msg) from exc
    ids = tokenizer.encode(step_tag, add_special_tokens=False)
    unknown = getattr(tokenizer, "unk_token_id", None)
    # a tokenizer may drop characters it does not know: the one id must be the tag
    if (
        len(ids) != 1
        or (unknown is not None and ids[0] == unknown)
        or str(tokenizer.decode(ids)).strip() != step_tag.strip()
    ):
        msg = (
            f"step tag {step_tag!r} is not one token of {folder.name}'s tokenizer "
            f"(it encodes to {len(ids)} token(s) {ids[:8]}, read back as "
            f"{tokenizer.decode(ids)!r}), so it never occurs in a scored text; pass the "
            "tag the PRM was trained with (step_tag = ...)"
        )
        raise VerifierError(msg)
    return int(ids[0])


def _remote(
    base_url: str,
    served: str,
    *,
    base_dir: str | os.PathLike[str] | None,
    model_dir: str | None,
    config: str | None,
    params: float | None,
    step_tag: str,
    delimiter: str,
    aggregate: str,
    threshold: float,
    label: int,
    extract: Extractor,
    max_concurrency: int,
    max_retries: int,
    engine_args: dict[str, Any],
) -> RemoteProcessRewardModel:
    from pytest_tts.backends.base import resolve_path
    from pytest_tts.verifiers.reward import remote_model_info

    who = "process_reward_model"
    if engine_args:
        msg = (
            f"{who}: {', '.join(sorted(engine_args))} configure a local engine; a remote"
            " model is configured by its server"
        )
        raise VerifierError(msg)
    if max_concurrency < 1:
        msg = f"{who}: max_concurrency must be at least 1, got {max_concurrency}"
        raise VerifierError(msg)
    found, model_hash = remote_model_info(
        served, base_dir=base_dir, model_dir=model_dir, config=config, params=params, who=who
    )
    tag_id = None
    if model_dir is not None:
        tag_id = tag_id_of(resolve_path(model_dir, base_dir), step_tag)
    return RemoteProcessRewardModel(
        base_url,
        served,
        model_hash=model_hash,
        config=found,
        tag_id=tag_id,
        step_tag=step_tag,
        delimiter=delimiter,
        aggregate=aggregate,
        threshold=threshold,
        label=label,
        extract=extract,
        max_concurrency=max_concurrency,
        max_retries=max_retries,
    )
