"""Photo quality benchmark: what all the checks add to intake, per photo (target: at most 2 ms).

Run: `.venv/bin/python bench/photo_quality_bench.py [--repeats 201]`. Uses the intake benchmark's detailed
4000x3000 JPEG: each repeat times, in turn, `load_photo` on it and all the quality checks of a 4-photo kiosk item
made of its intake photo and three crops (`measure_photo` on each, then `assess_photos` with the default policy,
near-duplicate comparison included), so both medians come from one run under the same load. Prints the medians
per photo and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from intake_bench import detailed_jpeg

from grading.intake import Photo, load_photo
from grading.photo_measures import measure_photo
from grading.photo_quality import PhotoQualityPolicy, assess_photos
from grading.vocabulary import View

ITEM_PHOTOS = 4


def item_photos(photo: Photo) -> list[Photo]:
    """The intake photo and three different crops of it, resized back: distinct pixels, same size."""
    from PIL import Image

    photos = [photo]
    side = photo.pixels.shape[0]
    for offset in (8, 16, 24):
        window = Image.fromarray(photo.pixels).crop((offset, offset, side - offset, side - offset))
        pixels = np.asarray(window.resize((side, side), Image.Resampling.BILINEAR))
        photos.append(Photo(pixels, photo.source_format, photo.source_size, photo.crop_box, photo.overview))
    return photos


def check_item(photos: list[Photo], policy: PhotoQualityPolicy) -> None:
    measures = [measure_photo(photo) for photo in photos]
    assess_photos(measures, [View.UNSPECIFIED] * len(photos), policy)


def timed_ms(function: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    function(*args)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=201)
    args = parser.parse_args()
    data = detailed_jpeg()
    policy = PhotoQualityPolicy()
    photos = item_photos(load_photo(data))
    check_item(photos, policy)  # warm-up
    intake, checks = [], []
    for _ in range(args.repeats):
        intake.append(timed_ms(load_photo, data))
        checks.append(timed_ms(check_item, photos, policy) / ITEM_PHOTOS)
    intake_ms, checks_ms = statistics.median(intake), statistics.median(checks)
    print(f"4000x3000 JPEG, {len(data) / 1e6:.1f} MB, {args.repeats} repeats (interleaved), medians per photo:")
    print(f"  intake (load_photo)        : {intake_ms:7.2f} ms")
    p90 = np.percentile(checks, 90)
    print(f"  all quality checks         : {checks_ms:7.2f} ms  (p90 {p90:.2f} ms; target <= 2 ms)")
    print(f"  checks / intake            : {checks_ms / intake_ms:7.1%}")


if __name__ == "__main__":
    main()
