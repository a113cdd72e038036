"""A worn pair of Air Force 1s through the kiosk with the shipped bundle: the wear head caps its grade and voucher.

Real photos from sneakers-auth's test split, audited by eye (datasets/audits/sneakers-auth.csv), that pass the
kiosk's photo checks: one worn pair (the shipped head reads it above wear_confident) and one clean pair (far
below wear_presence). Nothing here is faked: the real service, the real bundle, the real policy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serving.conftest import Service

WORN = "test/fake_af1/0088.jpg"  # audited damaged (greyed, creased white AF1 pair on tiles)
CLEAN = "test/fake_af1/0900.jpg"  # audited clean


def kiosk(service: Service, photo: Path, **form: str) -> dict:
    files = [("photos", (photo.name, photo.read_bytes(), "image/jpeg"))]
    data = {"category": "shoes", **form}
    response = service.client.post("/v1/kiosk/grade", files=files, data=data, headers=service.headers("kiosk"))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.real_data
def test_a_worn_af1_pair_is_capped_at_very_good_and_a_clean_one_keeps_the_clean_offer(
    service: Service, shared_datasets: Path
) -> None:
    folder = shared_datasets / "sneakers-auth"
    worn = kiosk(service, folder / WORN, product_line="af1")
    clean = kiosk(service, folder / CLEAN, product_line="af1")
    floor = worn["result"]["grade"]["floor"]
    assert (worn["result"]["grade"]["name"], floor["source"]) == ("very_good", "wear")
    assert "wear 0.8" in floor["detail"] and worn["result"]["photos"][0]["wear"] > 0.76
    assert clean["result"]["grade"]["name"] == "like_new" and clean["result"]["photos"][0]["wear"] < 0.3
    assert worn["cash"] < clean["cash"]

    undeclared = kiosk(service, folder / WORN)  # the head acts only on the lines it was measured on
    assert undeclared["result"]["grade"]["floor"] is None
