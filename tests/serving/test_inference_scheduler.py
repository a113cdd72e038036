"""The inference scheduler: priority, micro-batching, splitting rows back, bounds, hot swap, stop and failures.

A fake model stands in for ONNX Runtime: each photo carries its id in pixel (0, 0, 0), every output row echoes
it, and a gate lets a test hold the inference thread inside a batch while it queues more work.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from grading.network_outputs import NetworkOutputs
from serving.inference_scheduler import (
    InferenceFailed,
    InferenceScheduler,
    Priority,
    QueueFull,
    SchedulerStopped,
)

CROP = 4
WAIT = 5.0  # seconds; only a guard against hangs, never a timing assertion
FAILING_ID = 255
REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeModel:
    """Same `run(pixels)` / `metadata` shape as `GradingModel`; records the photo ids of every batch."""

    def __init__(self, tag: float = 0.0) -> None:
        self.metadata = SimpleNamespace(input=SimpleNamespace(crop_size=CROP))
        self.tag = tag
        self.batches: list[list[int]] = []
        self.entered: queue.Queue[list[int]] = queue.Queue()
        self.gate = threading.Event()
        self.gate.set()

    def run(self, pixels: np.ndarray) -> NetworkOutputs:
        ids = pixels[:, 0, 0, 0].astype(int).tolist()
        self.batches.append(ids)
        self.entered.put(ids)
        assert self.gate.wait(WAIT), "test never opened the gate"
        if FAILING_ID in ids:
            raise RuntimeError("fake model failure")
        return fake_outputs(pixels[:, 0, 0, 0].astype(np.float32), self.tag)

    def hold(self) -> None:
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def wait_entered(self) -> list[int]:
        return self.entered.get(timeout=WAIT)


def fake_outputs(ids: np.ndarray, tag: float) -> NetworkOutputs:
    n = len(ids)
    return NetworkOutputs(
        defect_probs=np.broadcast_to(ids[:, None, None, None], (n, 3, 2, 2)).copy(),
        anomaly_map=np.broadcast_to(ids[:, None, None], (n, 2, 2)).copy(),
        anomaly_score=ids.copy(),
        category_probs=np.broadcast_to(ids[:, None], (n, 4)).copy(),
        grade_probs=np.broadcast_to(ids[:, None], (n, 8)).copy(),
        embedding=np.stack([ids, np.full(n, tag, np.float32)], axis=1),
        counterfeit_prob=ids.copy(),
    )


def photos(*ids: int) -> np.ndarray:
    pixels = np.zeros((len(ids), CROP, CROP, 3), np.uint8)
    pixels[:, 0, 0, 0] = ids
    return pixels


def ids_of(outputs: NetworkOutputs) -> list[int]:
    return outputs.anomaly_score.astype(int).tolist()


class RecordingObserver:
    def __init__(self) -> None:
        self.batches: list[tuple[int, float]] = []
        self.depths: list[int] = []

    def on_batch(self, size: int, seconds: float) -> None:
        self.batches.append((size, seconds))

    def on_queue_depth(self, photos: int) -> None:
        self.depths.append(photos)


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def make_scheduler(model: FakeModel) -> Iterator:
    started: list[InferenceScheduler] = []

    def make(**options: object) -> InferenceScheduler:
        scheduler = InferenceScheduler(model, **options)
        scheduler.start()
        started.append(scheduler)
        return scheduler

    yield make
    model.release()
    for scheduler in started:
        scheduler.stop(timeout=WAIT)


def occupy(scheduler: InferenceScheduler, model: FakeModel, photo_id: int = 100) -> object:
    """Hold the inference thread inside a batch of one kiosk photo; returns that request's future."""
    model.hold()
    future = scheduler.submit(photos(photo_id), Priority.KIOSK)
    assert model.wait_entered() == [photo_id]
    return future


def test_each_request_gets_its_own_rows_from_a_shared_batch(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=8, max_wait_ms=0)
    blocker = occupy(scheduler, model)
    futures = [scheduler.submit(photos(*ids), Priority.STATION) for ids in ([1], [2, 3], [4, 5, 6])]
    model.release()
    assert [ids_of(future.result(WAIT)) for future in futures] == [[1], [2, 3], [4, 5, 6]]
    assert ids_of(blocker.result(WAIT)) == [100]
    assert model.batches == [[100], [1, 2, 3, 4, 5, 6]]
    result = futures[2].result()
    assert result.defect_probs.shape == (3, 3, 2, 2) and result.embedding.shape == (3, 2)


def test_station_work_waits_to_fill_a_batch(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=8, max_wait_ms=10_000)
    first = scheduler.submit(photos(1, 2, 3), Priority.STATION)
    second = scheduler.submit(photos(4, 5, 6, 7, 8), Priority.STATION)
    assert ids_of(first.result(WAIT)) == [1, 2, 3]
    assert ids_of(second.result(WAIT)) == [4, 5, 6, 7, 8]
    assert model.batches == [[1, 2, 3, 4, 5, 6, 7, 8]]


def test_station_work_runs_after_max_wait_without_a_full_batch(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=8, max_wait_ms=1)
    assert ids_of(scheduler.run(photos(1, 2), Priority.STATION, timeout=WAIT)) == [1, 2]
    assert model.batches == [[1, 2]]


def test_kiosk_work_never_waits_for_a_batch_to_fill(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=8, max_wait_ms=10_000)
    assert ids_of(scheduler.run(photos(7), Priority.KIOSK, timeout=WAIT)) == [7]
    assert model.batches == [[7]]


def test_queued_kiosk_work_is_taken_before_older_station_work(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=2, max_wait_ms=0)
    occupy(scheduler, model)
    station = [scheduler.submit(photos(i, i + 1), Priority.STATION) for i in (1, 3)]
    kiosk = scheduler.submit(photos(9), Priority.KIOSK)
    model.release()
    for future in [*station, kiosk]:
        future.result(WAIT)
    assert model.batches == [[100], [9], [1, 2], [3, 4]]


def test_a_kiosk_batch_holds_only_kiosk_work(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=4, max_wait_ms=0)
    occupy(scheduler, model)
    station = scheduler.submit(photos(1, 2), Priority.STATION)
    kiosk = [scheduler.submit(photos(photo_id), Priority.KIOSK) for photo_id in (9, 8)]
    model.release()
    assert [ids_of(future.result(WAIT)) for future in kiosk] == [[9], [8]]
    assert ids_of(station.result(WAIT)) == [1, 2]
    assert model.batches == [[100], [9, 8], [1, 2]]


def test_only_a_request_larger_than_max_batch_is_split(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=4, max_wait_ms=0)
    occupy(scheduler, model)
    pair = scheduler.submit(photos(1, 2), Priority.STATION)
    triple = scheduler.submit(photos(3, 4, 5), Priority.STATION)
    large = scheduler.submit(photos(*range(10, 20)), Priority.STATION)
    model.release()
    assert ids_of(pair.result(WAIT)) == [1, 2] and ids_of(triple.result(WAIT)) == [3, 4, 5]
    assert ids_of(large.result(WAIT)) == list(range(10, 20))
    assert large.result().defect_probs.shape == (10, 3, 2, 2)
    assert model.batches[1:] == [[1, 2, 10, 11], [3, 4, 5, 12], [13, 14, 15, 16], [17, 18, 19]]


def test_full_queue_raises_with_a_retry_estimate(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=8, max_wait_ms=0, max_queued_photos=4)
    occupy(scheduler, model)
    scheduler.submit(photos(1, 2, 3), Priority.STATION)
    with pytest.raises(QueueFull) as caught:
        scheduler.submit(photos(4, 5), Priority.STATION)
    assert caught.value.queued_photos == 3
    assert caught.value.retry_after_seconds > 0
    assert scheduler.queued_photos() == 3


def test_kiosk_is_not_locked_out_by_a_full_station_queue(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=8, max_wait_ms=0, max_queued_photos=4)
    occupy(scheduler, model)
    scheduler.submit(photos(1, 2, 3, 4), Priority.STATION)
    scheduler.submit(photos(5, 6, 7), Priority.KIOSK)
    with pytest.raises(QueueFull):
        scheduler.submit(photos(8, 9), Priority.KIOSK)
    assert scheduler.queued_photos() == 7


def test_a_request_larger_than_the_queue_is_refused_as_bad_input(make_scheduler) -> None:
    scheduler = make_scheduler(max_queued_photos=4)
    with pytest.raises(ValueError, match="1 to 4 photos"):
        scheduler.submit(photos(1, 2, 3, 4, 5), Priority.STATION)


@pytest.mark.parametrize(
    "pixels",
    [np.zeros((1, CROP, CROP, 3), np.float32), np.zeros((CROP, CROP, 3), np.uint8), np.zeros((1, 8, 8, 3), np.uint8)],
)
def test_wrong_pixels_are_refused(make_scheduler, pixels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="expected uint8 photos"):
        make_scheduler().submit(pixels, Priority.KIOSK)


def test_swap_model_lets_the_running_batch_finish_on_the_old_model(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=8, max_wait_ms=0)
    running = occupy(scheduler, model)
    queued = scheduler.submit(photos(1), Priority.STATION)
    new_model = FakeModel(tag=2.0)
    scheduler.swap_model(new_model)
    model.release()
    assert running.result(WAIT).embedding[0, 1] == 0.0
    assert queued.result(WAIT).embedding[0, 1] == 2.0
    assert scheduler.model is new_model
    assert new_model.batches == [[1]]


def test_a_model_exception_fails_only_its_batch(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=2, max_wait_ms=0)
    occupy(scheduler, model)
    bad = scheduler.submit(photos(1, FAILING_ID), Priority.STATION)
    good = scheduler.submit(photos(2, 3), Priority.STATION)
    model.release()
    with pytest.raises(InferenceFailed, match="fake model failure") as caught:
        bad.result(WAIT)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert ids_of(good.result(WAIT)) == [2, 3]
    assert ids_of(scheduler.run(photos(4), Priority.KIOSK, timeout=WAIT)) == [4]


def test_a_failed_piece_drops_the_rest_of_its_split_request(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=2, max_wait_ms=0)
    occupy(scheduler, model)
    split = scheduler.submit(photos(FAILING_ID, 1, 2, 3), Priority.STATION)
    after = scheduler.submit(photos(4), Priority.STATION)
    model.release()
    with pytest.raises(InferenceFailed):
        split.result(WAIT)
    assert ids_of(after.result(WAIT)) == [4]
    assert model.batches[1:] == [[FAILING_ID, 1], [4]]


def test_stop_fails_queued_requests_and_lets_the_running_batch_finish(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=8, max_wait_ms=0)
    running = occupy(scheduler, model)
    queued = scheduler.submit(photos(1), Priority.STATION)
    stopper = threading.Thread(target=scheduler.stop, kwargs={"timeout": WAIT})
    stopper.start()
    with pytest.raises(SchedulerStopped, match="before this request ran"):
        queued.result(WAIT)
    model.release()
    stopper.join(WAIT)
    assert ids_of(running.result(WAIT)) == [100]
    with pytest.raises(SchedulerStopped):
        scheduler.submit(photos(2), Priority.KIOSK)


def test_stop_fails_a_batch_that_outlives_the_timeout(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler()
    running = occupy(scheduler, model)
    scheduler.stop(timeout=0.01)
    with pytest.raises(SchedulerStopped, match="did not finish"):
        running.result(WAIT)


def test_a_cancelled_request_is_skipped(make_scheduler, model: FakeModel) -> None:
    scheduler = make_scheduler(max_batch=8, max_wait_ms=0)
    occupy(scheduler, model)
    cancelled = scheduler.submit(photos(1), Priority.STATION)
    kept = scheduler.submit(photos(2), Priority.STATION)
    assert cancelled.cancel()
    model.release()
    assert ids_of(kept.result(WAIT)) == [2]
    assert model.batches[1:] == [[2]]
    assert scheduler.queued_photos() == 0


def test_the_observer_sees_batches_and_queue_depth(model: FakeModel) -> None:
    observer = RecordingObserver()
    scheduler = InferenceScheduler(model, max_batch=8, max_wait_ms=10_000, observer=observer)
    scheduler.submit(photos(1, 2, 3), Priority.STATION)
    future = scheduler.submit(photos(4, 5, 6, 7, 8), Priority.STATION)
    scheduler.start()
    future.result(WAIT)
    scheduler.stop(WAIT)
    assert [size for size, _ in observer.batches] == [8]
    assert observer.batches[0][1] >= 0
    assert observer.depths[:3] == [3, 8, 0]


def test_work_submitted_before_start_runs_after_start(model: FakeModel) -> None:
    scheduler = InferenceScheduler(model, max_wait_ms=0)
    future = scheduler.submit(photos(1), Priority.KIOSK)
    assert not future.done()
    scheduler.start()
    assert ids_of(future.result(WAIT)) == [1]
    scheduler.stop(WAIT)


def jpeg_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.slow
def test_scheduler_outputs_equal_a_direct_run_of_the_shipped_bundle() -> None:
    from skimage import data

    from grading.inference import load_model
    from grading.intake import load_photo

    model = load_model(REPO_ROOT / "grading" / "bundles" / "default")
    images = [data.chelsea(), data.astronaut(), data.coffee(), data.rocket()]
    pixels = np.stack([load_photo(jpeg_bytes(image)).pixels for image in images])
    requests = [(pixels[:2], Priority.STATION), (pixels[2:3], Priority.STATION), (pixels[3:], Priority.KIOSK)]
    scheduler = InferenceScheduler(model, max_batch=8, max_wait_ms=0)
    futures = [scheduler.submit(request, priority) for request, priority in requests]
    scheduler.start()
    try:
        for (request, _), future in zip(requests, futures, strict=True):
            expected = model.run(request)
            for name, got, want in zip(NetworkOutputs._fields, future.result(60), expected, strict=True):
                assert (got is None) == (want is None), name  # an output the bundle lacks stays absent
                if want is not None:
                    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=name)
    finally:
        scheduler.stop(WAIT)
