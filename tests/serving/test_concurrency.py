"""Kiosks and stations at the same time against the real server: every request answered, none a 500."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.fixtures.service_process import cli, start_server
from tests.serving.conftest import jpeg
from tests.serving.test_crash_safety import upload, wait_graded

pytestmark = pytest.mark.slow


def test_concurrent_kiosks_and_stations(tmp_path: Path) -> None:
    station = cli(tmp_path, "keys", "create", "--role", "station", "--name", "s")
    kiosk = cli(tmp_path, "keys", "create", "--role", "kiosk", "--name", "k")
    server = start_server(tmp_path)
    photos = [jpeg("tshirt", size=(800 + i, 600)) for i in range(16)]

    def station_item(index: int) -> str:
        response = upload(server.url, station, f"c-{index}", [photos[index], photos[(index + 5) % 16]])
        assert response.status_code == 201, response.text
        return response.json()["item_id"]

    def kiosk_item(index: int) -> int:
        files = [("photos", ("k.jpg", photos[index], "image/jpeg"))]
        url = f"{server.url}/v1/kiosk/grade"
        return httpx.post(url, files=files, headers={"X-API-Key": kiosk}, timeout=60).status_code

    try:
        with ThreadPoolExecutor(6) as pool:
            stations = [pool.submit(station_item, i) for i in range(16)]
            kiosks = [pool.submit(kiosk_item, i) for i in range(16)]
            assert [future.result() for future in kiosks] == [200] * 16
            item_ids = [future.result() for future in stations]
        assert {wait_graded(server.url, station, item_id)["status"] for item_id in item_ids} == {"graded"}
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log and "database is locked" not in log, log[-3000:]
