"""The S3 photo store against a real S3 endpoint on loopback (moto's server), a service running on it end to end,
and an endpoint that breaks uploads: the request fails with 503 and nothing dangles in the database."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from grading.manifest import Item as ManifestItem
from serving.s3_storage import S3PhotoStore
from serving.settings import Settings, settings_from_environment
from serving.storage import LocalPhotoStore, PhotoNotFound, PhotoStoreMisconfigured, PhotoStoreUnavailable
from serving.storage import open_photo_store as open_store
from serving.tables import Item, Photo
from tests.fixtures.s3_endpoint import FaultyS3Proxy, S3Endpoint, faulty_proxy, moto_s3
from tests.fixtures.service_process import REPO, free_port
from tests.serving.conftest import Service, jpeg, start_service, wait_for_status

PHOTO = b"\xff\xd8 not really a jpeg, but bytes are bytes \xff\xd9"
DIGEST = hashlib.sha256(PHOTO).hexdigest()


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Endpoint]:
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def proxy(s3: S3Endpoint) -> Iterator[FaultyS3Proxy]:
    with faulty_proxy(s3) as running:
        yield running


@pytest.fixture
def healthy(proxy: FaultyS3Proxy) -> Iterator[FaultyS3Proxy]:
    """The proxy, forwarding everything during the test and after it."""
    proxy.fault, proxy.faulted = None, 0
    yield proxy
    proxy.fault = None


def s3_store(endpoint: S3Endpoint | FaultyS3Proxy, bucket: str, prefix: str = "photos/") -> S3PhotoStore:
    store = open_store(Settings(**S3Endpoint(endpoint.url).settings(bucket, prefix)))
    assert isinstance(store, S3PhotoStore)
    return store


def test_put_stores_the_bytes_under_their_content_address(s3: S3Endpoint) -> None:
    bucket = s3.new_bucket()
    store = s3_store(s3, bucket, prefix="shop-7")
    assert not store.exists(DIGEST)
    assert store.put(PHOTO) == DIGEST
    assert store.exists(DIGEST) and store.get(DIGEST) == PHOTO
    stored = s3.client().get_object(Bucket=bucket, Key=f"shop-7/{DIGEST[:2]}/{DIGEST}")["Body"].read()
    assert stored == PHOTO
    assert store.path_of(DIGEST) == f"s3://{bucket}/shop-7/{DIGEST[:2]}/{DIGEST}"


def test_storing_the_same_photo_again_uploads_nothing(s3: S3Endpoint, healthy: FaultyS3Proxy) -> None:
    store = s3_store(healthy, s3.new_bucket())
    store.put(PHOTO, DIGEST)
    healthy.fault = "fail_uploads"  # a second upload would fail; there is none
    assert store.put(PHOTO, DIGEST) == DIGEST
    assert healthy.faulted == 0


def test_a_photo_not_in_the_store_is_not_found(s3: S3Endpoint) -> None:
    store = s3_store(s3, s3.new_bucket())
    with pytest.raises(PhotoNotFound):
        store.get(DIGEST)
    with pytest.raises(PhotoNotFound):
        store.get("../../etc/passwd")
    assert not store.exists("not-a-hash")


@pytest.mark.parametrize("fault", ["fail_uploads", "drop_uploads"])
def test_a_failing_upload_raises_unavailable_and_a_retry_stores_it(
    s3: S3Endpoint, healthy: FaultyS3Proxy, fault: str
) -> None:
    store = s3_store(healthy, s3.new_bucket())
    healthy.fault = fault
    with pytest.raises(PhotoStoreUnavailable, match="could not store s3://"):
        store.put(PHOTO)
    assert healthy.faulted == 3  # boto3's three attempts, each refused
    assert not store.exists(DIGEST)
    healthy.fault = None
    store.put(PHOTO)
    assert store.get(DIGEST) == PHOTO


def test_a_missing_bucket_stops_the_start_saying_what_to_fix(s3: S3Endpoint) -> None:
    with pytest.raises(PhotoStoreMisconfigured, match=r"bucket does not exist.*SECONDLOOK_S3_BUCKET"):
        s3_store(s3, "no-such-bucket")


def test_wrong_credentials_stop_the_start_saying_what_to_fix(s3: S3Endpoint, healthy: FaultyS3Proxy) -> None:
    healthy.fault = "deny"
    with pytest.raises(PhotoStoreMisconfigured, match=r"refused access.*SECONDLOOK_S3_ACCESS_KEY_ID"):
        s3_store(healthy, s3.new_bucket())


def test_an_unreachable_endpoint_stops_the_start_naming_it() -> None:
    closed = S3Endpoint(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(PhotoStoreMisconfigured, match=r"cannot reach.*SECONDLOOK_S3_ENDPOINT_URL"):
        s3_store(closed, "photos")


def test_the_default_install_keeps_photos_in_the_data_folder(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    assert isinstance(store, LocalPhotoStore) and store.root == tmp_path / "photos"


def test_s3_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECONDLOOK_S3_BUCKET", "warehouse-photos")
    monkeypatch.setenv("SECONDLOOK_S3_ENDPOINT_URL", "http://minio.local:9000")
    monkeypatch.setenv("SECONDLOOK_S3_SECRET_ACCESS_KEY", "very-secret")
    settings = settings_from_environment()
    assert settings.s3_bucket == "warehouse-photos" and settings.s3_endpoint_url == "http://minio.local:9000"
    assert settings.s3_secret_access_key.get_secret_value() == "very-secret"
    assert "very-secret" not in repr(settings)


@pytest.mark.slow
def test_the_service_refuses_to_start_on_a_missing_bucket(tmp_path: Path, s3: S3Endpoint) -> None:
    env = {f"SECONDLOOK_{name.upper()}": value for name, value in s3.settings("no-such-bucket").items()}
    command = [sys.executable, "-m", "serving.cli", "--data-dir", str(tmp_path), "run", "--port", str(free_port())]
    done = subprocess.run(command, cwd=REPO, env=_environment(env), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "not starting: the S3 bucket does not exist" in done.stderr and "SECONDLOOK_S3_BUCKET" in done.stderr


def _environment(extra: dict[str, object]) -> dict[str, str]:
    return os.environ | {name: str(value) for name, value in extra.items()}


# The whole service on S3: one service per module (model load), photos in a bucket behind the faulty proxy.


@pytest.fixture(scope="module")
def bucket(s3: S3Endpoint) -> str:
    return s3.new_bucket()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, proxy: FaultyS3Proxy, bucket: str) -> Iterator[Service]:
    proxy.fault = None
    yield from start_service(tmp_path_factory.mktemp("s3-service"), **S3Endpoint(proxy.url).settings(bucket))


def station_upload(service: Service, sku: str, photos: list[bytes]):
    files = [("photos", (f"{sku}-{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    data = {"metadata": json.dumps({"sku": sku, "category": "shoes"}), "force": "true"}
    headers = service.headers("station") | {"Idempotency-Key": sku}
    return service.client.post("/v1/station/items", files=files, data=data, headers=headers)


def kiosk_grade(service: Service, photos: list[bytes]):
    files = [("photos", (f"photo-{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    return service.client.post("/v1/kiosk/grade", files=files, data={}, headers=service.headers("kiosk"))


def rows(service: Service) -> tuple[int, int]:
    with service.client.app.state.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Item)), session.scalar(
            select(func.count()).select_from(Photo)
        )


@pytest.mark.slow
def test_the_service_grades_station_and_kiosk_items_with_photos_in_s3(
    service: Service, healthy: FaultyS3Proxy, s3: S3Endpoint, bucket: str
) -> None:
    station_photos = [jpeg("tshirt"), jpeg("jeans")]
    created = station_upload(service, "s3-station-1", station_photos)
    assert created.status_code == 201, created.text
    graded = wait_for_status(service, created.json()["item_id"], {"graded", "failed"})
    assert graded["status"] == "graded" and len(graded["photos"]) == 2
    offer = kiosk_grade(service, [jpeg("sweater")])
    assert offer.status_code == 200, offer.text
    for data in [*station_photos, jpeg("sweater")]:
        digest = hashlib.sha256(data).hexdigest()
        stored = s3.client().get_object(Bucket=bucket, Key=f"photos/{digest[:2]}/{digest}")["Body"].read()
        assert stored == data
    assert not (service.settings.data_dir / "photos").exists()  # nothing went to the local folder
    detail = service.client.get(f"/v1/review/items/{offer.json()['item_id']}", headers=service.headers("reviewer"))
    photo = service.client.get(detail.json()["photos"][0]["url"], headers=service.headers("reviewer"))
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"


@pytest.mark.slow
def test_the_review_export_names_photos_by_their_s3_uri(service: Service, healthy: FaultyS3Proxy, bucket: str) -> None:
    created = station_upload(service, "s3-export-1", [jpeg("tshirt")])
    item_id = wait_for_status(service, created.json()["item_id"], {"graded"})["item_id"]
    decision = {"action": "override", "grade": "good", "reason_code": "missed_defect"}
    decided = service.client.post(
        f"/v1/review/items/{item_id}/decision", json=decision, headers=service.headers("reviewer")
    )
    assert decided.status_code == 200, decided.text
    exported = service.client.get("/v1/review/export", headers=service.headers("reviewer")).text.splitlines()
    item = next(ManifestItem.model_validate_json(line) for line in exported if item_id in line)
    digest = hashlib.sha256(jpeg("tshirt")).hexdigest()
    assert [photo.path for photo in item.photos] == [f"s3://{bucket}/photos/{digest[:2]}/{digest}"]


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["fail_uploads", "drop_uploads"])
def test_a_failing_upload_fails_the_request_cleanly_and_stores_no_rows(
    service: Service, healthy: FaultyS3Proxy, fault: str
) -> None:
    quality = {"fail_uploads": 81, "drop_uploads": 82}[fault]  # photos no other test stored (else nothing uploads)
    photos = [jpeg("tshirt", quality=quality), jpeg("jeans", quality=quality)]
    before = rows(service)
    healthy.fault = fault
    for response in (station_upload(service, f"s3-{fault}", photos), kiosk_grade(service, photos)):
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "photo_store_unavailable"
        assert response.headers["Retry-After"]
    assert rows(service) == before  # no item, no photo row pointing at a missing photo
    healthy.fault = None
    retried = station_upload(service, f"s3-{fault}", photos)  # the same idempotency key: a fresh attempt
    assert retried.status_code == 201, retried.text
    assert kiosk_grade(service, photos).status_code == 200
