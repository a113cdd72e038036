"""What the photo quality checks read from a photo: cheap numbers, no thresholds (`grading.photo_quality` decides).

Everything is measured on the pixels intake already decoded (`grading.intake.Photo.pixels`, the model's square
input, 224 px for the shipped bundle), so it judges what the model will see and costs no second decode: about
1 ms a photo on the 2-core machine (`bench/photo_quality_bench.py`). Pillow's C loops make the grey image and
the small copies; numpy the rest.

- sharpness: variance of the 4-neighbour Laplacian of the grey image: fine detail. A plain garment on a plain
  background scores low even when sharp, so the threshold sits far below what sharp photos score.
- shake: the blur effect of Crete-Roffet et al. (2007, `skimage.measure.blur_effect` without its Sobel
  smoothing): the share of the edge contrast that blurring 11 px along one axis would *not* remove, for the worse
  of the two axes; near 0 sharp, near 1 already blurred. Unlike the Laplacian it does not depend on contrast, and
  taking the worse axis sees a shake in one direction that leaves edges across it crisp.
- exposure: mean grey level (0-255); highlight level, the grey level that 95% of the pixels stay at or below
  (a correctly exposed black garment still has a lighter background, print or sheen, while an under-exposed
  photo is dark even there, so this, not the mean, tells the two apart); and the shares of pixels clipped to
  black (grey <= 10) and to white (>= 245).
- short side: of the photo as uploaded, in its own pixels (before intake resized it).
- item coverage and cut-off, from a cheap foreground mask at 56 px: pixels whose colour lies far from the median
  colour of the frame's outer ring. It sees an item that differs in colour from a background visible at the
  frame's edge. It cannot tell a garment from a pattern on the bed or a textured floor, nor the wrong item from
  the right one, and when the item covers most of the edge it marks the background instead. Coverage is the
  masked share of the frame: near 0 means one uniform surface with nothing on it. Cut-off is how far the mask's
  centre of mass lies left or right of the frame's centre (0 centred, 1 at the edge): garments laid out are
  symmetric left to right, so an item crowding one side runs out of the photo there. Top to bottom they are not
  (shoulders and hem differ, and the centre crop often cuts a long garment), so a cut at the top or bottom is
  invisible to it.
- perceptual hash: 64-bit pHash (the signs of the 8x8 lowest DCT frequencies of a 32x32 grey thumbnail against
  their median, as `imagehash.phash`), to find two photos of the same view.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from grading.intake import Photo

MASK_SIDE = 56
MASK_RING = 3  # pixels at MASK_SIDE: about 5% of the frame on each side
BACKGROUND_DISTANCE = 40.0  # RGB distance from the ring's median colour that counts as "not background"
SHAKE_RADIUS = 5  # the box blur spans 2 * 5 + 1 = 11 pixels, as the blur-effect paper
SHADOW_LEVEL = 10
HIGHLIGHT_LEVEL = 245
HIGHLIGHT_SHARE = 0.95  # the highlight level is the grey level 95% of the pixels stay at or below
HASH_SIDE = 32


@dataclass(frozen=True)
class PhotoMeasures:
    """What the checks read from one photo (see the module docstring for each)."""

    sharpness: float
    shake: float
    brightness: float
    highlight_level: float
    clipped_shadows: float
    clipped_highlights: float
    short_side: int
    item_coverage: float
    cut_off: float
    phash: int


def measure_photo(photo: Photo) -> PhotoMeasures:
    """Measure a decoded intake photo (its model-input pixels and its uploaded size)."""
    return measure_pixels(photo.pixels, photo.source_size)


def measure_pixels(pixels: np.ndarray, source_size: tuple[int, int]) -> PhotoMeasures:
    """Measure an (h, w, 3) uint8 RGB array; `source_size` is (width, height) of the photo as uploaded."""
    image = Image.fromarray(pixels)
    grey_image = image.convert("L")  # ITU-R 601 luma
    grey = np.asarray(grey_image)
    steps = _Steps.of(grey)
    coverage, cut_off = framing(np.asarray(image.reduce(max(1, min(image.size) // MASK_SIDE)), np.float32))
    return PhotoMeasures(
        sharpness=float(steps.laplacian().var(dtype=np.float64)),
        shake=blur_effect(steps),
        **exposure(grey),
        short_side=int(min(source_size)),
        item_coverage=coverage,
        cut_off=cut_off,
        phash=perceptual_hash(grey_image),
    )


def exposure(grey: np.ndarray) -> dict[str, float]:
    """Brightness, highlight level and clipped shares of a uint8 grey image, from its histogram."""
    counts = np.bincount(grey.ravel(), minlength=256)
    below = np.cumsum(counts)
    total = float(below[-1])
    return {
        "brightness": float(counts @ np.arange(256)) / total,
        "highlight_level": float(np.searchsorted(below, HIGHLIGHT_SHARE * total)),
        "clipped_shadows": float(below[SHADOW_LEVEL]) / total,
        "clipped_highlights": 1.0 - float(below[HIGHLIGHT_LEVEL - 1]) / total,
    }


@dataclass(frozen=True)
class _Steps:
    """The grey image (int16) and the differences between neighbouring pixels along x and y."""

    grey: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def of(cls, grey: np.ndarray) -> _Steps:
        signed = grey.astype(np.int16)
        return cls(signed, np.diff(signed, axis=1), np.diff(signed, axis=0))

    def laplacian(self) -> np.ndarray:
        """The 4-neighbour Laplacian of the interior pixels: second differences along x plus along y."""
        return np.diff(self.x, axis=1)[1:-1] + np.diff(self.y, axis=0)[:, 1:-1]


def blur_effect(steps: _Steps) -> float:
    """The worse axis's share of edge contrast that survives a further box blur (see the module docstring).

    A box blur w = 2r + 1 pixels wide along an axis turns the step from pixel i to i + 1 into
    (grey[i + 1 + r] - grey[i - r]) / w, so no blurred image is needed: each step (times w) is compared with the
    step across the w pixels around it, in integers, away from the borders.
    """
    width, radius = 2 * SHAKE_RADIUS + 1, SHAKE_RADIUS
    grey = steps.grey
    across_x = grey[:, width:] - grey[:, :-width]
    across_y = grey[width:] - grey[:-width]
    kept_x = _kept(steps.x[:, radius : radius + across_x.shape[1]], across_x, width)
    kept_y = _kept(steps.y[radius : radius + across_y.shape[0]], across_y, width)
    return 1.0 - min(kept_x, kept_y)


def _kept(steps: np.ndarray, across: np.ndarray, width: int) -> float:
    """Share of the steps' total size that a box blur `width` wide would remove (what it keeps is the blur)."""
    scaled = np.abs(steps) * width  # at most 255 x 11: fits int16
    total = int(scaled.sum(dtype=np.int64))
    removed = np.subtract(scaled, np.abs(across), out=scaled).clip(min=0).sum(dtype=np.int64)
    return int(removed) / max(total, 1)


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """True where a pixel's colour is far from the median colour of the frame's outer ring (the background)."""
    ring = MASK_RING
    edges = (rgb[:ring], rgb[-ring:], rgb[ring:-ring, :ring], rgb[ring:-ring, -ring:])
    background = np.median(np.concatenate([edge.reshape(-1, 3) for edge in edges]), axis=0)
    difference = rgb - background
    np.square(difference, out=difference)
    return difference.sum(axis=-1) > BACKGROUND_DISTANCE**2


def framing(rgb: np.ndarray) -> tuple[float, float]:
    """(coverage, cut-off) of the foreground mask of a small RGB float array; see the module docstring."""
    mask = foreground_mask(rgb)
    half = mask.shape[1] // 2
    left, right = np.count_nonzero(mask[:, :half]), np.count_nonzero(mask[:, -half:])
    return np.count_nonzero(mask) / mask.size, abs(left - right) / (mask.shape[0] * half)


def perceptual_hash(grey_image: Image.Image) -> int:
    """64-bit pHash: the signs of the 8x8 lowest DCT frequencies of a 32x32 thumbnail against their median."""
    thumbnail = np.asarray(grey_image.resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX), np.float32)
    basis = _dct_basis()
    low = (basis @ thumbnail @ basis.T)[:8, :8]
    return int.from_bytes(np.packbits(low > np.median(low)).tobytes(), "big")


@cache
def _dct_basis(size: int = HASH_SIDE) -> np.ndarray:
    """The orthonormal DCT-II matrix of `size` points (rows are frequencies)."""
    frequency, position = np.arange(size)[:, None], np.arange(size)[None, :]
    basis = np.cos(np.pi * (2 * position + 1) * frequency / (2 * size)) * np.sqrt(2 / size)
    basis[0] /= np.sqrt(2)
    return basis.astype(np.float32)


def hash_distance(first: int, second: int) -> int:
    """Differing bits between two perceptual hashes."""
    return (first ^ second).bit_count()
