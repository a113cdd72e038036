"""Every error the API returns is JSON that says what went wrong and what to do: `{"error": {...}}`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.storage import PhotoStoreUnavailable

log = logging.getLogger("secondlook.errors")


class ApiError(Exception):
    """An answer for the client: HTTP status, a stable machine-readable code, and a message with the fix."""

    def __init__(
        self, status: int, code: str, message: str, *, details: dict | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or {}
        self.retry_after = retry_after


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, **({"details": details} if details else {})}}


async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
    headers = {"Retry-After": str(max(1, round(error.retry_after)))} if error.retry_after is not None else None
    return JSONResponse(error_body(error.code, error.message, error.details), error.status, headers=headers)


async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    problems = [_describe(problem) for problem in error.errors()]
    message = "The request is malformed: " + "; ".join(problems)
    return JSONResponse(error_body("invalid_request", message, {"problems": problems}), 422)


def _describe(problem: dict) -> str:
    where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
    return f"{where}: {problem.get('msg', 'invalid')}"


async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    message = str(error.detail)
    if error.status_code == 404 and message == "Not Found":
        message = "No such route. The API lives under /v1; see /docs for the routes."
    return JSONResponse(error_body(code, message), error.status_code, headers=getattr(error, "headers", None))


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    message = "The server failed to handle this request. Nothing you sent was lost; retry, and report it if it repeats."
    return JSONResponse(error_body("internal_error", message), 500)


async def _database_busy(_request: Request, error: OperationalError) -> JSONResponse:
    log.warning("database unavailable: %s", error)
    message = "The database is busy or unavailable; nothing from this request was stored. Retry shortly."
    return JSONResponse(error_body("database_busy", message), 503, headers={"Retry-After": "2"})


async def _photo_store_unavailable(_request: Request, error: PhotoStoreUnavailable) -> JSONResponse:
    log.warning("photo store unavailable: %s", error)
    message = "The photo store did not answer; nothing from this request was recorded. Retry shortly."
    return JSONResponse(error_body("photo_store_unavailable", message), 503, headers={"Retry-After": "5"})


async def _unstorable(_request: Request, error: DataError) -> JSONResponse:
    log.info("refused a value the database cannot store: %s", error)
    message = "A value in the request is too long or contains characters that can't be stored (e.g. NUL); shorten it."
    return JSONResponse(error_body("invalid_value", message), 422)


async def refuse_nul_bytes(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """A NUL byte in the path or query is never meaningful and breaks PostgreSQL text columns: refuse it early."""
    if "\x00" in unquote(request.url.path) or "\x00" in unquote(request.url.query):
        message = "The URL contains a NUL byte (%00); remove it."
        return JSONResponse(error_body("invalid_request", message), 400)
    return await call_next(request)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(PhotoStoreUnavailable, _photo_store_unavailable)
    app.middleware("http")(refuse_nul_bytes)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
