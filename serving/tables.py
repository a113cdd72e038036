"""The service's tables (SQLAlchemy 2). Alembic migrations in `serving/migrations` create exactly these.

Rows are appended or moved forward, never deleted: an item, its photos and every result, decision and
audit event stay, so an accepted upload is never lost and every decision can be traced.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Role(StrEnum):
    STATION = "station"
    KIOSK = "kiosk"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class ItemStatus(StrEnum):
    RECEIVING = "receiving"  # created; photos may still arrive
    NEEDS_PHOTOS = "needs_photos"  # submitted, but a photo must be retaken or a required view is missing
    QUEUED = "queued"  # complete; a grading job waits
    PROCESSING = "processing"
    GRADED = "graded"  # a result exists
    FAILED = "failed"  # grading failed for good; the reason is on the job


class ReviewState(StrEnum):
    NONE = "none"  # the policy did not ask for review
    PENDING = "pending"
    DECIDED = "decided"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict] = {datetime: DateTime(timezone=True), dict: JSON, list: JSON}


class ApiKey(Base):
    """An API key: only its sha256 is stored; `prefix` (the first characters) finds the row."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    signed_out_at: Mapped[datetime | None] = mapped_column(default=None)  # web sessions issued before are void


class Item(Base):
    __tablename__ = "items"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(20))
    facts: Mapped[dict] = mapped_column(default=dict)  # grading.item_grading.ItemFacts as JSON
    status: Mapped[str] = mapped_column(String(20), default=ItemStatus.RECEIVING)
    review_state: Mapped[str] = mapped_column(String(20), default=ReviewState.NONE)
    decision: Mapped[str | None] = mapped_column(String(20), default=None)  # list / review / reject
    grade: Mapped[str | None] = mapped_column(String(40), default=None)
    review_reasons: Mapped[list] = mapped_column(default=list)  # reason codes, for filtering the queue
    review_score: Mapped[float | None] = mapped_column(default=None)  # higher = more doubtful
    category: Mapped[str | None] = mapped_column(String(80), default=None)
    created_by: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (
        UniqueConstraint("created_by", "idempotency_key", name="uq_items_idempotency"),
        Index("ix_items_review", "review_state", "created_at"),
    )


class Photo(Base):
    __tablename__ = "photos"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    view: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64))
    source_format: Mapped[str] = mapped_column(String(10))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)
    crop_box: Mapped[list] = mapped_column(default=list)
    # serving.photo_checks.PhotoCheckRecord as JSON: every check, the measures, the policy version; None for photos
    # stored before the checks were kept
    quality: Mapped[dict | None] = mapped_column(default=None)
    # the camera's EXIF make and model ("Apple iPhone 13"); None when the photo carries none or predates 0006
    camera: Mapped[str | None] = mapped_column(String(120), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        UniqueConstraint("item_id", "sha256", name="uq_photos_item_content"),
        Index("ix_photos_created_at", "created_at"),  # the drift window reads the newest photos
    )


class Job(Base):
    """A durable grading job; workers claim it by moving it to running with a lease."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(default=utc_now)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_jobs_claim", "status", "available_at"),)


class Result(Base):
    """One grading of an item (an item regraded by a new model gets a new row)."""

    __tablename__ = "results"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(80))
    policy_version: Mapped[str] = mapped_column(String(80))
    pricing_version: Mapped[str] = mapped_column(String(80))
    body: Mapped[dict] = mapped_column()  # grading.item_grading.ItemResult as JSON
    timings_ms: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class PhotoMaps(Base):
    """The defect and anomaly maps of one photo in one result, for reviewer overlays (npz bytes)."""

    __tablename__ = "photo_maps"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    result_id: Mapped[str] = mapped_column(ForeignKey("results.id"), index=True)
    photo_id: Mapped[str] = mapped_column(ForeignKey("photos.id"))
    maps: Mapped[bytes] = mapped_column(LargeBinary)


class ReviewDecision(Base):
    __tablename__ = "review_decisions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    reviewer: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    action: Mapped[str] = mapped_column(String(40))
    grade: Mapped[str | None] = mapped_column(String(40), default=None)
    authenticity: Mapped[str | None] = mapped_column(String(40), default=None)
    reason_code: Mapped[str] = mapped_column(String(80))
    comment: Mapped[str] = mapped_column(Text, default="")
    # serving.review_records.ReviewedDefect list as JSON: the defects the reviewer confirmed, for retraining;
    # None = not reviewed for defects, [] = the reviewer saw none
    defects: Mapped[list | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class AuditEvent(Base):
    """Append-only history of an item: created, photo added, graded, decided, regraded."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class OutboxMessage(Base):
    """A webhook event for one endpoint, written in the same transaction as what it announces."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32), default=new_id)
    event_type: Mapped[str] = mapped_column(String(60))
    endpoint_url: Mapped[str] = mapped_column(String(2000))
    payload: Mapped[dict] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (Index("ix_outbox_due", "delivered_at", "next_attempt_at"),)


class ReferencePhoto(Base):
    """An enrolled authentic reference photo of a product line and its embedding (float32 bytes)."""

    __tablename__ = "reference_photos"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    product_line: Mapped[str] = mapped_column(String(200), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(80))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (UniqueConstraint("product_line", "sha256", "model_version", name="uq_reference_content"),)


class Certificate(Base):
    """A signed certificate of an item's final grade; a newer decision revokes it (`superseded_by` the new one).

    `payload` is the exact canonical JSON that was signed; `result_id` and `decision_id` are what it reflects.
    """

    __tablename__ = "certificates"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    result_id: Mapped[str] = mapped_column(ForeignKey("results.id"))
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("review_decisions.id"), default=None)
    key_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    superseded_by: Mapped[str | None] = mapped_column(String(32), default=None)


class RegradeRun(Base):
    """One regrading of the archive with another bundle (`secondlook-service regrade`); its results are kept in
    `regraded_results`, beside the service's own results, which it never changes. A rerun of the same bundle,
    policy, pricing and window resumes the unfinished run instead of starting again."""

    __tablename__ = "regrade_runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    bundle_name: Mapped[str] = mapped_column(String(200))
    bundle_version: Mapped[str] = mapped_column(String(80))
    bundle_digest: Mapped[str] = mapped_column(String(64), index=True)  # serving.regrade.bundle_digest
    policy_version: Mapped[str] = mapped_column(String(80))
    pricing_version: Mapped[str] = mapped_column(String(80))
    since: Mapped[datetime | None] = mapped_column(default=None)  # items created at or after it; None: all
    program: Mapped[str | None] = mapped_column(String(200), default=None)  # items declared of it; None: all
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict | None] = mapped_column(default=None)  # serving.regrade_summary.RegradeSummary as JSON
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class RegradedResult(Base):
    """One item graded again in a regrade run, with the grade and decision its newest service result had."""

    __tablename__ = "regraded_results"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("regrade_runs.id"), index=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"))
    previous_result_id: Mapped[str | None] = mapped_column(ForeignKey("results.id"), default=None)
    body: Mapped[dict] = mapped_column()  # grading.item_result.ItemResult as JSON; {} when the item failed
    error: Mapped[str | None] = mapped_column(Text, default=None)  # why the item could not be regraded
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (UniqueConstraint("run_id", "item_id", name="uq_regraded_item"),)
