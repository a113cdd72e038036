"""Whole-network inference benchmark: one bundle on ONNX Runtime, 224 px, batch 1 and 8, 2 threads.

Run: `.venv/bin/python bench/model_bench.py grading/bundles/default [--repeats 200]`. Imports no torch
(torch's idle threads slow ONNX Runtime), so it measures what the service will see.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grading.inference import load_model


def median_ms_per_photo(model, photos: np.ndarray, repeats: int) -> float:
    for _ in range(10):
        model.run(photos)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.run(photos)
        timings.append((time.perf_counter() - start) * 1000 / len(photos))
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    assert "torch" not in sys.modules, "keep torch out of this process"
    model = load_model(args.bundle, threads=args.threads)
    size = model.metadata.input.crop_size
    rng = np.random.default_rng(0)
    print(f"bundle {model.metadata.name} {model.metadata.version}, {args.threads} threads, {size} px, medians:")
    for batch in (1, 8):
        photos = rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
        print(f"  batch {batch}: {median_ms_per_photo(model, photos, args.repeats):.2f} ms per photo")


if __name__ == "__main__":
    main()
