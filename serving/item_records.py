"""Reading and writing items, photos, jobs and results; each function works inside the caller's transaction."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from grading.item_grading import ItemFacts
from grading.item_result import Decision
from serving.auth import Caller
from serving.camera import camera_of
from serving.errors import ApiError
from serving.item_grader import Graded
from serving.settings import WebhookEndpoint
from serving.tables import AuditEvent, Item, ItemStatus, Job, JobStatus, Photo, PhotoMaps, Result, ReviewState, Role
from serving.uploads import Upload
from serving.webhooks import enqueue_event

ID_LENGTH = 32  # ids are uuid4 hex


def audit(session: Session, item_id: str | None, actor: str, event: str, detail: dict | None = None) -> None:
    session.add(AuditEvent(item_id=item_id, actor=actor, event=event, detail=detail or {}))


def request_hash(facts: ItemFacts, uploads: list[Upload]) -> str:
    """What an idempotent retry must repeat: the facts and the photos' content."""
    body = json.dumps([facts.model_dump(mode="json"), [(u.sha256, u.view.value) for u in uploads]], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def find_by_idempotency_key(session: Session, caller: Caller, key: str) -> Item | None:
    return session.scalar(select(Item).where(Item.created_by == caller.key_id, Item.idempotency_key == key))


def create_item(
    session: Session, caller: Caller, facts: ItemFacts, idempotency_key: str | None = None, digest: str | None = None
) -> Item:
    item = Item(
        channel=facts.channel.value,
        facts=facts.model_dump(mode="json"),
        created_by=caller.key_id,
        idempotency_key=idempotency_key,
        request_hash=digest,
        category=facts.category,
    )
    session.add(item)
    session.flush()
    audit(session, item.id, caller.name, "item.created", {"channel": facts.channel.value})
    return item


def get_item(session: Session, item_id: str, *, for_update: bool = False) -> Item:
    query = select(Item).where(Item.id == item_id)
    item = None if len(item_id) > ID_LENGTH else session.scalar(query.with_for_update() if for_update else query)
    if item is None:
        raise ApiError(404, "unknown_item", f"No item with id '{item_id}'. Check the id the create call returned.")
    return item


def get_own_item(session: Session, item_id: str, caller: Caller, *, for_update: bool = False) -> Item:
    """The item, if `caller` created it (an admin key reaches every item); another station's item answers the same
    404 as an unknown id, so a key learns nothing about items that are not its own."""
    item = get_item(session, item_id, for_update=for_update)
    if caller.role is not Role.ADMIN and item.created_by != caller.key_id:
        raise ApiError(404, "unknown_item", f"No item with id '{item_id}'. Check the id the create call returned.")
    return item


def items_waiting_for_photos(session: Session) -> int:
    """Station items held back until failed photos are retaken or required views arrive (`needs_photos`)."""
    return session.scalar(select(func.count()).select_from(Item).where(Item.status == ItemStatus.NEEDS_PHOTOS)) or 0


def item_photos(session: Session, item_id: str) -> list[Photo]:
    return list(session.scalars(select(Photo).where(Photo.item_id == item_id).order_by(Photo.position)))


def add_photos(
    session: Session, item: Item, uploads: list[Upload], actor: str, limit: int, ids: list[str] | None = None
) -> list[Photo]:
    """Attach photos (a photo whose bytes the item already has is not added twice); `ids` fixes new rows' ids."""
    existing = item_photos(session, item.id)
    known = {photo.sha256: photo for photo in existing}
    fresh = [upload for upload in uploads if upload.sha256 not in known]
    if len(existing) + len(fresh) > limit:
        raise ApiError(
            422,
            "too_many_photos",
            f"An item takes at most {limit} photos; it has {len(existing)} and this call adds {len(fresh)}.",
        )
    added = [_photo_row(item.id, len(existing) + i, upload) for i, upload in enumerate(fresh)]
    if ids is not None:
        for row, photo_id in zip(added, ids, strict=True):
            row.id = photo_id
    session.add_all(added)
    session.flush()
    if added:
        audit(session, item.id, actor, "photos.added", {"photos": [p.id for p in added]})
    return [known.get(u.sha256) or next(p for p in added if p.sha256 == u.sha256) for u in uploads]


def _photo_row(item_id: str, position: int, upload: Upload) -> Photo:
    photo = upload.photo
    return Photo(
        item_id=item_id,
        position=position,
        view=upload.view.value,
        sha256=upload.sha256,
        source_format=photo.source_format.value,
        width=photo.source_size[0],
        height=photo.source_size[1],
        byte_size=len(upload.data),
        crop_box=list(photo.crop_box),
        quality=upload.checks.model_dump(mode="json") if upload.checks else None,
        camera=camera_of(upload.data),
    )


QUEUE_LOCK = 0x5EC0_0001  # PostgreSQL advisory lock that serialises counting and adding grading jobs


def queue_grading(
    session: Session, item: Item, actor: str, detail: dict | None = None, max_pending: int | None = None
) -> Job:
    """Mark the item complete and add its durable grading job (`detail` goes into the audit event); with
    `max_pending`, refuse (429 `queue_full`) when that many jobs already wait, exactly under concurrent uploads."""
    if max_pending is not None:
        require_room_to_queue(session, max_pending)
    job = Job(item_id=item.id)
    session.add(job)
    item.status = ItemStatus.QUEUED
    audit(session, item.id, actor, "item.submitted", detail)
    return job


def require_room_to_queue(session: Session, max_pending: int) -> None:
    """Inside the write transaction that queues: SQLite's `BEGIN IMMEDIATE` already holds the write lock; on
    PostgreSQL a transaction advisory lock makes the count and the insert one step for every uploader."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUEUE_LOCK})
    waiting = pending_jobs(session)
    if waiting >= max_pending:
        raise queue_full(waiting)


def queue_full(waiting: int) -> ApiError:
    return ApiError(
        429,
        "queue_full",
        f"{waiting} items are waiting to be graded; retry this upload later.",
        retry_after=max(1.0, waiting * 0.05),
    )


def pending_jobs(session: Session) -> int:
    statuses = (JobStatus.QUEUED, JobStatus.RUNNING)
    return session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(statuses))) or 0


def record_result(
    session: Session, item: Item, graded: Graded, endpoints: list[WebhookEndpoint], timings_ms: dict
) -> Result:
    """Store a grading, move the item forward, audit it and queue its `item.graded` webhook, all at once."""
    body = graded.result.model_dump(mode="json")
    result = Result(
        item_id=item.id,
        model_version=graded.result.model_version,
        policy_version=graded.result.policy_version,
        pricing_version=graded.result.pricing_version,
        body=body,
        timings_ms=timings_ms,
    )
    session.add(result)
    session.flush()
    session.add_all(PhotoMaps(result_id=result.id, photo_id=pid, maps=data) for pid, data in graded.maps.items())
    _apply_result(item, graded)
    audit(session, item.id, "model", "item.graded", {"result": result.id, "decision": item.decision})
    enqueue_event(session, endpoints, "item.graded", graded_event(item, body))
    return result


def _apply_result(item: Item, graded: Graded) -> None:
    result = graded.result
    item.status = ItemStatus.GRADED
    item.decision = result.decision.value
    item.grade = result.grade.name
    item.category = result.category.used
    item.review_reasons = [reason.code.value for reason in result.reasons]
    item.review_state = ReviewState.PENDING if result.decision is Decision.REVIEW else ReviewState.NONE
    item.review_score = round(1.0 - result.grade.confidence, 4)
    item.updated_at = datetime.now(UTC)


def graded_event(item: Item, body: dict) -> dict:
    return {"item_id": item.id, "channel": item.channel, "facts": item.facts, "result": body}


def latest_result(session: Session, item_id: str) -> Result | None:
    query = select(Result).where(Result.item_id == item_id).order_by(Result.created_at.desc(), Result.id.desc())
    return session.scalars(query.limit(1)).first()
