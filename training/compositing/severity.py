"""Severity of a painted defect in [0, 1], from its type, size, contrast and placement.

    severity = (floor[type] + gain[type] * extent * visibility) * (0.7 + 0.3 * placement)

- extent: sqrt(defect area / garment area) / 0.35, capped at 1 (a defect a third of the garment across is 1);
- visibility: mean absolute colour change inside the defect / 0.2, capped at 1;
- placement: 1 at the garment's centre (front and centre is what a buyer sees), 0 at its edge.

Fabric-breaking defects (hole, tear) start high: any hole is serious. Surface defects start low and
grow with how large and how visible they are.
"""

from __future__ import annotations

import numpy as np

from grading.vocabulary import DefectType
from training.compositing.drawing import PaintedDefect
from training.compositing.foreground import Foreground

FLOOR_AND_GAIN = {
    DefectType.HOLE: (0.45, 0.8),
    DefectType.TEAR: (0.45, 0.8),
    DefectType.SNAG: (0.15, 0.6),
    DefectType.STAIN: (0.05, 1.4),
    DefectType.SCUFF: (0.05, 1.0),
    DefectType.PILLING: (0.05, 0.9),
    DefectType.FADING: (0.05, 0.9),
}


def severity(defect: PaintedDefect, before: np.ndarray, foreground: Foreground) -> float:
    floor, gain = FLOOR_AND_GAIN[defect.type]
    extent = min(1.0, float(np.sqrt(defect.mask.sum() / max(foreground.area, 1))) / 0.35)
    visibility = min(1.0, defect.contrast(before) / 0.2)
    value = (floor + gain * extent * visibility) * (0.7 + 0.3 * placement(defect.mask, foreground))
    return round(float(np.clip(value, 0.0, 1.0)), 3)


def placement(mask: np.ndarray, foreground: Foreground) -> float:
    """1 when the defect sits at the garment's centroid, falling to 0 at the garment's extent."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return 0.0
    centre_x, centre_y = foreground.centroid()
    distance = np.hypot(xs.mean() - centre_x, ys.mean() - centre_y)
    return float(np.clip(1.0 - distance / (0.6 * foreground.extent()), 0.0, 1.0))
