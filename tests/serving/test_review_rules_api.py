"""Reviewer decisions: what each action does to the item, and retries a station makes after a lost answer."""

from __future__ import annotations

import json

import pytest

from serving.review_records import INCONCLUSIVE_REASON, DecisionIn, ReviewAction, _apply
from serving.tables import Item, ReviewState
from tests.serving.conftest import Service, jpeg, wait_for_status

pytestmark = pytest.mark.slow


def flagged_item(service: Service, sku: str, photo: str = "tshirt") -> str:
    files = [("photos", ("front.jpg", jpeg(photo), "image/jpeg"))]
    data = {"metadata": json.dumps({"sku": sku, "category": "shoes"}), "views": "front"}  # no sole view: flagged
    data["force"] = "true"  # grade without the missing views (else the item waits for them)
    item = service.client.post("/v1/station/items", files=files, data=data, headers=service.headers("station")).json()
    assert wait_for_status(service, item["item_id"], {"graded"})["review_state"] == "pending"
    return item["item_id"]


def decide(service: Service, item_id: str, decision: dict):
    url = f"/v1/review/items/{item_id}/decision"
    return service.client.post(url, json=decision, headers=service.headers("reviewer"))


def test_inconclusive_keeps_the_item_in_the_queue_tagged(service: Service) -> None:
    item_id = flagged_item(service, "inc-1")
    response = decide(service, item_id, {"action": "inconclusive", "reason_code": "photo_quality"})
    assert response.status_code == 200 and response.json()["review_state"] == "pending"
    queue = service.client.get(
        "/v1/review/queue", params={"reason": INCONCLUSIVE_REASON}, headers=service.headers("reviewer")
    ).json()
    assert item_id in [entry["item_id"] for entry in queue["items"]]


def test_a_grade_only_goes_with_an_override(service: Service) -> None:
    item_id = flagged_item(service, "approve-grade-1", "jeans")
    response = decide(service, item_id, {"action": "approve", "reason_code": "model_correct", "grade": "like_new"})
    assert response.status_code == 422 and "go with action 'override'" in response.json()["error"]["message"]


def test_approving_a_suspected_counterfeit_rejects_it() -> None:
    item = Item(review_state=ReviewState.PENDING, grade="good", review_reasons=["suspected_counterfeit"])
    _apply(
        item, DecisionIn(action=ReviewAction.APPROVE, reason_code="model_correct"), "reject", "suspected_counterfeit"
    )
    assert (item.decision, item.review_state) == ("reject", ReviewState.DECIDED)


def test_approving_a_grade_at_the_bottom_of_a_custom_scale_rejects(service: Service) -> None:
    item = Item(review_state=ReviewState.PENDING, grade="unsellable", review_reasons=[])
    _apply(item, DecisionIn(action=ReviewAction.APPROVE, reason_code="model_correct"), "unsellable", "not_checked")
    assert item.decision == "reject"


def test_retries_after_submit_answer_200_not_409(service: Service) -> None:
    headers = service.headers("station")
    item = service.client.post("/v1/station/items", data={"complete": "false"}, headers=headers).json()
    url = f"/v1/station/items/{item['item_id']}"
    photo = [("photos", ("a.jpg", jpeg("sweater"), "image/jpeg"))]
    first = service.client.post(f"{url}/photos", files=photo, data={"complete": "true"}, headers=headers)
    again = service.client.post(f"{url}/photos", files=photo, data={"complete": "true"}, headers=headers)
    assert first.status_code == 200 and again.status_code == 200 and len(again.json()["photos"]) == 1
    assert service.client.post(f"{url}/submit", headers=headers).status_code == 200


def test_an_empty_idempotency_key_is_no_key(service: Service) -> None:
    headers = service.headers("station") | {"Idempotency-Key": ""}
    for sku in ("empty-key-a", "empty-key-b"):
        data = {"metadata": json.dumps({"sku": sku}), "complete": "false"}
        assert service.client.post("/v1/station/items", data=data, headers=headers).status_code == 201


@pytest.mark.parametrize(
    ("url", "kwargs", "status"),
    [
        ("/v1/kiosk/grade", {"data": {"category": "x" * 81}}, 422),
        ("/v1/station/items/a%00b", {"method": "GET"}, 400),
        ("/v1/review/queue?category=a%00b", {"method": "GET"}, 400),
        ("/v1/review/queue?category=" + "x" * 81, {"method": "GET"}, 422),
        ("/v1/station/items/" + "f" * 400, {"method": "GET"}, 404),
    ],
)
def test_values_the_database_cannot_hold_are_refused(service: Service, url: str, kwargs: dict, status: int) -> None:
    kwargs = dict(kwargs)
    method = kwargs.pop("method", "POST")
    if method == "POST":
        kwargs["files"] = [("photos", ("a.jpg", jpeg("jeans"), "image/jpeg"))]
    role = "kiosk" if "kiosk" in url else "station" if "station" in url else "reviewer"
    response = service.client.request(method, url, headers=service.headers(role), **kwargs)
    assert response.status_code == status, response.text
