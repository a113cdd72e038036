"""Who is on a reviewer page: the session from the cookie, the reviewer behind it, and the CSRF check on forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.auth import Caller, authenticate
from serving.dependencies import RuntimeDep
from serving.errors import ApiError
from serving.tables import ApiKey, Role
from serving.web.rendering import CsrfRefused, SignInRequired, session_secret
from serving.web.session import COOKIE_NAME, CSRF_FIELD, WebSession, csrf_ok, decode, new_session

REVIEW_ROLES = (Role.REVIEWER, Role.ADMIN)


class SignInRefused(ValueError):
    """A key that may not sign in; the message is shown on the form."""


def web_session(request: Request) -> WebSession:
    """The visitor's session from the cookie, or a new anonymous one (which still carries a CSRF token)."""
    session = decode(request.cookies.get(COOKIE_NAME), session_secret(request)) or new_session()
    request.state.web_session = session
    return session


PageSession = Annotated[WebSession, Depends(web_session)]


def reviewer(request: Request, runtime: RuntimeDep, session: PageSession) -> Caller:
    """The signed-in reviewer (or admin); a missing, expired or revoked session goes to the sign-in form."""
    if not session.signed_in:
        raise SignInRequired()
    with runtime.sessions() as db:
        caller = _caller_by_id(db, session.key_id, session.issued)
    if caller is None or not caller.may(Role.REVIEWER):
        request.state.web_session = new_session()
        raise SignInRequired()
    request.state.caller = caller
    return caller


ReviewerPage = Annotated[Caller, Depends(reviewer)]


async def checked_form(request: Request, session: PageSession) -> dict[str, str]:
    """The POSTed form's text fields, refused unless it carries this session's CSRF token."""
    form = await request.form()
    if not csrf_ok(session, form.get(CSRF_FIELD)):
        raise CsrfRefused()
    return {name: value for name, value in form.items() if isinstance(value, str)}


CheckedForm = Annotated[dict[str, str], Depends(checked_form)]


def sign_in_caller(db: Session, key: str) -> Caller:
    """The caller behind a pasted key, if it may review; otherwise SignInRefused saying why."""
    key = key.strip()
    if not key:
        raise SignInRefused("Paste your reviewer API key.")
    try:
        caller = authenticate(db, key)
    except ApiError as error:
        raise SignInRefused("This key is unknown or revoked. Check it, or ask an admin for a reviewer key.") from error
    if not caller.may(*REVIEW_ROLES):
        raise SignInRefused(
            f"This is a {caller.role.value} key: only reviewer and admin keys can sign in here. "
            f"{caller.role.value.capitalize()} keys work with the API only; ask an admin for a reviewer key."
        )
    return caller


def _caller_by_id(db: Session, key_id: str | None, issued: float) -> Caller | None:
    """The key's caller, unless it was revoked or signed out after this session was issued."""
    row = db.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)))
    if row is None or (row.signed_out_at is not None and issued <= _unix(row.signed_out_at)):
        return None
    return Caller(key_id=row.id, name=row.name, role=Role(row.role))


def sign_out_everywhere(db: Session, key_id: str) -> None:
    """End every page session of this key (the cookies stay signed, but were issued before this moment)."""
    row = db.get(ApiKey, key_id)
    if row is not None:
        row.signed_out_at = datetime.now(UTC)  # sessions carry their issue time to the microsecond


def _unix(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
