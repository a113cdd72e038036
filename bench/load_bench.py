"""Load and admission: many kiosk clients, then many station clients, against one service process on loopback.

Run: `.venv/bin/python bench/load_bench.py [--kiosk-clients 50] [--station-clients 20] [--seconds 60]`.

The service runs as a subprocess with a fresh data folder (SQLite). Every client is a thread with its own
connection and behaves as a real one would: it sends, waits for the answer, and on 429/503 waits the Retry-After
the service gave (at most 5 s) before the next request. Photos are 12 MP camera-like JPEGs (as in
`bench/service_bench.py`), `--kiosk-photos` per kiosk request. What it checks and prints:

- no 5xx other than 503 `busy`, and no connection error;
- every overload answer (429, 503) carries Retry-After, and how fast it came (a refusal should cost no decoding);
- latency of the graded kiosk requests (p50, p99) and of the refusals;
- station: every acknowledged item (201) is graded afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from service_bench import (  # noqa: E402  (the bench folder is not a package)
    ITEM_PHOTOS,
    VIEWS,
    camera_canvas,
    create_key,
    free_port,
    item_files,
    jpeg_variant,
    running,
    source_photos,
    wait_graded,
)

DISTINCT_PHOTOS = 24  # distinct JPEGs the clients cycle through (making more would load the cores before the run)
MAX_WAIT = 5.0  # a client never waits longer than this for a Retry-After


@dataclass
class Tally:
    """What the clients saw, shared between their threads."""

    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    served_ms: list[float] = field(default_factory=list)
    refused_ms: list[float] = field(default_factory=list)
    refusals_without_retry_after: int = 0
    acknowledged: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, response: httpx.Response, milliseconds: float) -> None:
        with self.lock:
            code = response.json().get("error", {}).get("code", "") if response.status_code >= 400 else ""
            self.statuses[f"{response.status_code} {code}".strip()] += 1
            if response.status_code in (429, 503):
                self.refused_ms.append(milliseconds)
                self.refusals_without_retry_after += "Retry-After" not in response.headers
            elif response.status_code < 300:
                self.served_ms.append(milliseconds)


def photos_pool(count: int) -> list[bytes]:
    canvases = [camera_canvas(photo, seed) for seed, photo in enumerate(source_photos(ITEM_PHOTOS))]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda i: jpeg_variant(canvases[i % len(canvases)], 13 * i + 1), range(count)))


def retry_pause(response: httpx.Response) -> float:
    return min(MAX_WAIT, float(response.headers.get("Retry-After", 1))) if response.status_code in (429, 503) else 0


def kiosk_client(url: str, key: str, photos: list[bytes], per_request: int, until: float, tally: Tally, n: int) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=httpx.Timeout(120.0)) as client:
        sent = n
        while time.monotonic() < until:
            files = [
                ("photos", (f"k{n}-{i}.jpg", photos[(sent + i) % len(photos)], "image/jpeg"))
                for i in range(per_request)
            ]
            sent += per_request
            started = time.perf_counter()
            try:
                response = client.post("/v1/kiosk/grade", files=files, data={"category": "shirt"})
            except httpx.TransportError as error:
                with tally.lock:
                    tally.errors[type(error).__name__] += 1
                continue
            tally.add(response, (time.perf_counter() - started) * 1e3)
            time.sleep(retry_pause(response))


def station_client(url: str, key: str, photos: list[bytes], until: float, tally: Tally, n: int) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=httpx.Timeout(120.0)) as client:
        item = 0
        while time.monotonic() < until:
            chosen = [photos[(n + item + i) % len(photos)] for i in range(ITEM_PHOTOS)]
            data = {"metadata": json.dumps({"sku": f"load-{n}-{item}", "category": "shirt"}), "views": VIEWS}
            started = time.perf_counter()
            try:
                response = client.post("/v1/station/items", data=data, files=item_files(chosen, item))
            except httpx.TransportError as error:
                with tally.lock:
                    tally.errors[type(error).__name__] += 1
                continue
            tally.add(response, (time.perf_counter() - started) * 1e3)
            if response.status_code == 201:
                with tally.lock:
                    tally.acknowledged.append(response.json()["item_id"])
            item += 1
            time.sleep(retry_pause(response))


def percentile(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q):.0f}" if values else "-"


def summary(name: str, tally: Tally, seconds: float) -> str:
    bad = sum(count for status, count in tally.statuses.items() if status.startswith("5") and status != "503 busy")
    lines = [
        f"## {name}",
        f"answers: {dict(sorted(tally.statuses.items()))}; connection errors: {dict(tally.errors) or 0}; "
        f"5xx other than 503 busy: {bad}",
        f"served: {len(tally.served_ms)} in {seconds:.0f} s, p50 {percentile(tally.served_ms, 50)} ms, "
        f"p99 {percentile(tally.served_ms, 99)} ms",
        f"refused (429/503): {len(tally.refused_ms)}, answered in p50 {percentile(tally.refused_ms, 50)} ms, "
        f"p99 {percentile(tally.refused_ms, 99)} ms; without Retry-After: {tally.refusals_without_retry_after}",
    ]
    return "\n".join(lines)


def run_clients(target, clients: int, seconds: float, *args) -> tuple[Tally, float]:
    tally, until = Tally(), time.monotonic() + seconds
    started = time.perf_counter()
    threads = [threading.Thread(target=target, args=(*args, until, tally, n)) for n in range(clients)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    return tally, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiosk-clients", type=int, default=50)
    parser.add_argument("--kiosk-photos", type=int, default=1, help="photos per kiosk request (1-4)")
    parser.add_argument("--station-clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0, help="each phase's length")
    args = parser.parse_args()
    photos = photos_pool(DISTINCT_PHOTOS)
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch) / "service"
        keys = {role: create_key(data_dir, role) for role in ("kiosk", "station")}
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "serving.cli", "--data-dir", str(data_dir), "run", "--port", str(port)]
        with running(command, url, Path(scratch) / "server.log"):
            kiosk, kiosk_seconds = run_clients(
                kiosk_client, args.kiosk_clients, args.seconds, url, keys["kiosk"], photos, args.kiosk_photos
            )
            print(summary(f"kiosk: {args.kiosk_clients} clients x {args.kiosk_photos} photo(s)", kiosk, kiosk_seconds))
            station, station_seconds = run_clients(
                station_client, args.station_clients, args.seconds, url, keys["station"], photos
            )
            print(summary(f"station: {args.station_clients} clients x {ITEM_PHOTOS} photos", station, station_seconds))
            started = time.perf_counter()
            wait_graded(url, keys["station"], station.acknowledged)
            print(
                f"every acknowledged station item graded: {len(station.acknowledged)} items, the last "
                f"{time.perf_counter() - started:.0f} s after the clients stopped"
            )


if __name__ == "__main__":
    main()
