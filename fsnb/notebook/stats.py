"""Latency statistics: percentiles and summaries of nanosecond samples, in pure Python (no numpy needed)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["LatencySummary", "percentile", "stage_means", "summarize"]

NS_PER_MS = 1_000_000


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100) of already sorted values, linearly interpolated (numpy's default).

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    """
    if not sorted_values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return float(sorted_values[lo]) + (float(sorted_values[hi]) - float(sorted_values[lo])) * frac


@dataclass(frozen=True)
class LatencySummary:
    """p50 / p95 / p99 / mean / min / max of one case, in milliseconds, over ``count`` samples."""

    count: int
    p50: float
    p95: float
    p99: float
    mean: float
    min: float
    max: float

    def as_dict(self) -> dict[str, float]:
        return {"p50": self.p50, "p95": self.p95, "p99": self.p99, "mean": self.mean, "max": self.max}


def summarize(samples_ns: Sequence[int]) -> LatencySummary:
    """Summarise nanosecond samples; the result is in milliseconds (NaN everywhere when there are none)."""
    if not samples_ns:
        nan = math.nan
        return LatencySummary(0, nan, nan, nan, nan, nan, nan)
    s = sorted(samples_ns)
    ms = NS_PER_MS
    return LatencySummary(
        count=len(s),
        p50=percentile(s, 50) / ms,
        p95=percentile(s, 95) / ms,
        p99=percentile(s, 99) / ms,
        mean=sum(s) / len(s) / ms,
        min=s[0] / ms,
        max=s[-1] / ms,
    )


def stage_means(stages_ns: Mapping[str, Sequence[int]]) -> dict[str, float]:
    """Mean milliseconds per stage. Means (unlike medians) add up, so stages can be compared with the total."""
    return {name: (sum(v) / len(v) / NS_PER_MS if v else math.nan) for name, v in stages_ns.items()}
