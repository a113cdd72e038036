"""Station: items with metadata and photos, idempotent creation, asynchronous grading, polling."""

from __future__ import annotations

import json

import pytest

from tests.serving.conftest import Service, jpeg, wait_for_status

pytestmark = pytest.mark.slow

METADATA = {"sku": "LV-501-32", "brand": "Levi's", "category": "pants", "program": "take-back"}


def create(service: Service, photos: list[bytes], key: str | None = None, **form: str):
    files = [("photos", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    headers = service.headers("station") | ({"Idempotency-Key": key} if key else {})
    data = {"metadata": json.dumps(METADATA)} | form
    return service.client.post("/v1/station/items", files=files or None, data=data, headers=headers)


def test_station_item_is_graded_asynchronously(service: Service) -> None:
    response = create(service, [jpeg("tshirt"), jpeg("jeans")], views="front,back")
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["status"] in {"queued", "processing", "graded"} and len(item["photos"]) == 2
    graded = wait_for_status(service, item["item_id"], {"graded", "failed"})
    assert graded["status"] == "graded", graded["error"]
    assert graded["result"]["price"] is None or graded["result"]["price"]["list_price"] > 0
    assert graded["result"]["listing"]["department"]


def test_retry_with_the_same_idempotency_key_returns_the_first_item(service: Service) -> None:
    photos = [jpeg("sweater")]
    first = create(service, photos, key="retry-1")
    second = create(service, photos, key="retry-1")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["item_id"] == first.json()["item_id"] and second.json()["idempotent_replay"]


def test_reusing_an_idempotency_key_for_another_item_is_refused(service: Service) -> None:
    assert create(service, [jpeg("sweater")], key="retry-2").status_code == 201
    response = create(service, [jpeg("jeans")], key="retry-2")
    assert response.status_code == 409 and response.json()["error"]["code"] == "idempotency_key_reused"


def test_photos_in_several_calls_then_submit(service: Service) -> None:
    item = create(service, [], complete="false").json()
    assert item["status"] == "receiving"
    headers = service.headers("station")
    url = f"/v1/station/items/{item['item_id']}"
    for name, view in (("tshirt", "front"), ("jeans", "back")):  # the views pants need
        added = service.client.post(
            f"{url}/photos",
            files=[("photos", (f"{name}.jpg", jpeg(name), "image/jpeg"))],
            data={"views": view},
            headers=headers,
        )
        assert added.status_code == 200, added.text
    again = service.client.post(
        f"{url}/photos", files=[("photos", ("a.jpg", jpeg("tshirt"), "image/jpeg"))], headers=headers
    )
    assert len(again.json()["photos"]) == 2  # the same bytes are not attached twice
    assert service.client.post(f"{url}/submit", headers=headers).json()["status"] in {"queued", "processing", "graded"}
    assert wait_for_status(service, item["item_id"], {"graded", "failed"})["status"] == "graded"
    late = service.client.post(
        f"{url}/photos", files=[("photos", ("c.jpg", jpeg("sweater"), "image/jpeg"))], headers=headers
    )
    assert late.status_code == 409


def test_submit_without_photos_says_to_upload_first(service: Service) -> None:
    item = create(service, [], complete="false").json()
    response = service.client.post(f"/v1/station/items/{item['item_id']}/submit", headers=service.headers("station"))
    assert response.status_code == 422 and "upload at least one" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("metadata", "needle"),
    [("{not json", "not valid JSON"), ('["a"]', "JSON object"), ('{"colour": "red"}', "colour")],
)
def test_malformed_metadata_is_refused_with_the_field(service: Service, metadata: str, needle: str) -> None:
    response = service.client.post("/v1/station/items", data={"metadata": metadata}, headers=service.headers("station"))
    assert response.status_code == 422 and needle in response.json()["error"]["message"]


def test_unknown_item_is_a_404_with_the_fix(service: Service) -> None:
    response = service.client.get("/v1/station/items/nope", headers=service.headers("station"))
    assert response.status_code == 404 and "id" in response.json()["error"]["message"]


def test_corrupt_photo_is_refused_and_no_item_is_made(service: Service) -> None:
    broken = jpeg("jeans")[:2000]
    response = create(service, [broken], key="broken-1")
    assert response.status_code == 422 and response.json()["error"]["code"] == "photo_corrupt"
    assert create(service, [jpeg("jeans")], key="broken-1").status_code == 201  # the key was not used up


def test_a_station_lists_its_own_items_with_filters(service: Service) -> None:
    created = create(service, [jpeg("sneakers")], key="list-1", force="true").json()  # no views: graded on force
    wait_for_status(service, created["item_id"], {"graded"})
    headers = service.headers("station")
    listed = service.client.get("/v1/station/items", params={"status": "graded"}, headers=headers).json()
    mine = next(entry for entry in listed if entry["item_id"] == created["item_id"])
    assert mine["sku"] == METADATA["sku"] and mine["grade"] and all(e["status"] == "graded" for e in listed)
    later = service.client.get(
        "/v1/station/items", params={"updated_since": "2999-01-01T00:00:00+02:00"}, headers=headers
    ).json()
    assert later == []
    other = service.client.post(
        "/v1/admin/keys", json={"name": "station-2", "role": "station"}, headers=service.headers("admin")
    ).json()["key"]
    assert service.client.get("/v1/station/items", headers={"X-API-Key": other}).json() == []
    bad = service.client.get("/v1/station/items", params={"status": "done"}, headers=headers)
    assert bad.status_code == 422 and "status" in bad.json()["error"]["message"]


def test_another_station_key_cannot_read_add_to_or_submit_an_item(service: Service) -> None:
    item_id = create(service, [jpeg("tshirt")], complete="false").json()["item_id"]
    admin = service.headers("admin")
    other = service.client.post("/v1/admin/keys", json={"name": "station-2", "role": "station"}, headers=admin)
    headers = {"X-API-Key": other.json()["key"]}
    photo = [("photos", ("x.jpg", jpeg("jeans"), "image/jpeg"))]
    answers = [
        service.client.get(f"/v1/station/items/{item_id}", headers=headers),
        service.client.post(f"/v1/station/items/{item_id}/photos", files=photo, headers=headers),
        service.client.post(f"/v1/station/items/{item_id}/submit", headers=headers),
    ]
    for answer in answers:  # the same answer as an unknown id: nothing about the item leaks
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_item", answer.text
        assert "photos" not in answer.text
    assert service.client.get(f"/v1/station/items/{item_id}", headers=service.headers("station")).status_code == 200
    assert service.client.get(f"/v1/station/items/{item_id}", headers=admin).status_code == 200
    own = service.client.get(f"/v1/station/items/{item_id}", headers=service.headers("station")).json()
    assert len(own["photos"]) == 1  # the other key's photo was not attached
