"""Drift monitoring in the service: one station sends real photos one stop darker than the bundle's reference and is
flagged (JSON route, admin page, Prometheus); a station sending photos like the reference's is not.

The bundle is the shipped one with reference distributions of the garment photos in tests/fixtures/garments
(`tests.fixtures.drift_bundles`), so "normal" is exactly those photos; the minimum window is lowered to the run's size.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from serving.camera import camera_of
from tests.fixtures.drift_bundles import GARMENT_NAMES, GARMENTS, bundle_with_garment_reference
from tests.serving.conftest import Service, jpeg, start_service, wait_for_status

pytestmark = pytest.mark.slow

RUN = 2 * len(GARMENT_NAMES)  # items per station: every garment twice


def one_stop_darker(image: Image.Image) -> Image.Image:
    """Half the light: still passes every photo check (highlights stay above the policy's 100)."""
    return Image.eval(image, lambda value: value // 2)


def photo(name: str, camera: str, darker: bool = False) -> bytes:
    """A garment photo as a camera writes it, with EXIF make and model: the very bytes the reference saw (the EXIF
    segment added in front), or, `darker`, one stop darker and saved again."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Acme", f"Acme {camera}"
    original = (GARMENTS / f"{name}.jpg").read_bytes()
    if not darker:
        segment = b"Exif\x00\x00" + exif.tobytes()
        return original[:2] + b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment + original[2:]
    buffer = io.BytesIO()
    one_stop_darker(Image.open(io.BytesIO(original)).convert("RGB")).save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def new_key(service: Service, name: str, role: str = "station") -> dict[str, str]:
    admin = service.headers("admin")
    response = service.client.post("/v1/admin/keys", json={"name": name, "role": role}, headers=admin)
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["key"]}


def send_run(service: Service, headers: dict[str, str], camera: str, darker: bool) -> None:
    """RUN single-photo items, submitted for grading, then waited for until graded."""
    ids = []
    for i in range(RUN):
        name = GARMENT_NAMES[i % len(GARMENT_NAMES)]
        files = [("photos", (f"{name}.jpg", photo(name, camera, darker), "image/jpeg"))]
        data = {"metadata": json.dumps({"sku": f"{camera}-{i}"}), "complete": "true"}
        response = service.client.post("/v1/station/items", files=files, data=data, headers=headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["item_id"])
    for item_id in ids:
        assert wait_for_status(service, item_id, {"graded", "failed"}, role="admin")["status"] == "graded"


@pytest.fixture(scope="module")
def drifting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service after a normal station and a one-stop-dark station each sent RUN items."""
    bundle = bundle_with_garment_reference(tmp_path_factory.mktemp("drift-bundle") / "bundle")
    for service in start_service(tmp_path_factory.mktemp("drift-service"), bundle=bundle):
        service.client.app.state.drift.configure(min_window=RUN, refresh_seconds=0.0)
        send_run(service, new_key(service, "station-normal"), "Cam Normal", darker=False)
        send_run(service, new_key(service, "station-dark"), "Cam Dark", darker=True)
        yield service


def group(document: dict, kind: str, name: str) -> dict:
    return next(g for g in document["groups"] if g["kind"] == kind and g["name"] == name)


def measure(found: dict, name: str) -> dict:
    return next(m for m in found["measures"] if m["measure"] == name)


def test_the_dark_station_and_its_camera_are_flagged_and_the_normal_ones_are_not(drifting: Service) -> None:
    response = drifting.client.get("/v1/admin/drift?fresh=true", headers=drifting.headers("admin"))
    assert response.status_code == 200, response.text
    document = response.json()
    flagged = {(g["kind"], g["name"]) for g in document["flagged"]}
    assert ("station", "station-dark") in flagged
    assert ("camera", "Acme Cam Dark") in flagged
    assert ("station", "station-normal") not in flagged and ("camera", "Acme Cam Normal") not in flagged
    dark, normal = group(document, "station", "station-dark"), group(document, "station", "station-normal")
    assert dark["level"] == "drift" and normal["level"] == "stable"
    assert dark["items"] == dark["photos"] == RUN
    assert measure(dark, "brightness")["psi"] >= document["thresholds"]["drift"]
    assert measure(dark, "brightness")["window_shares"][0] == 1.0  # every photo below the darkest reference bin
    assert measure(normal, "brightness")["psi"] == pytest.approx(0.0, abs=1e-6)
    assert all(m["psi"] < document["thresholds"]["watch"] for m in normal["measures"])
    assert "brightness" in next(g for g in document["flagged"] if g["name"] == "station-dark")["measures"]


def test_the_window_reads_every_measure_per_channel_and_category(drifting: Service) -> None:
    document = drifting.client.get("/v1/admin/drift", headers=drifting.headers("admin")).json()
    channel = group(document, "channel", "station")
    assert channel["items"] == 2 * RUN
    assert {m["measure"] for m in channel["measures"]} == {
        "grade",
        "defect_rate",
        "category_confidence",
        "counterfeit_probability",
        "brightness",
        "sharpness",
        "short_side",
    }
    assert any(g["kind"] == "category" for g in document["groups"])
    assert document["reference"] and "split validation" in document["reference"]
    assert document["thresholds"] == {"watch": 0.1, "drift": 0.25, "min_window": RUN}


def test_photos_keep_their_camera() -> None:
    assert camera_of(photo("tshirt", "Cam 1")) == "Acme Cam 1"  # the make is not repeated
    assert camera_of(jpeg("tshirt")) is None
    assert camera_of(b"not a photo") is None


def test_prometheus_reads_the_psi_and_the_flag(drifting: Service) -> None:
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(drifting.client.get("/metrics").text)
        for s in family.samples
    }
    dark = (("group", "station-dark"), ("kind", "station"))
    normal = (("group", "station-normal"), ("kind", "station"))
    assert samples[("secondlook_drift_flagged", dark)] == 1.0
    assert samples[("secondlook_drift_flagged", normal)] == 0.0
    assert samples[("secondlook_drift_psi", (*dark[:1], dark[1], ("measure", "brightness")))] >= 0.25
    assert samples[("secondlook_drift_window_observations", (*normal, ("measure", "grade")))] == RUN
    assert samples[("secondlook_drift_reference_loaded", ())] == 1.0


def test_the_drift_routes_are_for_admins(drifting: Service) -> None:
    for role in ("station", "reviewer", "kiosk"):
        response = drifting.client.get("/v1/admin/drift", headers=drifting.headers(role))
        assert response.status_code == 403
    assert drifting.client.get("/v1/admin/drift").status_code == 401


def sign_in(service: Service, role: str) -> None:
    form = service.client.get("/review/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    data = {"key": service.keys[role], "csrf_token": token, "next": "/review/queue"}
    assert service.client.post("/review/sign-in", data=data).status_code == 200


def test_the_admin_page_shows_the_flag_and_plots(drifting: Service) -> None:
    sign_in(drifting, "admin")
    page = drifting.client.get("/review/admin/drift")
    assert page.status_code == 200
    start = page.text.index('id="flagged"')
    flagged = page.text[start : page.text.index("</section>", start)]
    assert "station-dark" in flagged and "Acme Cam Dark" in flagged
    assert "station-normal" not in flagged
    assert page.text.count("<svg") >= 8  # the overview and one plot per measure and group
    assert "<script" not in page.text.split("</header>")[1]  # no script: the plots are plain SVG
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from elsewhere
    assert 'href="/review/admin/drift"' in page.text  # the admin's nav link
    only_stations = drifting.client.get("/review/admin/drift?kind=station")
    assert "camera: Acme" not in only_stations.text


def test_a_reviewer_cannot_open_the_drift_page(tmp_path: Path) -> None:
    for service in start_service(tmp_path):
        sign_in(service, "reviewer")
        page = service.client.get("/review/admin/drift")
        assert page.status_code == 403 and "admin" in page.text
        assert 'href="/review/admin/drift"' not in service.client.get("/review/queue").text
