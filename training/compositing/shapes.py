"""Irregular shapes for defects: noisy blobs and jittered strokes, as float masks in [0, 1]."""

from __future__ import annotations

import cv2
import numpy as np


def smooth_noise(shape: tuple[int, int], scale: float, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency noise in [0, 1]: white noise blurred at `scale` pixels, then stretched."""
    noise = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), max(scale, 0.5))
    low, high = float(noise.min()), float(noise.max())
    return (noise - low) / max(high - low, 1e-6)


def blob(shape: tuple[int, int], centre: tuple[int, int], radius: float, rng: np.random.Generator) -> np.ndarray:
    """A filled irregular blob about `radius` across: an ellipse whose edge is displaced by noise."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    stretch, angle = rng.uniform(0.6, 1.0), rng.uniform(0, np.pi)
    dx, dy = xs - centre[0], ys - centre[1]
    u = (dx * np.cos(angle) + dy * np.sin(angle)) / radius
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / (radius * stretch)
    wobble = 0.45 * (smooth_noise(shape, radius / 3, rng) - 0.5)
    return (np.sqrt(u**2 + v**2) + wobble < 1.0).astype(np.float32)


def stroke(
    shape: tuple[int, int], start: tuple[float, float], length: float, width: float, rng: np.random.Generator
) -> np.ndarray:
    """A jittered, gently curving line of about `length` pixels, `width` thick (varying along it)."""
    canvas = np.zeros(shape, dtype=np.uint8)
    angle, x, y = rng.uniform(0, 2 * np.pi), *start
    steps = max(4, int(length / 3))
    for _ in range(steps):
        angle += rng.normal(0, 0.25)
        nx, ny = x + 3 * np.cos(angle), y + 3 * np.sin(angle)
        thickness = max(1, round(width * rng.uniform(0.6, 1.3)))
        cv2.line(canvas, (round(x), round(y)), (round(nx), round(ny)), 255, thickness, cv2.LINE_AA)
        x, y = nx, ny
    return canvas.astype(np.float32) / 255.0


def feather(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Soft edges: the mask blurred by `sigma` pixels."""
    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(sigma, 0.3))


def ring(mask: np.ndarray, width: int) -> np.ndarray:
    """The band of `width` pixels just outside a binary mask."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    grown = cv2.dilate((mask > 0.5).astype(np.uint8), kernel)
    return ((grown > 0) & (mask <= 0.5)).astype(np.float32)
