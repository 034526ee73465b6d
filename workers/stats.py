"""Order statistics for timings: percentiles and a distribution-free CI of the median.

Timing samples are skewed (a long tail of interrupted iterations), so the service reports the
median with a confidence interval from order statistics: with n samples the interval between
the ranks n/2 -+ 1.96 * sqrt(n)/2 covers the true median with about 95 % probability, whatever
the distribution.
"""

from __future__ import annotations

import math


def percentile(sorted_xs: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100], of already sorted data."""
    if not sorted_xs:
        return math.nan
    pos = (len(sorted_xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def median_ci95(sorted_xs: list[float]) -> tuple[float, float]:
    n = len(sorted_xs)
    if n == 0:
        return math.nan, math.nan
    half = 1.96 * math.sqrt(n) / 2
    lo = max(0, math.floor(n / 2 - half) - 1)
    hi = min(n - 1, math.ceil(n / 2 + half))
    return sorted_xs[lo], sorted_xs[hi]


def summarize(times_ms: list[float]) -> dict:
    xs = sorted(times_ms)
    lo, hi = median_ci95(xs)
    return {
        "median_ms": percentile(xs, 50),
        "mean_ms": sum(xs) / len(xs) if xs else math.nan,
        "p10_ms": percentile(xs, 10),
        "p90_ms": percentile(xs, 90),
        "ci95_low_ms": lo,
        "ci95_high_ms": hi,
        "n": len(xs),
    }


def rel_half_width(summary: dict) -> float:
    m = summary["median_ms"]
    return max(m - summary["ci95_low_ms"], summary["ci95_high_ms"] - m) / m if m > 0 else math.inf


def pearson(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return math.nan
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else math.nan
