"""The exponentiated power law of coverage (Brown et al. 2024, "Large Language Monkeys").

Coverage c(k) is modelled as c = exp(-a k^b) (b < 0 for a curve that rises with k), i.e.
log(-log c) = log a + b log k, fitted by least squares in that space on points with
0 < c < 1. Fit quality is R^2 in the same log space. Predictions outside the fitted range
of k are marked as extrapolated, and reports must label them so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pytest_tts.errors import EstimationError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PowerLawFit:
    """c(k) = exp(-a k^b), fitted on ``n_points`` points with k in [k_min, k_max]."""

    a: float
    b: float
    r2: float
    k_min: float
    k_max: float
    n_points: int

    def predict(self, ks: npt.ArrayLike) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """Coverage at ``ks`` and, for each, whether it lies outside the fitted range."""
        k = np.asarray(ks, dtype=np.float64)
        values = np.exp(-self.a * k**self.b)
        outside = (k < self.k_min) | (k > self.k_max)
        return np.asarray(values, dtype=np.float64), np.asarray(outside)

    def describe(self) -> str:
        return (
            f"coverage ≈ exp(-{self.a:.4g}·k^{self.b:.4g}) "
            f"(R² {self.r2:.3f} in log space, fitted on k = {self.k_min:g}..{self.k_max:g})"
        )


def fit_coverage(ks: npt.ArrayLike, coverage: npt.ArrayLike) -> PowerLawFit:
    """Fit c = exp(-a k^b) to a coverage curve; points at exactly 0 or 1 are left out."""
    k = np.asarray(ks, dtype=np.float64)
    c = np.asarray(coverage, dtype=np.float64)
    if k.shape != c.shape or k.ndim != 1:
        msg = f"ks and coverage must be 1-d of equal length, got {k.shape} and {c.shape}"
        raise EstimationError(msg)
    usable = (c > 0) & (c < 1) & (k > 0)
    if usable.sum() < 2:
        msg = (
            f"a power-law fit needs at least 2 points with 0 < coverage < 1, "
            f"got {int(usable.sum())}"
        )
        raise EstimationError(msg)
    x = np.log(k[usable])
    y = np.log(-np.log(c[usable]))
    b, log_a = np.polyfit(x, y, 1)
    fitted = log_a + b * x
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - fitted) ** 2).sum()) / total if total > 0 else 1.0
    return PowerLawFit(
        a=float(np.exp(log_a)),
        b=float(b),
        r2=r2,
        k_min=float(k[usable].min()),
        k_max=float(k[usable].max()),
        n_points=int(usable.sum()),
    )
