"""What a station sees of an item: its status, each photo with its failed checks, what it waits for, the result."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grading.policy import GradePolicy
from serving.item_records import item_photos, latest_result
from serving.photo_checks import stored_record
from serving.schemas import PhotoOut, StationItem
from serving.station_readiness import item_needs, replacements
from serving.tables import Item, ItemStatus, Job, Photo

OPEN_STATUSES = (ItemStatus.RECEIVING, ItemStatus.NEEDS_PHOTOS)  # photos may still be added


def station_item(session: Session, item: Item, policy: GradePolicy) -> StationItem:
    """The station's answer; `needs` (for an open item) is judged with `policy`'s required views."""
    result = latest_result(session, item.id) if item.status == ItemStatus.GRADED else None
    rows = item_photos(session, item.id)
    needs = item_needs(rows, (item.facts or {}).get("category"), policy) if item.status in OPEN_STATUSES else None
    return StationItem(
        item_id=item.id,
        status=item.status,
        review_state=item.review_state,
        decision=item.decision,
        grade=item.grade,
        facts=item.facts,
        photos=photos_out(rows),
        needs=needs,
        result=result.body if result else None,
        error=_last_error(session, item) if item.status == ItemStatus.FAILED else None,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _last_error(session: Session, item: Item) -> str | None:
    job = session.scalars(select(Job).where(Job.item_id == item.id).order_by(Job.created_at.desc())).first()
    return job.last_error if job else None


def photos_out(rows: list[Photo]) -> list[PhotoOut]:
    """Each photo with its failed checks and, where a retake replaced it in grading, the retake's id."""
    replaced = replacements(rows)
    return [_photo_out(row, replaced.get(row.id)) for row in rows]


def _photo_out(row: Photo, replaced_by: str | None) -> PhotoOut:
    record = stored_record(row)
    fields = ("id", "position", "view", "sha256", "width", "height", "source_format")
    checks = {"usable": record.usable, "failed_checks": record.failed} if record else {}
    return PhotoOut(**{name: getattr(row, name) for name in fields}, **checks, replaced_by=replaced_by)
