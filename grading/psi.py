"""Population stability index (PSI) of a window of observations against a reference distribution.

PSI = sum over bins of (w - r) * ln(w / r), where r and w are the reference's and the window's shares of a bin.
The bins are fixed by the reference: for a number, equal-mass bins cut at the reference's quantiles (open at both
ends, so every value falls in one); for a label (a grade, "has a defect"), one bin per label the reference knows and
one for any other label. A share of 0 on either side becomes `EPSILON`, so an empty bin counts without dividing by 0.

A window drawn from the reference itself reads about (bins - 1) / n on average (n observations), so nothing is judged
below `MIN_WINDOW` observations; at 100 observations and 5 bins that is 0.04, well below `WATCH`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

import numpy as np

EPSILON = 1e-4
WATCH = 0.1  # common practice: below 0.1 stable, 0.1-0.25 a moderate shift worth a look
DRIFT = 0.25  # above 0.25 a significant shift
MIN_WINDOW = 100
NUMBER_BINS = 5
OTHER = "other"


class DriftLevel(StrEnum):
    """How far a window lies from its reference."""

    TOO_FEW = "too_few"  # fewer observations than the minimum window: not judged
    STABLE = "stable"
    WATCH = "watch"
    DRIFT = "drift"


LEVEL_ORDER = (DriftLevel.TOO_FEW, DriftLevel.STABLE, DriftLevel.WATCH, DriftLevel.DRIFT)


def quantile_edges(values: Sequence[float], bins: int = NUMBER_BINS) -> list[float]:
    """Interior cut points near the reference's 1/bins, 2/bins, … quantiles.

    Each cut lies halfway between the reference values either side of its quantile, never on a value: the bins hold
    the same reference values as at the quantile itself, and a window value that differs from a reference value in
    the last digits (rounding, another batch size in ONNX Runtime) stays in that value's bin. A reference with no
    more distinct values than bins (a constant size, say) gets one bin per value and one below and above them all,
    so a window that leaves those values shows.
    """
    if len(values) == 0:
        raise ValueError("a reference distribution needs at least one value")
    array = np.asarray(values, np.float64)
    distinct = np.unique(array)
    if len(distinct) <= bins:
        return _edges_around(distinct)
    edges = set()
    for cut in np.quantile(array, _levels(bins)):
        above = int(np.searchsorted(distinct, cut, side="right"))  # distinct values at or below the cut
        if 0 < above < len(distinct):
            edges.add(round(float(distinct[above - 1] + distinct[above]) / 2, 6))
    return sorted(edges)


def _edges_around(distinct: np.ndarray) -> list[float]:
    """Halfway between neighbouring values, and as far again below the lowest and above the highest."""
    middles = (distinct[:-1] + distinct[1:]) / 2
    gap = float(np.diff(distinct).min()) / 2 if len(distinct) > 1 else max(abs(float(distinct[0])) * 1e-3, 1e-4)
    edges = [float(distinct[0]) - gap, *map(float, middles), float(distinct[-1]) + gap]
    return [round(edge, 6) for edge in edges]


def _levels(bins: int) -> list[float]:
    return [k / bins for k in range(1, bins)]


def number_counts(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """Counts of values in the bins (-inf, e1], (e1, e2], …, (ek, inf)."""
    index = np.searchsorted(np.asarray(edges, np.float64), np.asarray(values, np.float64), side="left")
    return np.bincount(index, minlength=len(edges) + 1).astype(int).tolist()


def label_counts(values: Sequence[str], labels: Sequence[str]) -> list[int]:
    """Counts per known label, then one count for every label not in `labels` (the `OTHER` bin)."""
    position = {label: i for i, label in enumerate(labels)}
    counts = [0] * (len(labels) + 1)
    for value in values:
        counts[position.get(value, len(labels))] += 1
    return counts


def shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [count / total if total else 0.0 for count in counts]


def psi(reference: Sequence[float], window: Sequence[float]) -> float:
    """PSI of the window's shares against the reference's shares over the same bins."""
    if len(reference) != len(window):
        raise ValueError(f"reference has {len(reference)} bins, the window {len(window)}: bin both the same way")
    total = 0.0
    for r, w in zip(reference, window, strict=True):
        r, w = max(r, EPSILON), max(w, EPSILON)
        total += (w - r) * math.log(w / r)
    return total


def level(value: float, observations: int, min_window: int = MIN_WINDOW) -> DriftLevel:
    """The drift level of a PSI read from `observations` values."""
    if observations < min_window:
        return DriftLevel.TOO_FEW
    if value >= DRIFT:
        return DriftLevel.DRIFT
    return DriftLevel.WATCH if value >= WATCH else DriftLevel.STABLE


def worst(levels: Sequence[DriftLevel]) -> DriftLevel:
    return max(levels, key=LEVEL_ORDER.index, default=DriftLevel.TOO_FEW)
