"""The same service on a real PostgreSQL server: migrations, kiosk, station jobs, a review decision.

Uses `SECONDLOOK_TEST_POSTGRES_URL` (default postgresql+psycopg://postgres@127.0.0.1:5432/test) to create a
throwaway database; skipped, saying so, when no server answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.serving.conftest import jpeg, start_service, wait_for_status

pytestmark = pytest.mark.slow


def test_round_trip_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    service = next(gen := start_service(tmp_path, database_url=postgres_url))
    try:
        kiosk = service.client.post(
            "/v1/kiosk/grade",
            files=[("photos", ("a.jpg", jpeg("jeans"), "image/jpeg"))],
            headers=service.headers("kiosk"),
        )
        assert kiosk.status_code == 200, kiosk.text
        files = [("photos", ("front.jpg", jpeg("tshirt"), "image/jpeg"))]
        data = {"metadata": json.dumps({"sku": "PG-1", "category": "shoes"}), "views": "front", "force": "true"}
        headers = service.headers("station") | {"Idempotency-Key": "pg-1"}
        created = service.client.post("/v1/station/items", files=files, data=data, headers=headers)
        assert created.status_code == 201, created.text
        again = service.client.post("/v1/station/items", files=files, data=data, headers=headers)
        assert again.status_code == 200 and again.json()["item_id"] == created.json()["item_id"]
        item_id = created.json()["item_id"]
        assert wait_for_status(service, item_id, {"graded", "failed"})["status"] == "graded"
        queue = service.client.get(
            "/v1/review/queue", params={"reason": "missing_views"}, headers=service.headers("reviewer")
        ).json()
        assert item_id in [entry["item_id"] for entry in queue["items"]]
        other = service.client.get(
            "/v1/review/queue", params={"reason": "missing_view"}, headers=service.headers("reviewer")
        ).json()
        assert other["items"] == []  # a reason matches whole, never a prefix
        decision = {"action": "approve", "reason_code": "model_correct"}
        decided = service.client.post(
            f"/v1/review/items/{item_id}/decision", json=decision, headers=service.headers("reviewer")
        )
        assert decided.status_code == 200 and decided.json()["review_state"] == "decided"
    finally:
        gen.close()
