"""Intake benchmark: DCT-scaled JPEG decode (`grading.intake.load_photo`) against full decode + resize.

Run: `.venv/bin/python bench/intake_bench.py [--repeats 15]` (or `make bench`). Makes a detailed
4000x3000 JPEG from photos that ship inside scikit-image, then times both paths in this one process and
prints medians, the speed ratio and how far the two model-size results are apart.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grading.intake import Framing, Preprocessing, load_photo

SIZE = (4000, 3000)


def full_decode_reference(data: bytes, preprocessing: Preprocessing | None = None) -> np.ndarray:
    """What a user would otherwise write: decode every pixel, orient, then resize (and crop) to the model input."""
    preprocessing = preprocessing or Preprocessing()
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    if preprocessing.framing is Framing.WHOLE:
        size = (preprocessing.crop_size, preprocessing.crop_size)
        return np.array(image.resize(size, Image.Resampling.BICUBIC))
    scale = preprocessing.resize_short_side / min(image.size)
    resized = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
    crop = preprocessing.crop_size
    left, top = (resized.width - crop) // 2, (resized.height - crop) // 2
    return np.array(resized.crop((left, top, left + crop, top + crop)))


def detailed_jpeg(size: tuple[int, int] = SIZE, quality: int = 90) -> bytes:
    """A camera-sized JPEG with real photo content and fine texture (not a smooth upscale)."""
    from skimage import data

    tiles = [data.chelsea(), data.coffee(), data.rocket(), data.astronaut()]
    canvas = Image.new("RGB", size)
    tile_width, tile_height = size[0] // 2, size[1] // 2
    for index, tile in enumerate(tiles):
        piece = Image.fromarray(tile).resize((tile_width, tile_height), Image.Resampling.LANCZOS)
        canvas.paste(piece, ((index % 2) * tile_width, (index // 2) * tile_height))
    grain = np.random.default_rng(0).normal(0, 6, (size[1], size[0], 3))
    pixels = np.clip(np.asarray(canvas, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def median_ms(function: Callable[[], object], repeats: int) -> float:
    function()  # warm-up
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    data = detailed_jpeg()
    fast = median_ms(lambda: load_photo(data), args.repeats)
    slow = median_ms(lambda: full_decode_reference(data), args.repeats)
    difference = np.abs(load_photo(data).pixels.astype(int) - full_decode_reference(data).astype(int))
    print(f"4000x3000 JPEG, {len(data) / 1e6:.1f} MB, {args.repeats} repeats, medians:")
    print(f"  full decode + resize : {slow:7.1f} ms")
    print(f"  load_photo (DCT draft): {fast:7.1f} ms")
    print(f"  speed-up             : {slow / fast:7.1f}x")
    print(
        f"  difference at 224x224: mean {difference.mean():.2f}, p99 {np.percentile(difference, 99):.0f}, "
        f"max {difference.max()} (of 255)"
    )


if __name__ == "__main__":
    main()
