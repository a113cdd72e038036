"""What the photo quality checks read from a photo: cheap numbers, no thresholds (`grading.photo_quality` decides).

Everything is measured on the pixels intake already decoded (`grading.intake.Photo.pixels`, the model's square
input, 224 px for the shipped bundle), so it judges what the model will see and costs no second decode: under
1 ms a photo on the 2-core machine (`bench/photo_quality_bench.py`). Pillow's C loops make the grey image and
the small copies (the half-size image is the means of 2 x 2 pixels); numpy the rest.

- sharpness: variance of the 4-neighbour Laplacian of the grey image: fine detail. A plain garment on a plain
  background scores low even when sharp, so the threshold sits far below what sharp photos score.
- shake: the blur effect of Crete-Roffet et al. (2007, `skimage.measure.blur_effect` without its Sobel
  smoothing) along eight directions of the half-size grey image, for the worst of them: the share of the edge
  contrast along a direction that a box blur about 7 px long along it (11 px on the 2:1 slopes) would *not*
  remove; near 0 sharp, near 1 already blurred. A shake smears along one direction and leaves edges across it
  crisp; the directions are x, y, both diagonals and the four 2:1 slopes (no smear is more than 13 degrees off
  one), each read from shifted copies of the image, never a rotated one (rotating interpolates, which blurs).
  At half size the softness of a 320 px photo scaled up to 224 is gone while a smear of 6-10% of the frame is
  still 7-13 px long. A smear exactly along a fine print's stripes leaves the stripes crisp, and across a print
  finer than the smear it leaves streaks that read as crisp; a plain garment whose edges all run one way (a
  pair of trousers) reads as smeared along them, so the threshold sits above the softest such photos.
- exposure: mean grey level (0-255) and the share of pixels clipped to black (grey <= 10), on the half-size
  grey image. Highlight level: the level that 99.5% of the pixels' brightest channel (max of R, G, B) stay at
  or below, on the half-size image. An under-exposed photo is dark even in its brightest parts: 4 stops under
  turns pure white into 72 of 255. A correctly exposed black or navy garment filling the frame still has a
  lighter label, print, seam sheen or strip of background somewhere (113 for the darkest of clothing-small's
  3,781 photos), and taking the brightest channel keeps a saturated red from reading dark as grey luma does.
- clipped highlights: the share of pixels with at least two of their three channels clipped (>= 250), averaged
  over the whole half-size frame and over its central half, where the item lies. Over-exposure washes colours
  towards white (white, yellow, cyan, magenta: two channels or three at the top); a saturated red garment clips
  one channel only and is correctly exposed. A white sheet around a darker item clips harmlessly at the edge of
  the frame, so the centre counts twice; a white print on a dark T-shirt clips a little of the centre.
- short side: of the photo as uploaded, in its own pixels (before intake resized it).
- item coverage and cut-off, from a cheap foreground mask at 56 px: pixels whose colour lies far from the median
  colour of the frame's outer ring. It sees an item that differs in colour from a background visible at the
  frame's edge. It cannot tell a garment from a pattern on the bed or a textured floor, nor the wrong item from
  the right one, and when the item covers most of the edge it marks the background instead. Coverage is the
  masked share of the frame: near 0 means one uniform surface with nothing on it. Cut-off is how far the mask's
  centre of mass lies from the frame's centre, left-right and up-down together (0 centred, 1 at an edge or
  beyond, measured in half the frame's side): an item pushed towards an edge runs out of the photo there.
  Clothing-small's garments mostly fill the frame and lie near its centre. The measure reads 0 when the mask
  covers under a quarter of the frame: then the mask has usually found a strip of background beside a garment
  that fills the frame (the edge's colour is the garment's), which would read as an item at the edge; an item
  really pushed out of the photo that leaves under a quarter of it in view goes unseen too. Colour alone cannot
  tell "a garment filling the frame with a strip of floor at the top" from "floor filling the frame with the
  edge of a garment at the top": only something that knows what a garment looks like can.
- badly framed: the framing network's probability that the item is not wholly in view, the camera too close
  or the item pushed off centre (`grading.photo_framing`, on intake's 56 px overview of the whole photo, not
  the centre crop). It knows what a garment laid out for a photo looks like, which the colour mask above cannot.
- smeared: the same network's probability that the whole photo is smeared by a moving camera; it sees the
  smear of the photo as a whole, where the shake measure reads edges and misses prints smeared along themselves.
- perceptual hash: 64-bit pHash (the signs of the 8x8 lowest DCT frequencies of a 32x32 grey thumbnail against
  their median, as `imagehash.phash`), to find two photos of the same view.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from grading.intake import OVERVIEW_SIDE, Photo
from grading.photo_framing import read_framing

MASK_SIDE = 56
MASK_RING = 3  # pixels at MASK_SIDE: about 5% of the frame on each side
BACKGROUND_DISTANCE = 40.0  # RGB distance from the ring's median colour that counts as "not background"
MIN_ITEM_SHARE = 0.25  # a mask covering less of the frame places no item: cut-off reads 0 (module docstring)
# (dy, dx, r) of each direction the blur effect looks along on the half-size grey image: a box blur of 2r + 1
# samples (dy, dx) apart, 7 px long along x and y (7 x 1 px), 7.1 px along the diagonals (5 x 1.41 px) and 11 px
# along the 2:1 slopes (5 x 2.24 px; 3 samples would hardly be a box). The eight directions lie 18-27 degrees apart.
SHAKE_DIRECTIONS: tuple[tuple[int, int, int], ...] = (
    (0, 1, 3),
    (1, 0, 3),
    (1, 1, 2),
    (1, -1, 2),
    (1, 2, 2),
    (2, 1, 2),
    (1, -2, 2),
    (2, -1, 2),
)
SHADOW_LEVEL = 10
HIGHLIGHT_SHARE = 0.995  # the highlight level is the level 99.5% of the pixels' brightest channel stay at or below
CLIPPED_LEVEL = 250  # a channel at or above it is clipped
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
    badly_framed: float
    smeared: float
    phash: int


def measure_photo(photo: Photo) -> PhotoMeasures:
    """Measure a decoded intake photo (its model-input pixels and its uploaded size)."""
    return measure_pixels(photo.pixels, photo.source_size, photo.overview)


def measure_pixels(
    pixels: np.ndarray, source_size: tuple[int, int], overview: np.ndarray | None = None
) -> PhotoMeasures:
    """Measure an (h, w, 3) uint8 RGB array; `source_size` is (width, height) of the photo as uploaded, `overview`
    the whole photo at 56 px (`grading.intake.whole_overview`; without it the pixels stand for the whole photo)."""
    image = Image.fromarray(pixels)
    if overview is None:
        overview = np.asarray(image.resize((OVERVIEW_SIDE, OVERVIEW_SIDE), Image.Resampling.BOX))
    grey_image = image.convert("L")  # ITU-R 601 luma
    half_image = image.reduce(2)  # means of 2 x 2 pixels: 112 px for the shipped bundle
    half = np.asarray(half_image)
    half_grey = np.asarray(grey_image.reduce(2))
    small = half_image.reduce(max(1, min(half_image.size) // MASK_SIDE))
    coverage, cut_off = framing(np.asarray(small, np.float32))
    return PhotoMeasures(
        sharpness=_variance(laplacian(np.asarray(grey_image, np.int16))),
        shake=blur_effect(half_grey.astype(np.int16)),
        **exposure(half_grey),
        highlight_level=highlight_level(half),
        clipped_highlights=clipped_highlights(half),
        short_side=int(min(source_size)),
        item_coverage=coverage,
        cut_off=cut_off,
        **read_framing(overview)._asdict(),
        phash=perceptual_hash(grey_image),
    )


def exposure(grey: np.ndarray) -> dict[str, float]:
    """Brightness (mean grey level) and the share of pixels clipped to black of a uint8 grey image."""
    return {
        "brightness": float(grey.mean()),
        "clipped_shadows": np.count_nonzero(grey <= SHADOW_LEVEL) / grey.size,
    }


def highlight_level(rgb: np.ndarray) -> float:
    """The level that `HIGHLIGHT_SHARE` of the pixels' brightest channel stays at or below (uint8 RGB)."""
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    brightest = np.maximum(np.maximum(red, green), blue)
    below = np.cumsum(np.bincount(brightest.ravel(), minlength=256))
    return float(np.searchsorted(below, HIGHLIGHT_SHARE * brightest.size))


def clipped_highlights(rgb: np.ndarray) -> float:
    """Share of pixels with at least two channels clipped, averaged over the frame and its central half."""
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    middle = np.maximum(np.minimum(red, green), np.minimum(np.maximum(red, green), blue))  # median of 3 channels
    clipped = middle >= CLIPPED_LEVEL  # at least two channels clipped
    height, width = clipped.shape
    centre = clipped[height // 4 : height - height // 4, width // 4 : width - width // 4]
    return (np.count_nonzero(clipped) / clipped.size + np.count_nonzero(centre) / centre.size) / 2


def _variance(values: np.ndarray) -> float:
    flat = values.astype(np.float64).ravel()
    total = flat.sum()
    return float(flat @ flat - total * total / flat.size) / flat.size


def laplacian(grey: np.ndarray) -> np.ndarray:
    """The 4-neighbour Laplacian of the interior pixels of a signed grey image."""
    inner = grey[1:-1, 1:-1]
    return grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * inner


def blur_effect(grey: np.ndarray) -> float:
    """The worst direction's share of edge contrast that survives a further box blur (see the module docstring).

    A box blur of 2r + 1 samples along a step u turns the step from pixel p to p + u into
    (grey[p + (r + 1)u] - grey[p - ru]) / (2r + 1), so no blurred image is needed: each step (times 2r + 1) is
    compared with the step across the samples around it, in integers, away from the borders.
    """
    return 1.0 - min(_kept(grey, dy, dx, radius) for dy, dx, radius in SHAKE_DIRECTIONS)


def _kept(grey: np.ndarray, dy: int, dx: int, radius: int) -> float:
    """Share of the steps' total size along (dy, dx) that a box blur along it would remove (dy >= 0)."""
    height, width = grey.shape
    top, bottom = radius * dy, height - (radius + 1) * dy
    left, right = (radius * dx, width - (radius + 1) * dx) if dx >= 0 else (-(radius + 1) * dx, width + radius * dx)

    def shifted(k: int) -> np.ndarray:
        return grey[top + k * dy : bottom + k * dy, left + k * dx : right + k * dx]

    scaled = np.subtract(shifted(1), shifted(0))
    np.abs(scaled, out=scaled)
    scaled *= 2 * radius + 1  # at most 255 x 7: fits int16 (and their sum int32 below 1.2 million pixels)
    across = np.subtract(shifted(radius + 1), shifted(-radius))
    np.abs(across, out=across)
    total = int(scaled.sum(dtype=np.int32))
    np.subtract(scaled, across, out=scaled)  # what the blur removes from each step, where it removes anything
    return int(np.maximum(scaled, 0, out=scaled).sum(dtype=np.int32)) / max(total, 1)


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """True where a pixel's colour is far from the median colour of the frame's outer ring (the background)."""
    ring = MASK_RING
    edges = (rgb[:ring], rgb[-ring:], rgb[ring:-ring, :ring], rgb[ring:-ring, -ring:])
    background = np.median(np.concatenate([edge.reshape(-1, 3) for edge in edges]), axis=0)
    difference = rgb - background
    np.square(difference, out=difference)
    return difference @ np.ones(3, difference.dtype) > BACKGROUND_DISTANCE**2  # the sum over channels, faster


def framing(rgb: np.ndarray) -> tuple[float, float]:
    """(coverage, cut-off) of the foreground mask of a small RGB float array; see the module docstring."""
    mask = foreground_mask(rgb)
    height, width = mask.shape
    count = np.count_nonzero(mask)
    coverage = count / mask.size
    if coverage < MIN_ITEM_SHARE:
        return coverage, 0.0
    across, down = mask.sum(axis=0), mask.sum(axis=1)  # the mask's column and row counts
    x = (float(across @ np.arange(width)) / count - (width - 1) / 2) / (width / 2)
    y = (float(down @ np.arange(height)) / count - (height - 1) / 2) / (height / 2)
    return coverage, min(1.0, float(np.hypot(x, y)))


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
