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
provably below 1e-16 (:func:`_window_tie_degree`) are left out of the degree.
Classes of equal size share their factor, which enters as a power. Winning counts t whose
total probability is provably below 1e-16 (bounds in :func:`_window`) are skipped,
so results agree with exact rational arithmetic to about 1e-13 (checked against count
enumeration in exact integers in ``tests/estimate/test_strategies.py``).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import comb, gammaln
from scipy.stats import hypergeom

from pytest_tts.estimate.pool import FloatArray

SKIP_MASS = 1e-16
TAIL_BY_SF = 32


@functools.lru_cache(maxsize=64)
def _tie_rule(points: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes v on [0, 1] and weights with the tie integral's 1/v folded in."""
    nodes, weights = leggauss(points)
    v = (nodes + 1) / 2
    return v, weights / 2 / v


def _hypergeom_pmf(lf: np.ndarray, n: int, good: int, k: int) -> FloatArray:
    """P(X = x) for x = 0..k: successes among k draws without replacement (log-factorials lf)."""
    return _hypergeom_pmfs(lf, n, np.array([good]), k)[0]


def _hypergeom_pmfs(lf: np.ndarray, n: int, goods: np.ndarray, k: int) -> FloatArray:
    """P(X = x) for x = 0..k for several class sizes: one row per entry of ``goods``."""
    good = np.asarray(goods, dtype=np.int64)[:, None]
    return _hypergeom_at(lf, n, good, np.array(k, dtype=np.int64), np.arange(k + 1)[None, :])


def _hypergeom_at(
    lf: np.ndarray, n: int, good: np.ndarray, k: np.ndarray, x: np.ndarray
) -> FloatArray:
    """P(X = x) for X successes among k draws without replacement from n with ``good``
    successes (log-factorials ``lf``); ``good``, ``k`` and ``x`` broadcast together."""
    ok = (x <= good) & (x <= k) & (k - x <= n - good)
    xs = np.where(ok, x, 0)
    log_p = (
        lf[good]
        - lf[xs]
        - lf[np.where(ok, good - xs, 0)]
        + lf[n - good]
        - lf[np.where(ok, k - xs, 0)]
        - lf[np.where(ok, n - good - k + xs, 0)]
        - (lf[n] - lf[k] - lf[n - k])
    )
    return np.exp(np.where(ok, log_p, -np.inf))


def _window_tie_degree(
    lf: np.ndarray,
    n: int,
    sizes: np.ndarray,
    counts: np.ndarray,
    ts: np.ndarray,
    ties: int,
    window: np.ndarray,
    pmfs: np.ndarray,
) -> int:
    """The most classes that can tie at the top with more than negligible probability, at
    any budget of ``window``.

    With P(a class draws t) at the kept counts ``ts``: j classes all drawing t is no likelier
    than the least likely of them, so the chance of any j-way tie at a kept count is at most
    the sum over t of the j-th order statistic's share: with the classes' probabilities at t
    sorted in decreasing order, the r-th (from 0) is the least likely of C(r, j - 1) j-sets.
    A budget's degree is the smallest j whose (j + 1)-way ties are negligible, at most
    ``ties``; the window takes the largest. ``pmfs`` (groups x counts 0..k) are the
    probabilities at the window's last budget, read as they are for a one-budget window;
    a longer window computes every budget in one array (budgets x classes x counts), the
    probabilities only at ``ts``.
    """
    if window.size == 1:
        drawable = ts < pmfs.shape[1]  # no class draws more than k
        at_t = np.where(drawable, pmfs[: sizes.size, np.where(drawable, ts, 0)], 0.0)
        per_class = np.repeat(at_t, counts, axis=0)[None]
    else:
        per_class = _hypergeom_at(  # (budgets, classes, counts)
            lf,
            n,
            np.repeat(np.asarray(sizes, dtype=np.int64), counts)[None, :, None],
            np.asarray(window, dtype=np.int64)[:, None, None],
            np.asarray(ts, dtype=np.int64)[None, None, :],
        )
    ordered = -np.sort(-per_class, axis=1)
    rank = np.arange(ordered.shape[1])[None, :, None]
    degree = np.full(ordered.shape[0], ties)
    open_ = np.ones(ordered.shape[0], dtype=bool)
    for j in range(2, ties):
        small = (ordered * comb(rank, j)).sum(axis=(1, 2)) < SKIP_MASS
        degree[open_ & small] = j
        open_ &= ~small
        if not open_.any():
            break
    return int(degree.max())


def _window_groups(ks: np.ndarray, n: int) -> list[np.ndarray]:
    """Budgets that can share one evaluation: within 1.5 sigma of the window's first k."""
    groups: list[np.ndarray] = []
    order = np.sort(np.unique(ks[ks < n]))
    i = 0
    while i < order.size:
        k0 = int(order[i])
        sigma = math.sqrt(k0 * (n - k0) / n)
        j = int(np.searchsorted(order, k0 + max(1.0, 1.5 * sigma), side="right"))
        groups.append(order[i:j])
        i = j
    return groups


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
    lf = gammaln(np.arange(n + 2, dtype=np.float64) + 1.0)
    # Winning counts above the runner-up's size: only the largest class gets there.
    # many budgets: one vectorized survival function; a few: cheaper as pmf sums
    if ks.size > TAIL_BY_SF:
        tail = cbar[0] * hypergeom.sf(second, n, first, ks)
    else:
        tail = cbar[0] * np.array(
            [_hypergeom_pmf(lf, n, first, int(k))[second + 1 :].sum() for k in ks]
        )
    # The whole pool (k = N): the largest class wins, ties at random.
    whole = float(cbar[sizes == first].mean())
    values = {int(k): (whole if k == n else 0.0) for k in ks}
    group_sizes, starts, counts = np.unique(-sizes, return_index=True, return_counts=True)
    group_sizes = -group_sizes
    group_c = np.add.reduceat(cbar, starts)
    n_none = n - int(sizes.sum())
    for window in _window_groups(ks, n) if second else []:
        contrib = _window(window, group_sizes, counts, group_c, n_none, n, first, second, lf)
        for k, v in zip(window, contrib, strict=True):
            values[int(k)] += v
    for i, k in enumerate(ks):
        out[i] = values[int(k)] + (tail[i] if k < n else 0.0)
    return np.clip(out, 0.0, 1.0)


def _window(
    window: np.ndarray,
    group_sizes: np.ndarray,
    counts: np.ndarray,
    group_c: np.ndarray,
    n_none: int,
    n: int,
    first: int,
    second: int,
    lf: np.ndarray,
) -> FloatArray:
    """Contributions of winning counts t <= runner-up size, for budgets near window[0]."""
    k0 = int(window[0])
    top_t = min(second, int(window[-1]))
    t_all = np.arange(1, top_t + 1)
    # Skip winning counts t that carry no weight for any k of the window: P(max <= t) is at
    # most P(X_1 <= t) (largest at the smallest k), P(max >= t) at most the sum over classes of
    # P(X_b >= t) (largest at the largest k).
    k1 = int(window[-1])
    pmfs = _hypergeom_pmfs(lf, n, group_sizes, k1)  # group 0 is the largest class
    cdf = np.cumsum(pmfs[0] if k0 == k1 else _hypergeom_pmf(lf, n, first, k0))
    tails = np.cumsum(pmfs[:, ::-1], axis=1)[:, ::-1][:, : top_t + 1] * counts[:, None]
    above = tails.sum(axis=0)
    keep = (cdf[np.minimum(t_all, k0)] >= SKIP_MASS) & (above[t_all] >= SKIP_MASS)
    ts = t_all[keep]
    if ts.size == 0:
        return np.zeros(window.size)
    # Classes that reach even the lowest kept count with negligible probability (together) are
    # dormant: they are never at the top, so they enter as whole factors, like blanks.
    dormant_mass = np.cumsum(tails[::-1, ts[0]])[::-1]
    active_groups = int(np.searchsorted(-dormant_mass, -SKIP_MASS, side="left"))
    active_groups = max(active_groups, 1)
    q = k0 / n
    lq, l1q = math.log(q), math.log1p(-q)
    sigma = math.sqrt(n * q * (1 - q))
    m_points = int(min(n + 1, math.ceil(9 * sigma) + 16))
    # Every factor has real coefficients, so its values at conjugate points are conjugate:
    # only the upper half circle is evaluated, and the other half enters with weight 2.
    circle = np.exp(2j * np.pi * np.arange(m_points) / m_points)
    grid = np.arange(m_points // 2 + 1)
    roots = circle[grid]
    mirror = np.where((grid == 0) | (2 * grid == m_points), 1.0, 2.0)
    base = (1 - q) + q * roots
    full = base[None, :] ** (group_sizes * counts)[:, None]
    suffix = np.ones((group_sizes.size + 1, grid.size), dtype=complex)
    for g in range(group_sizes.size - 1, -1, -1):
        suffix[g] = suffix[g + 1] * full[g]
    # At most min(classes that reach ts[0], k // ts[0]) classes tie at the top of a k-subset,
    # and the integrand's degree in v is one less; j-way ties that carry no weight at any
    # budget of the window lower it further.
    reaching = group_sizes[:active_groups] >= ts[0]
    ties = min(int(counts[:active_groups][reaching].sum()), k1 // int(ts[0]))
    if ties > 2:
        ties = _window_tie_degree(
            lf, n, group_sizes[:active_groups], counts[:active_groups], ts, ties, window, pmfs
        )
    # No more than k // t classes reach count t together, so rows of large t need fewer tie
    # nodes. Each (row, node) pair is one entry of the arrays below, in order of t.
    nodes = np.maximum(1, (np.minimum(ties, k1 // ts) + 1) // 2)
    rules = {int(q): _tie_rule(int(q)) for q in np.unique(nodes)}
    row = np.repeat(np.arange(ts.size), nodes)
    slot = np.arange(row.size) - np.repeat(np.cumsum(nodes) - nodes, nodes)
    v = np.empty(row.size)
    w = np.empty(row.size)
    for q, (q_v, q_w) in rules.items():
        at = nodes[row] == q
        v[at], w[at] = q_v[slot[at]], q_w[slot[at]]
    ts = ts[row]
    v = v[:, None]
    top = int(ts[-1])
    powers = circle[(np.arange(top + 1)[:, None] * grid[None, :]) % m_points]
    plain = np.ones((ts.size, grid.size), dtype=complex)
    marked = np.zeros_like(plain)
    total = np.zeros(grid.size, dtype=complex)
    for g, size in enumerate(group_sizes[:active_groups]):
        keep = int(np.searchsorted(ts, size, side="right"))
        if keep < ts.size:
            total += np.einsum("r,rm->m", w[keep:], marked[keep:]) * suffix[g]
            plain, marked, ts, v, w = plain[:keep], marked[:keep], ts[:keep], v[:keep], w[:keep]
        if ts.size == 0:
            break
        reach = int(ts[-1])
        x = np.arange(reach + 1)
        size_i = int(size)
        pmf = np.exp(lf[size_i] - lf[x] - lf[size_i - x] + x * lq + (size_i - x) * l1q)
        terms = pmf[:, None] * powers[: reach + 1]
        at_t = terms[ts] * v  # (entries, M)
        factor = np.cumsum(terms, axis=0)[ts - 1] + at_t
        mult = int(counts[g])
        # Classes of equal size share the factor f: the product is f^mult and its part linear
        # in s is (sum of their c) * v * a_t * f^(mult - 1).
        if mult == 1:
            whole, gain = factor, group_c[g] * at_t
        else:
            power = factor ** (mult - 1)
            whole, gain = power * factor, group_c[g] * at_t * power
        marked *= whole
        marked += plain * gain
        plain *= whole
    if ts.size:
        total += np.einsum("r,rm->m", w, marked) * suffix[active_groups]
    total *= base**n_none
    out = np.zeros(window.size)
    for i, k in enumerate(window):
        turn = np.conj(circle[(int(k) * grid) % m_points])
        coeff = float((mirror * (total * turn).real).sum()) / m_points
        log_pmf = lf[n] - lf[k] - lf[n - k] + k * lq + (n - k) * l1q
        out[i] = coeff / math.exp(log_pmf)
    return out


def circle_work(sizes: np.ndarray, n: int, ks: np.ndarray) -> float:
    """An upper bound on the complex multiply-adds of :func:`majority_circle` (no skipping)."""
    if sizes.size < 2:
        return 0.0
    ordered = np.sort(sizes)[::-1]
    second = int(ordered[1])
    groups = np.unique(ordered).size
    work = 0.0
    for window in _window_groups(np.asarray(ks), n):
        k0 = int(window[0])
        rows = min(second, int(window[-1]))
        points = min(n + 1, 9 * math.sqrt(k0 * (n - k0) / n) + 16)
        ties = min(ordered.size, int(window[-1]))
        work += 8.0 * rows * (ties + 1) / 2 * points * groups
    return work
