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
        verdicts = []
        for (_, completion), output in zip(items, outputs, strict=True):
            probs = list(output.outputs.probs)
            if len(probs) == 1:
                score = float(probs[0])
            elif 0 <= self.label < len(probs):
                score = float(probs[self.label])
            else:
                msg = (
                    f"reward model {self.model.name} has {len(probs)} classes; "
                    f"label = {self.label} is not one of them"
                )
                raise VerifierError(msg)
            raw = self.extract(completion)
            answer = None if raw is None else normalize_answer(raw)
            accepted = score >= self.threshold
            tokens = len(output.prompt_token_ids or ())
            verdicts.append(
                Verdict(
                    accepted=accepted,
                    score=score,
                    answer=answer,
                    detail=f"reward {score:.3f} {'>=' if accepted else '<'} {self.threshold:g}",
                    flops=scoring_flops(self.config(), tokens, 0, 1),
                )
            )
        return verdicts

    def close(self) -> None:
        from pytest_tts.backends.vllm import _shutdown

        llm, self._llm = self._llm, None
        if llm is not None:
            _shutdown(llm)

    def __repr__(self) -> str:
        return f"<verifier {self.identity()}>"


def reward_model(
    model: str,
    threshold: float = 0.5,
    label: int = 1,
    extract: Any = "last_number",
    *,
    base_dir: str | os.PathLike[str] | None = None,
    **engine_args: Any,
) -> RewardModel:
    """An outcome reward model (a local sequence-classifier folder) scored by vLLM.

    ``model`` is relative to the spec file. ``threshold``: accept when the reward is at
    least this. ``label``: the class whose probability is the reward, for classifiers with
    more than one output. ``extract``: how to read the answer (for votes). Other arguments
    are ``vllm.LLM`` engine arguments (``max_model_len``, ``dtype``; default float32).
    """
    from pytest_tts.backends.base import resolve_path

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
