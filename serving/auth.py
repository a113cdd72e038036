"""API keys with roles. Keys are random 256-bit tokens; only their sha256 is stored.

A key looks like `sl_<prefix>_<secret>`; the prefix finds the row, the hash of the whole key is compared
in constant time. sha256 (not a slow password hash) is enough because keys are random, not chosen by people.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.errors import ApiError
from serving.tables import ApiKey, Role

KEY_PREFIX = "sl_"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's id (recorded in audit rows), its name and role."""

    key_id: str
    name: str
    role: Role

    def may(self, *roles: Role) -> bool:
        return self.role in roles or self.role is Role.ADMIN


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str, role: Role) -> str:
    """Store a new key and return it; this is the only time the full key is available."""
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(name=name, role=role, prefix=prefix, key_hash=_hash(key)))
    return key


def authenticate(session: Session, key: str | None) -> Caller:
    """The caller behind a key, or a 401 saying how to send one."""
    if not key:
        raise ApiError(401, "missing_api_key", "Send your API key in the X-API-Key header (or Authorization: Bearer).")
    row = _lookup(session, key)
    if row is None or not hmac.compare_digest(row.key_hash, _hash(key)):
        raise ApiError(401, "invalid_api_key", "This API key is unknown or revoked. Ask an admin for a valid key.")
    return Caller(key_id=row.id, name=row.name, role=Role(row.role))


def _lookup(session: Session, key: str) -> ApiKey | None:
    parts = key.split("_")
    if len(parts) < 3 or not key.startswith(KEY_PREFIX):
        return None
    return session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1], ApiKey.revoked_at.is_(None)))


def require(caller: Caller, *roles: Role) -> Caller:
    """Refuse with 403 naming the roles allowed here; admins may do everything."""
    if not caller.may(*roles):
        allowed = " or ".join(role.value for role in roles)
        raise ApiError(403, "wrong_role", f"This route needs a {allowed} key; yours is a {caller.role.value} key.")
    return caller


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(session: Session, prefix: str) -> ApiKey:
    """Revoke a key by its public prefix (the part after `sl_`); it stops working at once, web sessions included."""
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        raise ApiError(404, "unknown_key", f"No API key with prefix '{prefix}'; list the keys to find it.")
    row.revoked_at = row.revoked_at or datetime.now(UTC)
    return row
