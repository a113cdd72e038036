"""Signing out ends the session on the server: a saved copy of the old cookie no longer opens a page."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.auth import create_key
from serving.settings import Settings
from serving.tables import Role
from serving.web.session import COOKIE_NAME
from tests.web.conftest import csrf

pytestmark = pytest.mark.slow


def test_a_copied_cookie_stops_working_after_sign_out(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from serving.app import create_app

    with TestClient(create_app(Settings(data_dir=tmp_path)), base_url="http://127.0.0.1") as client:
        with client.app.state.runtime.sessions.begin() as session:
            key = create_key(session, "reviewer-1", Role.REVIEWER)
        form = client.get("/review/sign-in")
        signed_in = client.post(
            "/review/sign-in", data={"key": key, "csrf_token": csrf(form.text), "next": "/review/queue"}
        )
        assert signed_in.status_code == 200 and "Review queue" in signed_in.text
        saved = client.cookies.get(COOKIE_NAME, path="/review")
        queue = client.get("/review/queue")
        client.post("/review/sign-out", data={"csrf_token": csrf(queue.text)})
        client.cookies.clear()
        client.cookies.set(COOKIE_NAME, saved, path="/review")
        replayed = client.get("/review/queue", follow_redirects=False)
        assert replayed.status_code in (303, 307) and "/review/sign-in" in replayed.headers["location"]


def test_signing_back_in_right_after_signing_out_works(tmp_path: Path) -> None:
    """Sessions carry their issue time to the microsecond: one issued after the sign-out is valid at once (with whole
    seconds and a sign-out pushed a second ahead, a reviewer signing back in within that second was bounced)."""
    from fastapi.testclient import TestClient

    from serving.app import create_app

    with TestClient(create_app(Settings(data_dir=tmp_path)), base_url="http://127.0.0.1") as client:
        with client.app.state.runtime.sessions.begin() as session:
            key = create_key(session, "reviewer-1", Role.REVIEWER)
        for _ in range(3):  # no pause anywhere: each sign-in follows the last sign-out within milliseconds
            form = client.get("/review/sign-in")
            data = {"key": key, "csrf_token": csrf(form.text), "next": "/review/queue"}
            signed_in = client.post("/review/sign-in", data=data)
            assert signed_in.status_code == 200 and "Review queue" in signed_in.text
            client.post("/review/sign-out", data={"csrf_token": csrf(client.get("/review/queue").text)})
            assert "/review/sign-in" in client.get("/review/queue", follow_redirects=False).headers["location"]


def test_guessing_keys_is_slowed_down(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from serving.app import create_app

    with TestClient(create_app(Settings(data_dir=tmp_path)), base_url="http://127.0.0.1") as client:
        token = csrf(client.get("/review/sign-in").text)
        answers = [
            client.post("/review/sign-in", data={"key": f"sl_guess{i}_x", "csrf_token": token}).status_code
            for i in range(11)
        ]
    assert answers == [403] * 10 + [429]
