"""HTML responses for the reviewer pages: templates, security headers, the session cookie, and error pages.

Every page route uses `PageRoute`, so a refusal or a failure is an HTML page that says what to do (never JSON,
never a stack trace), and an expired session sends the reviewer to the sign-in form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from serving.errors import ApiError
from serving.web.session import COOKIE_NAME, COOKIE_PATH, CSRF_FIELD, WebSession, encode, load_secret

log = logging.getLogger("secondlook.web")

WEB_FOLDER = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=WEB_FOLDER / "templates")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; object-src 'none';"
        " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def detail_text(value: object) -> str:
    """An audit detail value as a reviewer reads it: lists joined, mappings as name=value."""
    if isinstance(value, dict):
        return ", ".join(f"{name}={detail_text(inner)}" for name, inner in value.items() if inner not in (None, ""))
    if isinstance(value, list | tuple):
        return ", ".join(detail_text(inner) for inner in value)
    return str(value)


templates.env.filters["detail"] = detail_text


class SignInRequired(Exception):
    """No valid reviewer session: the page redirects to the sign-in form, then back."""


class CsrfRefused(Exception):
    """A form arrived without this session's CSRF token."""


def session_secret(request: Request) -> bytes:
    """The data folder's session secret, read once per app."""
    secret = getattr(request.app.state, "web_session_secret", None)
    if secret is None:
        secret = load_secret(request.app.state.runtime.settings.data_dir)
        request.app.state.web_session_secret = secret
    return secret


def set_session_cookie(request: Request, response: Response, session: WebSession) -> None:
    response.set_cookie(
        COOKIE_NAME,
        encode(session, session_secret(request)),
        max_age=max(0, session.expires - int(datetime.now(UTC).timestamp())),
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",  # strict would drop the session on a link from mail or chat; every change is a POST + token
    )


def page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    """A rendered page with the security headers; refreshes the session cookie when there is a session."""
    session: WebSession | None = getattr(request.state, "web_session", None)
    values = {"session": session, "csrf_field": CSRF_FIELD, "caller": getattr(request.state, "caller", None)}
    response = templates.TemplateResponse(request, template, values | context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    if session is not None:
        set_session_cookie(request, response, session)
    return response


def redirect(request: Request, url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    session: WebSession | None = getattr(request.state, "web_session", None)
    if session is not None:
        set_session_cookie(request, response, session)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return page(request, "error.html", {"title": title, "message": message, "status": status}, status)


class PageRoute(APIRoute):
    """An APIRoute whose refusals and failures become HTML pages or a redirect to sign in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:  # every failure becomes a page; unexpected ones are logged in full
                return _failure_page(request, error)

        return guarded


def _failure_page(request: Request, error: Exception) -> Response:
    if isinstance(error, SignInRequired):
        return redirect(request, "/review/sign-in?" + urlencode({"next": _next_target(request)}))
    if isinstance(error, CsrfRefused):
        message = "This form was not sent from a page of this site, or it expired. Reload the page and try again."
        return error_page(request, 403, "Form refused", message)
    if isinstance(error, ApiError):
        return error_page(request, error.status, _title(error.status), error.message)
    if isinstance(error, RequestValidationError):
        problems = "; ".join(f"{'.'.join(map(str, p.get('loc', ())))}: {p.get('msg')}" for p in error.errors())
        return error_page(request, 422, "Invalid request", f"The address or form is not valid: {problems}.")
    if isinstance(error, HTTPException):
        return error_page(request, error.status_code, _title(error.status_code), str(error.detail))
    log.exception("reviewer page failed: %s %s", request.method, request.url.path, exc_info=error)
    message = "The page failed to load. Nothing you sent was lost; reload, and report it if it repeats."
    return error_page(request, 500, "Something went wrong", message)


def _next_target(request: Request) -> str:
    if request.method != "GET":
        return "/review/queue"
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}"


def _title(status: int) -> str:
    return {403: "Not allowed", 404: "Not found", 409: "Not ready", 422: "Invalid request"}.get(status, "Error")
