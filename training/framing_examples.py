"""Training examples for the framing network: real photos as they are, and copies framed so badly a person would
ask for a retake.

The framing network (`grading.photo_framing`) learns from three kinds of copy of each real photo:

- whole: the photo itself and a second shot of it (`training.photo_degradations.retake`: framing moved 2-5%).
- too close: a window 30-55% of each side (each side drawn apart, so the window's shape varies), anywhere in the
  photo, scaled back up: the item fills the frame and runs out of it on every side.
- off centre: the content moved 30-70% of the frame in a random direction; the uncovered part continues the
  surface at the photo's edge, either as one colour with sensor noise or as the edge strip's own texture
  mirrored outwards.
- smeared: the camera moved during the exposure: the mean of the photo shifted along a path 4-12% of the short
  side long, straight or bent once by up to 30 degrees (the edges mirrored, so no edge pixel is repeated).

They are drawn on purpose from wider ranges, and with other fills and paths, than the copies that measure the
checks (`training.photo_degradations`: windows 35-50%, shifts 40-60%, a smoothed colour profile, straight shakes
6-10% with repeated edge pixels): what the checks catch there is then not a memory of one generator's traces.
Every copy goes through JPEG and intake as an upload would.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from PIL import Image

from training.photo_degradations import retake


class FramingLabel(IntEnum):
    """What a framing example shows; the network's output classes, in this order."""

    WHOLE = 0
    TOO_CLOSE = 1
    OFF_CENTRE = 2
    SMEARED = 3


BAD_COPIES = 3  # of each badly framed kind, per photo
SMEARED_COPIES = 2
COPIES: tuple[FramingLabel, ...] = (
    (FramingLabel.WHOLE,) * 2
    + (FramingLabel.TOO_CLOSE,) * BAD_COPIES
    + (FramingLabel.OFF_CENTRE,) * BAD_COPIES
    + (FramingLabel.SMEARED,) * SMEARED_COPIES
)


def framing_copies(image: Image.Image, rng: np.random.Generator) -> list[tuple[Image.Image, FramingLabel]]:
    """`COPIES` of one RGB photo: the photo, a retake, `BAD_COPIES` too close and as many off centre, then
    `SMEARED_COPIES` smeared."""
    made = [(image, FramingLabel.WHOLE), (retake(image, rng), FramingLabel.WHOLE)]
    made += [(too_close(image, rng), FramingLabel.TOO_CLOSE) for _ in range(BAD_COPIES)]
    made += [(off_centre(image, rng), FramingLabel.OFF_CENTRE) for _ in range(BAD_COPIES)]
    made += [(smeared(image, rng), FramingLabel.SMEARED) for _ in range(SMEARED_COPIES)]
    return made


def too_close(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A window 30-55% of each side at a random place, scaled back up to the photo's size."""
    width, height = image.size
    window_width, window_height = (int(side * rng.uniform(0.3, 0.55)) for side in (width, height))
    left = int(rng.integers(0, width - window_width + 1))
    top = int(rng.integers(0, height - window_height + 1))
    window = image.crop((left, top, left + window_width, top + window_height))
    return window.resize(image.size, Image.Resampling.BICUBIC)


def off_centre(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The content moved 30-70% of the frame in a random direction, the uncovered part filled from the edge."""
    pixels = np.asarray(image, np.float32)
    height, width = pixels.shape[:2]
    angle, share = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 0.7)
    dy, dx = int(share * height * np.sin(angle)), int(share * width * np.cos(angle))
    textured = bool(rng.integers(2))
    moved = _moved_rows(pixels.transpose(1, 0, 2), dx, textured, rng).transpose(1, 0, 2)
    moved = _moved_rows(moved, dy, textured, rng)
    return Image.fromarray(np.clip(np.rint(moved), 0, 255).astype(np.uint8))


def _moved_rows(pixels: np.ndarray, shift: int, textured: bool, rng: np.random.Generator) -> np.ndarray:
    """`pixels` (h, w, 3) moved down by `shift` rows (up when negative), the uncovered rows filled."""
    if shift == 0:
        return pixels
    height = pixels.shape[0]
    strip_rows = max(2, round(0.08 * height))
    strip = pixels[:strip_rows] if shift > 0 else pixels[-strip_rows:][::-1]  # outermost row first
    fill = _mirrored(strip, abs(shift)) if textured else _flat(strip, abs(shift), rng)
    if shift > 0:
        return np.concatenate([fill[::-1], pixels[: height - shift]])
    return np.concatenate([pixels[-shift:], fill])


def _mirrored(strip: np.ndarray, rows: int) -> np.ndarray:
    """`rows` rows continuing the strip outwards (row 0 nearest the photo) by mirroring it back and forth."""
    period = np.concatenate([strip, strip[::-1]])
    repeats = -(-rows // len(period))
    return np.tile(period, (repeats, 1, 1))[:rows]


def _flat(strip: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """`rows` rows of the strip's median colour with sensor noise (sigma 2-6 grey levels)."""
    colour = np.median(strip.reshape(-1, 3), axis=0)
    return colour + rng.normal(0, rng.uniform(2, 6), (rows, strip.shape[1], 3))


def smeared(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The mean of the photo along a path 4-12% of the short side long, straight or bent once (up to 30 degrees)."""
    pixels = np.asarray(image, np.float32)
    height, width = pixels.shape[:2]
    length = min(height, width) * rng.uniform(0.04, 0.12)
    bend = rng.uniform(-np.pi / 6, np.pi / 6) if rng.random() < 0.5 else 0.0
    steps = max(3, round(length))
    angles = rng.uniform(0, np.pi) + bend * (np.arange(steps) >= steps // 2)
    xs, ys = np.cumsum(np.cos(angles)) * length / steps, np.cumsum(np.sin(angles)) * length / steps
    xs, ys = np.rint(xs - xs.mean()).astype(int), np.rint(ys - ys.mean()).astype(int)
    margin = int(max(np.abs(xs).max(), np.abs(ys).max())) + 1
    padded = np.pad(pixels, ((margin, margin), (margin, margin), (0, 0)), mode="reflect")
    total = np.zeros_like(pixels)
    for x, y in zip(xs, ys, strict=True):
        total += padded[margin + y : margin + y + height, margin + x : margin + x + width]
    return Image.fromarray(np.clip(np.rint(total / steps), 0, 255).astype(np.uint8))
