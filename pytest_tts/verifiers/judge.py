"""``judge``: an LLM-as-judge verifier that prompts a model through the backend.

In a spec::

    verifier j = judge(model = "../models/tiny-judge")
    verifier strict = judge(model = "../models/tiny-judge", samples = 5, temperature = 1.0)

For each sample the judge model gets ``template`` filled in and writes a verdict. The judge
runs through the project's vLLM backend (:mod:`pytest_tts.backends.vllm`), the same engine
code path as generation: one engine per (model folder, engine arguments) per process, shared
with a spec model that names the same folder and arguments, and one batched engine call per
``verify`` call for every item and vote.

Template fields: ``{prompt}`` (the exact prompt the policy saw), ``{completion}``,
``{answer}`` (the completion's extracted answer, empty when none), ``{reference}`` (the
problem's reference answer), and every key of the problem's meta (a JSONL dataset keeps its
row's fields there, e.g. ``{question}``). The default template, ``{prompt}{completion}\\nJ:``,
is the one the bundled ``models/tiny-judge`` was trained on (``scripts/train_tiny_judge.py``).

Verdicts: a vote is ``yes`` when the generated text, leading whitespace stripped, starts with
the ``yes`` string, ``no`` when it starts with ``no`` (the longer string is tried first), and
unparseable otherwise (counted as a ``no``). ``score`` is the fraction of yes votes out of
``samples``; a sample is accepted on a strict majority of yes votes. With one vote an
unparseable verdict is a rejection with detail ``unparseable verdict: '…'``. A judge prompt
that leaves the model no room to answer (``max_model_len`` reached) is a rejection with detail
``judge prompt too long: …`` rather than an engine error.

``answer`` is the completion's extracted answer (``extract``, default ``last_number``,
normalized like ``exact_match``'s), so that votes and weighted votes still group answers;
``flops`` is the judge's generation cost for that sample (:func:`generation_flops` of the
judge's config: its prompt's prefill once, shared by the votes, plus every decoded token).

Identity: the judge model's content hash (not its path: a moved folder keeps its cache),
every argument, and the engine arguments that change numerics (``dtype``,
``max_model_len``). The engine version is left out, as it is of a verifier's identity
everywhere: verdicts cached by one vLLM build are reused by another.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from string import Formatter
from typing import Any, Protocol

from pytest_tts.errors import VerifierError
from pytest_tts.spec import Sampling
from pytest_tts.types import Problem, Verdict
from pytest_tts.verifiers.base import Item, make_identity
from pytest_tts.verifiers.exact import normalize_answer
from pytest_tts.verifiers.extractors import Extractor, resolve_extractor

DEFAULT_TEMPLATE = "{prompt}{completion}\nJ:"
_BUILT_IN_FIELDS = frozenset({"prompt", "completion", "answer", "reference"})


class JudgeBackend(Protocol):
    """What the judge needs from a backend (:class:`pytest_tts.backends.base.Backend`)."""

    def provenance(self) -> dict[str, Any]: ...

    def model_config(self) -> dict[str, Any]: ...

    def generate(self, requests: Sequence[Any]) -> Iterator[Any]: ...

    def close(self) -> None: ...


def template_fields(template: str) -> list[str]:
    """The field names a format string uses (``{prompt}{completion}`` → prompt, completion)."""
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as exc:
        msg = f"judge template is not a valid format string: {exc}: {template!r}"
        raise VerifierError(msg) from exc
    names = []
    for _, field_name, _, _ in parsed:
        if field_name is None:
            continue
        if not field_name.isidentifier():
            msg = (
                f"judge template fields must be plain names such as {{completion}}, "
                f"got {{{field_name}}} in {template!r}"
            )
            raise VerifierError(msg)
        names.append(field_name)
    return names


class Judge:
    """Prompts a judge model with each sample and parses its yes/no verdict."""

    name = "judge"
    version = 1

    def __init__(
        self,
        backend: JudgeBackend,
        *,
        template: str = DEFAULT_TEMPLATE,
        yes: str = "Y",
        no: str = "N",
        samples: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 4,
        seed: int = 0,
        extract: Extractor,
        engine_args: Mapping[str, Any] | None = None,
        count_tokens: Callable[[str], int] | None = None,
        max_model_len: int | None = None,
    ) -> None:
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            msg = f"judge samples must be a positive integer, got {samples!r}"
            raise VerifierError(msg)
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            msg = f"judge max_tokens must be a positive integer, got {max_tokens!r}"
            raise VerifierError(msg)
        if not isinstance(temperature, (int, float)) or temperature < 0:
            msg = f"judge temperature must be a number >= 0, got {temperature!r}"
            raise VerifierError(msg)
        if not yes or not no or yes == no:
            msg = f"judge yes and no must be two different non-empty strings, got {yes!r}, {no!r}"
            raise VerifierError(msg)
        self.fields = template_fields(template)
        self.backend = backend
        self.template = template
        self.yes, self.no = yes, no
        self.samples = samples
        self.temperature = float(temperature)
        self.max_tokens = max_tokens
        self.seed = int(seed)
        self.extract = extract
        self.engine_args = dict(engine_args or {})
        self._count_tokens = count_tokens
        self._max_model_len = max_model_len
        self._identity: str | None = None

    # -- identity ------------------------------------------------------------------------

    def identity(self) -> str:
        if self._identity is None:
            args: dict[str, Any] = {
                "model": self.backend.provenance().get("model_hash", ""),
                "template": self.template,
                "yes": self.yes,
                "no": self.no,
                "samples": self.samples,
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
                "seed": self.seed,
                "extract": self.extract,
            }
            for key, value in sorted(self.engine_args.items()):
                args[f"engine.{key}"] = value
            self._identity = make_identity(self.name, self.version, args)
        return self._identity

    def __repr__(self) -> str:
        return f"<verifier {self.identity()}>"

    # -- prompts -------------------------------------------------------------------------

    def answer(self, completion: str) -> str | None:
        raw = self.extract(completion)
        return None if raw is None else normalize_answer(raw)

    def prompt(self, problem: Problem, completion: str, answer: str | None) -> str:
        """The judge prompt for one sample: ``template`` with its fields filled in."""
        values: dict[str, Any] = {}
        for field in self.fields:
            if field == "prompt":
                values[field] = problem.prompt
            elif field == "completion":
                values[field] = completion
            elif field == "answer":
                values[field] = answer or ""
            elif field == "reference":
                values[field] = problem.answer or ""
            elif field in problem.meta:
                values[field] = problem.meta[field]
            else:
                known = sorted(_BUILT_IN_FIELDS | set(problem.meta))
                msg = (
                    f"judge template field {{{field}}} is neither a built-in field nor in the "
                    f"meta of problem {problem.id!r}; known fields: {', '.join(known)}"
                )
                raise VerifierError(msg)
        return self.template.format(**values)

    def context_limit(self) -> int | None:
        """The judge model's context length (``max_model_len`` or its config's)."""
        if self._max_model_len is not None:
            return self._max_model_len
        value = self.backend.model_config().get("max_position_embeddings")
        return None if value is None else int(value)

    def parse(self, text: str) -> bool | None:
        """True for a yes vote, False for a no vote, None when neither."""
        stripped = text.lstrip()
        for verdict, word in sorted(((True, self.yes), (False, self.no)), key=lambda p: -len(p[1])):
            if stripped.startswith(word):
                return verdict
        return None

    # -- verification ----------------------------------------------------------------------

    def verify(self, items: Sequence[Item]) -> list[Verdict]:
        from pytest_tts.backends.base import GenerationRequest, prompt_seed
        from pytest_tts.estimate.flops import generation_flops

        sampling = Sampling(
            n=self.samples,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=self.seed,
        )
        limit = self.context_limit()
        answers = [self.answer(completion) for _, completion in items]
        prompts = [
            self.prompt(problem, completion, answer)
            for (problem, completion), answer in zip(items, answers, strict=True)
        ]
        verdicts: list[Verdict | None] = [None] * len(items)
        requests = []
        for position, ((problem, _), prompt) in enumerate(zip(items, prompts, strict=True)):
            if limit is not None and self._count_tokens is not None:
                length = self._count_tokens(prompt)
                if length >= limit:
                    detail = (
                        f"judge prompt too long: {length} tokens, the judge model reads at "
                        f"most {limit - 1} before its verdict"
                    )
                    verdicts[position] = Verdict(False, 0.0, answers[position], detail=detail)
                    continue
            requests.append(
                GenerationRequest(
                    tag=position,
                    prompt=prompt,
                    n=self.samples,
                    first_index=0,
                    seed=prompt_seed(self.seed, prompt),
                    sampling=sampling,
                    problem_id=problem.id,
                )
            )
        config = self.backend.model_config() if requests else {}
        for result in self.backend.generate(requests):
            position = result.request.tag
            completions = result.completions
            votes = [self.parse(c.text) for c in completions]
            flops = generation_flops(
                config,
                completions[0].prompt_tokens,
                sum(c.completion_tokens for c in completions),
                len(completions),
            )
            texts = [c.text for c in completions]
            verdicts[position] = self._verdict(votes, texts, flops, answers[position])
        missing = [i for i, v in enumerate(verdicts) if v is None]
        if missing:
            msg = f"the judge backend answered {len(items) - len(missing)} of {len(items)} prompts"
            raise VerifierError(msg)
        return [v for v in verdicts if v is not None]

    def _verdict(
        self, votes: list[bool | None], texts: list[str], flops: float, answer: str | None
    ) -> Verdict:
        yes = sum(v is True for v in votes)
        accepted = 2 * yes > len(votes)
        score = yes / len(votes)
        unparseable = [t for t, v in zip(texts, votes, strict=True) if v is None]
        if len(votes) == 1:
            if unparseable:
                detail = f"unparseable verdict: {unparseable[0][:40]!r}"
            else:
                detail = "judge: yes" if accepted else "judge: no"
        else:
            detail = f"judge: {yes}/{len(votes)} yes"
            if unparseable:
                detail += (
                    f", {len(unparseable)} unparseable verdict(s), e.g. {unparseable[0][:40]!r}"
                )
        return Verdict(accepted, score, answer, detail=detail, flops=flops)

    def close(self) -> None:
        """Release the judge's engine (idempotent)."""
        self.backend.close()


def _vllm_token_counter(backend: Any) -> Callable[[str], int]:
    """Counts a prompt's tokens with the engine's own tokenizer (special tokens included)."""
    tokenizer: Any = None

    def count(prompt: str) -> int:
        nonlocal tokenizer
        if tokenizer is None:
            tokenizer = backend.engine().get_tokenizer()
        return len(tokenizer.encode(prompt))

    return count


def judge(
    model: str,
    template: str = DEFAULT_TEMPLATE,
    yes: str = "Y",
    no: str = "N",
    samples: int = 1,
    temperature: float = 0.0,
    max_tokens: int = 4,
    seed: int = 0,
    extract: Any = "last_number",
    dtype: str = "float32",
    max_model_len: int | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    model_dir: str | None = None,
    config: str | None = None,
    params: float | None = None,
    max_concurrency: int = 8,
) -> Judge:
    """An LLM judge: ``model`` (a local model folder, relative to the spec file) reads
    ``template`` and answers ``yes`` or ``no``. With ``base_url``
    (``"http://host:8000/v1"``), ``model`` is the name an OpenAI-compatible server (``vllm
    serve``) serves the judge under, prompted through its completions endpoint like the
    ``openai`` backend; ``model_dir`` (a local copy of the served folder), ``config`` or
    ``params`` give its identity and FLOPs (one of them is required).

    ``samples`` votes per sample at ``temperature`` (greedy by default: one vote suffices),
    each at most ``max_tokens`` tokens; ``seed`` seeds sampled votes; ``extract`` reads the
    completion's answer for voting strategies (default ``last_number``); ``dtype`` and
    ``max_model_len`` are the judge engine's arguments (``max_model_len`` defaults to the
    model's own context length). See the module docstring for templates and scoring.
    """
    if base_url is not None:
        return _remote_judge(
            model,
            base_url,
            base_dir=base_dir,
            model_dir=model_dir,
            config=config,
            params=params,
            max_concurrency=max_concurrency,
            max_model_len=max_model_len,
            judge_args={
                "template": template,
                "yes": yes,
                "no": no,
                "samples": samples,
                "temperature": temperature,
                "max_tokens": max_tokens,
                "seed": seed,
                "extract": resolve_extractor(extract),
            },
        )
    for name, value in (("model_dir", model_dir), ("config", config), ("params", params)):
        if value is not None:
            msg = f"judge: {name} is for a judge behind a server (with base_url = ...)"
            raise VerifierError(msg)
    from pytest_tts.backends.vllm import vllm

    engine_args: dict[str, Any] = {"dtype": dtype}
    if max_model_len is not None:
        engine_args["max_model_len"] = int(max_model_len)
    backend = vllm(model, base_dir=base_dir, **engine_args)
    return Judge(
        backend,
        template=template,
        yes=yes,
        no=no,
        samples=samples,
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        extract=resolve_extractor(extract),
        engine_args=engine_args,
        count_tokens=_vllm_token_counter(backend),
        max_model_len=max_model_len,
    )


def _remote_judge(
    served: str,
    base_url: str,
    *,
    base_dir: str | os.PathLike[str] | None,
    model_dir: str | None,
    config: str | None,
    params: float | None,
    max_concurrency: int,
    max_model_len: int | None,
    judge_args: dict[str, Any],
) -> Judge:
    from pytest_tts.backends.openai import openai
    from pytest_tts.errors import BackendError

    if model_dir is None and config is None and params is None:
        msg = (
            f"judge({served!r}, base_url = ...): its identity and FLOPs need model_dir = (a"
            " local copy of the served folder), config = (its config.json) or params = (its"
            " parameter count)"
        )
        raise VerifierError(msg)
    try:
        backend = openai(
            base_url,
            served,
            base_dir=base_dir,
            model_dir=model_dir,
            config=config,
            params=params,
            max_concurrency=max_concurrency,
            # the identity is read on every run, offline ones too: no server call for it
            model_hash=None if model_dir is not None else f"server:{served}",
            engine_version="served",
        )
    except BackendError as exc:
        raise VerifierError(f"judge: {exc}") from exc

    def count(prompt: str) -> int:
        return backend.count_tokens(prompt, add_special_tokens=True)

    return Judge(
        backend,
        count_tokens=count,
        max_model_len=max_model_len,
        engine_args={"served": "remote"},
        **judge_args,
    )
