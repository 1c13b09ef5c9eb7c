"""The search contract: what a step-wise search strategy gets, and what it must provide.

A *search strategy* cannot be simulated from a pool of full samples: it generates step by
step through the engine. It implements :class:`SearchStrategy` (``search_curve(context)``),
and the run calls it with a :class:`SearchContext` instead of the pool's arrays. Built-in
search strategies (:mod:`pytest_tts.search.beam`, :mod:`pytest_tts.search.particles`) share
the round loop of :class:`pytest_tts.search.loop.StepSearch`; a plugin may implement the
protocol directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pytest_tts.backends.base import Backend
    from pytest_tts.estimate.curves import Curve
    from pytest_tts.spec import Sampling
    from pytest_tts.store import SampleStore
    from pytest_tts.types import Problem

FlopsFn = Callable[[float, float, int], float]


@dataclass(frozen=True)
class SearchContext:
    """What a step-wise search strategy needs to run its own generation.

    The strategy generates through ``backend`` (with ``pytest_tts.generate.ensure_samples`` /
    ``load_samples`` on ``store``, so every intermediate generation is cached like a sample
    and honours ``offline``), scores with ``verifiers`` (name -> verifier instance, the
    oracle included under its own name), judges final answers with ``oracle``, and returns
    the curve at the budgets ``ks`` with its costs (``flops_fn(prompt_tokens,
    completion_tokens, k)`` counts FLOPs like every other curve; None when the model's size
    is unknown). ``sampling`` is the spec's ``sample`` line; ``label`` names the pool in
    progress lines and messages. ``request`` is the pool's own
    :class:`~pytest_tts.generate.SampleRequest` (its full traces, for strategies that read
    them, such as budget forcing); None outside a spec run.
    """

    store: SampleStore
    backend: Backend
    problems: tuple[Problem, ...]
    sampling: Sampling
    oracle: Any
    verifiers: Mapping[str, Any]
    flops_fn: FlopsFn | None
    offline: bool
    ks: tuple[int, ...]
    confidence: float = 0.95
    label: str = ""
    request: Any = None


@runtime_checkable
class SearchStrategy(Protocol):
    """A strategy that generates its own samples step by step.

    ``search_curve`` runs the search for every problem of ``context`` at every budget and
    returns the curve; ``stats`` (optional) holds counters the run's summary adds up
    (``pytest_tts.report.summary.SearchCounts``).
    """

    def search_curve(self, context: SearchContext) -> Curve: ...


def is_search_strategy(strategy: object) -> bool:
    """Whether ``strategy`` runs its own step-wise generation (implements SearchStrategy)."""
    return isinstance(strategy, SearchStrategy)
