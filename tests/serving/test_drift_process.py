"""Drift with the service as a real process: the window configured from the environment, photos sent over HTTP,
the dark station flagged in /metrics, in the admin JSON and on the admin page, the normal one not; a second process
on the same database, which graded none of the items, reports the same."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.drift_bundles import GARMENT_NAMES, bundle_with_garment_reference
from tests.fixtures.service_process import cli, start_server
from tests.serving.test_drift import RUN, photo

pytestmark = pytest.mark.slow


def send_run(client: httpx.Client, key: str, camera: str, darker: bool) -> list[str]:
    ids = []
    for i in range(RUN):
        name = GARMENT_NAMES[i % len(GARMENT_NAMES)]
        files = [("photos", (f"{name}.jpg", photo(name, camera, darker), "image/jpeg"))]
        data = {"metadata": json.dumps({"sku": f"{camera}-{i}"}), "complete": "true"}
        response = client.post("/v1/station/items", files=files, data=data, headers={"X-API-Key": key})
        assert response.status_code == 201, response.text
        ids.append(response.json()["item_id"])
    return ids


def wait_until_graded(client: httpx.Client, admin: str, ids: list[str]) -> None:
    for item_id in ids:
        for _ in range(1200):  # a guard against hanging, not a timing assertion
            status = client.get(f"/v1/station/items/{item_id}", headers={"X-API-Key": admin}).json()["status"]
            if status in ("graded", "failed"):
                break
            time.sleep(0.05)
        assert status == "graded"


def test_a_dark_station_is_flagged_by_a_running_service(tmp_path: Path) -> None:
    bundle = bundle_with_garment_reference(tmp_path / "bundle")
    data_dir = tmp_path / "service"
    admin = cli(data_dir, "keys", "create", "--role", "admin", "--name", "ops")
    normal = cli(data_dir, "keys", "create", "--role", "station", "--name", "station-normal")
    dark = cli(data_dir, "keys", "create", "--role", "station", "--name", "station-dark")
    env = {"SECONDLOOK_BUNDLE": str(bundle), "SECONDLOOK_DRIFT_MIN_WINDOW": str(RUN)}
    server = start_server(data_dir, env=env | {"SECONDLOOK_DRIFT_REFRESH_SECONDS": "0"})
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            ids = send_run(client, normal, "Cam Normal", darker=False) + send_run(client, dark, "Cam Dark", darker=True)
            wait_until_graded(client, admin, ids)
            check_metrics(client.get("/metrics").text)
            check_json(client.get("/v1/admin/drift", headers={"X-API-Key": admin}).json())
            check_page(client, admin)
        second = start_server(data_dir, env=env)  # another process on the same database: the same window
        try:
            check_json(httpx.get(f"{second.url}/v1/admin/drift", headers={"X-API-Key": admin}, timeout=120).json())
        finally:
            second.stop()
    finally:
        server.stop()


def check_metrics(body: str) -> None:
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    assert samples[("secondlook_drift_flagged", (("group", "station-dark"), ("kind", "station")))] == 1.0
    assert samples[("secondlook_drift_flagged", (("group", "Acme Cam Dark"), ("kind", "camera")))] == 1.0
    assert samples[("secondlook_drift_flagged", (("group", "station-normal"), ("kind", "station")))] == 0.0
    psi = ("secondlook_drift_psi", (("group", "station-dark"), ("kind", "station"), ("measure", "brightness")))
    assert samples[psi] >= 0.25


def check_json(document: dict) -> None:
    flagged = {(g["kind"], g["name"]) for g in document["flagged"]}
    assert {("station", "station-dark"), ("camera", "Acme Cam Dark")} <= flagged
    assert not {("station", "station-normal"), ("camera", "Acme Cam Normal")} & flagged
    assert document["window"]["min_window"] == RUN  # from SECONDLOOK_DRIFT_MIN_WINDOW


def check_page(client: httpx.Client, admin: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/review/sign-in").text).group(1)
    client.post("/review/sign-in", data={"key": admin, "csrf_token": token, "next": "/review/admin/drift"})
    page = client.get("/review/admin/drift")
    assert page.status_code == 200 and "<svg" in page.text
    start = page.text.index('id="flagged"')
    flagged = page.text[start : page.text.index("</section>", start)]
    assert "station-dark" in flagged and "station-normal" not in flagged
