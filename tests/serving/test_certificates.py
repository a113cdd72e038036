"""Certificates through the real app: issued for a final grade, verified offline by the real CLI with the public key,
a one-byte change caught, a reviewer override revoking and reissuing, and no personal data of the seller inside."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from serving.certificate_signing import canonical_json, load_public_key, verify
from serving.web.qr_code import qr_svg
from tests.fixtures.service_process import REPO
from tests.serving.conftest import Service, jpeg, retouched, start_service, wait_for_status

pytestmark = pytest.mark.slow
PUBLIC_URL = "https://grading.example"
SELLER = {"program": "seller-jane-doe", "tags": "jane-doe-closet"}  # what a kiosk may know about who brought it


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service(tmp_path_factory.mktemp("certificates"), public_url=PUBLIC_URL)


def kiosk_item(service: Service, photo: str, **facts: str) -> dict:
    files = [("photos", (f"{photo}.jpg", jpeg(photo), "image/jpeg"))]
    response = service.client.post("/v1/kiosk/grade", files=files, data=facts, headers=service.headers("kiosk"))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def listed(service: Service) -> dict:
    """A station t-shirt graded with defects, without review, brought by a named seller."""
    back = retouched("gravel_on_floor", lambda image: image.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    front = jpeg("gravel_on_floor")
    files = [("photos", ("front.jpg", front, "image/jpeg")), ("photos", ("back.jpg", back, "image/jpeg"))]
    metadata = {"sku": "ACME-TEE-1", "category": "t-shirt", "brand": "Acme", "program": SELLER["program"]}
    data = {"metadata": json.dumps(metadata | {"tags": [SELLER["tags"]]}), "views": "front,back"}
    created = service.client.post("/v1/station/items", files=files, data=data, headers=service.headers("station"))
    assert created.status_code == 201, created.text
    item = wait_for_status(service, created.json()["item_id"], {"graded", "failed", "needs_photos"})
    assert item["result"]["decision"] == "list" and item["result"]["defects"], item["result"]["reasons"]
    return item | {"grade": item["result"]["grade"]["name"]}


def issue(service: Service, item_id: str, role: str = "reviewer") -> object:
    return service.client.post(f"/v1/review/items/{item_id}/certificate", headers=service.headers(role))


def public_key(service: Service, folder: Path) -> Path:
    response = service.client.get("/.well-known/secondlook-certificate-key.pem")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-pem-file")
    path = folder / "operator.pem"
    path.write_bytes(response.content)
    return path


def cli_verify(certificate: Path, key: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "serving.cli", "certificate", "verify", str(certificate), "--public-key", str(key)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def download(service: Service, certificate_id: str, folder: Path) -> Path:
    response = service.client.get(f"/v1/certificates/{certificate_id}")  # no key: certificates are public
    assert response.status_code == 200, response.text
    assert f"certificate-{certificate_id}.json" in response.headers["content-disposition"]
    path = folder / f"{certificate_id}.json"
    path.write_bytes(response.content)
    return path


def test_a_graded_item_gets_a_certificate_that_the_cli_verifies_offline(
    service: Service, listed: dict, tmp_path: Path
) -> None:
    created = issue(service, listed["item_id"])
    assert created.status_code == 201, created.text
    body = created.json()
    payload = body["document"]["payload"]
    assert body["status"] == "valid" and payload["grade"] == listed["grade"]
    assert payload["verify_url"] == f"{PUBLIC_URL}/verify/{body['certificate_id']}" == body["links"]["verify"]
    assert payload["item"] == {
        "id": listed["item_id"],
        "category": "t-shirt",
        "brand": "Acme",
        "product_line": None,
        "sku": "ACME-TEE-1",
    }
    assert payload["authenticity"] == {"verdict": listed["result"]["authenticity"]["verdict"], "decided_by": "model"}
    assert payload["review"] is None and payload["supersedes"] is None
    assert payload["versions"]["model_version"] == listed["result"]["model_version"]
    assert payload["versions"]["policy_version"] == listed["result"]["policy_version"]
    assert payload["versions"]["pricing_version"] == listed["result"]["pricing_version"]
    hashes = {photo["id"]: photo["sha256"] for photo in listed["photos"]}
    assert payload["photos"] == [{"view": p["view"], "sha256": hashes[p["id"]]} for p in listed["photos"]]
    counted = [d for d in listed["result"]["defects"] if d["counted"]]
    assert [(d["type"], d["view"], d["photo_sha256"]) for d in payload["defects"]] == [
        (d["type"], d["view"], hashes[d["photo_id"]]) for d in counted
    ]

    done = cli_verify(download(service, body["certificate_id"], tmp_path), public_key(service, tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("valid: signed by key ") and f"grade {listed['grade']}" in done.stdout
    assert f"{PUBLIC_URL}/verify/{body['certificate_id']}" in done.stdout  # where revocation is checked


def test_asking_again_returns_the_same_certificate(service: Service, listed: dict) -> None:
    first, again = issue(service, listed["item_id"]), issue(service, listed["item_id"])
    assert again.status_code == 200 and again.json()["certificate_id"] == first.json()["certificate_id"]
    current = service.client.get(f"/v1/review/items/{listed['item_id']}/certificate", headers=service.headers("admin"))
    assert current.json()["certificate_id"] == first.json()["certificate_id"]


def test_changing_one_byte_of_the_payload_fails_verification(service: Service, listed: dict, tmp_path: Path) -> None:
    certificate_id = issue(service, listed["item_id"]).json()["certificate_id"]
    original = download(service, certificate_id, tmp_path).read_bytes()
    key = public_key(service, tmp_path)
    where = original.index(b'"grade":"') + len(b'"grade":"')
    tampered = tmp_path / "tampered.json"
    changed = b"x" if original[where : where + 1] != b"x" else b"y"
    tampered.write_bytes(original[:where] + changed + original[where + 1 :])  # e.g. "poor" -> "xoor": still JSON
    done = cli_verify(tampered, key)
    assert done.returncode == 1
    assert "INVALID: the signature does not match the payload: the certificate was altered" in done.stderr


def test_a_certificate_checked_with_another_key_or_not_a_certificate_is_refused(
    service: Service, listed: dict, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from serving.certificate_signing import public_key_pem

    path = download(service, issue(service, listed["item_id"]).json()["certificate_id"], tmp_path)
    other = tmp_path / "other.pem"
    other.write_text(public_key_pem(Ed25519PrivateKey.generate().public_key()))
    wrong_key = cli_verify(path, other)
    assert wrong_key.returncode == 1 and "but the public key given is" in wrong_key.stderr
    (tmp_path / "junk.json").write_text('{"hello": "world"}')
    junk = cli_verify(tmp_path / "junk.json", public_key(service, tmp_path))
    assert junk.returncode == 1 and "not a secondlook certificate: missing format" in junk.stderr
    not_a_key = cli_verify(path, path)
    assert not_a_key.returncode == 2 and "not a PEM public key" in not_a_key.stderr
    missing = cli_verify(tmp_path / "nowhere.json", other)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_the_certificate_holds_no_personal_data_of_the_seller(service: Service, listed: dict) -> None:
    text = json.dumps(issue(service, listed["item_id"]).json()["document"])
    for secret in [*SELLER.values(), "test-kiosk", "test-reviewer", "kiosk", "station"]:
        assert secret not in text
    assert service.keys["kiosk"] not in text


def test_an_item_waiting_for_review_gets_no_certificate(service: Service) -> None:
    flagged = kiosk_item(service, "astronaut_on_floor")  # a portrait, no category: low confidence, to review
    assert flagged["decision"] == "review"
    refused = issue(service, flagged["item_id"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "awaiting_review"
    assert "waiting for a reviewer's decision" in refused.json()["error"]["message"]
    assert f"/v1/review/items/{flagged['item_id']}/decision" in refused.json()["error"]["message"]


def test_a_reviewer_override_revokes_the_certificate_and_issues_a_new_one(service: Service, tmp_path: Path) -> None:
    item_id = kiosk_item(service, "sneakers", category="shoes")["item_id"]
    old = issue(service, item_id).json()["certificate_id"]
    decision = {"action": "override", "grade": "good", "reason_code": "missed_defect", "comment": "stain on the back"}
    url = f"/v1/review/items/{item_id}/decision"
    decided = service.client.post(url, json=decision, headers=service.headers("reviewer"))
    assert decided.status_code == 200, decided.text
    new = decided.json()["certificate_id"]
    assert new and new != old

    status = service.client.get(f"/v1/certificates/{old}/status").json()
    assert status["status"] == "revoked" and status["superseded_by"] == new
    page = service.client.get(f"/verify/{old}")
    assert page.status_code == 200 and "Revoked" in page.text and f"/verify/{new}" in page.text
    assert "Valid" in service.client.get(f"/verify/{new}").text

    document = json.loads(download(service, new, tmp_path).read_text())
    assert document["payload"]["grade"] == "good" and document["payload"]["supersedes"] == old
    assert document["payload"]["review"]["action"] == "override"
    assert cli_verify(download(service, new, tmp_path), public_key(service, tmp_path)).returncode == 0
    # the old one still carries a good signature: offline it verifies; only the verification page knows it is revoked
    assert cli_verify(download(service, old, tmp_path), public_key(service, tmp_path)).returncode == 0


def test_a_confirmed_counterfeit_on_an_uncertified_item_issues_nothing_until_asked(service: Service) -> None:
    item_id = kiosk_item(service, "shorts", category="shorts")["item_id"]
    decision = {"action": "confirm_counterfeit", "reason_code": "counterfeit_evidence"}
    url = f"/v1/review/items/{item_id}/decision"
    assert service.client.post(url, json=decision, headers=service.headers("reviewer")).json()["certificate_id"] is None
    payload = issue(service, item_id).json()["document"]["payload"]
    assert payload["authenticity"] == {"verdict": "counterfeit", "decided_by": "reviewer"}


def test_an_inconclusive_decision_keeps_the_certificate(service: Service) -> None:
    item_id = kiosk_item(service, "jeans", category="pants")["item_id"]
    first = issue(service, item_id).json()["certificate_id"]
    decision = {"action": "inconclusive", "reason_code": "other", "comment": "second opinion"}
    url = f"/v1/review/items/{item_id}/decision"
    decided = service.client.post(url, json=decision, headers=service.headers("reviewer"))
    assert decided.json()["certificate_id"] == first
    assert service.client.get(f"/v1/certificates/{first}/status").json()["status"] == "valid"


def test_the_printable_page_carries_a_qr_code_of_the_verification_url(service: Service, listed: dict) -> None:
    body = issue(service, listed["item_id"]).json()
    page = service.client.get(body["links"]["print"])
    assert page.status_code == 200 and "Condition certificate" in page.text
    assert str(qr_svg(body["links"]["verify"], title=f"QR code: {body['links']['verify']}")) in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_only_reviewers_issue_and_unknown_ids_say_what_to_check(service: Service, listed: dict) -> None:
    for role in ("station", "kiosk"):
        assert issue(service, listed["item_id"], role).status_code == 403
    assert service.client.post(f"/v1/review/items/{listed['item_id']}/certificate").status_code == 401
    unknown = service.client.get("/v1/certificates/" + "0" * 32)
    assert unknown.status_code == 404
    assert "Check the id printed on the certificate" in unknown.json()["error"]["message"]
    page = service.client.get("/verify/" + "0" * 32)
    assert page.status_code == 404 and "not genuine" in page.text
    assert service.client.get("/verify/" + "x" * 500).status_code == 404
    assert service.client.get("/certificates/" + "x" * 500).status_code == 404
    assert service.client.get("/v1/certificates/" + "x" * 500 + "/status").status_code == 404
    unknown_item = service.client.post("/v1/review/items/nope/certificate", headers=service.headers("reviewer"))
    assert unknown_item.status_code == 404 and unknown_item.json()["error"]["code"] == "unknown_item"
    none_yet = kiosk_item(service, "jeans", category="t-shirt")["item_id"]
    answer = service.client.get(f"/v1/review/items/{none_yet}/certificate", headers=service.headers("reviewer"))
    assert answer.status_code == 404 and "POST /v1/review/items/" in answer.json()["error"]["message"]


def test_the_public_key_route_and_the_cli_print_the_same_key(service: Service, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "serving.cli", "--data-dir", str(service.settings.data_dir)]
    done = subprocess.run([*command, "certificate", "public-key"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    served = service.client.get("/.well-known/secondlook-certificate-key.pem")
    assert done.stdout == served.text and f"key id {served.headers['x-key-id']}" in done.stderr
    assert (service.settings.data_dir / "certificate-key.pem").stat().st_mode & 0o777 == 0o600


def test_the_signature_covers_the_canonical_payload_whatever_the_key_order(service: Service, listed: dict) -> None:
    document = issue(service, listed["item_id"]).json()["document"]
    key = load_public_key(service.client.get("/.well-known/secondlook-certificate-key.pem").content)
    reordered = document | {"payload": dict(reversed(list(document["payload"].items())))}
    assert verify(reordered, key).valid
    assert canonical_json(reordered["payload"]) == canonical_json(document["payload"])
