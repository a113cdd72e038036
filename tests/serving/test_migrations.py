"""The Alembic migrations build exactly the tables the code declares, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from serving.database import make_engine, migrate
from serving.tables import Base


def schema_differences(url: str) -> list:
    engine = make_engine(url)
    migrate(engine)
    migrate(engine)  # a second run is a no-op
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    return differences


def test_migrations_match_the_tables_on_sqlite(tmp_path: Path) -> None:
    assert schema_differences(f"sqlite:///{tmp_path / 'm.db'}") == []


def test_migrations_match_the_tables_on_postgresql(postgres_url: str) -> None:
    assert schema_differences(postgres_url) == []
