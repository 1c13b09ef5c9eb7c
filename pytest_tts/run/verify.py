"""Stage 3, verify: samples to verdicts to the per-problem arrays the estimators read.

In: the filled pools, the store and the run's :class:`Instances`. Out: each pool's
``arrays`` (correctness by the oracle, every verifier's verdicts, token counts), its token
and FLOPs totals and its reused-sample count. Verdicts are cached in the store under the
verifier's identity and a fingerprint of each problem's reference, so an edited dataset
re-verifies and a warm run calls no verifier.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pytest_tts.errors import TTSError, VerifierError

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_tts.run.instances import Instances
    from pytest_tts.run.plan import PoolState
    from pytest_tts.spec import VerifierRef
    from pytest_tts.store import SampleStore
    from pytest_tts.types import Problem, Sample, Verdict


class _Unjudged:
    """The verdict of a pool without an oracle: only verifier-free expectations can run."""

    accepted = False
    score = 0.0
    answer = None
    step_scores = None
    detail = "no oracle"


_UNJUDGED: Any = _Unjudged()


def verify_pools(pools: Sequence[PoolState], store: SampleStore, instances: Instances) -> None:
    """Verdicts of the oracle and every verifier on each ready pool, then its arrays and
    totals; a pool whose samples or verdicts fail keeps the error."""
    from pytest_tts.estimate.pool import pool_from_samples
    from pytest_tts.generate import load_samples, pool_id

    for pool in pools:
        if not pool.ready:
            continue
        assert pool.request is not None
        try:
            by_problem = load_samples(store, pool.request)
            samples = [s for p in pool.problems for s in by_problem[p.id]]
            pid = pool_id(store, pool.request)
            problems = {p.id: p for p in pool.problems}
            verdicts = {
                name: verdicts_of(instances, store, pid, ref, samples, problems, pool.base_dir)
                for name, ref in pool.verifiers.items()
            }
            pool.problem_errors = {
                name: errors
                for name, found in verdicts.items()
                if (errors := problem_errors(samples, found))
            }
            oracle = pool.spec.oracle
            oracle_verdicts = (
                [_UNJUDGED] * len(samples) if oracle is None else verdicts[oracle.name]
            )
            pool.arrays = pool_from_samples(
                samples,
                oracle_verdicts,
                verdicts,
                n=pool.request.sampling.n,  # an adaptive round may read fewer than the spec's
                problem_ids=[p.id for p in pool.problems],
            )
            pool.tokens = int(
                sum(s.completion_tokens for s in samples)
                + sum(by_problem[p.id][0].prompt_tokens for p in pool.problems)
            )
        except TTSError as exc:
            if isinstance(exc, VerifierError) and pool.label not in str(exc):
                exc = VerifierError(f"pool {pool.label}: {exc}")
            pool.error = exc
    for pool in pools:
        if pool.arrays is not None:
            total = pool.arrays.n_problems * pool.arrays.n_samples
            pool.reused = max(total - pool.generated, 0)
            pool.flops = pool_flops(pool, instances)


def problem_errors(samples: Sequence[Sample], verdicts: Sequence[Verdict]) -> dict[str, str]:
    """Problems whose samples a verifier could not judge (``Verdict.error``), with why."""
    found: dict[str, str] = {}
    for sample, verdict in zip(samples, verdicts, strict=True):
        if verdict.error and sample.problem_id not in found:
            found[sample.problem_id] = verdict.detail
    return found


def verdicts_of(
    instances: Instances,
    store: SampleStore,
    pool_id: int,
    ref: VerifierRef,
    samples: list[Sample],
    problems: Mapping[str, Problem],
    base_dir: Path,
) -> list[Verdict]:
    """Verdicts of one verifier on the pool's samples, from the store where cached."""
    from pytest_tts.verifiers.cache import verify_cached

    verifier = instances.verifier(ref, base_dir)
    items = [(problems[s.problem_id], s) for s in samples]
    verdicts = verify_cached(verifier, store, pool_id, items)
    if len(verdicts) != len(items):
        msg = f"verifier {ref.name} returned {len(verdicts)} verdicts for {len(items)} samples"
        raise VerifierError(msg)
    return verdicts


def pool_flops(pool: PoolState, instances: Instances) -> float:
    """FLOPs of generating the whole pool (prefill once per prompt, every decode); NaN when
    the model's size is unknown."""
    assert pool.arrays is not None
    try:
        flops = instances.flops_fn(instances.backend(pool.model, pool.base_dir))
    except TTSError:
        return math.nan
    if flops is None:
        return math.nan
    arrays = pool.arrays
    total = 0.0
    for p in range(arrays.n_problems):
        total += flops(
            float(arrays.prompt_tokens[p]),
            float(arrays.completion_tokens[p].sum()),
            arrays.n_samples,
        )
    return total


def problem_error_report(
    pool: PoolState, names: Sequence[str], instances: Instances
) -> tuple[str, bool]:
    """What an item reading verifiers ``names`` on ``pool`` must say of problems they could
    not judge: a note listing them (empty when none), and whether any verifier has more
    than it tolerates (its ``tolerated_errors``, 0 by default): then the item fails."""
    lines = []
    over = False
    for name in dict.fromkeys(names):
        errors = pool.problem_errors.get(name, {})
        if not errors:
            continue
        ref = pool.verifiers[name]
        allowed = int(getattr(instances.verifier(ref, pool.base_dir), "tolerated_errors", 0))
        over = over or len(errors) > allowed
        shown = "; ".join(f"{pid}: {why}" for pid, why in list(errors.items())[:5])
        more = f"; … {len(errors) - 5} more" if len(errors) > 5 else ""
        lines.append(
            f"{name} could not judge {len(errors)} of {len(pool.problems)} problems "
            f"(counted as wrong; {allowed} tolerated): {shown}{more}"
        )
    return "\n".join(lines), over
