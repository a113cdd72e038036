"""Every class of bad input gets a 4xx with a JSON body that says what to fix; never a 500; the server stays up."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.serving.conftest import Service, jpeg, start_service

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service(tmp_path_factory.mktemp("bad-input"), max_photo_bytes=200_000)


def photo(name: str, data: bytes, media: str = "image/jpeg") -> tuple[str, tuple[str, bytes, str]]:
    return ("photos", (name, data, media))


BIG_JPEG = jpeg("astronaut", quality=100) * 3  # over the test service's byte limit
CASES = {
    "empty photo": ("kiosk", "/v1/kiosk/grade", {"files": [photo("e.jpg", b"")]}, 422, "photo_empty"),
    "text file": ("kiosk", "/v1/kiosk/grade", {"files": [photo("a.txt", b"hello")]}, 422, "photo_unsupported_format"),
    "truncated jpeg": ("kiosk", "/v1/kiosk/grade", {"files": [photo("t.jpg", jpeg()[:3000])]}, 422, "photo_corrupt"),
    "too large": ("kiosk", "/v1/kiosk/grade", {"files": [photo("big.jpg", BIG_JPEG)]}, 413, None),
    "no photos": ("kiosk", "/v1/kiosk/grade", {"data": {"category": "shoes"}}, 422, "invalid_request"),
    "unknown view": (
        "kiosk",
        "/v1/kiosk/grade",
        {"files": [photo("a.jpg", jpeg())], "data": {"views": "top"}},
        422,
        None,
    ),
    "views count": (
        "kiosk",
        "/v1/kiosk/grade",
        {"files": [photo("a.jpg", jpeg())], "data": {"views": "front,back"}},
        422,
        None,
    ),
    "json instead of form": ("kiosk", "/v1/kiosk/grade", {"json": {"photos": []}}, 422, "invalid_request"),
    "metadata not json": ("station", "/v1/station/items", {"data": {"metadata": "{"}}, 422, "invalid_metadata"),
    "metadata wrong type": (
        "station",
        "/v1/station/items",
        {"data": {"metadata": json.dumps({"tags": "x"})}},
        422,
        "invalid_metadata",
    ),
    "unknown item photos": ("station", "/v1/station/items/nope/photos", {"files": [photo("a.jpg", jpeg())]}, 404, None),
    "unknown item submit": ("station", "/v1/station/items/nope/submit", {}, 404, "unknown_item"),
    "force not a boolean": ("station", "/v1/station/items/nope/submit?force=maybe", {}, 422, "invalid_request"),
    "force not a boolean on create": (
        "station",
        "/v1/station/items",
        {"data": {"metadata": "{}", "force": "maybe"}},
        422,
        "invalid_request",
    ),
    "decision not json": (
        "reviewer",
        "/v1/review/items/x/decision",
        {"content": b"{", "headers": {"content-type": "application/json"}},
        422,
        None,
    ),
    "decision unknown item": (
        "reviewer",
        "/v1/review/items/nope/decision",
        {"json": {"action": "approve", "reason_code": "model_correct"}},
        404,
        None,
    ),
    "unknown overlay kind": ("reviewer", "/v1/review/items/x/photos/y/overlay?kind=xray", {"method": "GET"}, 422, None),
    "unknown route": ("kiosk", "/v2/kiosk/grade", {}, 404, "not_found"),
    "bundle path missing": ("admin", "/v1/admin/bundle", {"json": {"path": "/nowhere"}}, 422, "bad_bundle"),
    "rules path missing": ("admin", "/v1/admin/rules", {"json": {"policy": "/nowhere.yaml"}}, 422, "bad_rules"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_gets_a_clear_4xx(service: Service, case: str) -> None:
    role, url, kwargs, status, code = CASES[case]
    kwargs = dict(kwargs)
    method = kwargs.pop("method", "POST")
    headers = service.headers(role) | kwargs.pop("headers", {})
    response = service.client.request(method, url, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] and len(error["message"]) > 20
    if code:
        assert error["code"] == code
    assert service.client.get("/healthz").status_code == 200
