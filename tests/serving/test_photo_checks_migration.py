"""Migration 0003 (photos keep their checks) on a database with data in it, SQLite and PostgreSQL: an item whose
photos arrived before it is kept, shown with its photos unchecked, and graded after the upgrade; a downgrade keeps
every photo."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData, Table, func, inspect, select

from serving.database import MIGRATIONS, make_engine, migrate
from serving.storage import LocalPhotoStore
from tests.serving.conftest import jpeg, start_service, wait_for_status

pytestmark = pytest.mark.slow

ITEM = "0" * 31 + "1"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file in the service's data folder, or a throwaway PostgreSQL database (skipped, saying why, without
    a server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service' / 'secondlook.db'}"
    return request.getfixturevalue("postgres_url")


def rows_before_the_checks(engine: Engine, photos: list[bytes]) -> None:
    """A station key, a receiving t-shirt item and its front and back photos, written at revision 0002."""
    with engine.begin() as connection:
        tables = MetaData()
        keys, items, photo_rows = (Table(n, tables, autoload_with=connection) for n in ("api_keys", "items", "photos"))
        connection.execute(keys.insert(), [_key()])
        connection.execute(items.insert(), [_item()])
        connection.execute(photo_rows.insert(), [_photo(i, data) for i, data in enumerate(photos)])


def _key() -> dict:
    return {"id": "k0", "name": "old-station", "role": "station", "prefix": "old0", "key_hash": "0" * 64} | {
        "created_at": NOW
    }


def _item() -> dict:
    facts = {"channel": "station", "sku": "OLD-1", "category": "t-shirt", "tags": [], "authenticate": False}
    return {"id": ITEM, "channel": "station", "facts": facts, "status": "receiving", "review_state": "none"} | {
        "review_reasons": [],
        "category": "t-shirt",
        "created_by": "k0",
        "created_at": NOW,
        "updated_at": NOW,
    }


def _photo(position: int, data: bytes) -> dict:
    sha256 = hashlib.sha256(data).hexdigest()
    return {"id": f"photo{position}", "item_id": ITEM, "position": position, "view": ("front", "back")[position]} | {
        "sha256": sha256,
        "source_format": "jpeg",
        "width": 512,
        "height": 512,
        "byte_size": len(data),
        "crop_box": [0, 0, 512, 512],
        "created_at": NOW,
    }


def downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_photos_from_before_the_checks_are_kept_and_graded(database_url: str, tmp_path: Path) -> None:
    photos = [jpeg("tshirt"), jpeg("jeans")]
    engine = make_engine(database_url)
    migrate(engine, "0002")
    rows_before_the_checks(engine, photos)
    store = LocalPhotoStore(tmp_path / "service" / "photos")
    for data in photos:
        store.put(data)
    for service in start_service(tmp_path / "service", database_url=database_url):  # migrates to head
        headers = service.headers("admin")  # the item belongs to the old station key; an admin key reaches it
        item = service.client.get(f"/v1/station/items/{ITEM}", headers=headers).json()
        assert [(p["id"], p["usable"], p["failed_checks"]) for p in item["photos"]] == [
            ("photo0", None, []),
            ("photo1", None, []),
        ]
        assert item["status"] == "receiving" and item["needs"] is None  # unchecked photos hold nothing back
        assert service.client.post(f"/v1/station/items/{ITEM}/submit", headers=headers).status_code == 200
        graded = wait_for_status(service, ITEM, {"graded", "failed"}, role="admin")
        assert graded["status"] == "graded", graded["error"]
        assert [photo["quality"] for photo in graded["result"]["photos"]] == [None, None]
    downgrade(engine, "0002")
    assert "quality" not in {column["name"] for column in inspect(engine).get_columns("photos")}
    with engine.connect() as connection:
        photo_rows = Table("photos", MetaData(), autoload_with=connection)
        assert connection.execute(select(func.count()).select_from(photo_rows)).scalar() == 2
    engine.dispose()
