"""Order statistics for timings: percentiles and a distribution-free CI of the median.

Timing samples are skewed (a long tail of interrupted iterations), so the service reports the
median with a confidence interval from order statistics: with n samples the interval between
the ranks n/2 -+ 1.96 * sqrt(n)/2 covers the true median with about 95 % probability, whatever
the distribution. Percentiles are numpy's (linear interpolation).
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.96  # the normal 97.5 % quantile, rounded as the textbook rule uses it


def percentile(sorted_xs: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    return float(np.percentile(sorted_xs, q)) if len(sorted_xs) else math.nan


def median_ci95(sorted_xs: list[float]) -> tuple[float, float]:
    """The order statistics that bracket the median with ~95 % confidence (data sorted)."""
    n = len(sorted_xs)
    if n == 0:
        return math.nan, math.nan
    half = Z95 * math.sqrt(n) / 2
    lo = max(0, math.floor(n / 2 - half) - 1)
    hi = min(n - 1, math.ceil(n / 2 + half))
    return sorted_xs[lo], sorted_xs[hi]


def summarize(times_ms: list[float]) -> dict:
    xs = sorted(times_ms)
    lo, hi = median_ci95(xs)
    p10, median, p90 = np.percentile(xs, [10, 50, 90]) if xs else (math.nan,) * 3
    return {
        "median_ms": float(median),
        "mean_ms": float(np.mean(xs)) if xs else math.nan,
        "p10_ms": float(p10),
        "p90_ms": float(p90),
        "ci95_low_ms": lo,
        "ci95_high_ms": hi,
        "n": len(xs),
    }


def rel_half_width(summary: dict) -> float:
    m = summary["median_ms"]
    return max(m - summary["ci95_low_ms"], summary["ci95_high_ms"] - m) / m if m > 0 else math.inf
