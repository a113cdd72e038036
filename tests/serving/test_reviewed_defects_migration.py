"""Migration 0005 (reviewed defects) on SQLite and PostgreSQL: a downgrade drops only the column (every decision
stays), and an upgrade of a database holding decisions from before gives them no reviewed defects (null)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, inspect, select

from grading.manifest import Item as ManifestItem
from serving.database import make_engine
from tests.serving.conftest import jpeg, start_service
from tests.serving.test_certificates_migration import database_url  # noqa: F401 (fixture)
from tests.serving.test_photo_checks_migration import downgrade

pytestmark = pytest.mark.slow


def _decision_columns(engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("review_decisions")}


def test_a_downgrade_keeps_the_decisions_and_an_upgrade_leaves_them_without_reviewed_defects(
    database_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    engine = make_engine(database_url)
    for service in start_service(tmp_path / "service", database_url=database_url):
        files = [("photos", ("sneakers.jpg", jpeg("sneakers"), "image/jpeg"))]
        offer = service.client.post(
            "/v1/kiosk/grade", files=files, data={"category": "shoes"}, headers=service.headers("kiosk")
        ).json()
        item_id = offer["item_id"]
        photo_id = service.client.get(f"/v1/review/items/{item_id}", headers=service.headers("reviewer")).json()[
            "photos"
        ][0]["id"]
        decision = {"action": "approve", "reason_code": "model_correct"}
        decision["defects"] = [{"photo_id": photo_id, "type": "scuff", "box": [1, 1, 20, 20]}]
        answer = service.client.post(
            f"/v1/review/items/{item_id}/decision", json=decision, headers=service.headers("reviewer")
        )
        assert answer.status_code == 200, answer.text
    downgrade(engine, "0004")
    assert "defects" not in _decision_columns(engine)
    with engine.connect() as connection:
        rows = Table("review_decisions", MetaData(), autoload_with=connection)
        assert connection.execute(select(rows.c.item_id, rows.c.action)).all() == [(item_id, "approve")]
    for service in start_service(tmp_path / "service", database_url=database_url):  # upgrades to head again
        assert "defects" in _decision_columns(engine)
        exported = service.client.get("/v1/review/export", headers=service.headers("reviewer")).text.splitlines()
        (item,) = [ManifestItem.model_validate_json(line) for line in exported]
        assert item.photos[0].defects is None  # decided before reviewed defects were kept: not annotated
    engine.dispose()
