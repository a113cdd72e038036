"""Kiosk: one synchronous call from photos to grade, defects and a voucher offer, stored before the answer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from grading.policy import default_policy_path
from serving.tables import Item, Photo
from tests.serving.conftest import SHIPPED_VERSION, Service, blurred, darkened, jpeg, retouched, start_service

pytestmark = pytest.mark.slow


def grade(service: Service, files: list[tuple[str, bytes]], role: str = "kiosk", **form: str):
    photos = [("photos", (name, data, "image/jpeg")) for name, data in files]
    return service.client.post("/v1/kiosk/grade", files=photos, data=form, headers=service.headers(role))


def test_kiosk_grades_two_photos_and_offers_a_voucher(service: Service) -> None:
    response = grade(service, [("front.jpg", jpeg("tshirt")), ("back.jpg", jpeg("jeans"))], views="front,back")
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
    offer = grade(service, [("front.jpg", jpeg("sweater"))], category="shoes").json()
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
    photo = jpeg("jeans", size=(256, 256))
    response = grade(service, [(f"p{i}.jpg", photo + bytes([i])) for i in range(5)])
    assert response.status_code == 422 and response.json()["error"]["code"] == "too_many_photos"


def test_kiosk_refuses_a_station_key(service: Service) -> None:
    response = grade(service, [("front.jpg", jpeg("jeans"))], role="station")
    assert response.status_code == 403
    assert "kiosk" in response.json()["error"]["message"]


def test_kiosk_without_a_key_is_told_how_to_send_one(service: Service) -> None:
    response = service.client.post("/v1/kiosk/grade", files=[("photos", ("a.jpg", jpeg("jeans"), "image/jpeg"))])
    assert response.status_code == 401 and "X-API-Key" in response.json()["error"]["message"]


def counts(service: Service) -> tuple[int, float]:
    """(items stored, model runs so far): a retake must change neither."""
    runtime = service.client.app.state.runtime
    with runtime.sessions() as session:
        items = session.scalar(select(func.count()).select_from(Item))
    runs = runtime.metrics.registry.get_sample_value("secondlook_inference_batch_size_count") or 0.0
    return items, runs


def test_a_blurred_photo_gets_a_retake_answer_before_any_grading(service: Service) -> None:
    before = counts(service)
    response = grade(service, [("front.jpg", retouched("jeans", blurred))], category="shoes")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "retake_photos"
    assert "'front.jpg'" in error["message"] and "hold the phone still" in error["message"]
    [photo] = error["details"]["photos"]
    assert photo["photo"] == "front.jpg" and photo["position"] == 1 and photo["view"] == "unspecified"
    sharpness = next(check for check in photo["failed"] if check["check"] == "sharpness")
    assert sharpness["value"] < sharpness["threshold"] and sharpness["message"].startswith("The photo is blurred")
    assert error["details"]["policy_version"]
    assert counts(service) == before  # nothing stored, no model run


def test_only_the_photos_to_retake_are_named(service: Service) -> None:
    files = [("front.jpg", jpeg("tshirt")), ("back.jpg", retouched("sweater", darkened))]
    response = grade(service, files, views="front,back")
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [(p["photo"], p["position"], p["view"]) for p in details["photos"]] == [("back.jpg", 2, "back")]
    assert "too_dark" in {check["check"] for check in details["photos"][0]["failed"]}


def test_the_same_photo_sent_twice_is_a_retake_of_the_second(service: Service) -> None:
    again = retouched("tshirt", lambda image: image.resize((480, 640)), quality=70)  # new bytes, same picture
    response = grade(service, [("front.jpg", jpeg("tshirt")), ("back.jpg", again)])
    assert response.status_code == 422
    [photo] = response.json()["error"]["details"]["photos"]
    assert photo["photo"] == "back.jpg" and [c["check"] for c in photo["failed"]] == ["near_duplicate"]
    assert "photo 1" in photo["failed"][0]["message"]


def test_usable_photos_are_graded_and_the_checks_timed(service: Service) -> None:
    response = grade(service, [("front.jpg", jpeg("sweater")), ("back.jpg", jpeg("jeans"))], views="front,back")
    assert response.status_code == 200, response.text
    assert response.json()["timings"]["quality_ms"] >= 0


def test_the_retake_answer_is_documented(service: Service) -> None:
    operation = service.client.get("/openapi.json").json()["paths"]["/v1/kiosk/grade"]["post"]
    assert operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("RetakeAnswer")


def test_a_policy_without_photo_checks_grades_a_blurred_photo(tmp_path: Path) -> None:
    rules = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    rules["photo_quality"]["enabled"] = False
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(rules), encoding="utf-8")
    for service in start_service(tmp_path / "service", policy=policy):
        response = grade(service, [("front.jpg", retouched("jeans", blurred))])
        assert response.status_code == 200, response.text


def test_the_message_gives_each_photo_its_first_fix(service: Service) -> None:
    files = [("back.jpg", retouched("sweater", darkened)), ("side.jpg", retouched("jeans", blurred))]
    message = grade(service, files).json()["error"]["message"]
    assert message.startswith("Please take 2 of the 2 photos again")
    assert "'back.jpg': The photo is too dark" in message and "'side.jpg': The photo is blurred" in message
    assert "make out the item" not in message  # the dark photo's other failures are in the details only


def test_a_graded_answer_records_each_photos_checks(service: Service) -> None:
    offer = grade(service, [("front.jpg", jpeg("sweater")), ("back.jpg", jpeg("jeans"))], views="front,back").json()
    assert offer["warnings"] == []
    for photo in offer["result"]["photos"]:
        quality = photo["quality"]
        assert quality["usable"] and quality["failed"] == [] and quality["measures"]["sharpness"] > 0
    runtime = service.client.app.state.runtime
    with runtime.sessions() as session:
        stored = session.scalars(select(Photo).where(Photo.item_id == offer["item_id"])).all()
    assert all(photo.quality["checks"] and all(c["passed"] for c in photo.quality["checks"]) for photo in stored)


def policy_grading_with_a_warning(folder: Path) -> Path:
    rules = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    rules["photo_quality"]["on_failure"] = "grade_with_warning"
    policy = folder / "policy.yaml"
    policy.write_text(yaml.safe_dump(rules), encoding="utf-8")
    return policy


def test_a_policy_may_grade_a_failed_photo_with_a_warning_and_a_review(tmp_path: Path) -> None:
    for service in start_service(tmp_path / "service", policy=policy_grading_with_a_warning(tmp_path)):
        files = [("front.jpg", jpeg("tshirt")), ("back.jpg", retouched("sweater", darkened))]
        response = grade(service, files, views="front,back", category="t-shirt")
        assert response.status_code == 200, response.text
        offer = response.json()
        assert offer["decision"] == "review" and offer["needs_review"] is True  # the offer is provisional
        [warning] = offer["warnings"]
        assert warning["code"] == "photo_quality" and "'back.jpg': The photo is too dark" in warning["message"]
        [photo] = warning["photos"]
        assert (photo["photo"], photo["position"], photo["view"]) == ("back.jpg", 2, "back")
        assert "too_dark" in {check["check"] for check in photo["failed"]}
        reasons = [r for r in offer["result"]["reasons"] if r["code"] == "photo_quality"]
        assert len(reasons) == 1 and "too_dark" in reasons[0]["detail"]
        assert not offer["result"]["photos"][1]["quality"]["usable"]
        queue = service.client.get(
            "/v1/review/queue", params={"reason": "photo_quality"}, headers=service.headers("reviewer")
        ).json()
        assert offer["item_id"] in [entry["item_id"] for entry in queue["items"]]
