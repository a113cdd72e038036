"""One thread runs the process's shared model; requests queue by priority and station work is micro-batched.

ONNX Runtime already spreads one batch over both cores (2 intra-op threads), so a second concurrent run would
only fight the first for them. One dedicated thread therefore takes batches from two queues:

- kiosk requests are taken first and never wait for a batch to fill: they run as soon as the thread is free,
  batched only with other kiosk requests already queued (station photos would lengthen the kiosk's batch);
- station requests wait at most `max_wait_ms`, counted from the oldest one's arrival, for `max_batch` photos.

A request's photos stay in one batch unless it alone has more than `max_batch`; such a request is cut to fill
batches. The queues are bounded in photos: `submit` raises `QueueFull` with an estimate of when to retry
instead of letting work pile up. bench/README.md ("Inference scheduler") has the measurements behind this.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

import numpy as np

from grading.inference import GradingModel
from grading.network_outputs import NetworkOutputs, concatenate_outputs, map_outputs

logger = logging.getLogger(__name__)

INITIAL_SECONDS_PER_PHOTO = 0.012  # bench/README.md: whole network at batch 1 on 2 cores, until measured here
_SMOOTHING = 0.2  # weight of the newest batch in the running per-photo time


class Priority(IntEnum):
    """Which queue a request joins; lower values are taken first."""

    KIOSK = 0
    STATION = 1


class QueueFull(RuntimeError):
    """The queue has no room for this request; the HTTP layer answers 429 or 503 with Retry-After."""

    def __init__(self, queued_photos: int, retry_after_seconds: float) -> None:
        super().__init__(
            f"the inference queue is full ({queued_photos} photos waiting); retry in about {retry_after_seconds:.2f} s"
        )
        self.queued_photos = queued_photos
        self.retry_after_seconds = retry_after_seconds


class SchedulerStopped(RuntimeError):
    """The scheduler was stopped before this request ran (or while its batch was still running)."""


class InferenceFailed(RuntimeError):
    """The model raised on the batch that held this request; the cause is chained."""


class InferenceObserver(Protocol):
    """Receives measurements from the scheduler thread; `serving.metrics.ServiceMetrics` implements it."""

    def on_batch(self, size: int, seconds: float) -> None: ...

    def on_queue_depth(self, photos: int) -> None: ...


@dataclass(eq=False)
class _Request:
    pixels: np.ndarray
    future: Future[NetworkOutputs]
    arrived: float
    taken: int = 0  # rows handed to batches so far
    parts: list[NetworkOutputs] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return len(self.pixels) - self.taken


@dataclass(frozen=True)
class _Piece:
    request: _Request
    start: int
    stop: int


@dataclass(frozen=True)
class _Batch:
    pieces: list[_Piece]
    model: GradingModel

    def pixels(self) -> np.ndarray:
        first = self.pieces[0]
        if len(self.pieces) == 1 and first.start == 0 and first.stop == len(first.request.pixels):
            return np.ascontiguousarray(first.request.pixels)
        return np.concatenate([piece.request.pixels[piece.start : piece.stop] for piece in self.pieces])


class InferenceScheduler:
    """Runs `model` on one dedicated thread for every request of the process.

    Args:
        model: the shared model; replace it with `swap_model`.
        max_batch: most photos in one model run. A kiosk request arriving during a station batch waits for it,
            so this bounds the kiosk's extra latency. On 2 cores, station throughput under load measured the
            same at 2, 4 and 8 while the kiosk's median doubled with each step (bench/README.md).
        max_wait_ms: longest a station request waits for others to fill a batch; small next to one photo's
            run (about 11 ms), and never spent when the station queue already holds a full batch.
        max_queued_photos: photos that may wait per priority. Station requests count every queued photo;
            kiosk requests count only kiosk photos, since they overtake station work anyway, so a full station
            backlog never locks the kiosk out.
        observer: receives batch timings and queue depth (metrics).
    """

    def __init__(
        self,
        model: GradingModel,
        *,
        max_batch: int = 2,
        max_wait_ms: float = 4.0,
        max_queued_photos: int = 64,
        observer: InferenceObserver | None = None,
    ) -> None:
        if max_batch < 1 or max_queued_photos < 1 or max_wait_ms < 0:
            raise ValueError("max_batch and max_queued_photos must be at least 1 and max_wait_ms at least 0")
        self._model = model
        self._max_batch = max_batch
        self._max_wait = max_wait_ms / 1000
        self._max_queued = max_queued_photos
        self._observer = observer
        self._condition = threading.Condition()
        self._queues: dict[Priority, list[_Request]] = {priority: [] for priority in Priority}
        self._queued: dict[Priority, int] = {priority: 0 for priority in Priority}
        self._in_flight: list[_Piece] = []
        self._seconds_per_photo = INITIAL_SECONDS_PER_PHOTO
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def model(self) -> GradingModel:
        """The model that the next batch will use."""
        return self._model

    def swap_model(self, model: GradingModel) -> None:
        """Hot reload: batches already taken finish on the old model, later batches use `model`."""
        with self._condition:
            self._model = model

    def queued_photos(self) -> int:
        """Photos waiting in both queues, not counting the batch being run."""
        with self._condition:
            return sum(self._queued.values())

    def start(self) -> None:
        """Start the inference thread; requests submitted before are kept and run first."""
        with self._condition:
            if self._thread is not None or self._stopping:
                raise RuntimeError("an InferenceScheduler can be started once; create a new one after stop()")
            self._thread = threading.Thread(target=self._work, name="inference-scheduler", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Refuse new requests, fail queued ones with `SchedulerStopped`, let the running batch finish.

        If that batch is still running after `timeout` seconds its futures fail too, so no caller waits forever.
        """
        with self._condition:
            self._stopping = True
            waiting = [request for queue in self._queues.values() for request in queue]
            for priority in Priority:
                self._queues[priority].clear()
                self._queued[priority] = 0
            self._publish_depth()
            self._condition.notify_all()
        _fail_all(waiting, lambda: SchedulerStopped("the inference scheduler stopped before this request ran"))
        if self._thread is not None:
            self._thread.join(timeout)
        with self._condition:
            running = [piece.request for piece in self._in_flight]
        message = f"the inference scheduler stopped; the running batch did not finish within {timeout} s"
        _fail_all(running, lambda: SchedulerStopped(message))

    def submit(self, pixels: np.ndarray, priority: Priority) -> Future[NetworkOutputs]:
        """Queue the photos (N, crop, crop, 3) uint8 of one request; the future gets that request's N rows.

        Raises:
            QueueFull: no room; `retry_after_seconds` estimates when there will be.
            SchedulerStopped: after `stop()`.
            ValueError: pixels of the wrong dtype or shape, or more photos than the queue can ever hold.
        """
        priority = Priority(priority)
        self._check_pixels(pixels)
        future: Future[NetworkOutputs] = Future()
        with self._condition:
            if self._stopping:
                raise SchedulerStopped("the inference scheduler is stopped; no new requests are accepted")
            self._admit(len(pixels), priority)
            self._queues[priority].append(_Request(pixels, future, time.monotonic()))
            self._queued[priority] += len(pixels)
            self._publish_depth()
            self._condition.notify_all()
        return future

    def run(self, pixels: np.ndarray, priority: Priority, timeout: float | None = None) -> NetworkOutputs:
        """Submit and wait; on `TimeoutError` the request is cancelled if it has not started yet."""
        future = self.submit(pixels, priority)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def _check_pixels(self, pixels: np.ndarray) -> None:
        crop = self._model.metadata.input.crop_size
        if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.shape[1:] != (crop, crop, 3):
            found = f"{pixels.dtype} {pixels.shape}" if isinstance(pixels, np.ndarray) else type(pixels).__name__
            raise ValueError(f"expected uint8 photos of shape (N, {crop}, {crop}, 3), got {found}")
        if not 1 <= len(pixels) <= self._max_queued:
            raise ValueError(f"a request needs 1 to {self._max_queued} photos (max_queued_photos), got {len(pixels)}")

    def _admit(self, photos: int, priority: Priority) -> None:
        ahead = self._queued[Priority.KIOSK] if priority is Priority.KIOSK else sum(self._queued.values())
        if ahead + photos > self._max_queued:
            raise QueueFull(ahead, round(ahead * self._seconds_per_photo, 3))

    def _publish_depth(self) -> None:
        if self._observer is not None:
            _notify(self._observer.on_queue_depth, sum(self._queued.values()))

    # The inference thread.

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._run(batch)
            with self._condition:
                self._in_flight = []

    def _next_batch(self) -> _Batch | None:
        """Wait until a batch is due (kiosk work, a full station batch, or the oldest station deadline)."""
        with self._condition:
            while not self._stopping:
                delay = self._station_delay()
                if self._queues[Priority.KIOSK]:
                    batch = self._take(Priority.KIOSK)
                elif delay == 0:
                    batch = self._take(Priority.STATION)
                else:
                    self._condition.wait(delay)
                    continue
                if batch.pieces:
                    return batch
            return None

    def _station_delay(self) -> float | None:
        """Seconds until station work is due: 0 now, None while there is none."""
        station = self._queues[Priority.STATION]
        if not station:
            return None
        if self._queued[Priority.STATION] >= self._max_batch:
            return 0
        return max(0.0, station[0].arrived + self._max_wait - time.monotonic())

    def _take(self, priority: Priority) -> _Batch:
        """A batch from one queue only: station photos in a kiosk batch would make the kiosk wait for them."""
        pieces: list[_Piece] = []
        self._fill(priority, pieces)
        self._in_flight = pieces
        self._publish_depth()
        return _Batch(pieces, self._model)

    def _fill(self, priority: Priority, pieces: list[_Piece]) -> None:
        """Add requests oldest first while they fit; only a request larger than `max_batch` is split."""
        queue, room = self._queues[priority], self._max_batch
        for request in list(queue):
            rows = min(request.remaining, room) if len(request.pixels) > self._max_batch else request.remaining
            if rows > room:
                continue
            if request.taken == 0 and not request.future.set_running_or_notify_cancel():
                self._remove(priority, request)
                continue
            pieces.append(_Piece(request, request.taken, request.taken + rows))
            self._queued[priority] -= rows
            request.taken += rows
            if request.remaining == 0:
                queue.remove(request)
            room -= rows
            if room == 0:
                break

    def _remove(self, priority: Priority, request: _Request) -> None:
        if request in self._queues[priority]:
            self._queues[priority].remove(request)
            self._queued[priority] -= request.remaining

    def _run(self, batch: _Batch) -> None:
        """Run one batch and resolve its futures; any exception fails this batch only."""
        pixels = batch.pixels()
        try:
            started = time.perf_counter()
            outputs = batch.model.run(pixels)
            seconds = time.perf_counter() - started
            _check_rows(outputs, len(pixels))
            self._record(len(pixels), seconds)
            _deliver(batch, outputs)
        except Exception as error:
            logger.exception("inference failed on a batch of %d photos", len(pixels))
            self._fail_batch(batch, len(pixels), error)

    def _record(self, photos: int, seconds: float) -> None:
        with self._condition:
            per_photo = seconds / photos
            self._seconds_per_photo += _SMOOTHING * (per_photo - self._seconds_per_photo)
        if self._observer is not None:
            _notify(self._observer.on_batch, photos, seconds)

    def _fail_batch(self, batch: _Batch, photos: int, error: Exception) -> None:
        """Fail the batch's requests, and drop the rest of any split request still queued."""
        requests = list(dict.fromkeys(piece.request for piece in batch.pieces))
        with self._condition:
            for request in requests:
                for priority in Priority:
                    self._remove(priority, request)
            self._publish_depth()
        _fail_all(requests, lambda: _inference_failed(photos, error))


def _check_rows(outputs: NetworkOutputs, photos: int) -> None:
    for name, values in zip(NetworkOutputs._fields, outputs, strict=True):
        if values is not None and len(values) != photos:
            raise ValueError(f"the model returned {len(values)} rows of {name} for {photos} photos")


def _deliver(batch: _Batch, outputs: NetworkOutputs) -> None:
    """Hand each piece its rows; a request is resolved once all its pieces have arrived."""
    offset = 0
    for piece in batch.pieces:
        rows = piece.stop - piece.start
        piece.request.parts.append(
            map_outputs(outputs, lambda values, start=offset, stop=offset + rows: values[start:stop])
        )
        offset += rows
        if piece.stop == len(piece.request.pixels):
            _resolve(piece.request)


def _resolve(request: _Request) -> None:
    parts = request.parts
    result = parts[0] if len(parts) == 1 else concatenate_outputs(parts)
    with contextlib.suppress(InvalidStateError):  # already failed by stop() after its timeout
        request.future.set_result(result)


def _inference_failed(photos: int, error: Exception) -> InferenceFailed:
    failure = InferenceFailed(f"the model failed on a batch of {photos} photos: {error!r}")
    failure.__cause__ = error
    return failure


def _fail_all(requests: list[_Request], make_error: Callable[[], Exception]) -> None:
    """Fail each request with its own exception (one object raised in several threads would share a traceback)."""
    for request in requests:
        with contextlib.suppress(InvalidStateError):  # already resolved, failed or cancelled
            request.future.set_exception(make_error())


def _notify(callback: Callable[..., None], *args: float) -> None:
    try:
        callback(*args)
    except Exception:
        logger.exception("inference observer failed")
