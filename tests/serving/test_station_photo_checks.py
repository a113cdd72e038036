"""Station photo checks: every photo is kept with its checks; an item waits for retakes and required views before
it is graded, a retake replaces the failed photo in grading, and `force` grades anyway with a review reason."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from grading.policy import default_policy_path, load_policy
from serving.tables import Job, Photo
from tests.serving.conftest import Service, blurred, darkened, jpeg, retouched, wait_for_status

pytestmark = pytest.mark.slow

EVERY_FIELD = {"check", "value", "threshold", "passed", "message"}
POLICY = load_policy(default_policy_path()).photo_quality


def create(service: Service, photos: list[bytes], views: str, category: str | None = "t-shirt", **form: str):
    files = [("photos", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    metadata = {"sku": "CHK-1"} | ({"category": category} if category else {})
    data = {"metadata": json.dumps(metadata), "views": views} | form
    return service.client.post("/v1/station/items", files=files, data=data, headers=service.headers("station"))


def add(service: Service, item_id: str, photo: bytes, view: str, **form: str):
    files = [("photos", ("retake.jpg", photo, "image/jpeg"))]
    url = f"/v1/station/items/{item_id}/photos"
    return service.client.post(url, files=files, data={"views": view} | form, headers=service.headers("station"))


def stored_photos(service: Service, item_id: str) -> list[Photo]:
    with service.client.app.state.runtime.sessions() as session:
        return list(session.scalars(select(Photo).where(Photo.item_id == item_id).order_by(Photo.position)))


def jobs(service: Service, item_id: str) -> list[Job]:
    with service.client.app.state.runtime.sessions() as session:
        return list(session.scalars(select(Job).where(Job.item_id == item_id)))


def test_every_check_is_stored_with_the_photo(service: Service) -> None:
    response = create(service, [jpeg("tshirt"), retouched("sweater", darkened)], "front,back", complete="false")
    assert response.status_code == 201, response.text
    good, dark = stored_photos(service, response.json()["item_id"])
    assert {check["check"] for check in good.quality["checks"]} >= {"sharpness", "shake", "too_dark", "too_small"}
    assert all(set(check) == EVERY_FIELD and check["passed"] for check in good.quality["checks"])
    too_dark = next(check for check in dark.quality["checks"] if check["check"] == "too_dark")
    assert not too_dark["passed"] and too_dark["value"] < too_dark["threshold"] == POLICY.highlight_level_at_least
    assert too_dark["message"].startswith("The photo is too dark")
    assert dark.quality["policy_version"] and 0 <= dark.quality["measures"]["brightness"] < 20


def test_an_item_with_a_failed_photo_waits_and_says_which_to_retake(service: Service) -> None:
    response = create(service, [jpeg("tshirt"), retouched("sweater", darkened)], "front,back")
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["status"] == "needs_photos" and jobs(service, item["item_id"]) == []
    front, back = item["photos"]
    assert front["usable"] is True and front["failed_checks"] == []
    assert back["usable"] is False and "too_dark" in {check["check"] for check in back["failed_checks"]}
    [retake] = item["needs"]["retake"]
    assert (retake["photo_id"], retake["number"], retake["view"]) == (back["id"], 2, "back")
    assert item["needs"]["missing_views"] == []
    assert "Retake photo 2 (back): The photo is too dark" in item["needs"]["message"]
    assert "force=true" in item["needs"]["message"]
    again = service.client.post(f"/v1/station/items/{item['item_id']}/submit", headers=service.headers("station"))
    assert again.status_code == 200 and again.json()["status"] == "needs_photos"  # a submit changes nothing


def test_a_retake_of_the_same_view_replaces_the_failed_photo_in_grading(service: Service) -> None:
    item = create(service, [jpeg("tshirt"), retouched("jeans", blurred)], "front,back").json()
    assert item["status"] == "needs_photos"
    answer = add(service, item["item_id"], jpeg("jeans"), "back")  # the same scene, sharp: no near duplicate
    assert answer.status_code == 200, answer.text
    failed, retake = answer.json()["photos"][1:]
    assert retake["usable"] is True and failed["replaced_by"] == retake["id"]
    graded = wait_for_status(service, item["item_id"], {"graded", "failed"})
    assert graded["status"] == "graded", graded["error"]
    assert [photo["photo_id"] for photo in graded["result"]["photos"]] == [item["photos"][0]["id"], retake["id"]]
    assert "photo_quality" not in {reason["code"] for reason in graded["result"]["reasons"]}
    assert len(graded["photos"]) == 3 and len(stored_photos(service, item["item_id"])) == 3  # the failed one kept


def test_missing_required_views_are_listed_and_their_photos_grade_the_item(service: Service) -> None:
    item = create(service, [jpeg("tshirt")], "side", category="shoes").json()
    assert item["status"] == "needs_photos"
    assert item["needs"]["missing_views"] == ["sole"] and item["needs"]["retake"] == []
    assert "Add a photo of each view shoes needs: sole." in item["needs"]["message"]
    assert add(service, item["item_id"], jpeg("jeans"), "sole").json()["status"] in {"queued", "processing", "graded"}
    graded = wait_for_status(service, item["item_id"], {"graded", "failed"})
    assert "missing_views" not in {reason["code"] for reason in graded["result"]["reasons"]}


def test_force_grades_anyway_and_sends_the_item_to_review(service: Service) -> None:
    photos = [jpeg("tshirt"), retouched("sweater", darkened)]
    item = create(service, photos, "front,back", category="shoes", force="true").json()
    graded = wait_for_status(service, item["item_id"], {"graded", "failed"})
    assert graded["status"] == "graded" and graded["review_state"] == "pending" and graded["decision"] == "review"
    codes = {reason["code"] for reason in graded["result"]["reasons"]}
    assert {"photo_quality", "missing_views"} <= codes
    good, dark = graded["result"]["photos"]
    assert good["quality"]["usable"] and good["quality"]["failed"] == []
    assert not dark["quality"]["usable"] and "too_dark" in {check["check"] for check in dark["quality"]["failed"]}
    assert {"brightness", "sharpness"} <= set(dark["quality"]["measures"]) and dark["quality"]["policy_version"]


def test_a_waiting_item_is_graded_when_submitted_with_force(service: Service) -> None:
    item = create(service, [retouched("sneakers", blurred)], "front", category="pants").json()
    assert item["status"] == "needs_photos" and item["needs"]["missing_views"] == ["back"]
    url = f"/v1/station/items/{item['item_id']}/submit"
    forced = service.client.post(url, params={"force": "true"}, headers=service.headers("station"))
    assert forced.status_code == 200 and forced.json()["status"] in {"queued", "processing", "graded"}
    assert wait_for_status(service, item["item_id"], {"graded", "failed"})["status"] == "graded"
    events = service.client.get(f"/v1/review/items/{item['item_id']}", headers=service.headers("reviewer")).json()
    submitted = next(event for event in events["history"] if event["event"] == "item.submitted")
    assert submitted["detail"]["forced"] is True and submitted["detail"]["needs"]["missing_views"] == ["back"]


def test_without_a_category_only_the_checks_hold_an_item_back(service: Service) -> None:
    item = create(service, [jpeg("tshirt")], "front", category=None).json()
    assert item["status"] in {"queued", "processing", "graded"} and item["needs"] is None


def test_reviewers_see_each_photos_failed_checks(service: Service) -> None:
    item = create(service, [jpeg("tshirt"), retouched("sweater", darkened)], "front,back", force="true").json()
    wait_for_status(service, item["item_id"], {"graded"})
    body = service.client.get(f"/v1/review/items/{item['item_id']}", headers=service.headers("reviewer")).json()
    good, dark = body["photos"]
    assert good["usable"] is True and good["failed_checks"] == [] and good["replaced_by"] is None
    too_dark = next(check for check in dark["failed_checks"] if check["check"] == "too_dark")
    assert too_dark["value"] < too_dark["threshold"] and "too dark" in too_dark["message"]


def test_the_same_picture_sent_again_must_be_retaken(service: Service) -> None:
    again = retouched("tshirt", lambda image: image.resize((480, 640)), quality=70)  # new bytes, same picture
    item = create(service, [jpeg("tshirt"), again], "front,back").json()
    assert item["status"] == "needs_photos"
    [retake] = item["needs"]["retake"]
    assert retake["number"] == 2 and [check["check"] for check in retake["failed"]] == ["near_duplicate"]
    assert "same as photo 1" in retake["failed"][0]["message"]


def test_admin_status_counts_items_waiting_for_photos(service: Service) -> None:
    def waiting() -> int:
        status = service.client.get("/v1/admin/status", headers=service.headers("admin"))
        return status.json()["queues"]["waiting_for_photos"]

    before = waiting()
    item = create(service, [jpeg("tshirt"), retouched("sweater", darkened)], "front,back").json()
    assert item["status"] == "needs_photos" and waiting() == before + 1


def test_the_review_export_leaves_out_a_photo_its_retake_replaced(service: Service) -> None:
    item = create(service, [jpeg("tshirt"), retouched("sneakers", blurred)], "front,back").json()
    retake = add(service, item["item_id"], jpeg("sneakers"), "back").json()["photos"][2]
    wait_for_status(service, item["item_id"], {"graded", "failed"})
    decision = {"action": "approve", "reason_code": "model_correct"}
    url = f"/v1/review/items/{item['item_id']}/decision"
    assert service.client.post(url, json=decision, headers=service.headers("reviewer")).status_code == 200
    lines = service.client.get("/v1/review/export", headers=service.headers("reviewer")).text.splitlines()
    [exported] = [json.loads(line) for line in lines if json.loads(line)["id"].endswith(item["item_id"])]
    kept = {photo.sha256 for photo in stored_photos(service, item["item_id"]) if photo.id != item["photos"][1]["id"]}
    assert {photo["sha256"] for photo in exported["photos"]} == kept
    assert len(kept) == 2 and retake["usable"] is True
