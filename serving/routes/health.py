"""Liveness, readiness (the bundle is loaded and the database answers) and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from sqlalchemy import text

from serving.dependencies import RuntimeDep
from serving.errors import ApiError
from serving.item_records import pending_jobs
from serving.webhooks import undelivered_count

router = APIRouter(tags=["health"])
log = logging.getLogger("secondlook.health")


@router.get("/healthz", summary="The process is up")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="The model bundle is loaded and the database answers")
def readyz(runtime: RuntimeDep) -> dict:
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        log.warning("readiness: database does not answer: %s", error)
        raise ApiError(503, "database_unavailable", "The database does not answer.", retry_after=5) from error
    metadata = runtime.scheduler.model.metadata
    return {"status": "ready", "model": {"name": metadata.name, "version": metadata.version}}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(runtime: RuntimeDep) -> Response:
    with runtime.sessions() as session:  # read at scrape time, so the gauges are current
        runtime.metrics.set_webhook_backlog(undelivered_count(session))
        runtime.metrics.set_job_queue_depth(pending_jobs(session))
    body, content_type = runtime.metrics.render()
    return Response(body, media_type=content_type)
