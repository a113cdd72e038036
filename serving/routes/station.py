"""Station: create an item, upload its photos (one call or several), then poll for the asynchronous result.

A retried create with the same `Idempotency-Key` returns the item the first call made, never a second
one; a photo already attached (same bytes) is not attached twice. Photos are on disk (fsynced) and the
item, photos and grading job are committed in one transaction before the answer, so an acknowledged
upload survives the process being killed right after.

Every photo is stored with its quality checks (`serving.station_checks`), never refused for them. A submitted item
with a photo that failed a check and has no retake, or without a view its declared category requires, is not
graded: it waits as `needs_photos`, its answer's `needs` saying what to send (`serving.station_readiness`), and is
queued as soon as that has arrived. `force=true` grades it as it is, and it goes to review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from grading.item_grading import Channel, ItemFacts
from grading.policy import GradePolicy
from serving.auth import Caller
from serving.dependencies import RuntimeDep, StationCaller
from serving.errors import ApiError
from serving.item_records import (
    add_photos,
    audit,
    create_item,
    find_by_idempotency_key,
    get_own_item,
    item_photos,
    pending_jobs,
    queue_full,
    queue_grading,
    request_hash,
)
from serving.photo_checks import PhotoCheckRecord
from serving.photo_intake import decode_uploads, store_uploads
from serving.runtime import Runtime
from serving.schemas import ItemSummary, StationItem, parse_facts, parse_metadata_json
from serving.station_checks import Measured, measure_uploads, with_checks
from serving.station_readiness import item_needs
from serving.station_view import OPEN_STATUSES, station_item
from serving.tables import Item, ItemStatus, Role
from serving.uploads import Upload

router = APIRouter(prefix="/v1/station", tags=["station"])

IdempotencyKey = Annotated[
    str | None, Header(max_length=200, description="Retrying with the same key never makes a second item")
]
FORCE = (
    "true: grade on submit even when a photo failed a check or a required view is missing (the item goes to review"
    " with reason photo_quality or missing_views); false: such an item waits as needs_photos"
)


@dataclass(frozen=True)
class Submission:
    """What one call brings: photos (measured), whether it asks to grade, and whether to grade whatever is missing."""

    photos: list[Measured]
    complete: bool
    force: bool


@router.post(
    "/items",
    response_model=StationItem,
    status_code=201,
    summary="Create an item with its metadata and (some or all of) its photos",
    description=(
        "Multipart form: `metadata` (JSON: sku, brand, category, product_line, program, material, tags),"
        " `photos` (0-8 files), `views` (comma-separated, one per photo), `complete` (default: true when photos are"
        " sent; false keeps the item open for more photos), `force` (default false). Send an `Idempotency-Key`"
        " header: a retry with the same key and request returns the first item (200) instead of creating another."
        " Every photo is stored with its quality checks; a submitted item with a photo that failed one (and no"
        " retake) or without a view its declared category requires waits as `needs_photos`, and `needs` says what"
        " to send."
    ),
)
async def create(
    runtime: RuntimeDep,
    caller: StationCaller,
    response: Response,
    metadata: Annotated[str | None, Form(examples=['{"sku": "A1", "category": "pants", "brand": "Levi\'s"}'])] = None,
    photos: Annotated[list[UploadFile] | None, File()] = None,
    views: Annotated[str | None, Form(examples=["front,back"])] = None,
    complete: Annotated[bool | None, Form()] = None,
    force: Annotated[bool, Form(description=FORCE)] = False,
    idempotency_key: IdempotencyKey = None,
) -> StationItem:
    facts = parse_facts(Channel.STATION, parse_metadata_json(metadata))
    idempotency_key = (idempotency_key or "").strip() or None  # an empty header is no key
    settings = runtime.settings
    uploads = await decode_uploads(
        photos or [],
        views,
        max_count=settings.max_photos_per_item,
        max_bytes=settings.max_photo_bytes,
        preprocessing=runtime.preprocessing(),
        min_count=0,
    )
    submit = bool(uploads) if complete is None else complete
    digest = request_hash(facts, uploads)
    if idempotency_key and (replay := await run_in_threadpool(_replay, runtime, caller, idempotency_key, digest)):
        response.status_code = 200
        return replay
    await run_in_threadpool(_check_capacity, runtime, submit)
    measured = await run_in_threadpool(measure_uploads, uploads)
    await run_in_threadpool(store_uploads, runtime.store, uploads)
    request = Submission(measured, submit, force)
    try:
        item_id, checks = await run_in_threadpool(_create, runtime, caller, facts, request, idempotency_key, digest)
    except IntegrityError:  # a concurrent retry with the same key won the race; answer with its item
        response.status_code = 200
        return await run_in_threadpool(_replay, runtime, caller, idempotency_key, digest)
    _after_commit(runtime, caller, uploads, checks)
    return await run_in_threadpool(_view, runtime, caller, item_id)


@router.post(
    "/items/{item_id}/photos",
    response_model=StationItem,
    summary="Add photos to an open item, or send the retakes and views a needs_photos item waits for",
    description=(
        "A photo with the same view as one that failed a check replaces it in grading (both stay stored). An item"
        " waiting as `needs_photos` is queued as soon as what it needs has arrived."
    ),
)
async def add(
    runtime: RuntimeDep,
    caller: StationCaller,
    item_id: str,
    photos: Annotated[list[UploadFile], File()],
    views: Annotated[str | None, Form()] = None,
    complete: Annotated[bool, Form(description="true: no more photos, grade it now")] = False,
    force: Annotated[bool, Form(description=FORCE)] = False,
) -> StationItem:
    settings = runtime.settings
    uploads = await decode_uploads(
        photos,
        views,
        max_count=settings.max_photos_per_item,
        max_bytes=settings.max_photo_bytes,
        preprocessing=runtime.preprocessing(),
    )
    queues = await run_in_threadpool(_may_queue, runtime, item_id, complete)
    await run_in_threadpool(_check_capacity, runtime, queues)
    measured = await run_in_threadpool(measure_uploads, uploads)
    await run_in_threadpool(store_uploads, runtime.store, uploads)
    checks = await run_in_threadpool(_add, runtime, caller, item_id, Submission(measured, complete, force))
    _after_commit(runtime, caller, uploads, checks)
    return await run_in_threadpool(_view, runtime, caller, item_id)


@router.post(
    "/items/{item_id}/submit",
    response_model=StationItem,
    summary="No more photos: grade the item (or, when photos must be retaken or views are missing, say what)",
    description=(
        "Queues the item for grading. When a photo failed a check and has no retake, or a view the declared category"
        " requires is missing, the item waits as `needs_photos` and `needs` lists what to send; `?force=true` grades"
        " it anyway and sends it to review."
    ),
)
async def submit(
    runtime: RuntimeDep, caller: StationCaller, item_id: str, force: Annotated[bool, Query(description=FORCE)] = False
) -> StationItem:
    await run_in_threadpool(_check_capacity, runtime, True)
    await run_in_threadpool(_add, runtime, caller, item_id, Submission([], True, force))
    _after_commit(runtime, caller, [], [])
    return await run_in_threadpool(_view, runtime, caller, item_id)


@router.get(
    "/items",
    response_model=list[ItemSummary],
    summary="This key's items, most recently changed first, to reconcile what was graded",
    description="Filter by `status` and `updated_since` (ISO 8601); page with `limit` and the last `updated_at`.",
)
def list_items(
    runtime: RuntimeDep,
    caller: StationCaller,
    status: ItemStatus | None = None,
    updated_since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ItemSummary]:
    query = select(Item).where(Item.channel == Channel.STATION.value)
    if caller.role is not Role.ADMIN:
        query = query.where(Item.created_by == caller.key_id)
    if status is not None:
        query = query.where(Item.status == status)
    if updated_since is not None:  # stored in UTC; a time without an offset is read as UTC
        since = updated_since.astimezone(UTC) if updated_since.tzinfo else updated_since.replace(tzinfo=UTC)
        query = query.where(Item.updated_at >= since)
    with runtime.sessions() as session:
        rows = session.scalars(query.order_by(Item.updated_at.desc()).limit(limit)).all()
        return [_summary(item) for item in rows]


def _summary(item: Item) -> ItemSummary:
    return ItemSummary(
        item_id=item.id,
        sku=(item.facts or {}).get("sku"),
        status=item.status,
        review_state=item.review_state,
        decision=item.decision,
        grade=item.grade,
        updated_at=item.updated_at,
    )


@router.get("/items/{item_id}", response_model=StationItem, summary="Status and, once graded, the result")
async def status(runtime: RuntimeDep, caller: StationCaller, item_id: str) -> StationItem:
    return await run_in_threadpool(_view, runtime, caller, item_id)


def _may_queue(runtime: Runtime, item_id: str, complete: bool) -> bool:
    """Whether photos added now may queue the item for grading: `complete`, or an item waiting as needs_photos
    (queued as soon as its retakes and views are in)."""
    if complete:
        return True
    with runtime.sessions() as session:
        item = session.get(Item, item_id)
        return item is not None and item.status == ItemStatus.NEEDS_PHOTOS


def _check_capacity(runtime: Runtime, submitting: bool) -> None:
    if not submitting:
        return
    with runtime.sessions() as session:
        waiting = pending_jobs(session)
    if waiting >= runtime.settings.max_pending_jobs:  # a cheap early answer; queue_grading's check is the exact one
        raise queue_full(waiting)


def _replay(runtime: Runtime, caller: Caller, key: str, digest: str) -> StationItem | None:
    with runtime.sessions() as session:
        item = find_by_idempotency_key(session, caller, key)
        if item is None:
            return None
        if item.request_hash != digest:
            raise ApiError(
                409,
                "idempotency_key_reused",
                f"Idempotency-Key '{key}' was already used for a different item ({item.id}). Use a new key per item.",
            )
        view = station_item(session, item, runtime.grader.rules.policy)
        return view.model_copy(update={"idempotent_replay": True})


def _create(
    runtime: Runtime, caller: Caller, facts: ItemFacts, request: Submission, key: str | None, digest: str
) -> tuple[str, list[PhotoCheckRecord]]:
    policy = runtime.grader.rules.policy
    with runtime.sessions.begin() as session:
        item = create_item(session, caller, facts, key, digest)
        checks = _attach(session, item, request.photos, caller, runtime.settings.max_photos_per_item, policy)
        if request.complete:
            _submit(session, item, caller, policy, request.force, runtime.settings.max_pending_jobs)
        return item.id, checks


def _add(runtime: Runtime, caller: Caller, item_id: str, request: Submission) -> list[PhotoCheckRecord]:
    """Attach the photos and submit when asked, or when the item waits for photos; the new photos' checks."""
    policy = runtime.grader.rules.policy
    uploads = [photo.upload for photo in request.photos]
    with runtime.sessions.begin() as session:
        item = get_own_item(session, item_id, caller, for_update=True)
        if item.status not in OPEN_STATUSES and _is_repeat(session, item, uploads, request.complete):
            return []  # a retry of a call that already succeeded (its answer was lost): nothing to do, say so with 200
        if item.status not in OPEN_STATUSES:
            raise ApiError(
                409, "item_submitted", f"Item {item_id} is already {item.status}; photos can't be added after submit."
            )
        checks = _attach(session, item, request.photos, caller, runtime.settings.max_photos_per_item, policy)
        if request.complete or item.status == ItemStatus.NEEDS_PHOTOS:
            _submit(session, item, caller, policy, request.force, runtime.settings.max_pending_jobs)
        return checks


def _attach(
    session: Session, item: Item, measured: list[Measured], caller: Caller, limit: int, policy: GradePolicy
) -> list[PhotoCheckRecord]:
    """Add the photos with their checks (against the item's earlier photos); the checks of the photos added."""
    existing = item_photos(session, item.id)
    uploads = with_checks(existing, measured, policy)
    add_photos(session, item, uploads, caller.name, limit)
    known = {photo.sha256 for photo in existing}
    return [upload.checks for upload in uploads if upload.sha256 not in known and upload.checks]


def _is_repeat(session: Session, item: Item, uploads: list[Upload], complete: bool) -> bool:
    """Every photo is already attached and the call asks to submit (or is the submit call itself)."""
    attached = {photo.sha256 for photo in item_photos(session, item.id)}
    return complete and all(upload.sha256 in attached for upload in uploads)


def _submit(session: Session, item: Item, caller: Caller, policy: GradePolicy, force: bool, max_pending: int) -> None:
    """Queue the item for grading, or, when photos must be retaken or views are missing, let it wait for them."""
    rows = item_photos(session, item.id)
    if not rows:
        raise ApiError(422, "no_photos", f"Item {item.id} has no photos yet; upload at least one before submitting.")
    needs = item_needs(rows, (item.facts or {}).get("category"), policy)
    if needs is None or force:
        forced = {"forced": True, "needs": needs.model_dump(mode="json")} if needs else None
        queue_grading(session, item, caller.name, forced, max_pending)
    elif item.status != ItemStatus.NEEDS_PHOTOS:
        item.status = ItemStatus.NEEDS_PHOTOS
        audit(session, item.id, caller.name, "item.needs_photos", needs.model_dump(mode="json"))


def _after_commit(runtime: Runtime, caller: Caller, uploads: list[Upload], checks: list[PhotoCheckRecord]) -> None:
    for upload in uploads:
        runtime.cache.put(upload.sha256, upload.preprocessing, upload.photo)
    runtime.metrics.photo_quality.observe(caller.name, Channel.STATION.value, checks)
    runtime.workers.notify()  # cheap; a worker finds nothing when the item was not queued


def _view(runtime: Runtime, caller: Caller, item_id: str) -> StationItem:
    with runtime.sessions() as session:
        return station_item(session, get_own_item(session, item_id, caller), runtime.grader.rules.policy)
