"""Verdicts on search paths through the store's verdict cache.

Verdicts. A path is the text a draw ends: its prefix (less the prompt) and the draw's
sample, so the draw's key determines it. The process verifier's verdict on a path, and the
oracle's on a final answer, go through :func:`pytest_tts.verifiers.cache.verify_cached`
under that key in the step pool (with the verifier's identity and the problem's reference
fingerprint, as every cached verdict): a re-run calls no verifier at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pytest_tts.errors import VerifierError
from pytest_tts.search.paths import Draw, Run
from pytest_tts.search.sampling import SamplerStats, StepSampler
from pytest_tts.types import Problem, Sample, Verdict


@dataclass(frozen=True)
class DrawProblem(Problem):
    """A problem as the verdict cache keys a path: prompt = the draw's prefix; ``source``
    is the problem itself, what the verifier sees (answer and meta are its own)."""

    source: Problem | None = None


class PathVerifier:
    """Hands the verifier its own problems back, and counts the verdicts it computes."""

    def __init__(self, verifier: Any, name: str, stats: SamplerStats) -> None:
        self.verifier = verifier
        self.name = name
        self.stats = stats

    def identity(self) -> str:
        return str(self.verifier.identity())

    def verify(self, items: Sequence[tuple[Problem, str]]) -> list[Verdict]:
        pairs = [
            (p.source if isinstance(p, DrawProblem) and p.source is not None else p, text)
            for p, text in items
        ]
        verdicts = list(self.verifier.verify(pairs))
        if len(verdicts) != len(items):
            msg = f"verifier {self.name} returned {len(verdicts)} verdicts for {len(items)} paths"
            raise VerifierError(msg)
        self.stats.verified += len(items)
        return verdicts


@dataclass
class Searcher:
    """The engine and verifier side of one ``search_curve``: draws and cached verdicts."""

    context: Any
    prm: Any
    prm_name: str
    sampler: StepSampler
    _pool: int | None = None

    @property
    def stats(self) -> SamplerStats:
        return self.sampler.stats

    def draw(
        self, runs: Sequence[Run], wants: Sequence[Mapping[str, int]]
    ) -> list[dict[str, list[Draw]]]:
        """Continuations for every run in one engine call; ``wants[i]`` maps a path text of
        run ``i`` to how many continuations it needs.

        Runs (budgets) that share a prefix draw from the same continuations: each prefix is
        asked for the most any run needs, and each run pays for the ones it takes.
        """
        need: dict[str, int] = {}
        for run, counts in zip(runs, wants, strict=True):
            for text, n in counts.items():
                key = run.problem.prompt + text
                need[key] = max(need.get(key, 0), n)
        continuations = self.sampler.expand(need)
        out: list[dict[str, list[Draw]]] = []
        for run, counts in zip(runs, wants, strict=True):
            mine: dict[str, list[Draw]] = {}
            for text, n in counts.items():
                prefix = run.problem.prompt + text
                samples = continuations[prefix][:n]
                run.cost.add(samples, self.context.flops_fn, seen_prefix=bool(text))
                mine[text] = [Draw(prefix, sample) for sample in samples]
            out.append(mine)
        return out

    def score(self, runs: Sequence[Run], draws: Sequence[Sequence[Draw]]) -> list[list[Verdict]]:
        """The process verifier's verdicts on the paths ``draws[i]`` end, for run ``i``;
        each run pays the verifier's FLOPs once per distinct path it has scored."""
        items = [(run.problem, d) for run, mine in zip(runs, draws, strict=True) for d in mine]
        verdicts = iter(self.verdicts(self.prm, self.prm_name, items))
        out: list[list[Verdict]] = []
        for run, mine in zip(runs, draws, strict=True):
            got = [next(verdicts) for _ in mine]
            for d, verdict in zip(mine, got, strict=True):
                run.cost.add_verdict(d.key, verdict)
            out.append(got)
        return out

    def judge(self, runs: Sequence[Run]) -> list[bool]:
        """The oracle's verdict on each run's answer (not a cost of the search)."""
        items = [(run.problem, run.answer().ended()) for run in runs]
        return [v.accepted for v in self.verdicts(self.context.oracle, "oracle", items)]

    def verdicts(
        self, verifier: Any, name: str, items: Sequence[tuple[Problem, Draw]]
    ) -> list[Verdict]:
        """Verdicts on the paths the draws end, through the store's verdict cache.

        Each distinct (problem, draw) is looked up, or verified, once.
        """
        from pytest_tts.verifiers.cache import verify_cached

        if not items:
            return []
        if self._pool is None:
            self._pool = self.sampler.pool()
        unique: dict[tuple[str, str, int], int] = {}
        keyed: list[tuple[Problem, Sample]] = []
        for problem, d in items:
            key = (problem.id, *d.key)
            if key in unique:
                continue
            unique[key] = len(keyed)
            path = d.prefix[len(problem.prompt) :] + d.sample.text
            as_keyed = DrawProblem(
                id=problem.id,
                prompt=d.prefix,
                answer=problem.answer,
                meta=problem.meta,
                source=problem,
            )
            keyed.append((as_keyed, replace(d.sample, text=path)))
        self.stats.verdicts += len(keyed)
        checker = PathVerifier(verifier, name, self.stats)
        found = verify_cached(checker, self.context.store, self._pool, keyed)
        if len(found) != len(keyed):
            msg = f"verifier {name} returned {len(found)} verdicts for {len(keyed)} paths"
            raise VerifierError(msg)
        return [found[unique[(problem.id, *d.key)]] for problem, d in items]
