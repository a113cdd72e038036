"""Photo quality per station in /metrics: photos checked and failed per check, brightness and sharpness, labelled
by the API key's name, so one station's drifting camera shows."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.serving.conftest import Service, darkened, jpeg, retouched

pytestmark = pytest.mark.slow


def new_key(service: Service, name: str, role: str) -> dict[str, str]:
    admin = service.headers("admin")
    response = service.client.post("/v1/admin/keys", json={"name": name, "role": role}, headers=admin)
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["key"]}


def station_upload(service: Service, headers: dict[str, str], photos: list[bytes]) -> None:
    files = [("photos", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    data = {"metadata": json.dumps({"sku": "M-1"}), "complete": "false"}
    assert service.client.post("/v1/station/items", files=files, data=data, headers=headers).status_code == 201


def samples(service: Service) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    body = service.client.get("/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def test_each_station_has_its_own_quality_figures(service: Service) -> None:
    berlin, hamburg = new_key(service, "station-berlin", "station"), new_key(service, "station-hamburg", "station")
    station_upload(service, berlin, [jpeg("tshirt"), retouched("sweater", darkened)])
    station_upload(service, hamburg, [jpeg("jeans")])
    found = samples(service)
    at_berlin = {"station": "station-berlin", "channel": "station"}
    at_hamburg = {"station": "station-hamburg", "channel": "station"}
    assert value(found, "secondlook_photos_checked_total", **at_berlin) == 2
    assert value(found, "secondlook_photos_failed_checks_total", **at_berlin) == 1
    assert value(found, "secondlook_photo_check_failures_total", **at_berlin, check="too_dark") == 1
    assert value(found, "secondlook_photos_checked_total", **at_hamburg) == 1
    assert value(found, "secondlook_photos_failed_checks_total", **at_hamburg) is None  # never failed
    assert value(found, "secondlook_photo_brightness_bucket", **at_berlin, le="20.0") == 1  # the dark photo
    assert value(found, "secondlook_photo_brightness_count", **at_berlin) == 2
    assert value(found, "secondlook_photo_sharpness_bucket", **at_hamburg, le="25.0") == 0
    assert value(found, "secondlook_photo_sharpness_count", **at_hamburg) == 1


def test_kiosk_photos_sent_back_for_a_retake_are_counted(service: Service) -> None:
    kiosk = new_key(service, "kiosk-munich", "kiosk")
    photos = [("photos", ("dark.jpg", retouched("jeans", darkened), "image/jpeg"))]
    assert service.client.post("/v1/kiosk/grade", files=photos, headers=kiosk).status_code == 422
    found = samples(service)
    at_munich = {"station": "kiosk-munich", "channel": "kiosk"}
    assert value(found, "secondlook_photos_checked_total", **at_munich) == 1
    assert value(found, "secondlook_photo_check_failures_total", **at_munich, check="too_dark") == 1
