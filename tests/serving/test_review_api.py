"""Reviewer API: the queue, an item with overlays, decisions in the audit log and webhooks, the export."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from grading.manifest import Item as ManifestItem
from serving.settings import WebhookEndpoint
from serving.webhooks import verify
from tests.serving.conftest import Service, jpeg, start_service, wait_for_status

pytestmark = pytest.mark.slow
SECRET = "review-webhook-secret"


class Inbox(list):
    """Events a webhook receiver got: (headers, body)."""


def _handler(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            inbox.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, str]]:
    received = Inbox()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(received))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield received, f"http://127.0.0.1:{server.server_port}/hooks"
    server.shutdown()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, inbox: tuple[Inbox, str]) -> Iterator[Service]:
    hooks = [WebhookEndpoint(url=inbox[1], secret=SECRET)]
    yield from start_service(tmp_path_factory.mktemp("review"), webhooks=hooks, webhook_poll_seconds=0.05)


@pytest.fixture(scope="module")
def flagged(service: Service) -> str:
    """A station pair of shoes photographed only from the front: required views are missing, so it is flagged."""
    files = [("photos", ("front.jpg", jpeg("sneakers"), "image/jpeg"))]
    data = {"metadata": json.dumps({"sku": "S-1", "category": "shoes", "brand": "Acme"}), "views": "front"}
    data["force"] = "true"  # grade without the missing views (else the item waits for them)
    item = service.client.post("/v1/station/items", files=files, data=data, headers=service.headers("station")).json()
    assert wait_for_status(service, item["item_id"], {"graded", "failed"})["status"] == "graded"
    return item["item_id"]


def test_flagged_item_is_in_the_queue_with_its_reason(service: Service, flagged: str) -> None:
    headers = service.headers("reviewer")
    page = service.client.get("/v1/review/queue", params={"reason": "missing_views"}, headers=headers).json()
    assert flagged in [entry["item_id"] for entry in page["items"]]
    assert page["counts_by_reason"]["missing_views"] >= 1
    other = service.client.get("/v1/review/queue", params={"category": "hat"}, headers=headers).json()
    assert flagged not in [entry["item_id"] for entry in other["items"]]


def test_overlays_are_images_of_the_photo(service: Service, flagged: str) -> None:
    detail = service.client.get(f"/v1/review/items/{flagged}", headers=service.headers("reviewer")).json()
    for url in detail["photos"][0]["overlays"].values():
        response = service.client.get(url, headers=service.headers("reviewer"))
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(response.content)).size == (240, 320)  # the photo's own size


def test_override_is_recorded_audited_announced_and_exported(
    service: Service, flagged: str, inbox: tuple[Inbox, str]
) -> None:
    decision = {"action": "override", "grade": "good", "reason_code": "missed_defect", "comment": "sole worn"}
    response = service.client.post(
        f"/v1/review/items/{flagged}/decision", json=decision, headers=service.headers("reviewer")
    )
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["grade"] == "good" and item["review_state"] == "decided"
    assert item["history"][-1]["event"] == "review.decided" and item["history"][-1]["actor"] == "test-reviewer"
    queue = service.client.get("/v1/review/queue", headers=service.headers("reviewer")).json()
    assert flagged not in [entry["item_id"] for entry in queue["items"]]
    events = _wait_for_events(inbox[0], {"item.graded", "item.decided"})
    for headers, body in events:
        assert verify(SECRET, headers["x-secondlook-signature"], body)
    exported = service.client.get("/v1/review/export", headers=service.headers("reviewer")).text.splitlines()
    items = [ManifestItem.model_validate_json(line) for line in exported]
    assert any(line for line in exported if flagged in line)
    assert all(Path(photo.path).is_file() for item in items for photo in item.photos)


def _wait_for_events(inbox: Inbox, wanted: set[str], attempts: int = 400) -> list:
    import time

    for _ in range(attempts):  # a hang guard only
        if wanted <= {headers["x-secondlook-event"] for headers, _body in inbox}:
            return list(inbox)
        time.sleep(0.05)
    raise AssertionError(f"webhook events received: {[h['x-secondlook-event'] for h, _ in inbox]}")


@pytest.mark.parametrize(
    ("decision", "needle"),
    [
        ({"action": "override", "reason_code": "missed_defect"}, "needs a new 'grade'"),
        ({"action": "approve", "reason_code": "other"}, "needs a comment"),
        ({"action": "override", "grade": "mint", "reason_code": "severity_wrong"}, "Unknown grade 'mint'"),
        ({"action": "shrug", "reason_code": "other", "comment": "x"}, "action"),
        ({"action": "inconclusive", "reason_code": "photo_quality", "defects": []}, "inconclusive review leaves"),
        (
            {"action": "approve", "reason_code": "model_correct", "defects": [{"photo_id": "p", "type": "stain"}]},
            "defects.0.box",
        ),
        (
            {
                "action": "approve",
                "reason_code": "model_correct",
                "defects": [{"photo_id": "p", "type": "stain", "box": [5, 5, 2, 9]}],
            },
            "0 <= x0 < x1",
        ),
    ],
)
def test_bad_decisions_say_what_to_fix(service: Service, flagged: str, decision: dict, needle: str) -> None:
    response = service.client.post(
        f"/v1/review/items/{flagged}/decision", json=decision, headers=service.headers("reviewer")
    )
    assert response.status_code == 422 and needle in response.json()["error"]["message"]


@pytest.mark.parametrize("role", ["station", "kiosk"])
def test_only_reviewers_see_the_queue(service: Service, role: str) -> None:
    response = service.client.get("/v1/review/queue", headers=service.headers(role))
    assert response.status_code == 403 and response.json()["error"]["code"] == "wrong_role"


def test_admin_may_review(service: Service) -> None:
    assert service.client.get("/v1/review/queue", headers=service.headers("admin")).status_code == 200


def test_reviewed_defects_are_checked_against_the_photos_stored_and_exported_as_boxes(
    service: Service, flagged: str
) -> None:
    headers = service.headers("reviewer")
    photo = service.client.get(f"/v1/review/items/{flagged}", headers=headers).json()["photos"][0]
    decide = {"action": "override", "grade": "fair", "reason_code": "missed_defect"}
    url = f"/v1/review/items/{flagged}/decision"
    elsewhere = decide | {"defects": [{"photo_id": "nope", "type": "stain", "box": [1, 1, 5, 5]}]}
    response = service.client.post(url, json=elsewhere, headers=headers)
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_photo"
    assert photo["id"] in response.json()["error"]["message"]
    too_big = [{"photo_id": photo["id"], "type": "stain", "box": [1, 1, photo["width"] + 5, 5]}]
    response = service.client.post(url, json=decide | {"defects": too_big}, headers=headers)
    assert response.status_code == 422 and response.json()["error"]["code"] == "box_outside_photo"
    stain = {"photo_id": photo["id"], "type": "stain", "box": [20.0, 30.0, 60.0, 70.0]}
    response = service.client.post(url, json=decide | {"defects": [stain]}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["decisions"][-1]["defects"] == [stain]
    exported = service.client.get("/v1/review/export", headers=headers).text.splitlines()
    (item,) = [ManifestItem.model_validate_json(line) for line in exported if flagged in line]
    (defect,) = item.photos[0].defects  # the fixture photo has no EXIF orientation: the same box
    assert (defect.type.value, defect.box.x0, defect.box.y0, defect.box.x1, defect.box.y1) == ("stain", 20, 30, 60, 70)
