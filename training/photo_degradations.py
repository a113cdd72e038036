"""Clearly unusable copies of real photos, to measure what the photo quality checks catch.

Each kind is strong enough that a person would ask for a retake; the strengths are drawn per copy from the
ranges below (relative to the photo's short side, so they mean the same at any resolution):

- blur: Gaussian, sigma 1-1.5% of the short side (2.4-3.6 px on a 240 px photo, 2.2-3.4 px at the model's 224).
- motion_blur: a straight shake 6-10% of the short side long at a random angle.
- dark: 4-5 stops under (linear light x1/16-1/32), plus sensor noise (sigma 2 grey levels).
- over_exposed: brightened in linear light until the median pixel of the photo's central half (where the item
  lies) reaches 240-250 of 255, at least one stop, clipped to white like a sensor: the item is blown out. (A
  fixed +3 stops, or a target for the whole photo's median, left a dark garment on a white sheet well exposed.)
- crop: a window 35-50% of each side at a random place, scaled back up (a photo taken far too close). The
  sources are 320 px, so the window is scaled up 2-3x and comes out soft too: a phone held too close would be
  sharp, so a crop caught only by the sharpness check is not evidence that the framing checks work.
- off_centre: the content shifted 40-60% of the frame in a random direction (the item half out of the photo),
  the emptied part filled by repeating the photo's edge pixels.
- downscaled: the short side brought to 48-112 px (at most half the model's input).
"""

from __future__ import annotations

import io
from enum import StrEnum

import numpy as np
from PIL import Image, ImageFilter


class Degradation(StrEnum):
    BLUR = "blur"
    MOTION_BLUR = "motion_blur"
    DARK = "dark"
    OVER_EXPOSED = "over_exposed"
    CROP = "crop"
    OFF_CENTRE = "off_centre"
    DOWNSCALED = "downscaled"


def degrade(image: Image.Image, kind: Degradation, rng: np.random.Generator) -> Image.Image:
    """A clearly unusable copy of an RGB photo (see the module docstring for each kind's strength)."""
    return _DEGRADERS[kind](image, rng)


def _blur(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(min(image.size) * rng.uniform(0.01, 0.015)))


def _motion_blur(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The mean of the photo shifted along a line: what a steady shake during the exposure draws."""
    pixels = np.asarray(image, np.float32)
    length, angle = min(image.size) * rng.uniform(0.06, 0.1), rng.uniform(0, np.pi)
    steps = max(2, round(length))
    total = np.zeros_like(pixels)
    for offset in np.linspace(-length / 2, length / 2, steps):
        dy, dx = round(float(offset * np.sin(angle))), round(float(offset * np.cos(angle)))
        total += _shifted(pixels, dy, dx)
    return Image.fromarray(np.clip(total / steps, 0, 255).astype(np.uint8))


def _linear(image: Image.Image) -> np.ndarray:
    return (np.asarray(image, np.float32) / 255.0) ** 2.2


def _encoded(linear: np.ndarray, noise: float, rng: np.random.Generator) -> Image.Image:
    encoded = np.clip(linear, 0, 1) ** (1 / 2.2) * 255.0 + rng.normal(0, noise, linear.shape)
    return Image.fromarray(np.clip(np.rint(encoded), 0, 255).astype(np.uint8))


def _dark(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return _encoded(_linear(image) * 2.0 ** -rng.uniform(4.0, 5.0), 2.0, rng)


def _over_exposed(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Brightened until the median pixel of the central half (where the item lies) reaches 240-250 of 255."""
    linear = _linear(image)
    height, width = linear.shape[:2]
    centre = linear[height // 4 : height - height // 4, width // 4 : width - width // 4]
    target = (rng.uniform(240, 250) / 255.0) ** 2.2
    gain = max(2.0, target / max(float(np.median(centre)), 1e-4))
    return _encoded(linear * gain, 0.0, rng)


def _crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    width, height = image.size
    share = rng.uniform(0.35, 0.5)
    crop_width, crop_height = int(width * share), int(height * share)
    left, top = int(rng.integers(0, width - crop_width + 1)), int(rng.integers(0, height - crop_height + 1))
    window = image.crop((left, top, left + crop_width, top + crop_height))
    return window.resize(image.size, Image.Resampling.BICUBIC)


def _off_centre(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The camera pointed 40-60% of the frame away from the item: the item moves that far, partly out of the photo.

    The uncovered part continues the surface at the photo's edge: each row (or column) takes the median colour of
    the outer 5% of the frame on that side, smoothed along the edge over 15% of it, with sensor noise (sigma 3 grey
    levels). Flatter than a real floor, but with no exact copy of the edge's pixels in it.
    """
    pixels = np.asarray(image, np.float32)
    height, width = pixels.shape[:2]
    angle, share = rng.uniform(0, 2 * np.pi), rng.uniform(0.4, 0.6)
    dy, dx = int(share * height * np.sin(angle)), int(share * width * np.cos(angle))
    moved = _extended(pixels.transpose(1, 0, 2), dx, rng).transpose(1, 0, 2)  # along x: columns as rows
    return Image.fromarray(np.clip(np.rint(_extended(moved, dy, rng)), 0, 255).astype(np.uint8))


def _extended(pixels: np.ndarray, shift: int, rng: np.random.Generator) -> np.ndarray:
    """`pixels` (h, w, 3) moved by `shift` rows; the uncovered rows continue the edge rows' smoothed colour."""
    if shift == 0:
        return pixels
    height, width = pixels.shape[:2]
    ring = max(1, round(0.05 * min(height, width)))
    edge = pixels[:ring] if shift > 0 else pixels[-ring:]
    profile = np.median(edge, axis=0)  # (w, 3): the surface's colour along the edge
    span = max(1, round(0.15 * width))
    padded = np.pad(profile, ((span // 2, span - 1 - span // 2), (0, 0)), mode="edge")
    kernel = np.full(span, 1.0 / span)
    profile = np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(3)], axis=-1)
    fill = profile[None] + rng.normal(0, 3.0, (abs(shift), width, 3))
    if shift > 0:
        return np.concatenate([fill, pixels[: height - shift]])
    return np.concatenate([pixels[-shift:], fill])


def _shifted(pixels: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`pixels` moved by (dy, dx); the uncovered rows and columns repeat the nearest edge pixel."""
    height, width = pixels.shape[:2]
    rows = np.clip(np.arange(height) - dy, 0, height - 1)
    columns = np.clip(np.arange(width) - dx, 0, width - 1)
    return pixels[rows][:, columns]


def _downscaled(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    scale = rng.uniform(48, 112) / min(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


_DEGRADERS = {
    Degradation.BLUR: _blur,
    Degradation.MOTION_BLUR: _motion_blur,
    Degradation.DARK: _dark,
    Degradation.OVER_EXPOSED: _over_exposed,
    Degradation.CROP: _crop,
    Degradation.OFF_CENTRE: _off_centre,
    Degradation.DOWNSCALED: _downscaled,
}


def retake(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A second shot of the same view: framing moved 2-5%, zoom within 5%, exposure within 10%."""
    width, height = image.size
    zoom = rng.uniform(0.95, 1.0)
    crop_width, crop_height = int(width * zoom), int(height * zoom)
    dx, dy = (rng.uniform(-0.05, 0.05, 2) * (width, height)).astype(int)
    left = int(np.clip((width - crop_width) // 2 + dx, 0, width - crop_width))
    top = int(np.clip((height - crop_height) // 2 + dy, 0, height - crop_height))
    moved = image.crop((left, top, left + crop_width, top + crop_height)).resize(image.size, Image.Resampling.BICUBIC)
    gain = rng.uniform(0.9, 1.1)
    return Image.fromarray(np.clip(np.asarray(moved, np.float32) * gain, 0, 255).astype(np.uint8))


def resend(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The same photo sent again after an app re-encoded it: resized to 80-100%, saved at another quality."""
    scale = rng.uniform(0.8, 1.0)
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    """The copy as a phone would upload it."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
