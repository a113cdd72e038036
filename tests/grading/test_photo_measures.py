"""Photo measures on generated photos: what each number reads, and that it matches a reference implementation."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from grading.intake import load_photo
from grading.photo_measures import (
    SHAKE_DIRECTIONS,
    blur_effect,
    clipped_highlights,
    exposure,
    hash_distance,
    highlight_level,
    measure_photo,
    measure_pixels,
)
from tests.grading.test_photo_quality import SIZE, garment, photo, smeared


def test_measures_read_intake_photos_of_every_size() -> None:
    decoded = load_photo(_jpeg(garment(), quality=90))
    measures = measure_photo(decoded)
    assert measures.short_side == SIZE and 0 <= measures.item_coverage <= 1
    small = measure_pixels(garment()[:112, :112], (112, 112))
    assert small.sharpness > 0 and 0 <= small.cut_off <= 1 and 0 <= small.shake <= 1


def test_exposure_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (64, 64)).astype(np.uint8)
    measured = exposure(grey)
    assert measured["brightness"] == pytest.approx(grey.mean())
    assert measured["clipped_shadows"] == pytest.approx((grey <= 10).mean())
    rgb = rng.integers(200, 256, (64, 64, 3)).astype(np.uint8)
    brightest = rgb.max(axis=-1)
    assert highlight_level(rgb) == pytest.approx(np.percentile(brightest, 99.5, method="inverted_cdf"))
    two_clipped = (rgb >= 250).sum(axis=-1) >= 2
    expected = (two_clipped.mean() + two_clipped[16:48, 16:48].mean()) / 2
    assert clipped_highlights(rgb) == pytest.approx(expected)


def test_blur_effect_matches_a_box_blurred_copy_along_each_direction() -> None:
    """The shifted-sum shortcut equals Crete's definition with the blurred image made explicitly."""
    grey = np.random.default_rng(1).integers(0, 256, (40, 48)).astype(np.int16)
    worst = 0.0
    for dy, dx, radius in SHAKE_DIRECTIONS:
        width, reach = 2 * radius + 1, (radius + 1) * max(abs(dy), abs(dx))
        inner = np.s_[reach : grey.shape[0] - reach, reach : grey.shape[1] - reach]
        shifted = [np.roll(grey, (-k * dy, -k * dx), axis=(0, 1)) for k in range(-radius, radius + 2)]
        blurred = sum(shifted[:-1]) / width  # box along (dy, dx) at p; the same one step further is at p + (dy, dx)
        step = np.abs(shifted[radius + 1] - shifted[radius])[inner]
        blurred_step = np.abs(sum(shifted[1:]) / width - blurred)[inner]
        removed = np.clip(step - blurred_step, 0, None).sum() / step.sum()
        worst = max(worst, 1 - removed)
    assert blur_effect(grey) == pytest.approx(worst, abs=0.02)  # the shortcut uses a slightly larger valid region


@pytest.mark.parametrize("degrees", [0, 27, 45, 72, 135])
def test_shake_reads_a_smear_at_any_angle_and_not_a_sharp_photo(degrees: int) -> None:
    sharp = measure_pixels(garment(), (3000, 4000)).shake
    shaken = measure_pixels(smeared(garment(), degrees), (3000, 4000)).shake
    assert sharp < 0.45 < 0.6 < shaken


def test_highlight_level_reads_the_brightest_channel() -> None:
    red = np.zeros((SIZE, SIZE, 3), np.uint8)
    red[..., 0] = 230  # grey luma 69, but a correctly exposed saturated red
    assert highlight_level(red) == 230


def _jpeg(pixels: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_perceptual_hash_matches_imagehash_within_a_few_bits() -> None:
    imagehash = pytest.importorskip("imagehash")
    for seed in range(5):
        pixels = garment(seed)
        theirs = imagehash.phash(Image.fromarray(pixels)).hash.flatten()
        theirs_int = int.from_bytes(np.packbits(theirs).tobytes(), "big")
        assert hash_distance(measure_photo(photo(pixels)).phash, theirs_int) <= 6
