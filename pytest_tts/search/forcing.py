"""Budget forcing: accuracy against a thinking budget, from one pool of full traces.

``budget_forcing(majority_vote, k = 4, budgets = [8, 16, 24])`` measures what a reasoning
model gets when its thinking is capped at B tokens per sample, the way s1 (Muennighoff et
al. 2025) forces it, without regenerating whole traces per budget:

1. *Reasoning and answer.* A completion's reasoning is every token before the model's
   reasoning marker (declared on the model: ``vllm(..., reasoning = "</think>")``, or
   ``end = ...`` here); the marker and what follows are its answer. Reasoning tokens are
   counted from the engine's token ids: the longest prefix of the ids that decodes within
   the text before the marker. A trace with no marker (it ran out of ``max_tokens``) is
   all reasoning and has no answer of its own.
2. *Cut and answer.* At budget B a trace whose reasoning is longer than B is cut after B
   tokens, the answer cue (``cue``, by default the marker) is appended, and only the forced
   answer is generated (at most ``answer_tokens`` tokens, the spec's sampling) with the
   prompt plus the cut reasoning as its prompt: on vLLM the shared prefix is cached. A
   trace that finished within B keeps its own answer and costs nothing new; one without a
   marker is forced at its end. Forced answers are stored like samples, in a pool of their
   own keyed by the forced prompt (prompt, trace, B and cue decide it), so a warm run
   generates nothing and a grid with one more budget generates only that budget.
3. *Both axes.* At each B the forced (or natural) samples form a pool of the spec's n per
   problem; the selection strategy (``strategy``, default ``single``) is estimated on it
   exactly as on any pool, at every k. The curve is the slice at ``k`` across the budgets;
   the whole grid (budget x k) is kept on the strategy (``grid``) for the reports.

Cost at B is what a real budget-forcing run spends per sample: the prompt, min(B, the
trace's reasoning) tokens, the cue and the forced answer (or the trace's own answer), in
tokens and FLOPs (the same FLOPs model, prefill once per prompt). ``cost_thinking`` of the
point is B; ``forced`` the share of samples that were cut there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from pytest_tts.errors import EstimationError, VerifierError
from pytest_tts.estimate.curves import Curve, compute_curve, default_ks
from pytest_tts.estimate.stats import bootstrap_ci
from pytest_tts.estimate.thinking import Decode, check_budgets, reasoning_tokens, tokens_within
from pytest_tts.spec import Sampling
from pytest_tts.types import Problem, Sample, Verdict

DEFAULT_BUDGETS = (4, 8, 12, 16, 20, 24, 32)


@dataclass
class ForcingStats:
    """What budget forcing did in a run (``pytest_tts.report.summary.SearchCounts`` adds
    these up): forced answers generated or read from the store, and the verdicts on them
    computed or read."""

    forced_generated: int = 0
    forced_reused: int = 0
    forced_tokens: int = 0  # completion tokens of the forced answers generated
    verdicts: int = 0
    verified: int = 0


@dataclass(frozen=True)
class Trace:
    """One pooled sample seen as reasoning then answer.

    ``reasoning`` is its reasoning token count, ``text`` its completion; ``cut_text(b)`` is
    the completion cut after ``b`` reasoning tokens. ``finished`` says whether the marker
    was found (the trace has an answer of its own).
    """

    sample: Sample
    reasoning: int
    finished: bool
    ids: tuple[int, ...]


@dataclass
class BudgetForcing:
    """A thinking-budget strategy: the run calls :meth:`search_curve` (see the module doc)."""

    strategy: Any
    k: int
    budgets: tuple[int, ...]
    end: str | None
    cue: str | None
    answer_tokens: int
    text: str
    name: str = "budget_forcing"
    stats: ForcingStats = field(default_factory=ForcingStats)
    # the last search_curve's grid: "budgets", "ks", and per (budget, k) "mean" and "tokens"
    grid: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<strategy {self.text}>"

    # -- the curve -----------------------------------------------------------------------

    def search_curve(self, context: Any) -> Curve:
        from pytest_tts.generate import load_samples

        if context.oracle is None:
            msg = f"{self.text} needs the spec's oracle to judge its answers"
            raise EstimationError(msg)
        request = context.request
        if request is None:
            msg = f"{self.text} reads the pool's traces, and pool {context.label} has none"
            raise EstimationError(msg)
        n = request.sampling.n
        if self.k > n:
            msg = f"{self.text}: k = {self.k} exceeds the pool's n = {n} samples per problem"
            raise EstimationError(msg)
        backend = context.backend
        marker = self.end or getattr(backend, "reasoning", None)
        if not marker:
            msg = (
                f"{self.text}: model {backend.label} declares no reasoning marker; add"
                ' reasoning = "</think>" (or the marker its traces use) to the model\'s'
                ' declaration, or end = "..." to budget_forcing'
            )
            raise EstimationError(msg)
        cue = marker if self.cue is None else self.cue
        problems = list(context.problems)
        by_problem = load_samples(context.store, request)
        traces = self._traces(context, problems, by_problem, marker)
        cuts = self._cuts(problems, traces, cue, _decoder(backend, self.text))
        forced = self._forced_answers(context, problems, traces, cuts, cue)
        oracle_name = next(
            (name for name, v in context.verifiers.items() if v is context.oracle), "oracle"
        )
        verifiers = dict(context.verifiers)
        verifiers.setdefault(oracle_name, context.oracle)
        natural = self._natural_verdicts(context, problems, by_problem, verifiers)
        # the grid's k: every budget of the pool's curves (one k for a single sample)
        ks = [int(x) for x in default_ks(n)] if self.strategy.text != "single" else [self.k]
        if self.k not in ks:
            ks = sorted({*ks, self.k})
        columns = []
        grid = []
        grid_tokens = []
        tokens = []
        flops = []
        shares = []
        for b in self.budgets:
            samples, verdicts, cut = self._pool_at(
                context, problems, traces, cuts[b], forced, natural, verifiers
            )
            arrays = _arrays(samples, verdicts, oracle_name, n, problems)
            curve = compute_curve(
                self.strategy,
                arrays,
                ks,
                flops_fn=context.flops_fn,
                confidence=context.confidence,
            )
            at = ks.index(self.k)
            columns.append(curve.per_problem[:, at])
            grid.append([float(x) for x in curve.mean])
            grid_tokens.append([float(x) for x in curve.cost_tokens])
            tokens.append(float(curve.cost_tokens[at]))
            flops.append(float(curve.cost_flops[at]))
            shares.append(cut)
        values = np.stack(columns, axis=1)
        low, high = bootstrap_ci(values, context.confidence)
        self.grid = {
            "budgets": list(self.budgets),
            "ks": ks,
            "mean": grid,
            "tokens": grid_tokens,
        }
        return Curve(
            strategy=self.text,
            ks=np.full(len(self.budgets), self.k, dtype=np.int64),
            problem_ids=tuple(p.id for p in problems),
            per_problem=values,
            mean=values.mean(axis=0),
            ci_low=low,
            ci_high=high,
            cost_samples=np.full(len(self.budgets), float(self.k)),
            cost_tokens=np.asarray(tokens),
            cost_flops=np.asarray(flops),
            confidence=context.confidence,
            mc_se=np.zeros(len(self.budgets)),
            cost_thinking=np.asarray(self.budgets, dtype=np.float64),
            forced=np.asarray(shares),
            grid=self.grid,
        )

    # -- the stages ----------------------------------------------------------------------

    def _traces(
        self,
        context: Any,
        problems: Sequence[Problem],
        by_problem: dict[str, list[Sample]],
        marker: str,
    ) -> dict[str, list[Trace]]:
        decode = _decoder(context.backend, self.text)
        out: dict[str, list[Trace]] = {}
        found = 0
        for problem in problems:
            row = []
            for sample in by_problem[problem.id]:
                if sample.token_ids is None:
                    msg = (
                        f"{self.text}: sample {sample.index} of problem {problem.id!r} in pool"
                        f" {context.label} has no token ids (budget forcing cuts traces by"
                        " the engine's tokens)"
                    )
                    raise EstimationError(msg)
                count = reasoning_tokens(sample.text, sample.token_ids, marker, decode)
                found += count is not None
                if count is None:  # no answer: all reasoning, less a trailing EOS
                    whole = tokens_within(sample.token_ids, len(sample.text), decode)
                row.append(
                    Trace(
                        sample,
                        whole if count is None else count,
                        count is not None,
                        tuple(sample.token_ids),
                    )
                )
            out[problem.id] = row
        if not found:
            msg = (
                f"{self.text}: the reasoning marker {marker!r} occurs in none of the"
                f" {sum(len(r) for r in out.values())} completions of pool {context.label};"
                " check the model's reasoning = ... (or end = ...)"
            )
            raise EstimationError(msg)
        return out

    def _cuts(
        self,
        problems: Sequence[Problem],
        traces: dict[str, list[Trace]],
        cue: str,
        decode: Decode,
    ) -> dict[int, list[tuple[str, int] | None]]:
        """Per budget, for every trace in pool order: its forced prompt and the index of its
        forced answer there, or None when it keeps its own answer.

        Traces of a problem that are cut to the same text share a forced prompt; the j-th
        of them takes that prompt's answer j, so every trace gets an answer of its own,
        drawn as independently as the traces themselves.
        """
        out: dict[int, list[tuple[str, int] | None]] = {}
        texts: dict[tuple[int, int], str] = {}
        for b in self.budgets:
            seen: dict[str, int] = {}
            row: list[tuple[str, int] | None] = []
            for problem in problems:
                for trace in traces[problem.id]:
                    cut = _cut_at(trace, b)
                    if cut is None:
                        row.append(None)
                        continue
                    key = (id(trace), cut)
                    if key not in texts:
                        texts[key] = problem.prompt + decode(trace.ids[:cut]) + cue
                    prompt = texts[key]
                    index = seen.get(prompt, 0)
                    seen[prompt] = index + 1
                    row.append((prompt, index))
            out[b] = row
        return out

    def _forced_answers(
        self,
        context: Any,
        problems: Sequence[Problem],
        traces: dict[str, list[Trace]],
        cuts: dict[int, list[tuple[str, int] | None]],
        cue: str,
    ) -> dict[str, list[Sample]]:
        """The forced answers every budget needs, by forced prompt (one fill for all)."""
        from pytest_tts.generate import SampleRequest, ensure_samples, load_samples

        need: dict[str, int] = {}
        for row in cuts.values():
            for slot in row:
                if slot is not None:
                    need[slot[0]] = max(need.get(slot[0], 0), slot[1] + 1)
        if not need:
            return {}
        self._check_context(context, problems, traces, cue)
        by_n: dict[int, list[Problem]] = {}
        for prompt, n in need.items():
            by_n.setdefault(n, []).append(Problem(id=_forced_id(prompt), prompt=prompt))
        requests = [
            SampleRequest(
                backend=context.backend,
                problems=group,
                sampling=self.sampling(context.sampling, n),
                label=f"{context.label} {self.text} (forced answers)",
            )
            for n, group in sorted(by_n.items())
        ]
        report = ensure_samples(context.store, requests, offline=context.offline)
        self.stats.forced_generated += report.generated
        self.stats.forced_reused += report.reused
        self.stats.forced_tokens += report.completion_tokens
        out: dict[str, list[Sample]] = {}
        for request in requests:
            loaded = load_samples(context.store, request)
            for problem in request.problems:
                out[problem.prompt] = loaded[problem.id]
        return out

    def sampling(self, base: Sampling, n: int = 1) -> Sampling:
        """``n`` forced answers of a forced prompt, at the spec's temperature."""
        extra = {k: v for k, v in dict(base.extra).items() if k not in ("stop", "logprobs")}
        return Sampling(
            n=n,
            temperature=base.temperature,
            top_p=base.top_p,
            max_tokens=self.answer_tokens,
            seed=base.seed,
            extra=extra,
        )

    def _check_context(
        self,
        context: Any,
        problems: Sequence[Problem],
        traces: dict[str, list[Trace]],
        cue: str,
    ) -> None:
        """A forced prompt plus its answer must fit the model's context."""
        limit = _context_length(context.backend)
        if limit is None:
            return
        longest = max(
            t.sample.prompt_tokens + min(self.budgets[-1], t.reasoning)
            for p in problems
            for t in traces[p.id]
        )
        count = getattr(context.backend, "count_tokens", None)
        cue_tokens = int(count(cue)) if callable(count) else len(cue)
        need = longest + cue_tokens + self.answer_tokens
        if need > limit:
            msg = (
                f"{self.text}: a forced prompt plus its answer needs {need} tokens (prompt and"
                f" cut reasoning {longest}, cue {cue!r} {cue_tokens}, answer_tokens"
                f" {self.answer_tokens}), beyond the model's context of {limit}; lower the"
                " budgets or answer_tokens, or shorten the cue"
            )
            raise EstimationError(msg)

    def _natural_verdicts(
        self,
        context: Any,
        problems: Sequence[Problem],
        by_problem: dict[str, list[Sample]],
        verifiers: dict[str, Any],
    ) -> dict[str, dict[tuple[str, int], Verdict]]:
        """Every verifier's verdicts on the pool's own samples (the pool's cache)."""
        from pytest_tts.generate import pool_id
        from pytest_tts.verifiers.cache import verify_cached

        pid = pool_id(context.store, context.request)
        items = [(p, s) for p in problems for s in by_problem[p.id]]
        out: dict[str, dict[tuple[str, int], Verdict]] = {}
        for name, verifier in verifiers.items():
            found = verify_cached(verifier, context.store, pid, items)
            if len(found) != len(items):
                msg = f"verifier {name} returned {len(found)} verdicts for {len(items)} samples"
                raise VerifierError(msg)
            out[name] = {(p.id, s.index): v for (p, s), v in zip(items, found, strict=True)}
        return out

    def _pool_at(
        self,
        context: Any,
        problems: Sequence[Problem],
        traces: dict[str, list[Trace]],
        cuts: list[tuple[str, int] | None],
        forced: dict[str, list[Sample]],
        natural: dict[str, dict[tuple[str, int], Verdict]],
        verifiers: dict[str, Any],
    ) -> tuple[list[Sample], dict[str, list[Verdict]], float]:
        """The samples at one budget (natural, or cut and forced, costed as a real run
        would spend), their verdicts, and the share that was cut."""
        from pytest_tts.generate import SampleRequest, pool_id
        from pytest_tts.search.verdicts import DrawProblem, PathVerifier
        from pytest_tts.verifiers.cache import verify_cached

        samples: list[Sample] = []
        keyed: list[tuple[Problem, Sample]] = []
        slots: list[bool] = []
        pooled = [(p, t) for p in problems for t in traces[p.id]]
        for (problem, trace), slot in zip(pooled, cuts, strict=True):
            if slot is None:
                samples.append(trace.sample)
                slots.append(False)
                continue
            prompt, index = slot
            answer = forced[prompt][index]
            cut_text = prompt[len(problem.prompt) :]
            cue_and_cut = max(answer.prompt_tokens - trace.sample.prompt_tokens, 0)
            sample = replace(
                trace.sample,
                text=cut_text + answer.text,
                completion_tokens=cue_and_cut + answer.completion_tokens,
                finish_reason=answer.finish_reason,
                logprobs=None,
                token_ids=None,
            )
            samples.append(sample)
            slots.append(True)
            as_keyed = DrawProblem(
                id=problem.id,
                prompt=prompt,
                answer=problem.answer,
                meta=problem.meta,
                source=problem,
            )
            keyed.append((as_keyed, replace(answer, problem_id=problem.id, text=sample.text)))
        forced_pool = 0
        if keyed:
            request = SampleRequest(context.backend, (), self.sampling(context.sampling))
            forced_pool = pool_id(context.store, request)
        verdicts: dict[str, list[Verdict]] = {}
        for name, verifier in verifiers.items():
            fresh: list[Verdict] = []
            if keyed:
                checker = PathVerifier(verifier, name, self.stats)  # type: ignore[arg-type]
                fresh = verify_cached(checker, context.store, forced_pool, keyed)
                self.stats.verdicts += len(keyed)
            found = iter(fresh)
            verdicts[name] = [
                next(found) if cut else natural[name][(s.problem_id, s.index)]
                for s, cut in zip(samples, slots, strict=True)
            ]
        share = len(keyed) / len(samples) if samples else 0.0
        return samples, verdicts, share


def _cut_at(trace: Trace, budget: int) -> int | None:
    """Where the trace is cut at ``budget`` (None: it keeps its own answer)."""
    if trace.reasoning > budget:
        return budget
    if not trace.finished:
        return trace.reasoning
    return None


def _forced_id(prompt: str) -> str:
    return "forced-" + hashlib.sha256(prompt.encode()).hexdigest()[:16]


def _arrays(
    samples: list[Sample],
    verdicts: dict[str, list[Verdict]],
    oracle: str,
    n: int,
    problems: Sequence[Problem],
) -> Any:
    from pytest_tts.estimate.pool import pool_from_samples

    return pool_from_samples(
        samples,
        verdicts[oracle],
        verdicts,
        n=n,
        problem_ids=[p.id for p in problems],
    )


def _decoder(backend: Any, who: str) -> Decode:
    decode = getattr(backend, "detokenize", None)
    if not callable(decode):
        msg = (
            f"{who}: backend {backend.label} cannot turn token ids back into text, which"
            " cutting a trace at a token budget needs (the vllm and openai backends can)"
        )
        raise EstimationError(msg)
    return decode


def _context_length(backend: Any) -> int | None:
    args = getattr(backend, "engine_args", {}) or {}
    if args.get("max_model_len"):
        return int(args["max_model_len"])
    try:
        config = backend.model_config()
    except Exception:
        return None
    value = config.get("max_position_embeddings") if config else None
    return int(value) if value else None


def budget_forcing(
    strategy: Any = None,
    k: int = 1,
    budgets: Sequence[int] = DEFAULT_BUDGETS,
    end: str | None = None,
    cue: str | None = None,
    answer_tokens: int = 16,
) -> BudgetForcing:
    """Accuracy against a thinking budget: traces cut at each budget and forced to answer.

    ``strategy`` (default ``single``) selects among ``k`` forced answers per problem;
    ``budgets`` are reasoning tokens per sample, increasing; ``end`` the reasoning marker
    (default: the model's ``reasoning``); ``cue`` what is appended after a cut (default:
    the marker); ``answer_tokens`` caps each forced answer. See the module doc.
    """
    from pytest_tts.strategies.coverage import single

    chosen = single() if strategy is None else strategy
    for label, value in (("k", k), ("answer_tokens", answer_tokens)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            msg = f"budget_forcing: {label} must be a positive integer, got {value!r}"
            raise EstimationError(msg)
    grid = check_budgets(budgets)
    for label, text in (("end", end), ("cue", cue)):
        if text is not None and (not isinstance(text, str) or not text):
            msg = f"budget_forcing: {label} must be a non-empty string, got {text!r}"
            raise EstimationError(msg)
    if getattr(chosen, "text", "") == "single" and k != 1:
        msg = (
            f"budget_forcing: single reads one sample, so k = {k} would spend {k - 1} for"
            " nothing; give a strategy that selects among k (e.g. majority_vote)"
        )
        raise EstimationError(msg)
    if getattr(chosen, "search_curve", None) is not None:
        msg = "budget_forcing: the strategy must select among samples, not search"
        raise EstimationError(msg)
    inner = getattr(chosen, "text", None) or getattr(chosen, "name", type(chosen).__name__)
    parts = [str(inner), f"k = {k}", "budgets = [" + ", ".join(str(b) for b in grid) + "]"]
    if end is not None:
        parts.append(f"end = {end!r}")
    if cue is not None:
        parts.append(f"cue = {cue!r}")
    if answer_tokens != 16:
        parts.append(f"answer_tokens = {answer_tokens}")
    text = "budget_forcing(" + ", ".join(parts) + ")"
    return BudgetForcing(chosen, k, grid, end, cue, answer_tokens, text)
