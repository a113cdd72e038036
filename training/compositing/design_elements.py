"""Design elements painted onto garments as hard negatives: things a clean item carries on purpose.

Real clean clothes carry prints, appliqués (a cartoon's eyes), logos and lettering, buttons with their thread
holes, stripes, embroidery, brand labels, hang tags and marled knits; a model trained only on "clean photo vs the same
photo with a pasted defect" learns that anything pasted is damage and reads them as holes, stains and
fading. Copies decorated here keep `defects == []` and a clean grade, so the defect head must learn what
damage looks like, not that something changed. Elements are sharp-edged and flat-coloured (printed or sewn
on), unlike stains (soft, darker, following the fabric) or holes (what lies under the garment showing
through a frayed edge).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from training.compositing.drawing import pick_centre, texture_noise
from training.compositing.foreground import Foreground

Painter = Callable[[np.ndarray, Foreground, np.random.Generator], np.ndarray]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_COMPLEX)


def decorate(
    image: np.ndarray, foreground: Foreground, rng: np.random.Generator, count: int | None = None
) -> np.ndarray:
    """`count` (default 1-3) random design elements on the garment; a new float RGB image in [0, 1]."""
    count = count if count is not None else int(rng.integers(1, 4))
    for _ in range(count):
        painter = ELEMENTS[int(rng.integers(len(ELEMENTS)))]
        image = painter(image, foreground, rng)
    return image


def _colour(rng: np.random.Generator) -> np.ndarray:
    """A print colour: saturated, white, black or a dark tone (dark prints are what gets read as stains)."""
    kind = rng.random()
    if kind < 0.2:
        return np.full(3, rng.uniform(0.0, 0.15), dtype=np.float32)
    if kind < 0.4:
        return np.full(3, rng.uniform(0.85, 1.0), dtype=np.float32)
    hue = np.uint8(rng.integers(0, 180))
    hsv = np.array([[[hue, rng.integers(120, 256), rng.integers(60, 256)]]], dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32) / 255.0


def _apply(image: np.ndarray, foreground: Foreground, cover: np.ndarray, colour: np.ndarray, rng) -> np.ndarray:
    """Lay a flat colour where `cover` (float 0-1) says, inside the garment, keeping a little fabric shading."""
    cover = cover * foreground.mask
    shading = 1.0 + 0.06 * texture_noise(cover.shape, rng)[..., None]
    ink = np.clip(colour[None, None, :] * shading, 0, 1)
    alpha = (cover * rng.uniform(0.85, 1.0))[..., None]
    return (image * (1 - alpha) + ink * alpha).astype(np.float32)


def _canvas(image: np.ndarray) -> np.ndarray:
    return np.zeros(image.shape[:2], dtype=np.uint8)


def paint_print_shape(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> np.ndarray:
    """A printed or appliquéd shape: disc, rectangle, triangle or star, sharp anti-aliased edges."""
    canvas, (x, y) = _canvas(image), pick_centre(foreground, rng)
    size = max(3.0, foreground.extent() * rng.uniform(0.03, 0.14))
    kind = int(rng.integers(4))
    if kind == 0:
        cv2.circle(canvas, (x, y), round(size), 255, -1, cv2.LINE_AA)
    else:
        corners = {1: 4, 2: 3, 3: 10}[kind]
        angles = rng.uniform(0, 2 * np.pi) + np.linspace(0, 2 * np.pi, corners, endpoint=False)
        radii = np.where(np.arange(corners) % 2, size * 0.45, size) if kind == 3 else np.full(corners, size)
        points = np.stack([x + radii * np.cos(angles), y + radii * np.sin(angles)], axis=1).round().astype(np.int32)
        cv2.fillPoly(canvas, [points], 255, cv2.LINE_AA)
    return _apply(image, foreground, canvas.astype(np.float32) / 255.0, _colour(rng), rng)


def paint_button(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> np.ndarray:
    """One button or a placket's row of them: a disc with a shaded rim and two or four thread holes."""
    x, y = pick_centre(foreground, rng)
    radius = max(2.0, foreground.extent() * rng.uniform(0.008, 0.025))
    count = 1 if rng.random() < 0.5 else int(rng.integers(3, 6))
    step = radius * rng.uniform(3.0, 6.0)
    colour = _colour(rng)
    for k in range(count):
        centre = (round(x), round(y + k * step))
        image = _one_button(image, foreground, centre, radius, colour, rng)
    return image


def _one_button(image, foreground, centre, radius: float, colour: np.ndarray, rng) -> np.ndarray:
    disc, rim, holes = _canvas(image), _canvas(image), _canvas(image)
    cv2.circle(disc, centre, round(radius), 255, -1, cv2.LINE_AA)
    cv2.circle(rim, centre, round(radius), 255, max(1, round(radius / 4)), cv2.LINE_AA)
    spread = max(1, round(radius * 0.35))
    offsets = ((-1, 0), (1, 0)) if rng.random() < 0.5 else ((-1, -1), (1, -1), (-1, 1), (1, 1))
    for dx, dy in offsets:
        cv2.circle(holes, (centre[0] + dx * spread, centre[1] + dy * spread), max(1, round(radius / 5)), 255, -1)
    image = _apply(image, foreground, disc / 255.0, colour, rng)
    image = _apply(image, foreground, rim / 255.0 * 0.5, np.clip(colour * 0.6, 0, 1), rng)
    return _apply(image, foreground, holes / 255.0 * 0.8, np.clip(colour * 0.3, 0, 1), rng)


def paint_applique_eyes(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> np.ndarray:
    """A cartoon appliqué's pair of eyes: white discs with dark pupils (read as holes by a naive model)."""
    canvas_white, canvas_dark = _canvas(image), _canvas(image)
    x, y = pick_centre(foreground, rng)
    radius = max(2.0, foreground.extent() * rng.uniform(0.012, 0.035))
    gap = round(radius * rng.uniform(2.2, 3.5))
    look = rng.uniform(-0.4, 0.4, size=2) * radius
    for cx in (x - gap // 2, x + gap // 2):
        cv2.circle(canvas_white, (cx, y), round(radius), 255, -1, cv2.LINE_AA)
        pupil = (round(cx + look[0]), round(y + look[1]))
        cv2.circle(canvas_dark, pupil, max(1, round(radius * rng.uniform(0.35, 0.6))), 255, -1, cv2.LINE_AA)
    image = _apply(image, foreground, canvas_white / 255.0, np.full(3, rng.uniform(0.88, 1.0), np.float32), rng)
    return _apply(image, foreground, canvas_dark / 255.0, np.full(3, rng.uniform(0.0, 0.12), np.float32), rng)


def paint_lettering(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> np.ndarray:
    """A printed word or logo: a few letters in one colour and font."""
    canvas, (x, y) = _canvas(image), pick_centre(foreground, rng)
    text = "".join(rng.choice(list(LETTERS), size=int(rng.integers(2, 8))))
    scale = max(0.25, foreground.extent() * rng.uniform(0.0015, 0.006))
    thickness = max(1, round(scale * rng.uniform(1.0, 3.0)))
    font = FONTS[int(rng.integers(len(FONTS)))]
    (width, _), _ = cv2.getTextSize(text, font, scale, thickness)
    cv2.putText(canvas, text, (x - width // 2, y), font, scale, 255, thickness, cv2.LINE_AA)
    return _apply(image, foreground, canvas / 255.0, _colour(rng), rng)


def paint_stripes(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> np.ndarray:
    """Woven or printed stripes over a band of the garment."""
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.choice([0.0, np.pi / 2, rng.uniform(0, np.pi)])
    period = max(4.0, foreground.extent() * rng.uniform(0.03, 0.1))
    phase = (xs * np.cos(angle) + ys * np.sin(angle)) / period
    stripes = ((phase % 1.0) < rng.uniform(0.2, 0.5)).astype(np.float32)
    x, y = pick_centre(foreground, rng)
    band = np.abs((xs - x) * -np.sin(angle) + (ys - y) * np.cos(angle)) < foreground.extent() * rng.uniform(0.1, 0.4)
    return _apply(image, foreground, cv2.GaussianBlur(stripes * band, (0, 0), 0.6), _colour(rng), rng)


def paint_embroidery(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> np.ndarray:
    """A small embroidered motif: a cluster of short thread-thick strokes in one or two colours."""
    x, y = pick_centre(foreground, rng)
    reach = max(4.0, foreground.extent() * rng.uniform(0.03, 0.08))
    for colour in (_colour(rng), _colour(rng))[: int(rng.integers(1, 3))]:
        canvas = _canvas(image)
        for _ in range(int(rng.integers(6, 16))):
            start = np.array([x, y]) + rng.uniform(-reach, reach, size=2)
            end = start + rng.normal(0, reach / 3, size=2)
            cv2.line(canvas, tuple(start.round().astype(int)), tuple(end.round().astype(int)), 255, 1, cv2.LINE_AA)
        image = _apply(image, foreground, canvas / 255.0, colour, rng)
    return image


def paint_marl(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> np.ndarray:
    """A marled or speckled knit: light and dark flecks over the whole garment (pilling is local fuzz balls)."""
    shape = image.shape[:2]
    density = rng.uniform(0.08, 0.3)
    for tone in (rng.uniform(0.75, 1.0), rng.uniform(0.0, 0.25)):
        flecks = (rng.random(shape) < density / 2).astype(np.float32)
        flecks = cv2.GaussianBlur(flecks, (0, 0), rng.uniform(0.3, 0.7)) * rng.uniform(0.5, 0.9)
        image = _apply(image, foreground, np.clip(flecks, 0, 1), np.full(3, tone, np.float32), rng)
    return image


def paint_tag(image: np.ndarray, foreground: Foreground, rng: np.random.Generator) -> np.ndarray:
    """A sewn-in brand label near the collar or a hang tag on its string: a small light or dark card with print."""
    x, y = pick_centre(foreground, rng, upper_bias=True)
    width = max(3.0, foreground.extent() * rng.uniform(0.03, 0.08))
    height = width * rng.uniform(0.4, 1.6)
    card, print_lines = _canvas(image), _canvas(image)
    corners = (round(x - width / 2), round(y - height / 2)), (round(x + width / 2), round(y + height / 2))
    cv2.rectangle(card, *corners, 255, -1, cv2.LINE_AA)
    for k in range(int(rng.integers(1, 4))):
        row = round(y - height / 3 + k * height / 4)
        cv2.line(print_lines, (round(x - width / 3), row), (round(x + width / 3), row), 255, 1, cv2.LINE_AA)
    if rng.random() < 0.5:  # the hang tag's string
        end = (round(x + rng.uniform(-2, 2) * width), round(y - rng.uniform(1, 3) * height))
        cv2.line(card, corners[0], end, 255, 1, cv2.LINE_AA)
    light = rng.random() < 0.7
    paper = np.full(3, rng.uniform(0.85, 1.0) if light else rng.uniform(0.0, 0.2), np.float32)
    image = _apply(image, foreground, card / 255.0, paper, rng)
    return _apply(image, foreground, print_lines / 255.0 * 0.9, np.clip(1.0 - paper, 0.1, 0.9), rng)


ELEMENTS: tuple[Painter, ...] = (
    paint_print_shape,
    paint_button,
    paint_applique_eyes,
    paint_lettering,
    paint_stripes,
    paint_embroidery,
    paint_tag,
    paint_marl,
)
