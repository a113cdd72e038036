"""What every defect painter shares: where to put it, and what it returns."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from grading.vocabulary import DefectType
from training.compositing.foreground import Foreground


@dataclass(frozen=True)
class PaintedDefect:
    """A defect painted onto a photo: the new float RGB image in [0, 1] and where it changed."""

    type: DefectType
    image: np.ndarray
    mask: np.ndarray  # bool (H, W), inside the garment

    def contrast(self, before: np.ndarray) -> float:
        """Mean absolute change inside the mask, on a 0-1 scale (how visible the defect is)."""
        if not self.mask.any():
            return 0.0
        return float(np.abs(self.image - before)[self.mask].mean())


def pick_centre(foreground: Foreground, rng: np.random.Generator, upper_bias: bool = False) -> tuple[int, int]:
    """A random placeable pixel; with `upper_bias`, preferring the top half (shoulders fade in the sun)."""
    ys, xs = np.nonzero(foreground.placeable)
    if upper_bias:
        weights = 1.0 + (ys.max() - ys) / max(1, ys.max() - ys.min())
        index = rng.choice(len(xs), p=weights / weights.sum())
    else:
        index = rng.integers(len(xs))
    return int(xs[index]), int(ys[index])


def local_colour(image: np.ndarray, centre: tuple[int, int], radius: int) -> np.ndarray:
    """Median colour of the garment around a point: what a pulled thread or a pill is made of."""
    x, y = centre
    patch = image[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]
    return np.median(patch.reshape(-1, 3), axis=0)


def luminance(image: np.ndarray) -> np.ndarray:
    return image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def texture_noise(shape: tuple[int, int], rng: np.random.Generator, sigma: float = 0.7) -> np.ndarray:
    """Fine grain in [-1, 1] so painted areas keep some fabric texture instead of flat colour."""
    noise = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
    return np.clip(noise / (noise.std() + 1e-6), -3, 3) / 3
