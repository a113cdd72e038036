"""Station: create an item, upload its photos (one call or several), then poll for the asynchronous result.

A retried create with the same `Idempotency-Key` returns the item the first call made, never a second
one; a photo already attached (same bytes) is not attached twice. Photos are on disk (fsynced) and the
item, photos and grading job are committed in one transaction before the answer, so an acknowledged
upload survives the process being killed right after.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from grading.item_grading import Channel, ItemFacts
from serving.auth import Caller
from serving.dependencies import RuntimeDep, StationCaller
from serving.errors import ApiError
from serving.item_records import (
    add_photos,
    create_item,
    find_by_idempotency_key,
    get_item,
    item_photos,
    latest_result,
    pending_jobs,
    queue_grading,
    request_hash,
)
from serving.photo_intake import decode_uploads, store_uploads
from serving.runtime import Runtime
from serving.schemas import ItemSummary, PhotoOut, StationItem, parse_facts, parse_metadata_json
from serving.tables import Item, ItemStatus, Job, Role
from serving.uploads import Upload

router = APIRouter(prefix="/v1/station", tags=["station"])

IdempotencyKey = Annotated[
    str | None, Header(max_length=200, description="Retrying with the same key never makes a second item")
]


@router.post(
    "/items",
    response_model=StationItem,
    status_code=201,
    summary="Create an item with its metadata and (some or all of) its photos",
    description=(
        "Multipart form: `metadata` (JSON: sku, brand, category, product_line, program, material, tags),"
        " `photos` (0-8 files), `views` (comma-separated, one per photo), `complete` (default: true when photos are"
        " sent; false keeps the item open for more photos). Send an `Idempotency-Key` header: a retry with the same"
        " key and request returns the first item (200) instead of creating another."
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
    await run_in_threadpool(store_uploads, runtime.store, uploads)
    try:
        item_id = await run_in_threadpool(_create, runtime, caller, facts, uploads, submit, idempotency_key, digest)
    except IntegrityError:  # a concurrent retry with the same key won the race; answer with its item
        response.status_code = 200
        return await run_in_threadpool(_replay, runtime, caller, idempotency_key, digest)
    _after_commit(runtime, uploads, submit)
    return await run_in_threadpool(_view, runtime, item_id)


@router.post("/items/{item_id}/photos", response_model=StationItem, summary="Add photos to an open item")
async def add(
    runtime: RuntimeDep,
    caller: StationCaller,
    item_id: str,
    photos: Annotated[list[UploadFile], File()],
    views: Annotated[str | None, Form()] = None,
    complete: Annotated[bool, Form(description="true: no more photos, grade it now")] = False,
) -> StationItem:
    settings = runtime.settings
    uploads = await decode_uploads(
        photos,
        views,
        max_count=settings.max_photos_per_item,
        max_bytes=settings.max_photo_bytes,
        preprocessing=runtime.preprocessing(),
    )
    await run_in_threadpool(_check_capacity, runtime, complete)
    await run_in_threadpool(store_uploads, runtime.store, uploads)
    await run_in_threadpool(_add, runtime, caller, item_id, uploads, complete)
    _after_commit(runtime, uploads, complete)
    return await run_in_threadpool(_view, runtime, item_id)


@router.post("/items/{item_id}/submit", response_model=StationItem, summary="No more photos: grade the item")
async def submit(runtime: RuntimeDep, caller: StationCaller, item_id: str) -> StationItem:
    await run_in_threadpool(_check_capacity, runtime, True)
    await run_in_threadpool(_add, runtime, caller, item_id, [], True)
    _after_commit(runtime, [], True)
    return await run_in_threadpool(_view, runtime, item_id)


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
async def status(runtime: RuntimeDep, _caller: StationCaller, item_id: str) -> StationItem:
    return await run_in_threadpool(_view, runtime, item_id)


def _check_capacity(runtime: Runtime, submitting: bool) -> None:
    if not submitting:
        return
    with runtime.sessions() as session:
        waiting = pending_jobs(session)
    if waiting >= runtime.settings.max_pending_jobs:
        seconds = max(1.0, waiting * 0.05)
        raise ApiError(
            429,
            "queue_full",
            f"{waiting} items are waiting to be graded; retry this upload later.",
            retry_after=seconds,
        )


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
        return _item_view(session, item).model_copy(update={"idempotent_replay": True})


def _create(
    runtime: Runtime,
    caller: Caller,
    facts: ItemFacts,
    uploads: list[Upload],
    submit: bool,
    key: str | None,
    digest: str,
) -> str:
    with runtime.sessions.begin() as session:
        item = create_item(session, caller, facts, key, digest)
        add_photos(session, item, uploads, caller.name, runtime.settings.max_photos_per_item)
        if submit:
            _submit(session, item, caller)
        return item.id


def _add(runtime: Runtime, caller: Caller, item_id: str, uploads: list[Upload], complete: bool) -> None:
    with runtime.sessions.begin() as session:
        item = get_item(session, item_id, for_update=True)
        if item.status != ItemStatus.RECEIVING and _is_repeat(session, item, uploads, complete):
            return  # a retry of a call that already succeeded (its answer was lost): nothing to do, say so with 200
        if item.status != ItemStatus.RECEIVING:
            raise ApiError(
                409, "item_submitted", f"Item {item_id} is already {item.status}; photos can't be added after submit."
            )
        add_photos(session, item, uploads, caller.name, runtime.settings.max_photos_per_item)
        if complete:
            _submit(session, item, caller)


def _is_repeat(session: Session, item: Item, uploads: list[Upload], complete: bool) -> bool:
    """Every photo is already attached and the call asks to submit (or is the submit call itself)."""
    attached = {photo.sha256 for photo in item_photos(session, item.id)}
    return complete and all(upload.sha256 in attached for upload in uploads)


def _submit(session: Session, item: Item, caller: Caller) -> Job:
    if not item_photos(session, item.id):
        raise ApiError(422, "no_photos", f"Item {item.id} has no photos yet; upload at least one before submitting.")
    return queue_grading(session, item, caller.name)


def _after_commit(runtime: Runtime, uploads: list[Upload], submitted: bool) -> None:
    for upload in uploads:
        runtime.cache.put(upload.sha256, upload.preprocessing, upload.photo)
    if submitted:
        runtime.workers.notify()


def _view(runtime: Runtime, item_id: str) -> StationItem:
    with runtime.sessions() as session:
        return _item_view(session, get_item(session, item_id))


def _item_view(session: Session, item: Item) -> StationItem:
    result = latest_result(session, item.id) if item.status == ItemStatus.GRADED else None
    error = None
    if item.status == ItemStatus.FAILED:
        job = session.scalars(select(Job).where(Job.item_id == item.id).order_by(Job.created_at.desc())).first()
        error = job.last_error if job else None
    return StationItem(
        item_id=item.id,
        status=item.status,
        review_state=item.review_state,
        decision=item.decision,
        grade=item.grade,
        facts=item.facts,
        photos=[PhotoOut.model_validate(photo, from_attributes=True) for photo in item_photos(session, item.id)],
        result=result.body if result else None,
        error=error,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )
