"""Photo measures on generated photos: what each number reads, and that it matches a reference implementation."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from grading.intake import load_photo
from grading.photo_measures import exposure, hash_distance, measure_photo, measure_pixels
from tests.grading.test_photo_quality import SIZE, garment, photo


def test_measures_read_intake_photos_of_every_size() -> None:
    decoded = load_photo(_jpeg(garment(), quality=90))
    measures = measure_photo(decoded)
    assert measures.short_side == SIZE and 0 <= measures.item_coverage <= 1
    small = measure_pixels(garment()[:112, :112], (112, 112))
    assert small.sharpness > 0 and 0 <= small.cut_off <= 1


def test_exposure_matches_numpy() -> None:
    grey = np.random.default_rng(0).integers(0, 256, (64, 64)).astype(np.uint8)
    measured = exposure(grey)
    assert measured["brightness"] == pytest.approx(grey.mean())
    assert measured["highlight_level"] == pytest.approx(np.percentile(grey, 95, method="inverted_cdf"))
    assert measured["clipped_shadows"] == pytest.approx((grey <= 10).mean())
    assert measured["clipped_highlights"] == pytest.approx((grey >= 245).mean())


def test_perceptual_hash_matches_imagehash_within_a_few_bits() -> None:
    imagehash = pytest.importorskip("imagehash")
    for seed in range(5):
        pixels = garment(seed)
        theirs = imagehash.phash(Image.fromarray(pixels)).hash.flatten()
        theirs_int = int.from_bytes(np.packbits(theirs).tobytes(), "big")
        assert hash_distance(measure_photo(photo(pixels)).phash, theirs_int) <= 6


def _jpeg(pixels: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
