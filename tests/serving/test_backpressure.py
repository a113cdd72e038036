"""Full queues answer 429 / 503 with Retry-After instead of piling up work."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from serving.inference_scheduler import QueueFull
from serving.item_records import pending_jobs
from tests.serving.conftest import darkened, jpeg, retouched, start_service

pytestmark = pytest.mark.slow


def test_station_gets_429_when_too_many_items_wait(tmp_path: Path) -> None:
    service = next(gen := start_service(tmp_path, max_pending_jobs=1, start_background=False))
    try:
        data = {"metadata": json.dumps({"sku": "Q"})}
        first = [("photos", ("a.jpg", jpeg("jeans"), "image/jpeg"))]
        assert (
            service.client.post(
                "/v1/station/items", files=first, data=data, headers=service.headers("station")
            ).status_code
            == 201
        )
        second = [("photos", ("b.jpg", jpeg("sweater"), "image/jpeg"))]
        response = service.client.post("/v1/station/items", files=second, data=data, headers=service.headers("station"))
        assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
        assert response.json()["error"]["code"] == "queue_full"
        opened = service.client.post(
            "/v1/station/items", data=data | {"complete": "false"}, headers=service.headers("station")
        )
        assert opened.status_code == 201  # an open item adds no grading work, so it is still accepted
    finally:
        gen.close()


def test_a_retake_that_would_queue_a_waiting_item_gets_429_when_the_queue_is_full(tmp_path: Path) -> None:
    service = next(gen := start_service(tmp_path, max_pending_jobs=1, start_background=False))
    try:
        station = service.headers("station")
        dark_back = retouched("sweater", darkened)
        pair = [("photos", ("f.jpg", jpeg("tshirt"), "image/jpeg")), ("photos", ("b.jpg", dark_back, "image/jpeg"))]
        data = {"metadata": json.dumps({"sku": "W", "category": "t-shirt"}), "views": "front,back"}
        waiting = service.client.post("/v1/station/items", files=pair, data=data, headers=station).json()
        assert waiting["status"] == "needs_photos"  # the dark back must be retaken; nothing queued yet
        other = [("photos", ("j.jpg", jpeg("jeans"), "image/jpeg"))]
        full = {"metadata": json.dumps({"sku": "Q"})}
        assert service.client.post("/v1/station/items", files=other, data=full, headers=station).status_code == 201
        retake = [("photos", ("b2.jpg", jpeg("sweater"), "image/jpeg"))]
        url = f"/v1/station/items/{waiting['item_id']}/photos"
        response = service.client.post(url, files=retake, data={"views": "back"}, headers=station)
        assert response.status_code == 429 and response.json()["error"]["code"] == "queue_full"
        after = service.client.get(f"/v1/station/items/{waiting['item_id']}", headers=station).json()
        assert after["status"] == "needs_photos" and len(after["photos"]) == 2  # refused whole: nothing half-added
    finally:
        gen.close()


def test_kiosk_gets_503_with_retry_after_when_the_grader_is_saturated(tmp_path: Path) -> None:
    service = next(gen := start_service(tmp_path, start_background=False))
    try:
        scheduler = service.client.app.state.runtime.scheduler

        def saturated(*_args: object, **_kwargs: object) -> None:
            raise QueueFull(64, 2.4)

        scheduler.run = saturated
        photos = [("photos", ("a.jpg", jpeg("jeans"), "image/jpeg"))]
        response = service.client.post("/v1/kiosk/grade", files=photos, headers=service.headers("kiosk"))
        assert response.status_code == 503 and response.headers["Retry-After"] == "2"
        assert response.json()["error"]["code"] == "busy"
        del scheduler.run
        assert service.client.post("/v1/kiosk/grade", files=photos, headers=service.headers("kiosk")).status_code == 200
    finally:
        gen.close()


def test_a_kiosk_request_past_the_wait_budget_is_refused_before_its_photos_are_decoded(tmp_path: Path) -> None:
    service = next(gen := start_service(tmp_path, start_background=False, kiosk_wait_budget_seconds=0.5))
    try:
        admission = service.client.app.state.runtime.kiosk_admission
        not_a_photo = [("photos", ("a.jpg", b"these bytes are no JPEG", "image/jpeg"))]
        with admission.admit(20):  # other kiosks' photos in flight: far past half a second
            response = service.client.post("/v1/kiosk/grade", files=not_a_photo, headers=service.headers("kiosk"))
        assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 1
        error = response.json()["error"]
        assert error["code"] == "busy" and "20 kiosk photos are ahead" in error["message"]
        decoded = service.client.post("/v1/kiosk/grade", files=not_a_photo, headers=service.headers("kiosk"))
        assert decoded.status_code == 422  # admitted now, and only then read: the bytes are refused as no photo
        assert admission.in_flight == 0
    finally:
        gen.close()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_pending_jobs_limit_is_exact_under_concurrent_uploads(tmp_path: Path, database: str, request) -> None:
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    limit, uploads, photo = 3, 10, jpeg("jeans")
    service = next(gen := start_service(tmp_path, max_pending_jobs=limit, start_background=False, database_url=url))
    try:

        def upload(n: int) -> int:
            files = [("photos", (f"{n}.jpg", photo, "image/jpeg"))]
            data = {"metadata": json.dumps({"sku": f"race-{n}"})}
            return service.client.post(
                "/v1/station/items", files=files, data=data, headers=service.headers("station")
            ).status_code

        with ThreadPoolExecutor(uploads) as pool:
            codes = list(pool.map(upload, range(uploads)))
        assert sorted(codes) == [201] * limit + [429] * (uploads - limit)
        with service.client.app.state.runtime.sessions() as session:
            assert pending_jobs(session) == limit
    finally:
        gen.close()
