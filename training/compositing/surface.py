"""Surface defects that leave the fabric whole: stains, fading, scuffs and pilling.

All painters blend with the photo instead of pasting flat colour, so folds, shading and weave show
through: stains multiply (they darken and tint what is there, with a darker tide line at the edge),
fading desaturates and lightens, scuffs lighten along a direction, pills are small shaded balls.
"""

from __future__ import annotations

import cv2
import numpy as np

from grading.vocabulary import DefectType
from training.compositing.drawing import PaintedDefect, local_colour, luminance, pick_centre, texture_noise
from training.compositing.foreground import Foreground
from training.compositing.shapes import blob, feather, ring, smooth_noise

STAIN_TINTS = {
    "coffee": (0.62, 0.42, 0.24),
    "red wine": (0.55, 0.14, 0.24),
    "grease": (0.42, 0.40, 0.36),
    "ink": (0.22, 0.28, 0.58),
    "grass": (0.40, 0.55, 0.22),
    "rust": (0.66, 0.38, 0.16),
}


def paint_stain(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> PaintedDefect:
    shape = image.shape[:2]
    centre = pick_centre(foreground, rng)
    radius = foreground.extent() * rng.uniform(0.03, 0.11)
    body = blob(shape, centre, radius, rng) * foreground.mask
    tide_line = ring(1.0 - body, 1) * body  # the inner edge, where a drying stain concentrates
    density = feather(body, radius * 0.12) * rng.uniform(0.35, 0.8) * (0.7 + 0.3 * smooth_noise(shape, 3, rng))
    density = np.clip(density + 0.35 * feather(tide_line, 1.0), 0, 1) * foreground.mask
    tint = np.array(STAIN_TINTS[rng.choice(list(STAIN_TINTS))], dtype=np.float32)
    stained = image * (1.0 - density[..., None] * (1.0 - tint))
    return PaintedDefect(DefectType.STAIN, np.clip(stained, 0, 1), density > 0.1)


def paint_fading(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> PaintedDefect:
    shape = image.shape[:2]
    centre = pick_centre(foreground, rng, upper_bias=True)
    radius = foreground.extent() * rng.uniform(0.18, 0.35)
    strength = rng.uniform(0.35, 0.75)
    alpha = feather(blob(shape, centre, radius, rng), radius * 0.35) * foreground.mask * strength
    grey = luminance(image)[..., None]
    washed = 0.3 * image + 0.7 * grey
    washed = washed + (1.0 - washed) * 0.22
    faded = image + alpha[..., None] * (washed - image)
    return PaintedDefect(DefectType.FADING, np.clip(faded, 0, 1), alpha > 0.2 * strength + 0.05)


def paint_scuff(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> PaintedDefect:
    shape = image.shape[:2]
    centre = pick_centre(foreground, rng)
    radius = foreground.extent() * rng.uniform(0.04, 0.09)
    angle = rng.uniform(0, 180)
    streaks = _directional_noise(shape, angle, rng)
    region = feather(blob(shape, centre, radius, rng), radius * 0.3) * foreground.mask
    abrasion = region * (0.35 + 0.65 * streaks) * rng.uniform(0.4, 0.75)
    grey = luminance(image)[..., None]
    worn = image + (1.0 - image) * 0.45 * abrasion[..., None]
    worn = worn + 0.5 * abrasion[..., None] * (grey + 0.1 - worn)
    return PaintedDefect(DefectType.SCUFF, np.clip(worn, 0, 1), abrasion > 0.12)


def _directional_noise(shape: tuple[int, int], angle: float, rng: np.random.Generator) -> np.ndarray:
    """Noise smeared along `angle` degrees: the scratches an abrasion leaves."""
    length = 9
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    smeared = cv2.filter2D(rng.random(shape).astype(np.float32), -1, kernel / max(kernel.sum(), 1e-6))
    return np.clip((smeared - smeared.mean()) / (smeared.std() + 1e-6) * 0.35 + 0.5, 0, 1)


def paint_pilling(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> PaintedDefect:
    shape = image.shape[:2]
    centre = pick_centre(foreground, rng)
    radius = foreground.extent() * rng.uniform(0.06, 0.13)
    region = blob(shape, centre, radius, rng) * foreground.mask
    pilled = image.copy()
    ys, xs = np.nonzero(region)
    fibre = local_colour(image, centre, max(2, int(radius)))
    fuzz = feather(region, 2.0)[..., None] * (0.06 + 0.04 * texture_noise(shape, rng)[..., None])
    pilled = pilled + (1.0 - pilled) * fuzz
    count = min(len(xs), int(len(xs) * rng.uniform(0.05, 0.12)))
    for index in rng.choice(len(xs), size=count, replace=False):
        _draw_pill(pilled, (int(xs[index]), int(ys[index])), fibre, rng)
    pilled = np.where(foreground.mask[..., None], pilled, image)  # pills at the edge stay on the garment
    return PaintedDefect(DefectType.PILLING, np.clip(pilled, 0, 1), (region > 0) & foreground.mask)


def _draw_pill(canvas: np.ndarray, centre: tuple[int, int], fibre: np.ndarray, rng: np.random.Generator) -> None:
    """A fuzz ball: shadow below-right, a slightly lighter, greyer body, a tiny highlight above-left."""
    radius = int(rng.integers(1, 3))
    x, y = centre
    body = np.clip(0.85 * fibre * rng.uniform(1.0, 1.15) + 0.15 * luminance(fibre[None])[0] + 0.02, 0, 1)
    cv2.circle(canvas, (x + 1, y + 1), radius, tuple(float(c) for c in fibre * 0.7), -1, cv2.LINE_AA)
    cv2.circle(canvas, (x, y), radius, tuple(float(c) for c in body), -1, cv2.LINE_AA)
    canvas[max(0, y - 1), max(0, x - 1)] = np.clip(body * 1.12 + 0.03, 0, 1)
