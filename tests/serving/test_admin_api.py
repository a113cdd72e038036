"""Admin: keys with roles, versions, a new bundle or policy without a restart, references, metrics, health."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from grading.policy import default_policy_path
from serving.references import reference_photos
from serving.settings import DEFAULT_BUNDLE
from tests.serving.conftest import SHIPPED_VERSION, Service, jpeg

pytestmark = pytest.mark.slow


def test_admin_creates_a_key_that_works_for_its_role_only(service: Service) -> None:
    created = service.client.post(
        "/v1/admin/keys", json={"name": "kiosk-store-12", "role": "kiosk"}, headers=service.headers("admin")
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert service.client.get("/v1/review/queue", headers={"X-API-Key": key}).status_code == 403
    photo = [("photos", ("a.jpg", jpeg("jeans"), "image/jpeg"))]
    assert service.client.post("/v1/kiosk/grade", files=photo, headers={"X-API-Key": key}).status_code == 200


def test_only_admins_create_keys(service: Service) -> None:
    response = service.client.post(
        "/v1/admin/keys", json={"name": "x", "role": "admin"}, headers=service.headers("reviewer")
    )
    assert response.status_code == 403


def test_unknown_role_lists_the_roles(service: Service) -> None:
    response = service.client.post(
        "/v1/admin/keys", json={"name": "x", "role": "boss"}, headers=service.headers("admin")
    )
    assert response.status_code == 422 and "station, kiosk, reviewer, admin" in response.json()["error"]["message"]


def test_a_made_up_key_is_refused(service: Service) -> None:
    response = service.client.get("/v1/review/queue", headers={"X-API-Key": "sl_0123456789ab_forged"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"


def test_status_names_the_active_versions(service: Service) -> None:
    status = service.client.get("/v1/admin/status", headers=service.headers("admin")).json()
    assert status["model"]["version"] == SHIPPED_VERSION
    assert status["policy"]["version"] and status["pricing"]["version"]


def test_bundle_reload_refuses_an_altered_bundle_and_keeps_serving(service: Service, tmp_path: Path) -> None:
    altered = tmp_path / "altered"
    shutil.copytree(DEFAULT_BUNDLE, altered)
    with (altered / "model.onnx").open("ab") as model:
        model.write(b"\0")
    response = service.client.post("/v1/admin/bundle", json={"path": str(altered)}, headers=service.headers("admin"))
    assert response.status_code == 422 and "sha256" in response.json()["error"]["message"]
    photo = [("photos", ("a.jpg", jpeg("jeans"), "image/jpeg"))]
    assert service.client.post("/v1/kiosk/grade", files=photo, headers=service.headers("kiosk")).status_code == 200


def test_bundle_reload_without_restart(service: Service, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(DEFAULT_BUNDLE, copy)
    response = service.client.post("/v1/admin/bundle", json={"path": str(copy)}, headers=service.headers("admin"))
    assert response.status_code == 200 and response.json()["model"]["folder"] == str(copy)
    photo = [("photos", ("a.jpg", jpeg("jeans"), "image/jpeg"))]
    assert service.client.post("/v1/kiosk/grade", files=photo, headers=service.headers("kiosk")).status_code == 200


def test_policy_reload_refuses_a_broken_file_naming_the_field(service: Service, tmp_path: Path) -> None:
    broken = tmp_path / "policy.yaml"
    broken.write_text(
        default_policy_path().read_text().replace("min_grade_confidence: 0.5", "min_grade_confidence: lots")
    )
    response = service.client.post("/v1/admin/rules", json={"policy": str(broken)}, headers=service.headers("admin"))
    assert response.status_code == 422 and "min_grade_confidence" in response.json()["error"]["message"]


def test_policy_reload_changes_the_recorded_version(service: Service, tmp_path: Path) -> None:
    text = default_policy_path().read_text()
    newer = tmp_path / "policy.yaml"
    newer.write_text(text.replace(_version_line(text), 'version: "test-2"', 1))
    response = service.client.post("/v1/admin/rules", json={"policy": str(newer)}, headers=service.headers("admin"))
    assert response.status_code == 200 and response.json()["policy"]["version"] == "test-2"
    photo = [("photos", ("a.jpg", jpeg("sweater"), "image/jpeg"))]
    offer = service.client.post("/v1/kiosk/grade", files=photo, headers=service.headers("kiosk")).json()
    assert offer["result"]["policy_version"] == "test-2"
    service.client.post(
        "/v1/admin/rules", json={"policy": str(default_policy_path())}, headers=service.headers("admin")
    )


def _version_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("version:"))


def test_enrolled_references_are_compared_with_kiosk_items(service: Service) -> None:
    photos = [("photos", (f"r{i}.jpg", jpeg(name), "image/jpeg")) for i, name in enumerate(["sweater", "jeans"])]
    enrolled = service.client.post("/v1/admin/references/acme-runner", files=photos, headers=service.headers("admin"))
    assert enrolled.status_code == 201 and enrolled.json()["references"]["acme-runner"] == 2
    form = {"product_line": "acme-runner", "authenticate": "true"}
    photo = [("photos", ("same.jpg", jpeg("sweater"), "image/jpeg"))]
    offer = service.client.post("/v1/kiosk/grade", files=photo, data=form, headers=service.headers("kiosk")).json()
    authenticity = offer["result"]["authenticity"]
    assert authenticity["references"] == 2 and authenticity["reference_similarity"] > 0.99
    stored = service.client.get(f"/v1/review/items/{offer['item_id']}", headers=service.headers("reviewer")).json()
    nearest = stored["result"]["authenticity"]["nearest_references"]
    with service.client.app.state.runtime.sessions() as session:
        ids = {row.sha256: row.id for row in reference_photos(session, "acme-runner")}
    assert [near["reference_id"] for near in nearest] == [ids[sha256(jpeg(name))] for name in ("sweater", "jeans")]
    similarities = [near["similarity"] for near in nearest]
    assert similarities == sorted(similarities, reverse=True)
    assert similarities[0] == authenticity["reference_similarity"]
    assert nearest == authenticity["nearest_references"]  # what the kiosk got is what was stored


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_health_readiness_and_metrics(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    assert service.client.get("/readyz").json()["model"]["version"] == SHIPPED_VERSION
    service.client.get("/v1/station/items/unknown", headers=service.headers("station"))
    metrics = service.client.get("/metrics").text
    assert 'route="/v1/station/items/{item_id}"' in metrics
    for name in (
        "secondlook_http_request_duration_seconds",
        "secondlook_inference_seconds",
        "secondlook_inference_batch_size",
        "secondlook_webhook_undelivered 0.0",
        "secondlook_job_queue_depth",
    ):
        assert name in metrics


def test_openapi_documents_every_route(service: Service) -> None:
    paths = service.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/kiosk/grade", "/v1/station/items", "/v1/review/queue", "/v1/admin/keys", "/metrics"):
        assert path in paths


def test_a_new_bundle_version_re_embeds_the_references(service: Service, tmp_path: Path) -> None:
    photos = [("photos", (f"r{i}.jpg", jpeg(name), "image/jpeg")) for i, name in enumerate(["sneakers", "camera"])]
    service.client.post("/v1/admin/references/swap-line", files=photos, headers=service.headers("admin"))
    newer = tmp_path / "newer"
    shutil.copytree(DEFAULT_BUNDLE, newer)
    metadata = (newer / "bundle.json").read_text()
    (newer / "bundle.json").write_text(metadata.replace(f'"version": "{SHIPPED_VERSION}"', '"version": "swap-test"', 1))
    swapped = service.client.post("/v1/admin/bundle", json={"path": str(newer)}, headers=service.headers("admin"))
    assert swapped.status_code == 200 and swapped.json()["model"]["version"] == "swap-test"
    form = {"product_line": "swap-line", "authenticate": "true"}
    photo = [("photos", ("same.jpg", jpeg("sneakers"), "image/jpeg"))]
    offer = service.client.post("/v1/kiosk/grade", files=photo, data=form, headers=service.headers("kiosk")).json()
    assert offer["result"]["model_version"] == "swap-test"
    assert offer["result"]["authenticity"]["references"] == 2
    service.client.post("/v1/admin/bundle", json={"path": str(DEFAULT_BUNDLE)}, headers=service.headers("admin"))


def test_a_revoked_key_stops_working_at_once(service: Service) -> None:
    admin = service.headers("admin")
    created = service.client.post("/v1/admin/keys", json={"name": "temp-station", "role": "station"}, headers=admin)
    key, prefix = created.json()["key"], created.json()["id"]
    assert service.client.get("/v1/station/items/x", headers={"X-API-Key": key}).status_code == 404
    listed = service.client.get("/v1/admin/keys", headers=admin).json()
    assert {"id": prefix, "name": "temp-station", "role": "station"}.items() <= next(
        k for k in listed if k["id"] == prefix
    ).items()
    revoked = service.client.delete(f"/v1/admin/keys/{prefix}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert service.client.get("/v1/station/items/x", headers={"X-API-Key": key}).status_code == 401
    assert all("key" not in entry for entry in listed) and "sl_" not in json.dumps(listed)  # never a key itself


def test_an_admin_cannot_revoke_their_own_key(service: Service) -> None:
    own_prefix = service.keys["admin"].split("_")[1]
    response = service.client.delete(f"/v1/admin/keys/{own_prefix}", headers=service.headers("admin"))
    assert response.status_code == 409
    assert service.client.get("/v1/admin/status", headers=service.headers("admin")).status_code == 200


def test_webhook_redrive_is_for_admins(service: Service) -> None:
    assert service.client.post("/v1/admin/webhooks/redrive", headers=service.headers("reviewer")).status_code == 403
    response = service.client.post("/v1/admin/webhooks/redrive", headers=service.headers("admin"))
    assert response.status_code == 200 and response.json() == {"redriven": 0}
