"""Exact maj@k for large pools: generating functions evaluated on a circle.

The quantity (see :mod:`pytest_tts.strategies.vote` for the semantics) is, for one problem
with answer classes of sizes n_b and correctness c_b and a budget k,

    sum_t [z^k] prod_b (L_b(z) + v C(n_b, t) z^t (1 + s c_b)) / C(N, k),

integrated over v in [0, 1] after dividing by v and taking the part linear in s, summed over
the winning count t; L_b(z) = sum_{x < t} C(n_b, x) z^x and the no-answer samples contribute
(1 + z)^(N - sum n_b). (v is a random priority that breaks ties uniformly: a class tied at
the top wins when its priority is the highest, and integrating v^(j-1) gives 1/j.)

Instead of multiplying polynomials, each factor is evaluated at M points z = r e^(2 pi i m / M)
on the circle of radius r = k / (N - k), where the coefficients of (1 + z)^N weighted by r^j
form the Binomial(N, k/N) distribution centred on k. Divided by (1 + r)^(n_b), a factor's
terms are binomial probabilities, so nothing overflows, and a discrete Fourier transform
of the product over the M points returns the coefficient of z^k, aliased only with
coefficients M away, whose weight is a binomial tail below 1e-15 of the coefficient's for
M >= 9 sigma + 16 (and none at all once M > N).
The coefficients are real, so values at conjugate points are conjugate and only the upper
half of the circle is evaluated.
The integral over v is a Gauss–Legendre rule, exact for the degree that reaches z^k: j
classes tied at the top give degree j - 1, at most k // t classes tie at count t (so each
winning count gets its own number of nodes), and j-way ties whose total probability is
provably below 1e-16 (:func:`_tie_degree`) are left out of the degree.
Classes of equal size share their factor, which enters as a power. Winning counts t whose
total probability is provably below 1e-16 (bounds in :func:`_windows`) are skipped, and so
are a factor's terms below 1e-30, so results agree with exact rational arithmetic to about
1e-12 (checked against count enumeration in exact integers in
``tests/estimate/test_strategies.py``).

The loops over winning counts, tie nodes, classes and points are compiled with numba
(:func:`_windows`), one call per problem for all of its budgets; nearby budgets share one
circle (:func:`_window_plan`). Winning counts above the runner-up's size are reached by the
largest class alone: their share is its hypergeometric tail (:func:`_tails`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from scipy.special import gammaln, roots_legendre

from pytest_tts.estimate.pool import FloatArray

SKIP_MASS = 1e-16
TINY = 1e-30

F = TypeVar("F", bound=Callable[..., Any])


def _compiled(fn: F) -> F:
    """Compiled with numba, kept in its on-disk cache (compiling takes 10-15 s, once per
    checkout); where no cache folder is writable, compiled once per process instead."""
    try:
        return cast(F, numba.njit(cache=True)(fn))
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return cast(F, numba.njit(fn))


@functools.lru_cache(maxsize=512)
def _tie_rule(points: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes v on [0, 1] and weights with the tie integral's 1/v folded in."""
    nodes, weights = roots_legendre(points)
    v = (nodes + 1) / 2
    return v, weights / 2 / v


@functools.lru_cache(maxsize=16)
def _tie_rules(most: int) -> tuple[np.ndarray, np.ndarray]:
    """Every rule of 1..``most`` nodes in one table: row q holds the q-node rule."""
    v = np.zeros((most + 1, most))
    w = np.zeros((most + 1, most))
    for q in range(1, most + 1):
        v[q, :q], w[q, :q] = _tie_rule(q)
    return v, w


@_compiled
def _hyper_pmf(lf: np.ndarray, n: int, good: int, k: int, x: int) -> float:
    """P(X = x), X successes among k draws without replacement from n holding ``good``."""
    if x < 0 or x > good or x > k or k - x > n - good:
        return 0.0
    return math.exp(
        lf[good]
        - lf[x]
        - lf[good - x]
        + lf[n - good]
        - lf[k - x]
        - lf[n - good - k + x]
        - (lf[n] - lf[k] - lf[n - k])
    )


@_compiled
def _hyper_row(lf: np.ndarray, n: int, good: int, k: int, out: np.ndarray) -> None:
    """P(X = x) for x = 0..k into ``out``, by the ratio recurrence out from the mode."""
    lo, hi = max(0, k - (n - good)), min(good, k)
    out[: k + 1] = 0.0
    mode = min(max((k + 1) * (good + 1) // (n + 2), lo), hi)
    out[mode] = _hyper_pmf(lf, n, good, k, mode)
    for x in range(mode, hi):
        out[x + 1] = out[x] * (good - x) * (k - x) / ((x + 1) * (n - good - k + x + 1))
    for x in range(mode, lo, -1):
        out[x - 1] = out[x] * x * (n - good - k + x) / ((good - x + 1) * (k - x + 1))


@_compiled
def _comb(lf: np.ndarray, a: int, b: int) -> float:
    """C(a, b) as a float (0 when b > a)."""
    if b < 0 or b > a:
        return 0.0
    return math.exp(lf[a] - lf[b] - lf[a - b])


@_compiled
def _cpow(z: complex, e: int) -> complex:
    """z ** e for an integer e >= 0, by squaring."""
    out = 1.0 + 0.0j
    while e > 0:
        if e & 1:
            out *= z
        z *= z
        e >>= 1
    return out


@_compiled
def _tie_degree(
    lf: np.ndarray,
    n: int,
    sizes: np.ndarray,
    counts: np.ndarray,
    active: int,
    ts: np.ndarray,
    ties: int,
    budgets: np.ndarray,
) -> int:
    """The most classes that can tie at the top with more than negligible probability, at
    any budget of the window.

    j classes all drawing t is no likelier than the least likely of them, so the chance of
    any j-way tie at a kept count is at most the sum over t of the order statistics' shares:
    with the classes' probabilities at t sorted in decreasing order, the r-th (from 0) is the
    least likely of C(r, j - 1) j-sets. A budget's degree is the smallest j whose (j + 1)-way
    ties are negligible, at most ``ties``; the window takes the largest. Classes of one size
    hold consecutive ranks r0 .. r0 + c - 1, whose C(r, j) sum to C(r0 + c, j + 1) - C(r0, j + 1).
    """
    worst = 2
    prob = np.empty(active)
    order = np.empty(active, dtype=np.int64)
    classes = 0
    for g in range(active):
        classes += counts[g]
    choose = np.empty(classes + 1)  # C(r, j + 1) for the j at hand
    for b in range(budgets.size):
        k = budgets[b]
        # the probabilities at each t in decreasing order, with the first rank each holds
        sorted_p = np.zeros((ts.size, active))
        rank_lo = np.zeros((ts.size, active), dtype=np.int64)
        rank_hi = np.zeros((ts.size, active), dtype=np.int64)
        for i in range(ts.size):
            for g in range(active):  # insertion sort: few classes, no allocation
                p = _hyper_pmf(lf, n, sizes[g], k, ts[i])
                r = g
                while r > 0 and prob[r - 1] < p:
                    prob[r], order[r] = prob[r - 1], order[r - 1]
                    r -= 1
                prob[r], order[r] = p, g
            r0 = 0
            for r in range(active):
                sorted_p[i, r] = prob[r]
                rank_lo[i, r] = r0
                r0 += counts[order[r]]
                rank_hi[i, r] = r0
        degree = ties
        for j in range(2, ties):
            for r in range(classes + 1):
                choose[r] = _comb(lf, r, j + 1)
            bound = 0.0
            for i in range(ts.size):
                for r in range(active):
                    bound += sorted_p[i, r] * (choose[rank_hi[i, r]] - choose[rank_lo[i, r]])
            if bound < SKIP_MASS:
                degree = j
                break
        worst = max(worst, degree)
        if worst >= ties:
            break
    return min(worst, ties)


@_compiled
def _windows(
    sizes: np.ndarray,
    counts: np.ndarray,
    group_c: np.ndarray,
    n_none: int,
    n: int,
    second: int,
    budgets: np.ndarray,
    starts: np.ndarray,
    lf: np.ndarray,
    rule_v: np.ndarray,
    rule_w: np.ndarray,
    out: np.ndarray,
) -> int:
    """Contributions of winning counts t <= the runner-up's size, for each window of budgets
    ``budgets[starts[i]:starts[i + 1]]`` (one circle per window, radius set by its first k).

    Classes come in groups of equal size (``sizes`` decreasing, ``counts`` classes each,
    ``group_c`` their summed correctness). Returns 0, or the number of tie nodes a window
    needed beyond the rules given (nothing is written then; call again with larger rules).
    """
    groups = sizes.size
    first = sizes[0]
    for w in range(starts.size - 1):
        a, b = starts[w], starts[w + 1]
        k0, k1 = budgets[a], budgets[b - 1]
        top_t = min(second, k1)
        if top_t < 1:
            continue
        # Skip winning counts t that carry no weight for any k of the window: P(max <= t) is
        # at most P(X_1 <= t) (largest at the smallest k), P(max >= t) at most the sum over
        # classes of P(X_b >= t) (largest at the largest k).
        # These bounds only decide what to skip, so the probabilities come from the
        # hypergeometric's ratio recurrence (one exp per class instead of one per count).
        row = np.empty(k1 + 1)
        tails = np.zeros((groups, top_t + 2))
        for g in range(groups):
            _hyper_row(lf, n, sizes[g], k1, row)
            acc = 0.0
            for x in range(min(sizes[g], k1), -1, -1):
                acc += row[x]
                if x <= top_t:
                    tails[g, x] = acc
        _hyper_row(lf, n, first, k0, row)
        cdf = np.cumsum(row[: min(top_t, k0) + 1])
        keep = np.zeros(top_t + 1, dtype=np.bool_)
        kept = 0
        for t in range(1, top_t + 1):
            above = 0.0
            for g in range(groups):
                above += counts[g] * tails[g, t]
            if cdf[min(t, k0)] >= SKIP_MASS and above >= SKIP_MASS:
                keep[t] = True
                kept += 1
        if kept == 0:
            continue
        ts = np.empty(kept, dtype=np.int64)
        i = 0
        for t in range(1, top_t + 1):
            if keep[t]:
                ts[i] = t
                i += 1
        t0 = ts[0]
        # Classes that reach even the lowest kept count with negligible probability (together)
        # are dormant: never at the top, they enter as whole factors, like blanks.
        active = 0
        dormant = 0.0
        for g in range(groups - 1, -1, -1):
            dormant += counts[g] * tails[g, t0]
            if dormant > SKIP_MASS:
                active = g + 1
                break
        active = max(active, 1)
        # At most min(classes that reach t0, k // t0) classes tie at the top of a k-subset,
        # and the integrand's degree in v is one less; j-way ties that carry no weight at
        # any budget of the window lower it further.
        reaching = 0
        for g in range(active):
            if sizes[g] >= t0:
                reaching += counts[g]
        ties = min(reaching, k1 // t0)
        if ties > 2:
            ties = _tie_degree(lf, n, sizes, counts, active, ts, ties, budgets[a:b])
        # Only classes with c > 0 add to the value: without one among the active classes,
        # the window adds nothing.
        marks_from, marks_to = active, -1
        for g in range(active):
            if group_c[g] != 0.0:
                marks_from = min(marks_from, g)
                marks_to = g
        if marks_to < 0:
            for i in range(a, b):
                out[i] = 0.0
            continue
        most = max(1, (ties + 1) // 2)
        if most >= rule_v.shape[0]:
            return most
        # No more than k // t classes reach count t together, so rows of large t need fewer
        # tie nodes. Each (row, node) pair is one entry, in order of t.
        entries = 0
        for row_t in ts:
            entries += max(1, (min(ties, k1 // row_t) + 1) // 2)
        et = np.empty(entries, dtype=np.int64)
        ev = np.empty(entries)
        ew = np.empty(entries)
        e = 0
        for row_t in ts:
            q = max(1, (min(ties, k1 // row_t) + 1) // 2)
            for s in range(q):
                et[e], ev[e], ew[e] = row_t, rule_v[q, s], rule_w[q, s]
                e += 1
        q_ = k0 / n
        lq, l1q = math.log(q_), math.log1p(-q_)
        sigma = math.sqrt(n * q_ * (1 - q_))
        m_points = int(min(n + 1, math.ceil(9 * sigma) + 16))
        circle = np.empty(m_points, dtype=np.complex128)
        for m in range(m_points):
            angle = 2 * math.pi * m / m_points
            circle[m] = complex(math.cos(angle), math.sin(angle))
        # Each factor's terms are Binomial(size, k0 / n) probabilities (times z^x).
        # Terms below TINY (far in a factor's tails) are left out of its partial sums: each
        # moves a factor by less than 1e-30, and no sum has more than n of them.
        top = ts[-1]
        terms = np.zeros((active, top + 1))
        lowest = np.full(active, top + 1)
        highest = np.zeros(active, dtype=np.int64)
        for g in range(active):
            for x in range(min(sizes[g], top) + 1):
                s = sizes[g]
                terms[g, x] = math.exp(lf[s] - lf[x] - lf[s - x] + x * lq + (s - x) * l1q)
                if terms[g, x] >= TINY:
                    lowest[g] = min(lowest[g], x)
                    highest[g] = x
        # Every factor has real coefficients, so its values at conjugate points are
        # conjugate: only the upper half circle (h points) is evaluated. Each entry keeps its
        # running products at every point (the inner loops run over the points).
        h = m_points // 2 + 1
        # z^x at each point, real and imaginary parts apart (the inner loops below run over
        # the points on plain float arrays, about twice as fast as on complex ones)
        pow_re = np.empty((top + 1, h))
        pow_im = np.empty((top + 1, h))
        for x in range(top + 1):
            turn = 0
            for m in range(h):
                pow_re[x, m] = circle[turn].real
                pow_im[x, m] = circle[turn].imag
                turn += x
                if turn >= m_points:
                    turn %= m_points
        base = np.empty(h, dtype=np.complex128)
        for m in range(h):
            base[m] = (1 - q_) + q_ * circle[m]
        suffix = np.ones((groups + 1, h), dtype=np.complex128)
        for g in range(groups - 1, -1, -1):
            for m in range(h):
                suffix[g, m] = suffix[g + 1, m] * _cpow(base[m], sizes[g] * counts[g])
        # Each entry's running products at every point: over the classes so far, the plain
        # product and its part linear in s (marked).
        plain_re = np.ones((entries, h))
        plain_im = np.zeros((entries, h))
        mark_re = np.zeros((entries, h))
        mark_im = np.zeros((entries, h))
        totals = np.zeros(h, dtype=np.complex128)
        part_re = np.empty(h)  # sum over x < t of terms * z^x
        part_im = np.empty(h)
        alive = entries
        for g in range(active):
            size = sizes[g]
            while alive > 0 and et[alive - 1] > size:  # no class from here reaches t
                alive -= 1
                for m in range(h):
                    marked = complex(mark_re[alive, m], mark_im[alive, m])
                    totals[m] += ew[alive] * marked * suffix[g, m]
            if alive == 0:
                break
            mult = counts[g]
            c = group_c[g]
            part_re[:] = 0.0
            part_im[:] = 0.0
            x = lowest[g]
            e = 0
            while e < alive:
                t = et[e]
                while x < min(t, highest[g] + 1):
                    for m in range(h):
                        part_re[m] += terms[g, x] * pow_re[x, m]
                        part_im[m] += terms[g, x] * pow_im[x, m]
                    x += 1
                while e < alive and et[e] == t:
                    scale = ev[e] * terms[g, t]
                    a_re, a_im = pow_re[t], pow_im[t]
                    p_re, p_im, k_re, k_im = plain_re[e], plain_im[e], mark_re[e], mark_im[e]
                    # Before the first class with c > 0 nothing is marked yet, and after the
                    # last one the unmarked product is no longer read. (The cases are
                    # separate loops so that each inner loop is straight-line code.)
                    if mult > 1:
                        # Classes of equal size share the factor f: the product is f^mult and
                        # its part linear in s is (sum of their c) * v * a_t * f^(mult - 1).
                        for m in range(h):
                            a_t = scale * complex(a_re[m], a_im[m])
                            factor = complex(part_re[m], part_im[m]) + a_t
                            power = _cpow(factor, mult - 1)
                            plain = complex(p_re[m], p_im[m])
                            marked = complex(k_re[m], k_im[m]) * power * factor
                            marked += plain * c * a_t * power
                            plain *= power * factor
                            p_re[m], p_im[m] = plain.real, plain.imag
                            k_re[m], k_im[m] = marked.real, marked.imag
                    elif g < marks_from or g > marks_to:  # one product is read: it grows
                        o_re, o_im = (p_re, p_im) if g < marks_from else (k_re, k_im)
                        for m in range(h):
                            w_re = part_re[m] + scale * a_re[m]
                            w_im = part_im[m] + scale * a_im[m]
                            u, w = o_re[m], o_im[m]
                            o_re[m] = u * w_re - w * w_im
                            o_im[m] = u * w_im + w * w_re
                    else:
                        for m in range(h):
                            g_re, g_im = c * scale * a_re[m], c * scale * a_im[m]
                            w_re = part_re[m] + scale * a_re[m]
                            w_im = part_im[m] + scale * a_im[m]
                            u, w = k_re[m], k_im[m]
                            y, z = p_re[m], p_im[m]
                            k_re[m] = u * w_re - w * w_im + y * g_re - z * g_im
                            k_im[m] = u * w_im + w * w_re + y * g_im + z * g_re
                            p_re[m] = y * w_re - z * w_im
                            p_im[m] = y * w_im + z * w_re
                    e += 1
        for e in range(alive):
            for m in range(h):
                marked = complex(mark_re[e, m], mark_im[e, m])
                totals[m] += ew[e] * marked * suffix[active, m]
        for m in range(h):
            totals[m] *= _cpow(base[m], n_none)
        for i in range(a, b):
            k = budgets[i]
            coeff = 0.0
            for m in range(m_points // 2 + 1):
                mirror = 1.0 if (m == 0 or 2 * m == m_points) else 2.0
                coeff += mirror * (totals[m] * circle[(k * m) % m_points].conjugate()).real
            coeff /= m_points
            out[i] = coeff / math.exp(lf[n] - lf[k] - lf[n - k] + k * lq + (n - k) * l1q)
    return 0


@functools.lru_cache(maxsize=64)
def _window_plan(ks: bytes, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The budgets of ``ks`` below n in windows that can share one evaluation (within 1.5
    sigma of the window's first k), in order: the budgets, and where each window starts."""
    order = np.unique(np.frombuffer(ks, dtype=np.int64))
    order = order[order < n]
    starts = [0]
    i = 0
    while i < order.size:
        k0 = int(order[i])
        sigma = math.sqrt(k0 * (n - k0) / n)
        i = int(np.searchsorted(order, k0 + max(1.0, 1.5 * sigma), side="right"))
        starts.append(i)
    budgets, bounds = order.astype(np.int64), np.array(starts, dtype=np.int64)
    budgets.flags.writeable = bounds.flags.writeable = False
    return budgets, bounds


@_compiled
def _tails(
    lf: np.ndarray, n: int, first: int, second: int, ks: np.ndarray, out: np.ndarray
) -> None:
    """P(X_1 > second) at each budget below n: the largest class drawn more often than the
    runner-up has members."""
    row = np.empty(n + 1)
    for i in range(ks.size):
        k = ks[i]
        out[i] = 0.0
        if k < n and min(first, k) > second:
            _hyper_row(lf, n, first, k, row)
            for x in range(second + 1, min(first, k) + 1):
                out[i] += row[x]


@functools.lru_cache(maxsize=8)
def _log_factorials(n: int) -> np.ndarray:
    lf = gammaln(np.arange(n + 2, dtype=np.float64) + 1.0)
    lf.flags.writeable = False
    return lf


def majority_circle(sizes: np.ndarray, cbar: np.ndarray, n: int, ks: np.ndarray) -> FloatArray:
    """maj@k for every k in ``ks`` for one problem (classes ``sizes``/``cbar``, pool ``n``)."""
    ks = np.asarray(ks, dtype=np.int64)
    out = np.zeros(ks.size)
    if sizes.size == 0:
        return out
    order = np.argsort(-sizes, kind="stable")
    sizes = np.asarray(sizes[order], dtype=np.int64)
    cbar = np.asarray(cbar[order], dtype=np.float64)
    first = int(sizes[0])
    second = int(sizes[1]) if sizes.size > 1 else 0
    lf = _log_factorials(n)
    # Winning counts above the runner-up's size: only the largest class gets there.
    tail = np.empty(ks.size)
    _tails(lf, n, first, second, ks, tail)
    # The whole pool (k = N): the largest class wins, ties at random.
    whole = float(cbar[sizes == first].mean())
    values = np.where(ks == n, whole, cbar[0] * tail)
    budgets, bounds = _window_plan(ks.tobytes(), n)
    if second and budgets.size:
        group_sizes, starts, counts = np.unique(-sizes, return_index=True, return_counts=True)
        contrib = np.zeros(budgets.size)
        most = 8
        while True:
            rule_v, rule_w = _tie_rules(most)
            needed = _windows(
                -group_sizes,
                counts.astype(np.int64),
                np.add.reduceat(cbar, starts),
                n - int(sizes.sum()),
                n,
                second,
                budgets,
                bounds,
                lf,
                rule_v,
                rule_w,
                contrib,
            )
            if not needed:
                break
            most = max(needed, 2 * most)
        inside = ks < n
        values[inside] += contrib[np.searchsorted(budgets, ks[inside])]
    return np.clip(values, 0.0, 1.0)


def circle_work(sizes: np.ndarray, n: int, ks: np.ndarray) -> float:
    """An upper bound on the complex multiply-adds of :func:`majority_circle` (no skipping)."""
    if sizes.size < 2:
        return 0.0
    ordered = np.sort(sizes)[::-1]
    second = int(ordered[1])
    groups = np.unique(ordered).size
    budgets, bounds = _window_plan(np.ascontiguousarray(ks, dtype=np.int64).tobytes(), n)
    if budgets.size == 0:
        return 0.0
    k0, k1 = budgets[bounds[:-1]], budgets[bounds[1:] - 1]
    rows = np.minimum(second, k1)
    points = np.minimum(n + 1, 9 * np.sqrt(k0 * (n - k0) / n) + 16)
    ties = np.minimum(ordered.size, k1)
    return float((8.0 * rows * (ties + 1) / 2 * points * groups).sum())
