"""Connected defect regions on one photo's defect map, located on the uploaded photo.

A region is a set of 8-connected cells of the low-resolution map where one type's probability reaches that
type's presence threshold from the bundle (the same threshold `photo_summary` applies to the map's maximum),
so every region's peak is at least its threshold. Boxes are mapped back through the intake crop box into
source-photo pixels. The maps are small (28 x 28 for 224-pixel crops), so a plain flood fill is enough.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from grading.intake import Photo
from grading.vocabulary import DefectType

Cell = tuple[int, int]
NEIGHBOURS: tuple[Cell, ...] = tuple((dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0))


@dataclass(frozen=True)
class DefectRegion:
    """One connected region of one defect type.

    Attributes:
        peak: the largest probability of this type inside the region.
        box: (left, top, right, bottom) in source-photo pixels.
        area_share: the region's cells as a share of the model crop (0-1).
        extent_share: the longer side of the box as a share of the crop's width (0-1).
    """

    type: DefectType
    peak: float
    box: tuple[float, float, float, float]
    area_share: float
    extent_share: float


def find_regions(
    defect_probs: np.ndarray, types: list[str], presence: dict[str, float], photo: Photo, default_threshold: float = 0.5
) -> list[DefectRegion]:
    """Regions of every type on one photo, strongest first.

    Args:
        defect_probs: (1 + types, h, w); channel 0 is background, channel i + 1 is `types[i]`.
        presence: per type, the probability a cell must reach; types missing here use `default_threshold`.
        photo: the intake result, whose crop box maps cells back to the uploaded photo.
    """
    if defect_probs.ndim != 3 or defect_probs.shape[0] != len(types) + 1:
        raise ValueError(f"defect_probs must be (1 + {len(types)} types, h, w); got shape {defect_probs.shape}")
    regions = []
    for channel, name in enumerate(types, start=1):
        probs = defect_probs[channel]
        mask = probs >= presence.get(name, default_threshold)
        regions += [_region(DefectType(name), probs, cells, photo) for cells in connected_components(mask)]
    return sorted(regions, key=lambda region: -region.peak)


def connected_components(mask: np.ndarray) -> list[list[Cell]]:
    """8-connected groups of True cells, each a list of (row, column)."""
    seen = np.zeros_like(mask, dtype=bool)
    components = []
    for start in zip(*np.nonzero(mask), strict=True):
        if not seen[start]:
            components.append(_flood(mask, seen, (int(start[0]), int(start[1]))))
    return components


def _flood(mask: np.ndarray, seen: np.ndarray, start: Cell) -> list[Cell]:
    height, width = mask.shape
    seen[start] = True
    queue, cells = deque([start]), []
    while queue:
        row, column = queue.popleft()
        cells.append((row, column))
        for dr, dc in NEIGHBOURS:
            r, c = row + dr, column + dc
            if 0 <= r < height and 0 <= c < width and mask[r, c] and not seen[r, c]:
                seen[r, c] = True
                queue.append((r, c))
    return cells


def _region(defect: DefectType, probs: np.ndarray, cells: list[Cell], photo: Photo) -> DefectRegion:
    rows, columns = np.array(cells).T
    height, width = probs.shape
    left, top, right, bottom = photo.crop_box
    cell_width, cell_height = (right - left) / width, (bottom - top) / height
    box = (
        left + columns.min() * cell_width,
        top + rows.min() * cell_height,
        left + (columns.max() + 1) * cell_width,
        top + (rows.max() + 1) * cell_height,
    )
    extent = max((columns.max() + 1 - columns.min()) / width, (rows.max() + 1 - rows.min()) / height)
    return DefectRegion(
        type=defect,
        peak=float(probs[rows, columns].max()),
        box=tuple(round(float(value), 1) for value in box),
        area_share=len(cells) / probs.size,
        extent_share=float(extent),
    )
