"""Verifier error-rate bounds and the accuracy ceiling they imply for resampling.

The oracle (ground truth) and the verifier under test judge the same samples. With
``oracle`` and ``verifier`` boolean arrays of the same shape (``[problems, samples]`` or
flat):

- false-positive rate ``FPR = P(verifier accepts | oracle rejects)``,
- false-negative rate ``FNR = P(verifier rejects | oracle accepts)``,

each with a one-sided bound at the stated confidence: the upper bound for ``<=``/``<``
claims, the lower bound for ``>=``/``>``.

Samples of one problem are correlated: a verifier fooled by one wrong answer to a problem
tends to be fooled by its other wrong answers, and a model that errs on a problem errs there
many times. A bound that counts every judged sample as an independent trial is then too
tight (``bench/gate_calibration.py`` measured coverage 0.82 for a nominal 0.95 on a real
pool). Widening it by a design effect over problem clusters (Korn–Graubard) reached 0.95 on
synthetic clustered verdicts but only 0.92 on the real MATH pool, whose 72 wrong answers sit
in 14 problems: no method that leans on the number of samples can hold its level when the
information is in a dozen problems.

So with a problem axis (verdicts shaped ``[problems, samples]``) the rate is a **per-problem**
one, and the bound needs nothing but independent problems:

- the estimand is the mean, over problems with at least one sample of the conditioning kind
  (a wrong answer, for the FPR), of the share of those samples the verifier gets wrong. In
  words: *pick a problem on which the model produced wrong answers, and one of its wrong
  answers at random; the FPR is the chance the verifier accepts it.* Every such problem
  weighs the same, however many wrong answers it has; the per-sample (pooled) rate is
  reported beside it.
- the bound is the hedged-capital betting bound of Waudby-Smith & Ramdas
  (``pytest_tts.estimate.confseq.betting_upper_bound``) on those per-problem shares, each in
  [0, 1]: valid at any number of problems (not only asymptotically) and for any
  distribution of the shares, so for any correlation inside a problem. Coverage measured
  in ``bench/gate_calibration.py``: at least 0.995 on every scenario, 0.9998 on the real
  MATH pool, with a mean bound 0.42 there against Korn–Graubard's 0.41 (which covered
  0.926).

Flat verdicts (one axis) have no problems to cluster by: every sample is an independent
trial and the bound is the exact Clopper–Pearson one (``scipy.stats.beta`` quantiles) on the
pooled counts; ``per_problem=False`` asks for that with a problem axis too.

The accuracy ceiling ("Inference Scaling fLaws"): resample a problem until the verifier
accepts, and answer with the accepted sample. A sample is correct with probability ``p``
(the problem's single-sample accuracy); it is accepted with probability ``p (1 - FNR)`` if
correct and ``(1 - p) FPR`` if wrong (verdicts depending on the sample only through its
correctness). Draws are independent, so the first accepted draw is distributed as any
draw conditioned on acceptance, and by Bayes' rule

    P(correct | accepted) = p (1 - FNR) / (p (1 - FNR) + (1 - p) FPR).

With unbounded samples some draw is accepted with probability 1 (when the denominator is
positive), so this is the problem's accuracy in the limit, whatever the budget: a verifier
with ``FPR > 0`` caps accuracy below 1 on every problem with ``p < 1``. A problem where no
sample can be accepted (denominator 0) never yields an answer and counts as wrong. The
reported ceiling is the mean over problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from pytest_tts.estimate.confseq import betting_upper_bound
from pytest_tts.gates._stats import OPS, check_level, norm_op

RateName = Literal["false_positive_rate", "false_negative_rate"]


def clopper_pearson(
    successes: ArrayLike, trials: ArrayLike, confidence: float, side: str = "two-sided"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact binomial interval (lo, hi) at ``confidence``; ``side`` lower/upper/two-sided.

    One-sided intervals are [lo, 1] or [0, hi]. ``trials == 0`` gives [0, 1].
    """
    check_level(confidence)
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if np.any(x < 0) or np.any(x > n):
        msg = "successes must lie in [0, trials]"
        raise ValueError(msg)
    tail = (1.0 - confidence) / 2 if side == "two-sided" else 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(x > 0, stats.beta.ppf(tail, np.maximum(x, 1e-300), n - x + 1), 0.0)
        hi = np.where(x < n, stats.beta.ppf(1 - tail, x + 1, np.maximum(n - x, 1e-300)), 1.0)
    if side == "upper":
        lo = np.zeros_like(lo)
    elif side == "lower":
        hi = np.ones_like(hi)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def accuracy_ceiling(p: ArrayLike, fpr: float, fnr: float = 0.0) -> NDArray[np.float64]:
    """Per-problem accuracy of resampling until the verifier accepts (see the module doc)."""
    pa = np.asarray(p, dtype=np.float64)
    good = pa * (1.0 - fnr)
    bad = (1.0 - pa) * fpr
    denom = good + bad
    out: NDArray[np.float64] = np.where(denom > 0, good / np.where(denom > 0, denom, 1.0), 0.0)
    return out


def verifier_rates(oracle: ArrayLike, verifier: ArrayLike) -> dict[str, int]:
    """Counts: oracle negatives/positives and the verifier's false positives/negatives."""
    o = np.asarray(oracle, dtype=bool)
    v = np.asarray(verifier, dtype=bool)
    if o.shape != v.shape:
        msg = f"oracle and verifier verdicts must have the same shape, got {o.shape} and {v.shape}"
        raise ValueError(msg)
    return {
        "negatives": int((~o).sum()),
        "false_positives": int((v & ~o).sum()),
        "positives": int(o.sum()),
        "false_negatives": int((~v & o).sum()),
    }


@dataclass(frozen=True, eq=False)
class VerifierBoundResult:
    """The numbers of a verifier-rate bound; ``pytest_tts.report.gates`` renders them.

    ``rates`` maps ``false_positive_rate`` and ``false_negative_rate`` to their sample
    ``errors`` and ``trials``, ``rate`` (per problem when ``per_problem``, else pooled over
    samples), ``sample_rate`` (pooled), ``problems`` (those with trials), and the one-sided
    ``side`` ``bound``; ``ceilings`` the accuracy of resampling until the verifier accepts
    (``observed`` and ``at FPR upper bound``). ``flat`` verdicts had no problem axis (the
    ceiling then uses the overall accuracy). ``estimate_passes``: the point estimate meets
    the claim, whatever the bound says.
    """

    passed: bool
    metric: RateName
    op: str
    value: float
    verifier_name: str
    confidence: float
    side: str
    rates: dict[str, dict[str, Any]]
    ceilings: dict[str, float]
    single_sample_accuracy: float
    per_problem: bool
    flat: bool
    estimate_passes: bool = False
    kind: str = "verifier_bound"


def rate_bound(
    errors: ArrayLike, trials: ArrayLike, confidence: float, side: str, *, per_problem: bool
) -> tuple[float, float, int]:
    """(rate, one-sided ``side`` bound, problems with trials) from per-problem counts.

    ``per_problem``: the mean of ``errors / trials`` over problems with trials, bounded by
    betting; otherwise the pooled ``sum(errors) / sum(trials)`` by Clopper-Pearson.
    """
    e = np.asarray(errors, dtype=np.float64).reshape(-1)
    t = np.asarray(trials, dtype=np.float64).reshape(-1)
    has = t > 0
    problems = int(has.sum())
    if not problems:
        return float("nan"), 1.0 if side == "upper" else 0.0, 0
    if not per_problem:
        lo, hi = clopper_pearson(e.sum(), t.sum(), confidence, side)
        return float(e.sum() / t.sum()), float(hi if side == "upper" else lo), problems
    shares = e[has] / t[has]
    alpha = 1.0 - confidence
    if side == "upper":
        bound = betting_upper_bound(shares, alpha)
    else:
        bound = 1.0 - betting_upper_bound(1.0 - shares, alpha)
    return float(shares.mean()), float(bound), problems


def _counts(
    o: NDArray[np.bool_], v: NDArray[np.bool_], name: str
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per-problem (errors, trials) of one rate; flat verdicts are one problem."""
    po, pv = (
        (o.reshape(o.shape[0], -1), v.reshape(v.shape[0], -1))
        if o.ndim >= 2
        else (
            o.reshape(1, -1),
            v.reshape(1, -1),
        )
    )
    if name == "false_positive_rate":
        return (pv & ~po).sum(axis=1), (~po).sum(axis=1)
    return (~pv & po).sum(axis=1), po.sum(axis=1)


def check_verifier_bound(
    oracle: ArrayLike,
    verifier: ArrayLike,
    *,
    value: float,
    op: str = "<=",
    metric: RateName = "false_positive_rate",
    confidence: float = 0.95,
    verifier_name: str = "verifier",
    per_problem: bool | None = None,
) -> VerifierBoundResult:
    """Is the verifier's FPR (or FNR) ``OP value``, by its one-sided bound?

    ``oracle``/``verifier`` are boolean arrays of one shape; with two or more axes the first
    is problems (single-sample accuracy per problem, for the ceiling, is the oracle's mean
    over the others); a flat array is one pool and its ceiling uses the overall accuracy.
    ``per_problem`` (default: when there is a problem axis) bounds the per-problem rate by
    betting; otherwise the pooled rate by Clopper-Pearson (see the module doc).
    """
    check_level(confidence)
    op = norm_op(op)
    if op == "=":
        msg = "a rate bound needs <=, <, >= or >, got '='"
        raise ValueError(msg)
    counts = verifier_rates(oracle, verifier)
    o = np.asarray(oracle, dtype=bool)
    v = np.asarray(verifier, dtype=bool)
    if per_problem is None:
        per_problem = o.ndim >= 2
    if per_problem and o.ndim < 2:
        msg = "per-problem bounds need a problem axis: verdicts shaped [problems, samples]"
        raise ValueError(msg)
    side = "upper" if op in ("<=", "<") else "lower"
    rates: dict[str, dict[str, Any]] = {}
    fpr_upper = 1.0
    for name, errors, trials in (
        ("false_positive_rate", counts["false_positives"], counts["negatives"]),
        ("false_negative_rate", counts["false_negatives"], counts["positives"]),
    ):
        e_i, t_i = _counts(o, v, name)
        rate, bound, problems = rate_bound(e_i, t_i, confidence, side, per_problem=per_problem)
        rates[name] = {
            "errors": errors,
            "trials": trials,
            "rate": rate,
            "sample_rate": errors / trials if trials else float("nan"),
            "problems": problems,
            "bound": bound,
        }
        if name == "false_positive_rate":
            fpr_upper = (
                bound
                if side == "upper"
                else rate_bound(e_i, t_i, confidence, "upper", per_problem=per_problem)[1]
            )
    target = rates[metric]
    passed = target["trials"] > 0 and OPS[op](target["bound"], float(value))
    fpr = rates["false_positive_rate"]
    fnr = rates["false_negative_rate"]
    if o.ndim >= 2:
        p = o.reshape(o.shape[0], -1).mean(axis=1)
    else:
        p = np.array([o.mean()]) if o.size else np.array([0.0])
    fnr_rate = 0.0 if np.isnan(fnr["rate"]) else float(fnr["rate"])
    ceilings: dict[str, float] = {}
    if fpr["trials"]:
        ceilings["observed"] = float(accuracy_ceiling(p, float(fpr["rate"]), fnr_rate).mean())
        ceilings["at FPR upper bound"] = float(accuracy_ceiling(p, fpr_upper, fnr_rate).mean())
    return VerifierBoundResult(
        passed=bool(passed),
        metric=metric,
        op=op,
        value=float(value),
        verifier_name=verifier_name,
        confidence=confidence,
        side=side,
        rates=rates,
        ceilings=ceilings,
        single_sample_accuracy=float(p.mean()),
        per_problem=bool(per_problem),
        flat=o.ndim < 2,
        estimate_passes=bool(target["trials"] > 0 and OPS[op](float(target["rate"]), value)),
    )
