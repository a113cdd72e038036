"""The painter of each composited defect type, and how often each is drawn."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from grading.vocabulary import DefectType
from training.compositing.drawing import PaintedDefect
from training.compositing.foreground import Foreground
from training.compositing.structural import paint_hole, paint_snag, paint_tear
from training.compositing.surface import paint_fading, paint_pilling, paint_scuff, paint_stain

Painter = Callable[[np.ndarray, Foreground, np.random.Generator], PaintedDefect]

PAINTERS: dict[DefectType, Painter] = {
    DefectType.STAIN: paint_stain,
    DefectType.HOLE: paint_hole,
    DefectType.TEAR: paint_tear,
    DefectType.SCUFF: paint_scuff,
    DefectType.PILLING: paint_pilling,
    DefectType.FADING: paint_fading,
    DefectType.SNAG: paint_snag,
}
FREQUENCY = {
    DefectType.STAIN: 0.26,
    DefectType.HOLE: 0.14,
    DefectType.TEAR: 0.1,
    DefectType.SCUFF: 0.12,
    DefectType.PILLING: 0.14,
    DefectType.FADING: 0.12,
    DefectType.SNAG: 0.12,
}


def draw_types(rng: np.random.Generator, count: int) -> list[DefectType]:
    kinds = list(FREQUENCY)
    weights = np.array([FREQUENCY[kind] for kind in kinds])
    return [kinds[i] for i in rng.choice(len(kinds), size=count, p=weights / weights.sum())]
