"""Step continuations through the sample store.

Generation. A *prefix* is a problem's prompt followed by the completion text chosen so far
(whole steps, each ending with the delimiter). :class:`StepSampler` asks for ``n``
continuations of many prefixes at once: each prefix becomes a
:class:`~pytest_tts.types.Problem` whose prompt is the prefix text, in a
:class:`~pytest_tts.generate.SampleRequest` whose sampling is the spec's (temperature, top_p,
seed) with ``max_tokens`` capped to one step and ``stop = [delimiter]``,
``include_stop_str_in_output = true``. One ``ensure_samples`` call per round fills what the
store lacks, so intermediate generations are cached like samples: a re-run, or a wider beam
that shares a prefix with a narrower one, reuses them. Samples of a prefix are seeded from
the prefix text, and continuation ``i`` is the pool's sample ``i``: a prefix that ``m``
beams hold asks for ``m x expansions`` samples, exactly what ``m`` independent requests
would give. Every continuation lives in one *step pool* (the spec's backend and step
sampling; ``n`` is not part of a pool) under the key (prefix, index).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_tts.errors import EstimationError
from pytest_tts.spec import Sampling
from pytest_tts.types import Problem, Sample


@dataclass
class SamplerStats:
    """Totals over every round of a search: rounds, requests, continuations generated or
    reused, and distinct verdicts computed (``verified``) or read from the store."""

    rounds: int = 0
    requests: int = 0
    generated: int = 0
    reused: int = 0
    verdicts: int = 0
    verified: int = 0

    @property
    def verdicts_cached(self) -> int:
        return self.verdicts - self.verified


@dataclass
class StepSampler:
    """Continuations of prefixes, one step each, through the sample store (see module doc)."""

    context: Any
    delimiter: str = "|"
    step_tokens: int = 12
    label: str = "search"
    stats: SamplerStats = field(default_factory=SamplerStats)

    def sampling(self, n: int) -> Sampling:
        base: Sampling = self.context.sampling
        extra = {
            **dict(base.extra),
            "stop": [self.delimiter],
            "include_stop_str_in_output": True,
        }
        return Sampling(
            n=n,
            temperature=base.temperature,
            top_p=base.top_p,
            max_tokens=min(self.step_tokens, base.max_tokens),
            seed=base.seed,
            extra=extra,
        )

    def pool(self) -> int:
        """The store's id of the step pool every continuation of this sampler lives in."""
        from pytest_tts.generate import SampleRequest, pool_id

        return pool_id(
            self.context.store, SampleRequest(self.context.backend, (), self.sampling(1))
        )

    def expand(self, wants: Mapping[str, int]) -> dict[str, list[Sample]]:
        """``n`` continuations of each prefix text in ``wants`` (prefix -> n), by prefix.

        One batched fill for all prefixes; prefixes wanting the same n share a request.
        """
        from pytest_tts.generate import SampleRequest, ensure_samples, load_samples

        if not wants:
            return {}
        by_n: dict[int, list[Problem]] = {}
        for prefix, n in wants.items():
            if n < 1:
                msg = f"a search asked for {n} continuations of a prefix; expected at least 1"
                raise EstimationError(msg)
            by_n.setdefault(n, []).append(Problem(id=_prefix_id(prefix), prompt=prefix))
        requests = [
            SampleRequest(
                backend=self.context.backend,
                problems=problems,
                sampling=self.sampling(n),
                label=f"{self.label} (step continuations)",
            )
            for n, problems in sorted(by_n.items())
        ]
        report = ensure_samples(self.context.store, requests, offline=self.context.offline)
        self.stats.rounds += 1
        self.stats.requests += len(wants)
        self.stats.generated += report.generated
        self.stats.reused += report.reused
        out: dict[str, list[Sample]] = {}
        for request in requests:
            loaded = load_samples(self.context.store, request)
            for problem in request.problems:
                out[problem.prompt] = loaded[problem.id]
        return out


def _prefix_id(prefix: str) -> str:
    return "prefix-" + hashlib.sha256(prefix.encode()).hexdigest()[:16]
