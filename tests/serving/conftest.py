"""Serving fixtures: a throwaway PostgreSQL database when a server answers.

The server is `SECONDLOOK_TEST_POSTGRES_URL` (default `postgresql+psycopg://postgres@127.0.0.1:5432/test`, trust
auth); the URL's user must be allowed to create databases. Tests that use `postgres_url` are skipped when the
server cannot be reached.
"""

from __future__ import annotations

import io
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFilter
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from grading.bundle import read_metadata
from serving.app import create_app
from serving.auth import create_key
from serving.settings import DEFAULT_BUNDLE, Settings
from serving.tables import Role

SHIPPED_VERSION = read_metadata(DEFAULT_BUNDLE).version  # what the shipped bundle reports

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


@dataclass(frozen=True)
class Service:
    """A running app (real bundle, real SQLite file, real photo folder) and one API key per role."""

    client: TestClient
    keys: dict[str, str]
    settings: Settings

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


def start_service(data_dir: Path, **overrides: object) -> Iterator[Service]:
    settings = Settings(data_dir=data_dir, **overrides)
    with TestClient(create_app(settings)) as client:
        runtime = client.app.state.runtime
        with runtime.sessions.begin() as session:
            keys = {role.value: create_key(session, f"test-{role.value}", role) for role in Role}
        yield Service(client, keys, settings)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service per test module, with background workers (station items get graded)."""
    yield from start_service(tmp_path_factory.mktemp("service"))


GARMENTS = Path(__file__).resolve().parents[1] / "fixtures" / "garments"


ON_FLOOR = "_on_floor"


def jpeg(name: str = "tshirt", size: tuple[int, int] | None = None, quality: int = 90) -> bytes:
    """A real photo as JPEG bytes: a garment of tests/fixtures/garments (well taken: every check passes it); a
    picture that ships with scikit-image, by its name (a close-up: the framing check asks to retake it); or, for
    "<name>_on_floor", that picture laid on a plain floor, filling 80% of the frame (its whole surface in view:
    gravel reads as holes and stains)."""
    garment = GARMENTS / f"{name}.jpg"
    if garment.exists():
        image = Image.open(garment).convert("RGB")
    elif name.endswith(ON_FLOOR):
        image = _on_floor(_skimage_picture(name.removesuffix(ON_FLOOR)))
    else:
        image = _skimage_picture(name)
    if size:
        image = image.resize(size)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _skimage_picture(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


def _on_floor(picture: Image.Image) -> Image.Image:
    side = round(max(picture.size) / 0.8)
    floor = Image.new("RGB", (side, side), (200, 190, 170))
    floor.paste(picture, ((side - picture.width) // 2, (side - picture.height) // 2))
    return floor


def retouched(name: str, change: Callable[[Image.Image], Image.Image], quality: int = 90) -> bytes:
    """A scikit-image photo changed the way a bad shot is (blurred, darkened), as JPEG bytes."""
    image = change(Image.open(io.BytesIO(jpeg(name))).convert("RGB"))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def blurred(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(8))


def darkened(image: Image.Image) -> Image.Image:
    return Image.eval(image, lambda value: value // 12)


def wait_for_status(
    service: Service, item_id: str, statuses: set[str], attempts: int = 600, role: str = "station"
) -> dict:
    """Poll the station route until the item reaches one of `statuses` (a guard, not a timing assertion)."""
    for _ in range(attempts):
        body = service.client.get(f"/v1/station/items/{item_id}", headers=service.headers(role)).json()
        if body["status"] in statuses:
            return body
        time.sleep(0.05)
    raise AssertionError(f"item {item_id} stayed {body['status']}")
