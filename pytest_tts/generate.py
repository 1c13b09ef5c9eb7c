"""Fill the sample store with exactly the samples that are missing.

``ensure_samples(store, requests)`` takes every pool the selected items need, finds per
prompt the sample indices not yet stored, and asks each backend for all of them in one
batched ``generate`` call; results are committed in small batches as they arrive.
``load_samples(store, request)`` then reads the first n samples of each problem.

One engine per model across processes (pytest-xdist): generation for a backend runs under
an exclusive ``fcntl.flock`` on ``<cache_dir>/locks/<backend key>.lock``. Whoever takes
the lock first re-reads what is missing *inside* the lock and generates it; the others
block on the lock, then find nothing missing and never start an engine (engines start
lazily, on the first request). Each worker plans from the whole collected session (xdist
workers all collect every item), so the first one fills everything. On systems without
``fcntl`` the lock is skipped; the store itself stays consistent (unique keys, upserts).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_tts.backends.base import (
    Backend,
    GenerationRequest,
    GenerationResult,
    prompt_seed,
    sampling_provenance,
)
from pytest_tts.errors import MissingSamplesError
from pytest_tts.progress import Progress
from pytest_tts.spec import Sampling
from pytest_tts.store import SampleStore, StoredSample, canonical_json, missing_runs, pool_key
from pytest_tts.types import Problem, Sample

COMMIT_EVERY_SAMPLES = 64
COMMIT_EVERY_S = 1.0


@dataclass(frozen=True, eq=False)
class SampleRequest:
    """The samples one spec needs: ``sampling.n`` samples of every problem's prompt.

    Requests whose provenance (backend provenance + sampling without n) is equal share one
    pool; their problems are merged and the largest n wins. ``label`` names the pool in
    messages (e.g. ``"arith × sums"``).
    """

    backend: Backend
    problems: Sequence[Problem]
    sampling: Sampling
    want_logprobs: bool = False
    label: str = ""
    model_key: str = ""


@dataclass(frozen=True)
class Shortfall:
    """Samples a pool lacks: ``missing`` of ``needed`` over ``prompts`` prompts."""

    pool_key: str
    label: str
    needed: int
    missing: int
    prompts: int

    def describe(self) -> str:
        return (
            f"pool {self.label or '?'} (key {self.pool_key[:12]}) lacks {self.missing} of "
            f"{self.needed} samples, over {self.prompts} prompts"
        )


def shortfall_error(shortfalls: Sequence[Shortfall]) -> MissingSamplesError:
    """The one error for samples the store lacks where nothing may generate them (offline,
    or read before a fill); ``error.shortfalls`` lists them."""
    msg = (
        "--tts-offline never generates, and the sample store lacks samples: "
        + "; ".join(s.describe() for s in shortfalls)
        + "; fill it with a run without --tts-offline, or import a filled store "
        "(pytest-tts cache import FILE)"
    )
    error = MissingSamplesError(msg)
    error.shortfalls = list(shortfalls)  # type: ignore[attr-defined]
    return error


@dataclass
class FillReport:
    """What ``ensure_samples`` did."""

    generated: int = 0
    reused: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    engine_seconds: float = 0.0
    generate_seconds: float = 0.0
    engines: list[str] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second of generation (engine start not counted)."""
        return self.completion_tokens / self.generate_seconds if self.generate_seconds else 0.0


def pool_provenance(request: SampleRequest) -> dict[str, Any]:
    """Everything that decides the request's samples except n and the prompts (its store
    key is ``pytest_tts.store.pool_key`` of this)."""
    return {**request.backend.provenance(), "sampling": sampling_provenance(request.sampling)}


def pool_id(store: SampleStore, request: SampleRequest) -> int:
    """The store's row id of the request's pool (for ``store.get_verdicts/put_verdicts``)."""
    return store.pool(pool_provenance(request))


def _backend_key(backend: Backend) -> str:
    return hashlib.sha256(canonical_json(backend.provenance()).encode()).hexdigest()[:16]


@dataclass
class _FillTarget:
    """One stored pool being filled: its key and row id, and the largest n per prompt over
    the requests merged into it."""

    key: str
    id: int
    label: str
    sampling: Sampling
    want_logprobs: bool
    n: dict[str, int] = field(default_factory=dict)  # prompt -> largest n
    problem_ids: dict[str, str] = field(default_factory=dict)


def _merge(store: SampleStore, requests: Sequence[SampleRequest]) -> dict[str, list[_FillTarget]]:
    """Pools by backend key, requests with equal provenance merged."""
    pools: dict[str, _FillTarget] = {}
    backends: dict[str, list[_FillTarget]] = {}
    for r in requests:
        provenance = pool_provenance(r)
        key = pool_key(provenance)
        pool = pools.get(key)
        if pool is None:
            pool = _FillTarget(key, store.pool(provenance), r.label, r.sampling, r.want_logprobs)
            pools[key] = pool
            backends.setdefault(_backend_key(r.backend), []).append(pool)
        pool.want_logprobs |= r.want_logprobs
        for p in r.problems:
            pool.n[p.prompt] = max(pool.n.get(p.prompt, 0), r.sampling.n)
            pool.problem_ids.setdefault(p.prompt, p.id)
    return backends


def _missing(store: SampleStore, pool: _FillTarget) -> dict[str, list[tuple[int, int]]]:
    present = store.present(pool.id, list(pool.n), need_logprobs=pool.want_logprobs)
    runs = {p: missing_runs(present[p], n) for p, n in pool.n.items()}
    return {p: r for p, r in runs.items() if r}


def missing_samples(store: SampleStore, requests: Sequence[SampleRequest]) -> list[Shortfall]:
    """What each request lacks (one Shortfall per request that lacks any), generating nothing.

    Requests that share a pool are reported separately, each with its own label and n.
    """
    shortfalls = []
    for r in requests:
        provenance = pool_provenance(r)
        prompts = list({p.prompt: None for p in r.problems})
        pid = store.find_pool(pool_key(provenance))  # looking creates no empty pool
        present: dict[str, set[int]] = {p: set() for p in prompts}
        if pid is not None:
            present = store.present(pid, prompts, need_logprobs=r.want_logprobs)
        runs = {p: missing_runs(present[p], r.sampling.n) for p in prompts}
        short = {p: sum(c for _, c in rs) for p, rs in runs.items() if rs}
        if short:
            shortfalls.append(
                Shortfall(
                    pool_key(provenance),
                    r.label,
                    r.sampling.n * len(prompts),
                    sum(short.values()),
                    len(short),
                )
            )
    return shortfalls


def ensure_samples(
    store: SampleStore,
    requests: Sequence[SampleRequest],
    *,
    offline: bool = False,
    progress: Progress | None = None,
    lock_dir: str | os.PathLike[str] | None = None,
) -> FillReport:
    """Generate every sample the requests need that the store lacks; returns what was done.

    With ``offline`` nothing is generated and any shortfall raises MissingSamplesError
    naming each pool and how many samples it lacks. ``lock_dir`` (default: ``locks/``
    beside the store file) holds the per-backend lock files.
    """
    report = FillReport()
    started = time.perf_counter()
    groups = _merge(store, requests)
    backends = {_backend_key(r.backend): r.backend for r in requests}
    if offline:
        shortfalls = missing_samples(store, requests)
        if shortfalls:
            raise shortfall_error(shortfalls)
    locks = Path(lock_dir) if lock_dir is not None else store.path.parent / "locks"
    for bkey, pools in groups.items():
        total_needed = sum(sum(p.n.values()) for p in pools)
        if offline:
            report.reused += total_needed
            continue
        backend = backends[bkey]
        missing = {p.key: _missing(store, p) for p in pools}
        if not any(missing.values()):
            report.reused += total_needed
            continue
        with _file_lock(locks / f"{bkey}.lock", backend.label, progress):
            # another process may have generated while we waited for the lock
            missing = {p.key: _missing(store, p) for p in pools}
            batch = [
                GenerationRequest(
                    tag=(pool.key, prompt),
                    prompt=prompt,
                    n=count,
                    first_index=first,
                    seed=prompt_seed(pool.sampling.seed, prompt),
                    sampling=pool.sampling,
                    want_logprobs=pool.want_logprobs,
                    problem_id=pool.problem_ids[prompt],
                )
                for pool in pools
                for prompt, runs in missing[pool.key].items()
                for first, count in runs
            ]
            todo = sum(r.n for r in batch)
            report.reused += total_needed - todo
            if not batch:
                continue
            report.engines.append(backend.label)
            by_key = {p.key: p for p in pools}
            t0 = time.perf_counter()
            start = getattr(backend, "start", None)
            if callable(start):  # load the engine now, so that progress times generation only
                if progress is not None:
                    progress.note(f"starting {backend.label} for {todo:,} missing samples")
                start()
            t1 = time.perf_counter()
            if progress is not None:
                progress.start(backend.label, todo)
            _fill(store, backend.generate(batch), by_key, report, progress)
            if progress is not None:
                progress.finish()
            report.engine_seconds += t1 - t0
            report.generate_seconds += time.perf_counter() - t1
    report.seconds = time.perf_counter() - started
    return report


def _fill(
    store: SampleStore,
    results: Iterator[GenerationResult],
    pools: dict[str, _FillTarget],
    report: FillReport,
    progress: Progress | None,
) -> None:
    buffered: dict[int, list[StoredSample]] = {}
    count = 0
    last = time.monotonic()

    def flush() -> None:
        nonlocal count, last
        for pid, rows in buffered.items():
            store.put_samples(pid, rows)
        buffered.clear()
        count = 0
        last = time.monotonic()

    try:
        for result in results:
            req = result.request
            pool = pools[req.tag[0]]  # type: ignore[index]
            rows = buffered.setdefault(pool.id, [])
            tokens = 0
            for j, c in enumerate(result.completions):
                rows.append(
                    StoredSample(
                        prompt=req.prompt,
                        index=req.first_index + j,
                        text=c.text,
                        prompt_tokens=c.prompt_tokens,
                        completion_tokens=c.completion_tokens,
                        finish_reason=c.finish_reason,
                        token_ids=c.token_ids,
                        logprobs=c.logprobs,
                        extra=dict(c.extra) or None,
                    )
                )
                tokens += c.completion_tokens
            if result.completions:
                report.prompt_tokens += result.completions[0].prompt_tokens
            report.completion_tokens += tokens
            report.generated += len(result.completions)
            count += len(result.completions)
            if progress is not None:
                progress.advance(len(result.completions), tokens)
            if count >= COMMIT_EVERY_SAMPLES or time.monotonic() - last >= COMMIT_EVERY_S:
                flush()
    finally:
        flush()


def load_samples(store: SampleStore, request: SampleRequest) -> dict[str, list[Sample]]:
    """The first ``request.sampling.n`` samples of each problem, by index.

    Raises MissingSamplesError when a problem has fewer (e.g. offline with a thin cache).
    """
    pid = pool_id(store, request)
    n = request.sampling.n
    rows = store.load(pid, list({p.prompt for p in request.problems}), n)
    result: dict[str, list[Sample]] = {}
    short = 0
    short_prompts = 0
    for problem in request.problems:
        got = rows[problem.prompt]
        if len(got) < n or (request.want_logprobs and any(s.logprobs is None for s in got)):
            short += n - len(got) if len(got) < n else n
            short_prompts += 1
            continue
        result[problem.id] = [
            Sample(
                problem_id=problem.id,
                index=s.index,
                text=s.text,
                prompt_tokens=s.prompt_tokens,
                completion_tokens=s.completion_tokens,
                finish_reason=s.finish_reason,
                logprobs=s.logprobs,
                token_ids=s.token_ids,
                extra=s.extra,
            )
            for s in got
        ]
    if short:
        shortfall = Shortfall(
            pool_key(pool_provenance(request)),
            request.label,
            n * len(request.problems),
            short,
            short_prompts,
        )
        raise shortfall_error([shortfall])
    return result


def sample_extras(store: SampleStore, request: SampleRequest) -> dict[tuple[str, int], Any]:
    """Extra per-sample fields a backend stored (the replay backend's answers, scores)."""
    pid = pool_id(store, request)
    rows = store.load(pid, [p.prompt for p in request.problems], request.sampling.n)
    ids = {p.prompt: p.id for p in request.problems}
    return {
        (ids[prompt], s.index): s.extra
        for prompt, samples in rows.items()
        for s in samples
        if s.extra
    }


@contextlib.contextmanager
def _file_lock(path: Path, label: str, progress: Progress | None) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the store alone keeps consistency
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if progress is not None:
                progress.note(f"waiting for another process generating with {label}")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
