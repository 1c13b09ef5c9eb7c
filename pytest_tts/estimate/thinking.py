"""Thinking budgets: reasoning tokens of a trace, and budget grids.

Pure helpers for :mod:`pytest_tts.search.forcing` (and the spec checker, which validates a
``budget_forcing(budgets = [...])`` grid before anything runs).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from pytest_tts.errors import EstimationError

Decode = Callable[[Sequence[int]], str]
"""Token ids to text (a backend's ``detokenize``)."""


def reasoning_tokens(text: str, ids: Sequence[int], marker: str, decode: Decode) -> int | None:
    """Tokens of ``ids`` before ``marker`` in ``text`` (None when the marker is absent).

    The count is the longest prefix of ``ids`` whose decoded text ends at or before the
    marker, found by bisection (decoded prefixes grow with the ids).
    """
    at = text.find(marker)
    if at < 0:
        return None
    return tokens_within(ids, at, decode)


def tokens_within(ids: Sequence[int], length: int, decode: Decode) -> int:
    """The longest prefix of ``ids`` whose decoded text is at most ``length`` characters (a
    whole completion's text less special tokens a server decodes, such as EOS)."""
    at = length
    low, high = 0, len(ids)
    while low < high:
        mid = (low + high + 1) // 2
        if len(decode(ids[:mid])) <= at:
            low = mid
        else:
            high = mid - 1
    return low


def check_budgets(budgets: Any) -> tuple[int, ...]:
    """A budget grid as increasing positive integers, or a clear error."""
    values = tuple(budgets) if isinstance(budgets, (list, tuple)) else (budgets,)
    if not values:
        msg = "budget_forcing: budgets must name at least one thinking budget"
        raise EstimationError(msg)
    for b in values:
        if not isinstance(b, int) or isinstance(b, bool) or b < 1:
            msg = f"budget_forcing: a thinking budget must be a positive integer, got {b!r}"
            raise EstimationError(msg)
    if any(b >= c for b, c in itertools.pairwise(values)):
        msg = f"budget_forcing: budgets must increase, got {list(values)}"
        raise EstimationError(msg)
    return values
