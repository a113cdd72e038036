"""An acknowledged upload survives `kill -9` of the real server process, and its grading completes after restart."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.fixtures.service_process import cli, start_server
from tests.serving.conftest import jpeg

pytestmark = pytest.mark.slow


def upload(url: str, key: str, sku: str, photos: list[bytes]) -> httpx.Response:
    files = [("photos", (f"{sku}-{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    data = {"metadata": json.dumps({"sku": sku, "category": "shoes"}), "force": "true"}  # views and checks aside
    headers = {"X-API-Key": key, "Idempotency-Key": sku}
    return httpx.post(f"{url}/v1/station/items", files=files, data=data, headers=headers, timeout=60)


def item(url: str, key: str, item_id: str) -> dict:
    response = httpx.get(f"{url}/v1/station/items/{item_id}", headers={"X-API-Key": key}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def wait_graded(url: str, key: str, item_id: str, attempts: int = 600) -> dict:
    for _ in range(attempts):
        body = item(url, key, item_id)
        if body["status"] in {"graded", "failed"}:
            return body
        time.sleep(0.1)
    raise AssertionError(f"{item_id} never graded: {body['status']}")


def test_item_acknowledged_before_kill_is_graded_after_restart(tmp_path: Path) -> None:
    key = cli(tmp_path, "keys", "create", "--role", "station", "--name", "s1")
    server = start_server(tmp_path, env={"SECONDLOOK_START_BACKGROUND": "false"})  # nothing grades before the kill
    try:
        response = upload(server.url, key, "kill-1", [jpeg("tshirt"), jpeg("jeans")])
        assert response.status_code == 201, response.text
        item_id = response.json()["item_id"]
    finally:
        server.kill()
    restarted = start_server(tmp_path)
    try:
        graded = wait_graded(restarted.url, key, item_id)
        assert graded["status"] == "graded" and len(graded["photos"]) == 2
        assert upload(restarted.url, key, "kill-1", [jpeg("tshirt"), jpeg("jeans")]).json()["item_id"] == item_id
    finally:
        restarted.stop()


def test_kill_during_a_stream_of_uploads_loses_no_acknowledged_item(tmp_path: Path) -> None:
    key = cli(tmp_path, "keys", "create", "--role", "station", "--name", "s1")
    server = start_server(tmp_path)
    photos = [jpeg("sweater", size=(640 + i, 480)) for i in range(12)]
    acknowledged: list[str] = []

    def send(index: int) -> None:
        try:
            response = upload(server.url, key, f"stream-{index}", [photos[index % 12], photos[(index + 1) % 12]])
        except httpx.TransportError:
            return  # cut off by the kill: never acknowledged
        if response.status_code == 201:
            acknowledged.append(response.json()["item_id"])

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(send, index) for index in range(40)]
        for _ in range(6000):  # a hang guard: wait until some uploads were acknowledged
            if len(acknowledged) >= 8:
                break
            time.sleep(0.01)
        server.kill()  # mid-stream: some uploads and gradings are in flight
        for future in futures:
            future.result()
    restarted = start_server(tmp_path)
    try:
        results = [wait_graded(restarted.url, key, item_id) for item_id in acknowledged]
        assert [r["status"] for r in results] == ["graded"] * len(acknowledged)
        assert all(len(r["photos"]) == 2 for r in results)
    finally:
        restarted.stop()
