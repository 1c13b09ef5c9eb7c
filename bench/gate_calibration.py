"""Measured error rates of the gates: false alarms, power, and bound coverage.

(a) false-alarm rate of the regression gate under no change (and with a true drop exactly
    equal to the tolerance), over many simulated or resampled re-runs, with a
    Clopper-Pearson interval; it must not exceed the nominal alpha;
(b) power to detect drops of 1, 2, 3 and 5 points at 200 and 1,000 problems, beside the
    power `pytest-tts plan` predicts;
(c) coverage of the Clopper-Pearson false-positive-rate bound, for independent verdicts and
    for verdicts clustered by problem (real pool).

Scenarios: synthetic pools (Binomial/Bernoulli samples, 8 per problem) and, when present,
the real pool ../shared/data/qwen_math_cot_100.jsonl (100 MATH problems x 8 samples with
correctness flags and reward scores) resampled: "no change" splits each problem's 8
samples into two disjoint random halves of 4; a drop flips correct samples of the current
half to wrong. Problems are resampled with replacement to reach 200 and 1,000.

Pools of the bundled model (models/tiny-arith): complete pools found in
.tts-cache/samples.sqlite are used as they are; with `--tiny-model` (and none cached) the
script generates one, 200 test problems x 16 samples through the vLLM backend, and resamples
it the same way.

The Holm path runs through the same vectorized function the gate uses
(`regression_pvalues`); the bench checks on a few re-runs that the public
`check_regression` reaches the same verdicts. Run: `python bench/gate_calibration.py
[--tiny-model] [--write]` (`--write` appends the tables to bench/RESULTS.md). About two
minutes of CPU without the model pool.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.special import comb
from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_tts.estimate.confseq import betting_upper_bound  # noqa: E402
from pytest_tts.gates.planning import difference_sd, power_at  # noqa: E402
from pytest_tts.gates.regression import check_regression, regression_pvalues  # noqa: E402
from pytest_tts.gates.verifier_bound import clopper_pearson  # noqa: E402

POOL = ROOT.parent / "shared" / "data" / "qwen_math_cot_100.jsonl"
CACHE = ROOT / ".tts-cache" / "samples.sqlite"
ALPHA = 0.05
SEED = 20261122
CHUNK = 100  # re-runs per vectorized batch (memory: CHUNK x P x K floats)

Gen = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]


def pass_at_k_table(n: int, ks: list[int]) -> np.ndarray:
    """table[c, j] = unbiased pass@k_j from c correct of n samples."""
    c = np.arange(n + 1)[:, None]
    k = np.array(ks)[None, :]
    return 1.0 - comb(n - c, k) / comb(n, k)


def rate_ci(hits: int, total: int) -> str:
    lo, hi = clopper_pearson(hits, total, 0.95, "two-sided")
    return f"{hits / total:.4f} [{float(lo):.4f}, {float(hi):.4f}]"


# ---------------------------------------------------------------- scenario generators


def synthetic_passk(problems: int, drop: float = 0.0) -> Gen:
    """pass@k (k = 1, 2, 4, 8) from 8 Binomial samples; theta ~ Beta(0.7, 0.5) per problem.

    A drop lowers every problem's single-sample accuracy by ``drop`` (clipped at 0).
    """
    ks = [1, 2, 4, 8]
    table = pass_at_k_table(8, ks)

    def gen(rng: np.random.Generator, reps: int) -> tuple[np.ndarray, np.ndarray]:
        theta = rng.beta(0.7, 0.5, (reps, problems))
        base = table[rng.binomial(8, theta)]
        cur = table[rng.binomial(8, np.clip(theta - drop, 0, 1))]
        return base, cur

    return gen


def synthetic_curve(problems: int, drop: float) -> Gen:
    """A rising accuracy curve at 4 budget points, 8 samples per point, coupled across points.

    theta_ij = base_i + lift_j with base_i ~ U(0.1, 0.75); the current run has theta - drop
    at every point exactly (no clipping: theta stays in [0.1, 0.9]), so ``drop`` equal to the
    tolerance is the boundary of the null hypothesis at every point at once.
    """
    lift = np.array([0.0, 0.05, 0.1, 0.15])

    def draw(rng: np.random.Generator, theta: np.ndarray) -> np.ndarray:
        u = rng.random((*theta.shape[:2], 8, 1))  # one uniform per sample, shared by all points
        return (u < theta[:, :, None, :]).mean(axis=2)

    def gen(rng: np.random.Generator, reps: int) -> tuple[np.ndarray, np.ndarray]:
        theta = rng.uniform(0.1, 0.75, (reps, problems, 1)) + lift
        return draw(rng, theta), draw(rng, theta - drop)

    return gen


def real_pool() -> np.ndarray | None:
    if not POOL.exists():
        return None
    rows = [json.loads(line) for line in POOL.read_text(encoding="utf-8").splitlines() if line]
    return np.array([r["score"] for r in rows], dtype=bool)


def resampled_pool(pool: np.ndarray, problems: int, drop: float = 0.0) -> Gen:
    """Disjoint random halves of each real problem's n samples; pass@k from n/2 samples.

    k runs over the powers of two up to n/2. With ``problems`` != the pool's size, problems
    are drawn with replacement. A drop flips each correct sample of the current half to
    wrong with probability q, chosen so that the mean single-sample accuracy drops by
    ``drop`` in expectation.
    """
    half = pool.shape[1] // 2
    ks = [k for k in (1, 2, 4, 8, 16, 32) if k <= half]
    table = pass_at_k_table(half, ks)
    q = drop / pool.mean() if drop else 0.0

    def gen(rng: np.random.Generator, reps: int) -> tuple[np.ndarray, np.ndarray]:
        if problems == pool.shape[0]:
            idx = np.broadcast_to(np.arange(problems), (reps, problems))
        else:
            idx = rng.integers(0, pool.shape[0], (reps, problems))
        flags = pool[idx]  # [reps, P, n]
        order = np.argsort(rng.random(flags.shape), axis=-1)
        flags = np.take_along_axis(flags, order, axis=-1)
        base_c = flags[..., :half].sum(-1)
        cur = flags[..., half : 2 * half]
        if q:
            cur = cur & (rng.random(cur.shape) >= q)
        return table[base_c], table[cur.sum(-1)]

    return gen


def tiny_model_pools(min_problems: int = 50, min_samples: int = 4) -> list[tuple[str, np.ndarray]]:
    """Verdict flags [P, n] of pools in .tts-cache/samples.sqlite (one per pool and verifier).

    Only complete pools (every prompt judged on the same number of samples) of at least
    ``min_problems`` prompts and ``min_samples`` samples count.
    """
    if not CACHE.exists():
        return []
    out: list[tuple[str, np.ndarray]] = []
    try:
        con = sqlite3.connect(f"file:{CACHE}?mode=ro", uri=True)
        rows = con.execute(
            "select pool, verifier, prompt, idx, accepted from verdicts "
            "order by pool, verifier, prompt, idx"
        ).fetchall()
        con.close()
    except sqlite3.Error:
        return []
    groups: dict[tuple[int, str], dict[int, list[bool]]] = {}
    for pool, verifier, prompt, _idx, accepted in rows:
        groups.setdefault((pool, verifier), {}).setdefault(prompt, []).append(bool(accepted))
    for (pool, verifier), prompts in groups.items():
        sizes = {len(v) for v in prompts.values()}
        if len(prompts) >= min_problems and len(sizes) == 1 and min(sizes) >= min_samples:
            flags = np.array(list(prompts.values()), dtype=bool)
            out.append((f"tiny model pool {pool}, verifier {verifier}", flags))
    return out


def generate_tiny_pool(samples: int = 16) -> tuple[str, np.ndarray] | None:
    """A fresh pool of the bundled model: 200 test problems x ``samples``, judged correct or not.

    Runs the real vLLM engine through the project's backend (temperature 1.0, per-prompt
    seeds); None when the model has not been trained into models/tiny-arith yet.
    """
    model = ROOT / "models" / "tiny-arith"
    data = ROOT / "data" / "arith-test.jsonl"
    if not (model / "model.safetensors").exists() or not data.exists():
        return None
    from pytest_tts.backends.base import GenerationRequest, prompt_seed
    from pytest_tts.backends.vllm import VLLMBackend
    from pytest_tts.spec import Sampling
    from pytest_tts.tasks.arith import format_prompt, is_correct

    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line]
    sampling = Sampling(n=samples, temperature=1.0, max_tokens=40, seed=0)
    requests = [
        GenerationRequest(
            tag=i,
            prompt=format_prompt(r["question"]),
            n=samples,
            first_index=0,
            seed=prompt_seed(0, format_prompt(r["question"])),
            sampling=sampling,
            problem_id=r["id"],
        )
        for i, r in enumerate(rows)
    ]
    backend = VLLMBackend(model, {"dtype": "float32", "max_model_len": 64})
    flags = np.zeros((len(rows), samples), dtype=bool)
    try:
        for result in backend.generate(requests):
            i = result.request.tag
            assert isinstance(i, int)
            flags[i] = [is_correct(rows[i]["question"], c.text) for c in result.completions]
    finally:
        backend.close()
    return f"bundled tiny-arith, fresh pool (vLLM, T=1.0, {len(rows)} x {samples})", flags


def studentized_maxt(drop: np.ndarray, tolerance: float, resamples: int, seed: int) -> np.ndarray:
    """The re-studentized max-T variant the gate does not use (kept to show why)."""
    from pytest_tts.gates._stats import bootstrap_counts
    from pytest_tts.gates.regression import paired_t

    n = drop.shape[0]
    mean, se, t, p_exact = paired_t(drop, tolerance)
    flat = se <= 1e-12
    counts = bootstrap_counts(n, resamples, np.random.default_rng(seed))
    m1 = counts @ drop / n
    var = np.maximum(counts @ drop**2 / n - m1**2, 0.0) * n / max(n - 1, 1)
    se_b = np.sqrt(var / n)
    centred = m1 - mean
    tiny = se_b <= 1e-12
    t_b = np.zeros_like(centred)
    t_b[~tiny] = centred[~tiny] / se_b[~tiny]
    t_b[tiny & (centred > 1e-12)] = np.inf
    t_b[tiny & (centred < -1e-12)] = -np.inf
    t_b[:, flat] = -np.inf
    worst = t_b.max(axis=1)
    p = (1.0 + (worst[:, None] >= t[None, :]).sum(axis=0)) / (resamples + 1.0)
    return np.where(flat, p_exact, p)


# ---------------------------------------------------------------- running the gate


def batches(gen: Gen, reps: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    done = 0
    while done < reps:
        m = min(CHUNK, reps - done)
        yield gen(rng, m)
        done += m


def rejection_rate(gen: Gen, reps: int, tolerance: float, seed: int) -> tuple[int, int]:
    """How often the Holm regression gate fails over ``reps`` re-runs."""
    hits = 0
    checked = False
    for base, cur in batches(gen, reps, seed):
        _, _, p_adj = regression_pvalues(base - cur, tolerance, method="holm")
        reject = (p_adj <= ALPHA).any(axis=-1)
        hits += int(reject.sum())
        if not checked:  # the public gate must agree with the vectorized path
            ks = list(range(1, base.shape[-1] + 1))
            for r in range(min(10, base.shape[0])):
                gate = check_regression(cur[r], base[r], ks=ks, tolerance=tolerance)
                assert gate.passed == (not reject[r]), "gate and vectorized path disagree"
            checked = True
    return hits, reps


def rejection_rate_maxt(
    gen: Gen, reps: int, tolerance: float, seed: int, resamples: int, studentized: bool = False
) -> tuple[int, int]:
    hits = 0
    for i, (base, cur) in enumerate(batches(gen, reps, seed)):
        for r in range(base.shape[0]):
            s = seed + 1000 * i + r
            if studentized:
                p = studentized_maxt(base[r] - cur[r], tolerance, resamples, s)
            else:
                _, _, p = regression_pvalues(
                    base[r] - cur[r], tolerance, method="maxt", resamples=resamples, seed=s
                )
            hits += int((p <= ALPHA).any())
    return hits, reps


# ---------------------------------------------------------------- the three studies


def study_false_alarms(
    pools: list[tuple[str, np.ndarray]], reps: int, maxt_reps: int
) -> list[list[str]]:
    rows: list[list[str]] = []
    cases: list[tuple[str, int, Gen, float]] = []
    for p in (200, 1000):
        cases.append(
            ("synthetic pass@k, Beta(0.7, 0.5), 8 samples, k=1,2,4,8", p, synthetic_passk(p), 0.0)
        )
        cases.append(
            (
                "synthetic curve, 4 points, true drop = tolerance 0.02",
                p,
                synthetic_curve(p, 0.02),
                0.02,
            )
        )
    for label, pool in pools:
        n = pool.shape[1]
        for p in sorted({pool.shape[0], 200, 1000}):
            cases.append(
                (f"{label}: disjoint halves of {n} samples", p, resampled_pool(pool, p), 0.0)
            )
        cases.append(
            (
                f"{label}: halves, accuracy drop = tolerance 0.02",
                1000,
                resampled_pool(pool, 1000, 0.02),
                0.02,
            )
        )
    for i, (name, p, gen, tol) in enumerate(cases):
        hits, total = rejection_rate(gen, reps, tol, SEED + i)
        rows.append([name, str(p), f"{tol:g}", "Holm t", str(total), rate_ci(hits, total)])
        if maxt_reps:
            hits, total = rejection_rate_maxt(gen, maxt_reps, tol, SEED + 100 + i, resamples=400)
            rows.append(
                [
                    name,
                    str(p),
                    f"{tol:g}",
                    "max-T bootstrap (400)",
                    str(total),
                    rate_ci(hits, total),
                ]
            )
        if maxt_reps and p == 200 and (tol or "halves" in name):
            hits, total = rejection_rate_maxt(
                gen, maxt_reps, tol, SEED + 200 + i, resamples=400, studentized=True
            )
            rows.append(
                [
                    name,
                    str(p),
                    f"{tol:g}",
                    "re-studentized max-T (not used)",
                    str(total),
                    rate_ci(hits, total),
                ]
            )
    return rows


def study_power(pools: list[tuple[str, np.ndarray]], reps: int, maxt_reps: int) -> list[list[str]]:
    rows: list[list[str]] = []
    for p in (200, 1000):
        for drop in (0.01, 0.02, 0.03, 0.05):
            gen = synthetic_curve(p, drop)
            hits, total = rejection_rate(gen, reps, 0.0, SEED + int(drop * 1000) + p)
            maxt = "-"
            if maxt_reps:
                mh, mt = rejection_rate_maxt(
                    gen, maxt_reps, 0.0, SEED + 3 + p + int(drop * 1000), resamples=400
                )
                maxt = rate_ci(mh, mt)
            # The plan's model: per point 8 samples, mu_i (1 - mu_i) averaged over the curve.
            theta = np.random.default_rng(0).uniform(0.1, 0.75, (200_000, 1)) + np.array(
                [0, 0.05, 0.1, 0.15]
            )
            mu_var = float((theta * (1 - theta)).mean())
            planned = power_at(
                p, drop=drop, sd=difference_sd(mu_var, k=1, samples=8), alpha=ALPHA, points=4
            )
            row = [
                "synthetic curve (4 points, 8 samples)",
                str(p),
                f"{drop:g}",
                rate_ci(hits, total),
                maxt,
                f"{planned:.3f}",
            ]
            rows.append(row)
    for label, pool in pools:
        n = pool.shape[1]
        half = n // 2
        points = len([k for k in (1, 2, 4, 8, 16, 32) if k <= half])
        acc_var = float((pool.mean(1) * (1 - pool.mean(1))).mean() * n / (n - 1))
        for p in (200, 1000):
            for drop in (0.01, 0.02, 0.03, 0.05):
                gen = resampled_pool(pool, p, drop)
                hits, total = rejection_rate(gen, reps, 0.0, SEED + 7 + int(drop * 1000) + p)
                maxt = "-"
                if maxt_reps:
                    mh, mt = rejection_rate_maxt(
                        gen, maxt_reps, 0.0, SEED + 5 + p + int(drop * 1000), resamples=400
                    )
                    maxt = rate_ci(mh, mt)
                sd = difference_sd(acc_var, k=1, samples=half)
                planned = power_at(p, drop=drop, sd=sd, alpha=ALPHA, points=points)
                name = f"{label}: halves of {n} samples"
                rows.append(
                    [name, str(p), f"{drop:g}", rate_ci(hits, total), maxt, f"{planned:.3f}"]
                )
    return rows


def kg_bounds(fp: np.ndarray, neg: np.ndarray, conf: float) -> np.ndarray:
    """Korn-Graubard bounds on the pooled rate (the gate before per-problem rates), per
    re-run: counts fp/neg float[reps, problems]; NaN where a re-run has no negatives."""
    out = np.full(fp.shape[0], np.nan)
    for r, (e_i, t_i) in enumerate(zip(fp, neg, strict=True)):
        if t_i.sum() == 0:
            continue
        x, n, _ = effective_counts(e_i, t_i, conf)
        out[r] = float(clopper_pearson(x, n, conf, "upper")[1])
    return out


def betting_bounds(fp: np.ndarray, neg: np.ndarray, conf: float) -> np.ndarray:
    """The gate's per-problem betting bounds, per re-run; NaN where there are no negatives."""
    out = np.full(fp.shape[0], np.nan)
    for r, (e_i, t_i) in enumerate(zip(fp, neg, strict=True)):
        has = t_i > 0
        if has.any():
            out[r] = betting_upper_bound(e_i[has] / t_i[has], 1.0 - conf)
    return out


def coverage_cells(bounds: np.ndarray, truth: float) -> list[str]:
    ok = ~np.isnan(bounds)
    covered = int((bounds[ok] >= truth).sum())
    return [f"{truth:.3f}", rate_ci(covered, int(ok.sum())), f"{np.nanmean(bounds):.3f}"]


def effective_counts(
    errors: np.ndarray, trials: np.ndarray, confidence: float
) -> tuple[float, float, float]:
    """Korn-Graubard effective (errors, trials, design effect): the pooled rate's
    cluster-robust variance over the binomial one, times the degrees-of-freedom correction
    (z_c / t_{c, m-1})^2 (the bound the gate used before per-problem rates)."""
    e, t = errors.astype(float), trials.astype(float)
    n, x = float(t.sum()), float(e.sum())
    m = int((t > 0).sum())
    if n == 0 or x in (0.0, n) or m < 2:
        return x, n, 1.0
    r = x / n
    robust = m / (m - 1) * float(((e - r * t) ** 2).sum()) / n**2
    deff = max(1.0, robust / (r * (1 - r) / n))
    deff *= float(stats.t.ppf(confidence, m - 1) / stats.norm.ppf(confidence)) ** 2
    return r * n / deff, n / deff, deff


def study_fpr_coverage(
    pools: list[tuple[str, np.ndarray]], reps: int, scores: np.ndarray | None, cluster_reps: int
) -> tuple[list[list[str]], list[list[str]]]:
    """(flat rows, clustered rows) of table (c)."""
    flat: list[list[str]] = []
    rng = np.random.default_rng(SEED)
    conf = 0.95
    for fpr in (0.02, 0.05, 0.2):
        for n in (50, 200, 1000):
            x = rng.binomial(n, fpr, reps)
            _, hi = clopper_pearson(x, np.full(reps, n), conf, "upper")
            covered = int((hi >= fpr).sum())
            flat.append([f"{n} independent verdicts", f"{fpr:g}", rate_ci(covered, reps)])
    rows: list[list[str]] = []
    # Clustered: per-problem FPR_i ~ Beta; Beta(1e6, 9e6) is (nearly) no clustering. The
    # pooled and the per-problem truths are both the Beta mean here.
    scenarios = [
        (100, (8, 9), 1e6, 9e6, "100 problems x 8 wrong answers, independent"),
        (100, (8, 9), 1.0, 9.0, "100 problems x 8 wrong answers, FPR_i ~ Beta(1, 9)"),
        (100, (8, 9), 0.2, 1.8, "100 problems x 8 wrong answers, FPR_i ~ Beta(0.2, 1.8)"),
        (14, (1, 9), 0.3, 1.2, "14 problems x 1-8 wrong answers, FPR_i ~ Beta(0.3, 1.2)"),
    ]
    for problems, (lo, hi_), a, b, label in scenarios:
        f_i = rng.beta(a, b, (cluster_reps, problems))
        neg = rng.integers(lo, hi_, (cluster_reps, problems)).astype(float)
        fp = rng.binomial(neg.astype(int), f_i).astype(float)
        truth = a / (a + b)
        # pooled truth with unequal negatives: E[sum f_i t_i] / E[sum t_i] = the Beta mean
        rows.append(
            [
                label,
                f"{problems}",
                *coverage_cells(kg_bounds(fp, neg, conf), truth),
                *coverage_cells(betting_bounds(fp, neg, conf), truth),
            ]
        )
    if scores is not None and pools:
        label, pool = pools[0]
        # Verifier: reward score above the 80th percentile of the wrong answers' scores.
        tau = float(np.quantile(scores[~pool], 0.8))
        accept = scores > tau
        pooled = float((accept & ~pool).sum() / (~pool).sum())
        has = (~pool).sum(1) > 0
        per_problem = float(((accept & ~pool).sum(1)[has] / (~pool).sum(1)[has]).mean())
        idx = rng.integers(0, pool.shape[0], (cluster_reps, pool.shape[0]))
        neg = (~pool)[idx].sum(axis=2).astype(float)
        fp = (accept & ~pool)[idx].sum(axis=2).astype(float)
        rows.append(
            [
                f"{label}: reward > q80 of wrong answers' scores, problems resampled",
                "~14",
                *coverage_cells(kg_bounds(fp, neg, conf), pooled),
                *coverage_cells(betting_bounds(fp, neg, conf), per_problem),
            ]
        )
    return flat, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000, help="re-runs per false-alarm case")
    parser.add_argument("--power-reps", type=int, default=1000)
    parser.add_argument("--maxt-reps", type=int, default=800, help="0 skips the max-T runs")
    parser.add_argument("--cluster-reps", type=int, default=4000)
    parser.add_argument(
        "--tiny-model",
        action="store_true",
        help="also generate a 200 x 16 pool with the bundled model (starts a vLLM engine)",
    )
    parser.add_argument(
        "--write", action="store_true", help="append the tables to bench/RESULTS.md"
    )
    parser.add_argument(
        "--only-fpr", action="store_true", help="only table (c), the verifier-rate bounds"
    )
    args = parser.parse_args()

    start = time.perf_counter()
    cpu = time.process_time()
    pool = real_pool()
    scores = None
    if pool is not None:
        rows = [json.loads(line) for line in POOL.read_text(encoding="utf-8").splitlines() if line]
        scores = np.array([[s[0] for s in r["pred_score"]] for r in rows])
    tiny = tiny_model_pools()
    if args.tiny_model and not tiny:
        fresh = generate_tiny_pool()
        tiny = [fresh] if fresh is not None else []
    pools = ([("real pool (Qwen2.5-Math MATH, 100 x 8)", pool)] if pool is not None else []) + tiny

    fa = [] if args.only_fpr else study_false_alarms(pools, args.reps, args.maxt_reps)
    pw = [] if args.only_fpr else study_power(pools, args.power_reps, args.maxt_reps // 2)
    flat_cov, cov = study_fpr_coverage(pools, 20_000, scores, args.cluster_reps)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu

    out = ["## Gate calibration (`bench/gate_calibration.py`)", ""]
    out.append(
        f"Machine: 2-core x86_64 CPU, 24 GiB (shared); date 2026-11-22; {cpu:.0f} s CPU, "
        f"{elapsed:.0f} s wall, one process. "
        f"alpha = {ALPHA}, seed {SEED}. Rates with two-sided 95% Clopper-Pearson intervals."
    )
    if pool is None:
        out.append(
            "\nReal-pool scenarios skipped: ../shared/data/qwen_math_cot_100.jsonl is absent."
        )
    if tiny:
        out.append(
            "\nPools of the bundled tiny model used: "
            + "; ".join(f"{n} ({f.shape[0]} x {f.shape[1]})" for n, f in tiny)
        )
    else:
        out.append(
            "\nPools of the bundled tiny model: none in .tts-cache/samples.sqlite when this ran; "
            "left for a later run (the script picks them up automatically)."
        )
    if not args.only_fpr:
        out += ["", "### (a) False alarms of the regression gate (must stay <= alpha = 0.05)", ""]
        out.append(
            tabulate(
                fa,
                headers=[
                    "scenario",
                    "problems",
                    "tolerance",
                    "method",
                    "re-runs",
                    "false-alarm rate [95% CI]",
                ],
                tablefmt="github",
            )
        )
        out += [
            "",
            "### (b) Power (tolerance 0), beside the power `pytest-tts plan` predicts",
            "",
        ]
        out.append(
            tabulate(
                pw,
                headers=[
                    "scenario",
                    "problems",
                    "true drop",
                    "power, Holm [95% CI]",
                    "power, max-T [95% CI]",
                    "planned (per point, Bonferroni)",
                ],
                tablefmt="github",
            )
        )
    out += [
        "",
        "### (c) Coverage of the one-sided 0.95 verifier-rate bounds (must be >= 0.95)",
        "",
        "Flat verdicts (no problem axis): exact Clopper-Pearson on the samples.",
        "",
    ]
    out.append(
        tabulate(
            flat_cov,
            headers=["verdicts", "true FPR", "Clopper-Pearson coverage [95% CI]"],
            tablefmt="github",
        )
    )
    out += [
        "",
        "Verdicts with a problem axis: the Korn-Graubard bound on the pooled rate (the gate "
        "before) against the per-problem rate's betting bound (the gate now); each covers its "
        "own estimand (they differ only on the real pool). 'mean bound' is the width's "
        "measure: the bound's mean over the re-runs.",
        "",
    ]
    out.append(
        tabulate(
            cov,
            headers=[
                "verdicts",
                "problems",
                "pooled FPR",
                "Korn-Graubard coverage [95% CI]",
                "mean bound",
                "per-problem FPR",
                "betting coverage [95% CI]",
                "mean bound",
            ],
            tablefmt="github",
        )
    )
    text = "\n".join(out) + "\n"
    print(text)
    if args.write:
        results = ROOT / "bench" / "RESULTS.md"
        with results.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
