"""Inference scheduler benchmark: its overhead over a direct model run, and kiosk latency under station load.

Run: `.venv/bin/python bench/scheduler_bench.py [grading/bundles/default] [--repeats 60] [--kiosk-samples 200]`.

1. ms per photo for one request of 1 to 8 photos: `model.run` directly vs `InferenceScheduler.run` (kiosk
   priority, so no batch-filling wait), the two interleaved call by call.
2. Latency of a one-photo kiosk request with the scheduler idle, and while station threads keep the station
   queue full of 6-photo items, for several `max_batch` settings; also the station throughput meanwhile.
   The settings take turns in rounds, so load from other processes spreads over all of them.

Everything is measured in this one process and run; the 2-core machine varies up to 2x between runs, so compare
ratios within one run. Imports no torch.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grading.inference import GradingModel, load_model
from serving.inference_scheduler import InferenceScheduler, Priority

BATCHES = (1, 2, 4, 6, 8)
STATION_ITEM_PHOTOS = 6
STATION_THREADS = 4  # 24 photos in flight: the station queue always holds more than a batch
IDLE = 0  # a "max_batch" key meaning: no station load


@dataclass
class LoadResult:
    """Kiosk latencies and station progress of one configuration, summed over rounds."""

    kiosk_ms: list[float] = field(default_factory=list)
    station_photos: int = 0
    seconds: float = 0.0
    batch_sizes: dict[int, int] = field(default_factory=dict)

    @property
    def station_photos_per_second(self) -> float:
        return self.station_photos / self.seconds if self.seconds else 0.0


class BatchCounter:
    """An InferenceObserver that counts batch sizes."""

    def __init__(self, sizes: dict[int, int]) -> None:
        self.sizes = sizes

    def on_batch(self, size: int, seconds: float) -> None:
        self.sizes[size] = self.sizes.get(size, 0) + 1

    def on_queue_depth(self, photos: int) -> None:
        pass


def timed_ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def overhead(model: GradingModel, photos: np.ndarray, repeats: int) -> dict[int, tuple[float, float]]:
    """Median ms per photo, direct and through the scheduler, for each request size in BATCHES."""
    scheduler = InferenceScheduler(model)
    scheduler.start()
    results = {}
    for batch in BATCHES:
        pixels = photos[:batch]
        for _ in range(3):
            model.run(pixels), scheduler.run(pixels, Priority.KIOSK)
        direct, scheduled = [], []
        for _ in range(repeats):
            direct.append(timed_ms(lambda pixels=pixels: model.run(pixels)) / batch)
            scheduled.append(timed_ms(lambda pixels=pixels: scheduler.run(pixels, Priority.KIOSK)) / batch)
        results[batch] = (statistics.median(direct), statistics.median(scheduled))
    scheduler.stop()
    return results


def kiosk_latencies(scheduler: InferenceScheduler, photo: np.ndarray, samples: int, seed: int) -> list[float]:
    """One-photo kiosk requests at random moments (0-20 ms apart), so they land at every phase of a batch."""
    rng = random.Random(seed)
    latencies = []
    for _ in range(samples):
        time.sleep(rng.uniform(0, 0.02))
        latencies.append(timed_ms(lambda: scheduler.run(photo, Priority.KIOSK)))
    return latencies


def one_round(model: GradingModel, photos: np.ndarray, samples: int, result: LoadResult, max_batch: int) -> None:
    """Kiosk requests while station threads keep the station queue full (no threads when max_batch is IDLE)."""
    threads = STATION_THREADS if max_batch != IDLE else 0
    options = {"max_batch": max_batch} if max_batch != IDLE else {}
    scheduler = InferenceScheduler(model, observer=BatchCounter(result.batch_sizes), **options)
    scheduler.start()
    stop = threading.Event()
    done = [0] * threads

    def station(index: int) -> None:
        while not stop.is_set():
            scheduler.run(photos[:STATION_ITEM_PHOTOS], Priority.STATION)
            done[index] += STATION_ITEM_PHOTOS

    workers = [threading.Thread(target=station, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    kiosk_latencies(scheduler, photos[:1], 5, seed=-1)  # warm up; let the station queue fill
    start_done, start = sum(done), time.perf_counter()
    result.kiosk_ms += kiosk_latencies(scheduler, photos[:1], samples, seed=len(result.kiosk_ms))
    result.station_photos += sum(done) - start_done
    result.seconds += time.perf_counter() - start
    stop.set()
    for worker in workers:
        worker.join()
    scheduler.stop()


def kiosk_under_load(
    model: GradingModel, photos: np.ndarray, samples: int, rounds: int, sizes: list[int]
) -> dict[int, LoadResult]:
    results = {max_batch: LoadResult() for max_batch in [IDLE, *sizes]}
    for _ in range(rounds):
        for max_batch, result in results.items():
            one_round(model, photos, samples // rounds, result, max_batch)
    return results


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def report_overhead(results: dict[int, tuple[float, float]]) -> None:
    print("\nms per photo, medians (direct model.run vs InferenceScheduler.run, kiosk priority):")
    print("| request photos | direct | scheduler | scheduler / direct | direct / direct at 8 |\n|---|---|---|---|---|")
    at_8 = results[BATCHES[-1]][0]
    for batch, (direct, scheduled) in results.items():
        print(f"| {batch} | {direct:.2f} | {scheduled:.2f} | {scheduled / direct:.3f} | {direct / at_8:.3f} |")


def report_kiosk(results: dict[int, LoadResult]) -> None:
    print(f"\nkiosk latency of one photo, ms ({STATION_THREADS} station threads x {STATION_ITEM_PHOTOS}-photo items):")
    print("| station load | p50 | p99 | p50 / idle p50 | station photos/s | batch sizes (size: count) |")
    print("|---|---|---|---|---|---|")
    idle_p50 = percentile(results[IDLE].kiosk_ms, 50)
    for max_batch, result in results.items():
        p50, p99 = percentile(result.kiosk_ms, 50), percentile(result.kiosk_ms, 99)
        name = f"saturated, max_batch={max_batch}" if max_batch != IDLE else "idle"
        throughput = f"{result.station_photos_per_second:.1f}" if max_batch != IDLE else "-"
        sizes = dict(sorted(result.batch_sizes.items()))
        print(f"| {name} | {p50:.1f} | {p99:.1f} | {p50 / idle_p50:.2f} | {throughput} | {sizes} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, nargs="?", default=Path("grading/bundles/default"))
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--kiosk-samples", type=int, default=200, help="per configuration, over all rounds")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--max-batch", type=int, nargs="+", default=[2, 4, 6, 8])
    args = parser.parse_args()
    assert "torch" not in sys.modules, "keep torch out of this process"
    model = load_model(args.bundle)
    size = model.metadata.input.crop_size
    photos = np.random.default_rng(0).integers(0, 256, (8, size, size, 3), dtype=np.uint8)
    print(f"bundle {model.metadata.name} {model.metadata.version}, 2 threads, {size} px")
    report_overhead(overhead(model, photos, args.repeats))
    report_kiosk(kiosk_under_load(model, photos, args.kiosk_samples, args.rounds, args.max_batch))


if __name__ == "__main__":
    main()
