"""Reviewer API: the queue of flagged items, an item with photos and overlays, decisions, and the export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from serving.certificates import reissue_if_certified
from serving.dependencies import ReviewerCaller, RuntimeDep
from serving.item_records import get_item, item_photos, latest_result
from serving.overlays import OverlayKind, render_photo
from serving.review_export import StoredPhotos, export_decisions
from serving.review_images import overlay_png, photo_row
from serving.review_records import (
    DecisionIn,
    QueueSort,
    decide,
    decisions,
    history,
    queue_counts,
    queue_query,
    review_queue,
)
from serving.routes.certificates import issuer_for
from serving.station_view import photos_out
from serving.tables import ReviewDecision

router = APIRouter(prefix="/v1/review", tags=["review"])
PHOTO_CHECK_FIELDS = {"usable", "failed_checks", "replaced_by"}  # as the station sees them (`schemas.PhotoOut`)


class QueueEntry(BaseModel):
    item_id: str
    channel: str
    category: str | None
    grade: str | None
    decision: str | None
    reasons: list[str]
    score: float | None
    created_at: datetime


class QueuePage(BaseModel):
    items: list[QueueEntry]
    counts_by_reason: dict[str, int]


@router.get("/queue", response_model=QueuePage, summary="Items waiting for a reviewer")
def queue(
    runtime: RuntimeDep,
    _caller: ReviewerCaller,
    reason: Annotated[str | None, Query(max_length=80)] = None,
    category: Annotated[str | None, Query(max_length=80)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    sort: QueueSort = QueueSort.SCORE,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> QueuePage:
    with runtime.sessions() as session:
        items = review_queue(session, queue_query(category, channel, sort), reason, limit, offset)
        entries = [
            QueueEntry(
                item_id=i.id,
                channel=i.channel,
                category=i.category,
                grade=i.grade,
                decision=i.decision,
                reasons=i.review_reasons or [],
                score=i.review_score,
                created_at=i.created_at,
            )
            for i in items
        ]
        return QueuePage(items=entries, counts_by_reason=queue_counts(session))


@router.get("/items/{item_id}", summary="An item: facts, photos with links, result, decisions and history")
def item_detail(runtime: RuntimeDep, _caller: ReviewerCaller, item_id: str) -> dict:
    with runtime.sessions() as session:
        return item_document(session, item_id)


def item_document(session: Session, item_id: str) -> dict:
    item = get_item(session, item_id)
    result = latest_result(session, item_id)
    base = f"/v1/review/items/{item_id}/photos"
    photos = [
        {
            "id": p.id,
            "view": p.view,
            "width": p.width,
            "height": p.height,
            "url": f"{base}/{p.id}",
            "overlays": {kind.value: f"{base}/{p.id}/overlay?kind={kind.value}" for kind in OverlayKind},
        }
        | p.model_dump(mode="json", include=PHOTO_CHECK_FIELDS)
        for p in photos_out(item_photos(session, item_id))
    ]
    return {
        "item_id": item.id,
        "channel": item.channel,
        "status": item.status,
        "review_state": item.review_state,
        "decision": item.decision,
        "grade": item.grade,
        "facts": item.facts,
        "photos": photos,
        "result": result.body if result else None,
        "decisions": [_decision(d) for d in decisions(session, item_id)],
        "history": [
            {"at": e.created_at.isoformat(), "actor": e.actor, "event": e.event, "detail": e.detail}
            for e in history(session, item_id)
        ],
    }


def _decision(row: ReviewDecision) -> dict:
    fields = ("id", "reviewer", "action", "grade", "authenticity", "reason_code", "comment", "defects")
    return {name: getattr(row, name) for name in fields} | {"at": row.created_at.isoformat()}


@router.get("/items/{item_id}/photos/{photo_id}", summary="A display copy of the photo (JPEG)")
async def photo(runtime: RuntimeDep, _caller: ReviewerCaller, item_id: str, photo_id: str) -> Response:
    row = await run_in_threadpool(photo_row, runtime, item_id, photo_id)
    data = await run_in_threadpool(runtime.store.get, row.sha256)
    body, media_type = await run_in_threadpool(render_photo, data)
    return Response(body, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/items/{item_id}/photos/{photo_id}/overlay", summary="The photo with defect or anomaly overlay (PNG)")
async def overlay(
    runtime: RuntimeDep, _caller: ReviewerCaller, item_id: str, photo_id: str, kind: OverlayKind = OverlayKind.DEFECTS
) -> Response:
    body = await run_in_threadpool(overlay_png, runtime, item_id, photo_id, kind)
    return Response(body, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/items/{item_id}/decision", summary="Approve, override, confirm a counterfeit, or mark inconclusive")
def decision(request: Request, runtime: RuntimeDep, caller: ReviewerCaller, item_id: str, body: DecisionIn) -> dict:
    """A certified item whose decision changes its grade or verdict gets a new certificate (the old one revoked)."""
    grades = runtime.grader.rules.policy.grades
    with runtime.sessions.begin() as session:
        row = decide(session, item_id, caller, body, list(grades), runtime.settings.webhooks)
        certificate = reissue_if_certified(session, item_id, issuer_for(request), caller.name)
        answer = {"decision_id": row.id, "certificate_id": certificate.id if certificate else None}
        return answer | item_document(session, item_id)


@router.get("/export", summary="Reviewer decisions as a manifest (JSON Lines) for retraining")
def export(runtime: RuntimeDep, _caller: ReviewerCaller, since: datetime | None = None) -> StreamingResponse:
    stored = StoredPhotos(path=runtime.store.path_of, read=runtime.store.get)
    with runtime.sessions() as session:  # read in one short transaction; a slow download then holds nothing
        lines = [line.rstrip("\n") + "\n" for line in export_decisions(session, stored, since)]
    headers = {"Content-Disposition": 'attachment; filename="review-decisions.jsonl"'}
    return StreamingResponse(iter(lines), media_type="application/x-ndjson", headers=headers)
