"""What every benchmark shares: nearest-rank percentiles of latency samples."""

from __future__ import annotations


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of the samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
