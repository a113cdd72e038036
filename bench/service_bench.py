"""Service benchmark: kiosk latency and station throughput of the real service, against a plain torch baseline.

Run: `.venv/bin/python bench/service_bench.py [--kiosk-requests 100] [--station-items 24] [--clients 4]`.

Both servers run on loopback as subprocesses, one at a time (so they never share the two cores), and get the
same 12-megapixel JPEGs (4000x3000, quality 90, real clothing-small photos upscaled with fine grain; every
request's photos are distinct bytes, so content addressing never skips a write):

- kiosk: one-photo requests, sequential, end to end as httpx sees them (p50, p99);
- station: `--clients` threads upload 6-photo items; throughput is photos per second from the first upload
  until the last item is graded (service: status polled; baseline: the request returns when done).

The baseline is what a user would otherwise write (`--serve-baseline`, started by this script): FastAPI with
plain `def` routes, per photo a full PIL decode, `exif_transpose`, resize to 256 and centre crop 224, then the
project's EfficientNet-Lite0 grading network in torch eager (2 threads), one photo at a time; a lock keeps
two requests from running torch at once (without it they oversubscribe the two cores and the baseline is slower).
This process imports no torch.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import numpy as np
from fastapi import FastAPI, File, UploadFile
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:  # torch is imported only in the baseline server process
    from training.export import GradingNetwork

SIZE = (4000, 3000)
QUALITY = 90
ITEM_PHOTOS = 6
VIEWS = "front,back,side,label,detail,inside"
CLOTHING = Path(os.environ.get("SECONDLOOK_DATASETS", ROOT.parent / "shared" / "datasets")) / "clothing-small"
TIMEOUT = httpx.Timeout(120.0)
Photos = Annotated[list[UploadFile], File()]


# --- photos -----------------------------------------------------------------------------------------------


def source_photos(count: int) -> list[np.ndarray]:
    """Real photos: clothing-small test photos when present, else the ones that ship inside scikit-image."""
    paths = sorted((CLOTHING / "test").glob("*/*.jpg"))
    if paths:
        spread = paths[:: max(1, len(paths) // count)][:count]  # across categories
        return [np.asarray(Image.open(path).convert("RGB")) for path in spread]
    from skimage import data

    names = ["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "cat"]
    return [getattr(data, names[i % len(names)])() for i in range(count)]


def camera_canvas(photo: np.ndarray, seed: int) -> np.ndarray:
    """An upscale to SIZE (4000x3000 unless --size) with sensor-like grain: as hard to decode as a camera photo."""
    canvas = np.asarray(Image.fromarray(photo).resize(SIZE, Image.Resampling.BICUBIC), dtype=np.int16)
    grain = np.random.default_rng(seed).integers(-8, 9, canvas.shape, dtype=np.int16)
    return np.clip(canvas + grain, 0, 255).astype(np.uint8)


def jpeg_variant(canvas: np.ndarray, shift: int) -> bytes:
    """Distinct bytes per shift: the canvas rolled sideways by `shift` pixels, encoded at quality 90."""
    buffer = io.BytesIO()
    Image.fromarray(np.roll(canvas, shift, axis=1)).save(buffer, "JPEG", quality=QUALITY)
    return buffer.getvalue()


@dataclass(frozen=True)
class Workload:
    kiosk: list[bytes]  # one photo per request
    station: list[list[bytes]]  # six photos per item


def make_workload(kiosk_requests: int, station_items: int) -> Workload:
    canvases = [camera_canvas(photo, seed) for seed, photo in enumerate(source_photos(ITEM_PHOTOS))]
    with ThreadPoolExecutor(2) as pool:
        kiosk = list(pool.map(lambda i: jpeg_variant(canvases[0], 7 * i + 1), range(kiosk_requests)))
        jobs = [(canvas, 11 * item + 3) for item in range(station_items) for canvas in canvases]
        flat = list(pool.map(lambda job: jpeg_variant(*job), jobs))
    station = [flat[i : i + ITEM_PHOTOS] for i in range(0, len(flat), ITEM_PHOTOS)]
    return Workload(kiosk, station)


# --- server processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(command: list[str], url: str, log: Path) -> Iterator[subprocess.Popen]:
    """Start `command`, wait until `url`/readyz answers 200, stop it (SIGTERM, then SIGKILL) on exit."""
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_ready(process, url, log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(process: subprocess.Popen, url: str, log: Path, seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"server not ready after {seconds:.0f} s:\n{log.read_text()[-3000:]}")


def cpu_seconds(process: subprocess.Popen) -> float:
    """User + system CPU time of the server so far (Linux), all threads: cost per photo, whatever else runs."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def create_key(data_dir: Path, role: str) -> str:
    command = [sys.executable, "-m", "serving.cli", "--data-dir", str(data_dir), "keys", "create"]
    result = subprocess.run([*command, "--role", role, "--name", f"bench-{role}"], cwd=ROOT, capture_output=True)
    result.check_returncode()
    return result.stdout.decode().strip().splitlines()[-1]


# --- measurements -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    kiosk_ms: list[float]
    station_photos: int
    station_seconds: float
    station_cpu_seconds: float  # the server's CPU time while the station work ran
    kiosk_timings: list[dict[str, float]]  # the server-side stage timings of each kiosk answer (service only)

    @property
    def station_photos_per_second(self) -> float:
        return self.station_photos / self.station_seconds

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.kiosk_ms + other.kiosk_ms,
            self.station_photos + other.station_photos,
            self.station_seconds + other.station_seconds,
            self.station_cpu_seconds + other.station_cpu_seconds,
            self.kiosk_timings + other.kiosk_timings,
        )


def kiosk_latencies(client: httpx.Client, path: str, photos: list[bytes], warmup: int) -> tuple[list[float], list]:
    """Client-measured ms per request after `warmup` requests, and each response's JSON."""
    latencies, bodies = [], []
    for index, photo in enumerate(photos):
        start = time.perf_counter()
        response = client.post(path, files=[("photos", (f"kiosk-{index}.jpg", photo, "image/jpeg"))])
        elapsed = (time.perf_counter() - start) * 1000
        response.raise_for_status()
        if index >= warmup:
            latencies.append(elapsed)
            bodies.append(response.json())
    return latencies, bodies


def item_files(photos: list[bytes], item: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("photos", (f"item-{item}-{i}.jpg", photo, "image/jpeg")) for i, photo in enumerate(photos)]


def in_clients(clients: int, items: list[list[bytes]], upload: Callable[[int, list[bytes]], object]) -> list:
    """Run `upload(index, photos)` for every item on `clients` threads; the results in item order."""
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(upload, range(len(items)), items))


def service_station(url: str, key: str, items: list[list[bytes]], clients: int) -> float:
    """Seconds from the first upload until every item is graded."""
    local = threading.local()

    def upload(index: int, photos: list[bytes]) -> str:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=TIMEOUT)
        metadata = json.dumps({"sku": f"bench-{index}", "category": "shirt"})
        data = {"metadata": metadata, "views": VIEWS}
        response = local.client.post("/v1/station/items", data=data, files=item_files(photos, index))
        response.raise_for_status()
        return response.json()["item_id"]

    start = time.perf_counter()
    item_ids = in_clients(clients, items, upload)
    wait_graded(url, key, item_ids)
    return time.perf_counter() - start


def wait_graded(url: str, key: str, item_ids: list[str], seconds: float = 900.0) -> None:
    """Poll one item at a time, oldest first, every 50 ms: jobs finish roughly in order, and light polling
    leaves the server's cores to the grading."""
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=TIMEOUT) as client:
        for item_id in item_ids:
            while (status := client.get(f"/v1/station/items/{item_id}").json()["status"]) != "graded":
                if status == "failed" or time.monotonic() > deadline:
                    raise RuntimeError(f"item {item_id} is {status} after {seconds:.0f} s at most")
                time.sleep(0.05)


def baseline_station(url: str, items: list[list[bytes]], clients: int) -> float:
    local = threading.local()

    def upload(index: int, photos: list[bytes]) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, timeout=TIMEOUT)
        local.client.post("/station", files=item_files(photos, index)).raise_for_status()

    start = time.perf_counter()
    in_clients(clients, items, upload)
    return time.perf_counter() - start


def station_photos(workload: Workload) -> int:
    return sum(map(len, workload.station))


def median_stages(timings: list[dict[str, float]]) -> dict[str, float]:
    return {name: float(np.median([timing[name] for timing in timings])) for name in timings[0]}


def measure_service(workload: Workload, args: argparse.Namespace, scratch: Path) -> Figures:
    data_dir = scratch / "service"
    keys = {role: create_key(data_dir, role) for role in ("kiosk", "station")}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "serving.cli", "--data-dir", str(data_dir), "run", "--port", str(port)]
    with running(command, url, scratch / "service.log") as process:
        with httpx.Client(base_url=url, headers={"X-API-Key": keys["kiosk"]}, timeout=TIMEOUT) as client:
            kiosk_ms, bodies = kiosk_latencies(client, "/v1/kiosk/grade", workload.kiosk, args.warmup)
        cpu = cpu_seconds(process)
        station = service_station(url, keys["station"], workload.station, args.clients)
        cpu = cpu_seconds(process) - cpu
    return Figures(kiosk_ms, station_photos(workload), station, cpu, [body["timings"] for body in bodies])


def measure_baseline(workload: Workload, args: argparse.Namespace, scratch: Path) -> Figures:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-baseline", "--port", str(port)]
    with running(command, url, scratch / "baseline.log") as process:
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            kiosk_ms, _ = kiosk_latencies(client, "/kiosk", workload.kiosk, args.warmup)
        cpu = cpu_seconds(process)
        station = baseline_station(url, workload.station, args.clients)
        cpu = cpu_seconds(process) - cpu
    return Figures(kiosk_ms, station_photos(workload), station, cpu, [])


# --- report -----------------------------------------------------------------------------------------------


def cpu_ms_per_photo(figures: Figures) -> float:
    return figures.station_cpu_seconds * 1000 / figures.station_photos


def report(service: Figures, baseline: Figures, workload: Workload, args: argparse.Namespace) -> str:
    def p(values: list[float], q: float) -> float:
        return float(np.percentile(values, q))

    rows = [
        ("kiosk p50 (ms)", p(service.kiosk_ms, 50), p(baseline.kiosk_ms, 50), "<= 60"),
        ("kiosk p99 (ms)", p(service.kiosk_ms, 99), p(baseline.kiosk_ms, 99), "<= 150"),
        ("station (photos/s)", service.station_photos_per_second, baseline.station_photos_per_second, ">= 3x"),
        ("station server CPU per photo (ms)", cpu_ms_per_photo(service), cpu_ms_per_photo(baseline), ""),
    ]
    sizes = [len(photo) for photo in workload.kiosk]
    lines = [
        f"{SIZE[0] * SIZE[1] / 1e6:.0f} MP JPEG {SIZE[0]}x{SIZE[1]} q{QUALITY}, "
        f"{np.median(sizes) / 1e6:.2f} MB median; "
        f"kiosk {len(service.kiosk_ms)} sequential requests after {args.warmup} warm-up; "
        f"station {len(workload.station)} items x {ITEM_PHOTOS} photos, {args.clients} clients; "
        f"{args.rounds} rounds each, pooled",
        "",
        "| measure | service | baseline | service / baseline | target |",
        "|---|---|---|---|---|",
    ]
    for name, ours, theirs, target in rows:
        lines.append(f"| {name} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f}x | {target} |")
    stages = ", ".join(f"{name} {value:.1f}" for name, value in median_stages(service.kiosk_timings).items())
    outside = p(service.kiosk_ms, 50) - median_stages(service.kiosk_timings)["total_ms"]
    lines += ["", f"service kiosk stages, server side, medians (ms): {stages}; outside the handler {outside:.1f}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosk-requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--station-items", type=int, default=24)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="service and baseline take turns this many times")
    parser.add_argument("--serve-baseline", action="store_true", help="internal: run the baseline server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--size", default="4000x3000", help="photo size WIDTHxHEIGHT (12 MP by default)")
    args = parser.parse_args()
    global SIZE
    SIZE = tuple(int(side) for side in args.size.lower().split("x"))
    if args.serve_baseline:
        serve_baseline(args.port)
        return
    assert "torch" not in sys.modules, "keep torch out of the measuring process"
    started = time.perf_counter()
    workload = make_workload(args.kiosk_requests + args.warmup, args.station_items)
    print(f"workload ready in {time.perf_counter() - started:.0f} s", flush=True)
    service, baseline = measure_rounds(workload, args)
    print(report(service, baseline, workload, args))


def measure_rounds(workload: Workload, args: argparse.Namespace) -> tuple[Figures, Figures]:
    """Service and baseline take turns (the order alternating) so load from other processes hits both alike."""
    service: list[Figures] = []
    baseline: list[Figures] = []
    for round_index in range(args.rounds):
        turns = [(measure_service, service), (measure_baseline, baseline)]
        for measure, figures in turns if round_index % 2 == 0 else turns[::-1]:
            scratch = Path(tempfile.mkdtemp(prefix="service-bench-"))  # a fresh data folder every time
            try:
                figures.append(measure(workload, args, scratch))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            done = figures[-1]
            print(
                f"round {round_index + 1} {measure.__name__}: kiosk p50 {np.median(done.kiosk_ms):.1f} ms, "
                f"station {done.station_photos_per_second:.2f} photos/s, {cpu_ms_per_photo(done):.0f} CPU ms/photo",
                flush=True,
            )
    return sum(service[1:], service[0]), sum(baseline[1:], baseline[0])


# --- the baseline server (its own process: torch lives only there) ------------------------------------------


def baseline_network() -> GradingNetwork:
    """The grading network's shape as the bundle has it: ImageNet backbone, heads, 1,000 x 64-d bank per category."""
    import torch

    from grading.vocabulary import DefectType, Grade
    from training.export import GradingNetwork
    from training.network import BackboneTaps, GradingHeads
    from training.patch_memory import MemoryBank, Projection

    categories, feature_dim, bank_dim = 10, 152, 64
    torch.manual_seed(0)
    components = torch.linalg.qr(torch.randn(feature_dim, bank_dim))[0].T.contiguous()
    memory = MemoryBank(Projection(torch.zeros(feature_dim), components), torch.randn(categories, 1000, bank_dim))
    heads = GradingHeads(len(DefectType), categories, len(Grade))
    distance = torch.full((categories,), 10.0)
    return GradingNetwork(BackboneTaps(), heads, memory, {}, distance).eval()


def baseline_pixels(data: bytes) -> np.ndarray:
    """Full decode, orientation, bicubic resize of the short side to 256, centre crop 224."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    scale = 256 / min(image.size)
    resized = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
    left, top = (resized.width - 224) // 2, (resized.height - 224) // 2
    return np.asarray(resized.crop((left, top, left + 224, top + 224)))


def serve_baseline(port: int) -> None:
    import torch
    import uvicorn

    torch.set_num_threads(2)
    network, lock, app = baseline_network(), threading.Lock(), FastAPI()

    def grade(data: bytes) -> dict:
        pixels = torch.from_numpy(baseline_pixels(data))[None]
        with lock, torch.inference_mode():
            outputs = network(pixels)
        return {"category": int(outputs.category_probs.argmax()), "anomaly": float(outputs.anomaly_score[0])}

    @app.get("/readyz")
    def ready() -> dict:
        return {"status": "ready"}

    @app.post("/kiosk")
    def kiosk(photos: Photos) -> list[dict]:
        return [grade(photo.file.read()) for photo in photos]

    @app.post("/station")
    def station(photos: Photos) -> list[dict]:
        return [grade(photo.file.read()) for photo in photos]

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
