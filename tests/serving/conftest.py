"""Serving fixtures: a throwaway PostgreSQL database when a server answers.

The server is `SECONDLOOK_TEST_POSTGRES_URL` (default `postgresql+psycopg://postgres@127.0.0.1:5432/test`, trust
auth); the URL's user must be allowed to create databases. Tests that use `postgres_url` are skipped when the
server cannot be reached.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

POSTGRES_ADMIN_URL = os.environ.get("SECONDLOOK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, uniquely named, empty PostgreSQL database, dropped after the test (connections and all)."""
    admin = _admin_engine()
    name = f"secondlook_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _admin_engine() -> Engine:
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[serve]')")
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        engine.connect().close()
    except OperationalError as error:
        engine.dispose()
        shown = make_url(POSTGRES_ADMIN_URL).render_as_string(hide_password=True)
        pytest.skip(
            f"PostgreSQL not reachable at {shown} ({error.orig}); start one or set SECONDLOOK_TEST_POSTGRES_URL"
        )
    return engine
