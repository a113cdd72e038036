"""A simple garment mask for placing defects: GrabCut started from a rectangle inside the photo's border.

clothing-small photos show one item roughly centred on a bed, floor or hanger, which is what GrabCut's
rectangle start assumes. Limits: busy patterned backgrounds (rugs, floral sheets) and items that touch the
border leak into or out of the mask, so the mask is eroded before use and rejected when it covers too
little or too much of the photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BORDER_SHARE = 0.06
MIN_SHARE, MAX_SHARE = 0.08, 0.85
ERODE_PIXELS = 6


class ForegroundError(ValueError):
    """The photo's garment could not be separated from its background."""


@dataclass(frozen=True)
class Foreground:
    """Where defects may go (`placeable`, eroded) and the whole garment area (`mask`)."""

    mask: np.ndarray  # bool (H, W)
    placeable: np.ndarray  # bool (H, W)

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    def centroid(self) -> tuple[float, float]:
        ys, xs = np.nonzero(self.mask)
        return float(xs.mean()), float(ys.mean())

    def extent(self) -> float:
        """A length scale of the garment: the square root of its area in pixels."""
        return float(np.sqrt(self.area))


def garment_foreground(rgb: np.ndarray, iterations: int = 4) -> Foreground:
    """GrabCut from an inset rectangle, largest connected part, holes filled, eroded for placement."""
    height, width = rgb.shape[:2]
    inset_x, inset_y = int(width * BORDER_SHARE), int(height * BORDER_SHARE)
    labels = np.zeros((height, width), np.uint8)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    rectangle = (inset_x, inset_y, width - 2 * inset_x, height - 2 * inset_y)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, labels, rectangle, background, foreground, iterations, cv2.GC_INIT_WITH_RECT)
    mask = _largest_part((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD))
    share = mask.mean()
    if not MIN_SHARE <= share <= MAX_SHARE:
        raise ForegroundError(f"garment mask covers {share:.0%} of the photo (usable: {MIN_SHARE:.0%}-{MAX_SHARE:.0%})")
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ERODE_PIXELS + 1, 2 * ERODE_PIXELS + 1))
    placeable = cv2.erode(mask.astype(np.uint8), kernel) > 0
    return Foreground(mask=mask, placeable=placeable)


def _largest_part(mask: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(mask, dtype=bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    part = (labels == largest).astype(np.uint8)
    filled = part.copy()
    contours, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled > 0
