"""Defect masks on the network's output grid: the one rule shared by training targets and evaluation truth.

A square class mask (0 = background, 1 + index in `DefectType`; 224 x 224 for the default crop) is cut into
grid x grid cells (28 x 28 at stride 8). A cell is defective when at least `MIN_DEFECT_FRACTION` of its pixels
carry some defect, and then takes the defect type that covers most of it (the first type on a tie).

1/8 (8 of a cell's 64 pixels), not half: tears, snags and scratches are often one to three pixels wide at
224, and a half-cell rule would turn them into background, both in what the heads learn and in what the
evaluation scores them against.
"""

from __future__ import annotations

import numpy as np

from grading.vocabulary import DefectType

MIN_DEFECT_FRACTION = 0.125
MASK_CLASSES = 1 + len(DefectType)


def area_fractions(mask: np.ndarray, grid: int) -> np.ndarray:
    """(MASK_CLASSES, grid, grid): the share of each cell's pixels that carry each class."""
    factor, remainder = divmod(mask.shape[0], grid)
    if remainder or mask.shape[0] != mask.shape[1]:
        raise ValueError(f"mask {mask.shape} does not tile into a {grid} x {grid} grid")
    blocks = mask.reshape(grid, factor, grid, factor).transpose(0, 2, 1, 3).reshape(grid, grid, factor * factor)
    return np.stack([(blocks == value).mean(axis=2) for value in range(MASK_CLASSES)])


def cell_classes(mask: np.ndarray, grid: int) -> np.ndarray:
    """(grid, grid) uint8: 0 for a clean cell, else 1 + the index of the cell's largest defect type."""
    fractions = area_fractions(mask, grid)
    defective = 1.0 - fractions[0] >= MIN_DEFECT_FRACTION
    return np.where(defective, 1 + fractions[1:].argmax(axis=0), 0).astype(np.uint8)
