"""Migration 0004 (certificates) on SQLite and PostgreSQL: a database at 0003 is upgraded at start, a certificate is
issued and stored, and a downgrade drops only the certificates (every item stays)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, func, inspect, select

from serving.database import make_engine, migrate
from tests.serving.conftest import jpeg, start_service
from tests.serving.test_photo_checks_migration import downgrade

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file, or a throwaway PostgreSQL database (skipped, saying why, without a server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service' / 'secondlook.db'}"
    return request.getfixturevalue("postgres_url")


def test_certificates_are_stored_after_the_upgrade_and_dropped_by_a_downgrade(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    migrate(engine, "0003")
    assert "certificates" not in inspect(engine).get_table_names()
    for service in start_service(tmp_path / "service", database_url=database_url):  # migrates to head
        files = [("photos", ("sneakers.jpg", jpeg("sneakers"), "image/jpeg"))]
        offer = service.client.post(
            "/v1/kiosk/grade", files=files, data={"category": "shoes"}, headers=service.headers("kiosk")
        ).json()
        issued = service.client.post(
            f"/v1/review/items/{offer['item_id']}/certificate", headers=service.headers("admin")
        )
        assert issued.status_code == 201, issued.text
        certificate_id = issued.json()["certificate_id"]
        assert service.client.get(f"/v1/certificates/{certificate_id}/status").json()["status"] == "valid"
        assert "Valid" in service.client.get(f"/verify/{certificate_id}").text
    with engine.connect() as connection:
        rows = Table("certificates", MetaData(), autoload_with=connection)
        assert connection.execute(select(rows.c.id, rows.c.item_id)).all() == [(certificate_id, offer["item_id"])]
    downgrade(engine, "0003")
    assert "certificates" not in inspect(engine).get_table_names()
    with engine.connect() as connection:
        items = Table("items", MetaData(), autoload_with=connection)
        assert connection.execute(select(func.count()).select_from(items)).scalar() == 1
    migrate(engine)  # and up again
    assert "certificates" in inspect(engine).get_table_names()
    engine.dispose()
