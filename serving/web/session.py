"""Signed session cookies and CSRF tokens for the reviewer pages.

The cookie holds `base64url(json).base64url(hmac_sha256(secret, json))`: the signed-in key's id (never the key
itself), a per-session CSRF token and an expiry. The secret is 32 random bytes kept in the data folder
(`session-secret`, mode 0600), created on first use, so sessions survive a restart and every process sharing the
folder agrees. A signed-out visitor gets an anonymous session too, so the sign-in form has a CSRF token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

SECRET_FILE = "session-secret"
COOKIE_NAME = "secondlook_review"
COOKIE_PATH = "/review"
SESSION_SECONDS = 12 * 3600
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class WebSession:
    """`key_id` is None until someone signs in; `csrf` is compared with every form's hidden field."""

    key_id: str | None
    csrf: str
    expires: int
    issued: float = 0.0  # unix time with its fraction; sessions issued before the key's last sign-out are refused

    @property
    def signed_in(self) -> bool:
        return self.key_id is not None


def new_session(key_id: str | None = None, now: float | None = None) -> WebSession:
    issued = time.time() if now is None else now
    return WebSession(
        key_id=key_id, csrf=secrets.token_urlsafe(32), expires=int(issued + SESSION_SECONDS), issued=issued
    )


def load_secret(data_dir: Path) -> bytes:
    """The data folder's session secret, created (0600, written once) when missing."""
    path = data_dir / SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32))
        handle.flush()
        os.fsync(handle.fileno())
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise ValueError(f"{path} holds a session secret shorter than 32 characters; delete it to make a new one")
    return secret.encode()


def encode(session: WebSession, secret: bytes) -> str:
    fields = {"k": session.key_id, "c": session.csrf, "e": session.expires, "i": session.issued}
    payload = json.dumps(fields, separators=(",", ":"))
    body = _b64(payload.encode())
    return f"{body}.{_b64(_mac(secret, body))}"


def decode(cookie: str | None, secret: bytes, now: float | None = None) -> WebSession | None:
    """The session in a cookie, or None when it is missing, tampered with, malformed or expired."""
    if not cookie or cookie.count(".") != 1:
        return None
    body, signature = cookie.split(".")
    if not (body.isascii() and signature.isascii()):  # compare_digest refuses non-ASCII str: not ours anyway
        return None
    if not hmac.compare_digest(_b64(_mac(secret, body)), signature):
        return None
    try:
        payload = json.loads(_unb64(body))
        session = WebSession(
            key_id=payload["k"], csrf=str(payload["c"]), expires=int(payload["e"]), issued=float(payload.get("i", 0))
        )
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > (time.time() if now is None else now) else None


def csrf_ok(session: WebSession, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf.encode(), str(token).encode())


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, body.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
