"""`create_app(settings)`: the FastAPI application; everything stateful is built in its lifespan."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartParser

from serving.drift_monitor import DriftMonitor
from serving.drift_window import DriftConfig
from serving.errors import install_error_handlers
from serving.operator_key import load_operator_key
from serving.routes import admin, certificates, health, kiosk, review, station
from serving.runtime import start_runtime
from serving.settings import Settings
from serving.web import certificate_pages, drift_pages, pages

DESCRIPTION = """Grading and authentication for second-hand fashion.

* **kiosk**: grade 1-4 photos synchronously, get a grade, defects and a voucher offer.
* **station**: create an item, upload its photos (idempotent), poll for the asynchronous result.
* **review**: the queue of flagged items, overlays, decisions, export for retraining.
* **admin**: API keys, active versions, load a new bundle or policy without a restart, drift of scores per station,
  camera and category against the bundle's reference.
* **certificates**: a signed certificate of an item's final grade; public JSON, printable page and verification.

Send your key in the `X-API-Key` header. Every error is JSON: `{"error": {"code", "message"}}`.
"""


UPLOAD_SPOOL_BYTES = 8 * 1024 * 1024


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.operator_key = await run_in_threadpool(load_operator_key, settings)  # signs certificates
        app.state.runtime = runtime = await run_in_threadpool(start_runtime, settings)
        drift_config = DriftConfig.from_environment()
        app.state.drift = DriftMonitor(runtime.sessions, lambda: runtime.scheduler.model, drift_config)
        runtime.metrics.drift.attach(app.state.drift.report)
        try:
            yield
        finally:
            await run_in_threadpool(app.state.runtime.stop)

    # Photos up to 8 MB stay in memory while the form is parsed (Starlette's default, 1 MB, writes every phone
    # photo to a temporary file and reads it back). A process-wide setting of Starlette's parser.
    MultiPartParser.spool_max_size = UPLOAD_SPOOL_BYTES
    app = FastAPI(title="secondlook", version="1", description=DESCRIPTION, lifespan=lifespan)
    install_error_handlers(app)
    app.middleware("http")(_observe_request)
    for module in (health, kiosk, station, review, admin, pages, drift_pages, certificates, certificate_pages):
        app.include_router(module.router)
    app.mount(pages.STATIC_PATH, pages.static_files(), name="review-static")
    return app


async def _observe_request(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Count every request and its latency under its route template (not its raw path, which holds ids)."""
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    template = getattr(route, "path", "unmatched")
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        runtime.metrics.observe_request(template, request.method, response.status_code, time.perf_counter() - started)
    return response
