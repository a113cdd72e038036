"""Bootstrap intervals for evaluation metrics, and for the difference between two bundles on the same examples.

A metric built with its rows (`Metric.recompute`: the per-photo or per-item arrays it was computed from) is
computed again on `DRAWS` resamples of those rows, drawn with replacement. When two bundles were evaluated on the
same examples (same row count), both are recomputed on the same draws, so the difference's interval is paired:
much narrower than the two intervals side by side, since most of the spread is which examples were drawn.
Pixel-level metrics keep one row per photo (its grid of cells), so a photo's pixels are drawn together: they are
not independent of each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import numpy as np

from training.evaluation.metrics import Metric

DRAWS = 1000
LEVEL = 0.95
SEED = 0


class Interval(NamedTuple):
    low: float
    high: float

    def as_json(self) -> list[float]:
        return [self.low, self.high]


class Comparison(NamedTuple):
    """One metric of bundle A (the shipped one) and bundle B (the candidate) with their 95% intervals.

    `difference` is B - A, paired over the same examples where both rest on the same rows, else from independent
    draws; any interval is None where the metric cannot be resampled (see `why_no_interval`).
    """

    a: Metric
    b: Metric
    a_interval: Interval | None
    b_interval: Interval | None
    difference: Interval | None
    paired: bool
    why_no_interval: str | None


def compare_metrics(a: Metric, b: Metric, draws: int = DRAWS, seed: int = SEED) -> Comparison:
    """Both metrics' intervals and the interval of their difference, drawn with one seed (repeatable)."""
    reason = _why_not(a) or _why_not(b)
    if reason:
        return Comparison(a, b, None, None, None, False, reason)
    paired = _rows(a) == _rows(b)
    a_draws = _recomputed(a, _indices(_rows(a), draws, seed))
    b_draws = _recomputed(b, _indices(_rows(b), draws, seed if paired else seed + 1))
    both = ~np.isnan(a_draws) & ~np.isnan(b_draws)
    difference = _interval(b_draws[both] - a_draws[both]) if both.any() else None
    return Comparison(a, b, _interval(a_draws), _interval(b_draws), difference, paired, None)


def _why_not(metric: Metric) -> str | None:
    if metric.value is None:
        return f"undefined ({metric.reason})"
    if metric.recompute is None:
        return "not resampled (an aggregate over types or thresholds)"
    return None


def _rows(metric: Metric) -> int:
    return len(metric.recompute.rows[0])


def _indices(rows: int, draws: int, seed: int) -> Iterator[np.ndarray]:
    """`draws` resamples of `rows` row numbers; the same seed and row count give the same resamples."""
    rng = np.random.default_rng(seed)
    for _ in range(draws):
        yield rng.integers(0, rows, size=rows)


def _recomputed(metric: Metric, indices: Iterable[np.ndarray]) -> np.ndarray:
    """The metric on each draw of rows (NaN where it is undefined on that draw)."""
    rows, statistic = metric.recompute
    values = [statistic(*(column[draw] for column in rows)) for draw in indices]
    return np.array([np.nan if value is None else value for value in values], dtype=np.float64)


def _interval(values: np.ndarray) -> Interval | None:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return None
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(low), float(high))
