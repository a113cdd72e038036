"""Signed session cookies and CSRF tokens (no browser, no server)."""

from __future__ import annotations

import stat
from pathlib import Path

from serving.web.session import SECRET_FILE, csrf_ok, decode, encode, load_secret, new_session

SECRET = b"0123456789abcdef0123456789abcdef"


def test_a_session_survives_its_cookie() -> None:
    session = new_session("key-1")
    assert decode(encode(session, SECRET), SECRET) == session
    assert decode(encode(new_session(), SECRET), SECRET).signed_in is False


def test_a_tampered_forged_or_malformed_cookie_is_no_session() -> None:
    cookie = encode(new_session("key-1"), SECRET)
    body, signature = cookie.split(".")
    forged_body = encode(new_session("admin-key"), SECRET).split(".")[0]
    for bad in (f"{forged_body}.{signature}", f"{body}.{signature[:-2]}", cookie + ".x", "", None, "no-dot"):
        assert decode(bad, SECRET) is None
    assert decode(cookie, b"another secret of enough length!") is None


def test_an_expired_session_is_no_session() -> None:
    session = new_session("key-1", now=1_000_000.0)
    assert decode(encode(session, SECRET), SECRET, now=session.expires - 1) == session
    assert decode(encode(session, SECRET), SECRET, now=session.expires) is None


def test_the_csrf_token_must_match() -> None:
    session = new_session("key-1")
    assert csrf_ok(session, session.csrf)
    assert not csrf_ok(session, None) and not csrf_ok(session, "") and not csrf_ok(session, session.csrf + "x")
    assert new_session("key-1").csrf != session.csrf


def test_the_secret_is_made_once_and_readable_by_the_owner_only(tmp_path: Path) -> None:
    first = load_secret(tmp_path / "data")
    assert load_secret(tmp_path / "data") == first and len(first) >= 32
    assert stat.S_IMODE((tmp_path / "data" / SECRET_FILE).stat().st_mode) == 0o600


def test_a_cookie_with_non_ascii_characters_is_no_session() -> None:
    body = encode(new_session("key-1"), SECRET).split(".")[0]
    assert decode(f"{body}.é", SECRET) is None
    assert decode("abc.\udce9", SECRET) is None
