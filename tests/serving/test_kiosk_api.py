"""Kiosk: one synchronous call from photos to grade, defects and a voucher offer, stored before the answer."""

from __future__ import annotations

import pytest

from tests.serving.conftest import SHIPPED_VERSION, Service, jpeg

pytestmark = pytest.mark.slow


def grade(service: Service, files: list[tuple[str, bytes]], role: str = "kiosk", **form: str):
    photos = [("photos", (name, data, "image/jpeg")) for name, data in files]
    return service.client.post("/v1/kiosk/grade", files=photos, data=form, headers=service.headers(role))


def test_kiosk_grades_two_photos_and_offers_a_voucher(service: Service) -> None:
    response = grade(service, [("front.jpg", jpeg("astronaut")), ("back.jpg", jpeg("coffee"))], views="front,back")
    assert response.status_code == 200, response.text
    offer = response.json()
    result = offer["result"]
    assert offer["grade"] == result["grade"]["name"]
    assert offer["decision"] in {"list", "review", "reject"}
    assert result["model_version"] == SHIPPED_VERSION and result["policy_version"] and result["pricing_version"]
    assert [photo["view"] for photo in result["photos"]] == ["front", "back"]
    if offer["decision"] != "reject":
        assert offer["store_credit"] > offer["cash"] > 0  # store credit carries the bonus
    assert offer["timings"]["total_ms"] >= offer["timings"]["inference_ms"] > 0
    for defect in result["defects"]:
        left, top, right, bottom = defect["box"]
        assert 0 <= left < right <= 512 and 0 <= top < bottom <= 512  # boxes in the uploaded photo's pixels


def test_kiosk_item_is_stored_and_visible_to_reviewers(service: Service) -> None:
    offer = grade(service, [("front.jpg", jpeg("chelsea"))], category="shoes").json()
    detail = service.client.get(f"/v1/review/items/{offer['item_id']}", headers=service.headers("reviewer"))
    assert detail.status_code == 200
    body = detail.json()
    assert body["channel"] == "kiosk" and body["facts"]["category"] == "shoes"
    assert body["result"]["grade"]["name"] == offer["grade"]
    assert [event["event"] for event in body["history"]][:2] == ["item.created", "photos.added"]
    photo = service.client.get(body["photos"][0]["url"], headers=service.headers("reviewer"))
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"


def test_kiosk_refuses_a_non_photo_naming_the_file(service: Service) -> None:
    response = grade(service, [("notes.txt", b"this is not a photo")])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "photo_unsupported_format" and "notes.txt" in error["message"]


def test_kiosk_refuses_more_than_four_photos(service: Service) -> None:
    photo = jpeg("coffee", size=(256, 256))
    response = grade(service, [(f"p{i}.jpg", photo + bytes([i])) for i in range(5)])
    assert response.status_code == 422 and response.json()["error"]["code"] == "too_many_photos"


def test_kiosk_refuses_a_station_key(service: Service) -> None:
    response = grade(service, [("front.jpg", jpeg("coffee"))], role="station")
    assert response.status_code == 403
    assert "kiosk" in response.json()["error"]["message"]


def test_kiosk_without_a_key_is_told_how_to_send_one(service: Service) -> None:
    response = service.client.post("/v1/kiosk/grade", files=[("photos", ("a.jpg", jpeg("coffee"), "image/jpeg"))])
    assert response.status_code == 401 and "X-API-Key" in response.json()["error"]["message"]
