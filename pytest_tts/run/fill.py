"""Stage 2, generate: fill the sample store with what the planned pools lack.

In: the pools (those that are ready), the store, ``offline``, and the run's callbacks. Out:
each pool's ``generated`` count (what it lacked before this stage), the fill's
``FillReport``, and an error on every pool that could not be filled. Offline, only the pools
that lack samples fail, each with its own shortfall; an engine failure fails every pool of
the fill, with where it happened, rather than the first item alone showing a traceback.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_tts.errors import BackendError, TTSError
from pytest_tts.run.settings import live

if TYPE_CHECKING:
    from pytest_tts.generate import FillReport, SampleRequest
    from pytest_tts.run.plan import PoolState
    from pytest_tts.run.settings import Callbacks
    from pytest_tts.store import SampleStore


def fill_pools(
    pools: Sequence[PoolState], store: SampleStore, *, offline: bool, callbacks: Callbacks
) -> FillReport | None:
    """Generate every missing sample of the ready pools in one batched fill per engine."""
    from pytest_tts.generate import ensure_samples, missing_samples, shortfall_error
    from pytest_tts.progress import Progress

    for pool in pools:
        if pool.ready:
            try:  # a backend that cannot say what it is (no config.json) fails its pools
                _request(pool).backend.provenance()
            except TTSError as exc:
                pool.error = exc
    ready = [p for p in pools if p.ready]
    if not ready:
        return None
    if offline:
        shortfalls = {s.label: s for s in missing_samples(store, [_request(p) for p in ready])}
        for pool in ready:
            if pool.label in shortfalls:
                pool.error = shortfall_error([shortfalls[pool.label]])
        ready = [p for p in ready if p.ready]
        if not ready:
            return None
    # what each pool lacks now is what this run generates for it (pools that share samples
    # with another are merged by the fill path, and counted once)
    counted: set[str] = set()
    for pool in ready:
        for shortfall in missing_samples(store, [_request(pool)]):
            if shortfall.pool_key not in counted:
                pool.generated += shortfall.missing
                counted.add(shortfall.pool_key)
    try:
        with live(callbacks):
            progress = None
            if not offline and any(p.generated for p in ready):
                progress = Progress(callbacks.progress())
            return ensure_samples(
                store, [_request(p) for p in ready], offline=offline, progress=progress
            )
    except TTSError as exc:
        for pool in ready:
            pool.error = exc
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        error = BackendError(
            f"generation failed: {type(exc).__name__}: {exc} "
            f"(at {where.filename}:{where.lineno}, in {where.name})"
        )
        error.__cause__ = exc
        for pool in ready:
            pool.error = error
    return None


def _request(pool: PoolState) -> SampleRequest:
    assert pool.request is not None
    return pool.request
