"""Verifier error-rate bounds and the accuracy ceiling they imply for resampling.

The oracle (ground truth) and the verifier under test judge the same samples. With
``oracle`` and ``verifier`` boolean arrays of the same shape (``[problems, samples]`` or
flat):

- false-positive rate ``FPR = P(verifier accepts | oracle rejects)``,
- false-negative rate ``FNR = P(verifier rejects | oracle accepts)``,

each with an exact Clopper–Pearson bound (``scipy.stats.beta`` quantiles) at the stated
confidence: the upper bound for ``<=``/``<`` claims, the lower bound for ``>=``/``>``.
Plain Clopper–Pearson treats every judged sample as an independent trial. Samples of one
problem are correlated (a verifier fooled by one wrong answer to a problem tends to be
fooled by its other wrong answers), and then the plain bound is too tight:
``bench/gate_calibration.py`` measured coverage 0.82 for a nominal 0.95 on a real pool and
0.83 on strongly clustered synthetic verdicts. With a problem axis (two or more axes) the
gate therefore uses, by default, the Korn–Graubard (1998) variant: Clopper–Pearson at the
effective sample size ``n / deff``, where the design effect ``deff >= 1`` compares the
cluster-robust (ratio-estimator, linearization) variance of the rate over problems with the
binomial variance, times their degrees-of-freedom correction for estimating it from a
finite number of problems (measured coverage 0.95 on the synthetic clustered verdicts, 0.92
on the real pool, whose 72 wrong answers sit in a handful of problems). With no errors (or
only errors) the design effect cannot be estimated and the plain bound is used.

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


def effective_counts(
    errors: ArrayLike, trials: ArrayLike, confidence: float | None = None
) -> tuple[float, float, float]:
    """(effective errors, effective trials, design effect) from per-problem counts.

    The rate is ``r = sum(errors) / sum(trials)``; its cluster-robust variance over the
    ``m`` problems that have trials is ``m / (m - 1) * sum((e_i - r t_i)^2) / n^2``. The
    design effect is that variance over the binomial one, at least 1, and the effective
    size ``n / deff``. With ``confidence``, Korn and Graubard's degrees-of-freedom
    correction shrinks it further by ``(z_c / t_{c, m - 1})^2``, since the variance itself is
    estimated from only ``m`` problems.
    """
    e = np.asarray(errors, dtype=np.float64).reshape(-1)
    t = np.asarray(trials, dtype=np.float64).reshape(-1)
    n, x = float(t.sum()), float(e.sum())
    m = int((t > 0).sum())
    if n == 0 or x in (0.0, n) or m < 2:
        return x, n, 1.0
    r = x / n
    robust = m / (m - 1) * float(((e - r * t) ** 2).sum()) / n**2
    deff = max(1.0, robust / (r * (1 - r) / n))
    if confidence is not None:
        deff *= float(stats.t.ppf(confidence, m - 1) / stats.norm.ppf(confidence)) ** 2
    return r * n / deff, n / deff, deff


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

    ``rates`` maps ``false_positive_rate`` and ``false_negative_rate`` to their ``errors``,
    ``trials``, ``rate``, one-sided ``side`` ``bound`` and ``design_effect``; ``ceilings``
    the accuracy of resampling until the verifier accepts (``observed`` and ``at FPR upper
    bound``). ``flat`` verdicts had no problem axis (the ceiling then uses the overall
    accuracy); ``clustered`` bounds used the Korn–Graubard effective size.
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
    clustered: bool
    flat: bool
    kind: str = "verifier_bound"


def _rates(
    o: NDArray[np.bool_],
    v: NDArray[np.bool_],
    counts: dict[str, int],
    *,
    clustered: bool,
    confidence: float,
    side: str,
) -> dict[str, dict[str, Any]]:
    """Each rate's counts, estimate, one-sided bound and design effect."""
    rates: dict[str, dict[str, Any]] = {}
    per_problem = (o.reshape(o.shape[0], -1), v.reshape(v.shape[0], -1)) if o.ndim >= 2 else None
    for name, errors, trials in (
        ("false_positive_rate", counts["false_positives"], counts["negatives"]),
        ("false_negative_rate", counts["false_negatives"], counts["positives"]),
    ):
        x_eff, n_eff, deff = float(errors), float(trials), 1.0
        if clustered and per_problem is not None:
            po, pv = per_problem
            if name == "false_positive_rate":
                e_i, t_i = (pv & ~po).sum(axis=1), (~po).sum(axis=1)
            else:
                e_i, t_i = (~pv & po).sum(axis=1), po.sum(axis=1)
            x_eff, n_eff, deff = effective_counts(e_i, t_i, confidence)
        lo, hi = clopper_pearson(x_eff, n_eff, confidence, side)
        rates[name] = {
            "errors": errors,
            "trials": trials,
            "rate": errors / trials if trials else float("nan"),
            "bound": float(hi if side == "upper" else lo),
            "design_effect": deff,
        }
    return rates


def check_verifier_bound(
    oracle: ArrayLike,
    verifier: ArrayLike,
    *,
    value: float,
    op: str = "<=",
    metric: RateName = "false_positive_rate",
    confidence: float = 0.95,
    verifier_name: str = "verifier",
    clustered: bool | None = None,
) -> VerifierBoundResult:
    """Is the verifier's FPR (or FNR) ``OP value``, by its Clopper–Pearson bound?

    ``oracle``/``verifier`` are boolean arrays of one shape; with two or more axes the first
    is problems (single-sample accuracy per problem, for the ceiling, is the oracle's mean
    over the others); a flat array is one pool and its ceiling uses the overall accuracy.
    ``clustered`` (default: when there is a problem axis) widens the bound for the
    correlation of samples within a problem (Korn–Graubard, see the module doc).
    """
    op = norm_op(op)
    if op == "=":
        msg = "a rate bound needs <=, <, >= or >, got '='"
        raise ValueError(msg)
    counts = verifier_rates(oracle, verifier)
    o = np.asarray(oracle, dtype=bool)
    v = np.asarray(verifier, dtype=bool)
    if clustered is None:
        clustered = o.ndim >= 2
    if clustered and o.ndim < 2:
        msg = "clustered bounds need a problem axis: verdicts shaped [problems, samples]"
        raise ValueError(msg)
    side = "upper" if op in ("<=", "<") else "lower"
    rates = _rates(o, v, counts, clustered=clustered, confidence=confidence, side=side)
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
        fpr_hi = fpr["bound"]
        if side != "upper":
            _, hi_arr = clopper_pearson(fpr["errors"], fpr["trials"], confidence, "upper")
            fpr_hi = float(hi_arr)
        ceilings["at FPR upper bound"] = float(accuracy_ceiling(p, float(fpr_hi), fnr_rate).mean())
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
        clustered=bool(clustered),
        flat=o.ndim < 2,
    )
