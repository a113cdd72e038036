"""Defects that break the fabric: holes, tears and snags.

What shows through a hole or a tear is the dark space under the garment, tinted by the surface it lies
on (sampled from the photo's border) and shaded darker towards the upper edge, where the fabric casts a
shadow. Cut fibres fray the edge: short lighter strands of the garment's own colour reaching inwards.
A snag is a pulled thread: a thin shaded line with a small loop and slightly gathered fabric around it.
"""

from __future__ import annotations

import cv2
import numpy as np

from grading.vocabulary import DefectType
from training.compositing.drawing import PaintedDefect, local_colour, pick_centre, texture_noise
from training.compositing.foreground import Foreground
from training.compositing.shapes import blob, feather, ring, stroke


def paint_hole(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> PaintedDefect:
    shape = image.shape[:2]
    centre = pick_centre(foreground, rng)
    radius = foreground.extent() * rng.uniform(0.015, 0.05)
    opening = (blob(shape, centre, max(radius, 2.5), rng) > 0) & foreground.placeable
    return _open_fabric(DefectType.HOLE, image, opening, centre, rng)


def paint_tear(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> PaintedDefect:
    shape = image.shape[:2]
    centre = pick_centre(foreground, rng)
    length = foreground.extent() * rng.uniform(0.06, 0.16)
    slit = stroke(shape, centre, length, rng.uniform(1.5, 3.5), rng) > 0.4
    return _open_fabric(DefectType.TEAR, image, slit & foreground.placeable, centre, rng)


def _open_fabric(
    kind: DefectType, image: np.ndarray, opening: np.ndarray, centre: tuple[int, int], rng: np.random.Generator
) -> PaintedDefect:
    if not opening.any():
        return PaintedDefect(kind, image, opening)
    garment = local_colour(image, centre, 6)
    behind = _what_shows_through(image, opening, rng)
    torn = image.copy()
    torn[opening] = behind[opening]
    _fray(torn, opening, garment, rng)
    rim = ring(opening.astype(np.float32), 1)
    torn = torn * (1.0 - 0.25 * feather(rim, 0.8)[..., None])
    changed = cv2.dilate(opening.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return PaintedDefect(kind, np.clip(torn, 0, 1), changed)


def _what_shows_through(image: np.ndarray, opening: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dark interior tinted by the surface under the garment, darker towards the top edge of the opening."""
    border = np.concatenate([image[:4].reshape(-1, 3), image[-4:].reshape(-1, 3)])
    surface = np.median(border, axis=0) * rng.uniform(0.25, 0.5)
    shadow = feather(np.roll(opening.astype(np.float32), 2, axis=0), 1.5)  # shifted down: top edge is darker
    depth = np.clip(1.0 - 0.6 * (opening - shadow).clip(0, 1), 0.3, 1.0)
    grain = 1.0 + 0.08 * texture_noise(opening.shape, rng)
    return np.clip(surface[None, None, :] * (depth * grain)[..., None], 0, 1).astype(np.float32)


def _fray(canvas: np.ndarray, opening: np.ndarray, garment: np.ndarray, rng: np.random.Generator) -> None:
    """Short lighter strands from the edge into the opening: cut fibres."""
    edge = ring(opening.astype(np.float32), 1) > 0
    ys, xs = np.nonzero(edge)
    if len(xs) == 0:
        return
    inner_ys, inner_xs = np.nonzero(opening)
    middle = (float(inner_xs.mean()), float(inner_ys.mean()))
    fibre = tuple(float(c) for c in np.clip(garment * 1.08 + 0.03, 0, 1))
    for index in rng.choice(len(xs), size=min(len(xs), int(rng.integers(4, 14))), replace=False):
        x, y = int(xs[index]), int(ys[index])
        direction = np.array([middle[0] - x, middle[1] - y])
        direction = direction / (np.linalg.norm(direction) + 1e-6) * rng.uniform(1.5, 4.0)
        end = (round(float(x + direction[0] + rng.normal(0, 0.8))), round(float(y + direction[1] + rng.normal(0, 0.8))))
        cv2.line(canvas, (x, y), end, fibre, 1, cv2.LINE_AA)


def paint_snag(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> PaintedDefect:
    shape = image.shape[:2]
    centre = pick_centre(foreground, rng)
    thread = stroke(shape, centre, foreground.extent() * rng.uniform(0.04, 0.09), 1.0, rng) * foreground.placeable
    colour = local_colour(image, centre, 5)
    snagged = image * (1.0 - 0.18 * feather(ring(thread, 2), 1.0) * foreground.mask)[..., None]  # gathered fabric
    shadow = np.roll(thread, (1, 1), axis=(0, 1))[..., None]
    snagged = snagged * (1.0 - 0.45 * shadow)
    highlight = np.clip(colour * 1.3 + 0.08, 0, 1)
    snagged = snagged * (1.0 - thread[..., None]) + highlight * thread[..., None]
    ys, xs = np.nonzero(thread > 0.5)
    if len(xs):
        end = (int(xs[-1]), int(ys[-1]))
        cv2.circle(snagged, end, int(rng.integers(2, 4)), tuple(float(c) for c in highlight), 1, cv2.LINE_AA)
    changed = (np.abs(snagged - image).max(axis=2) > 0.04) & foreground.mask
    return PaintedDefect(DefectType.SNAG, np.clip(snagged, 0, 1), changed)
