"""The review queue and reviewer decisions: every decision is appended, audited and announced by webhook."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.orm import Session

from grading.vocabulary import Authenticity, DefectType
from serving.auth import Caller
from serving.errors import ApiError
from serving.item_records import audit, get_item, latest_result
from serving.settings import WebhookEndpoint
from serving.station_readiness import graded_photos
from serving.tables import AuditEvent, Item, Photo, ReviewDecision, ReviewState
from serving.webhooks import enqueue_event


class ReviewAction(StrEnum):
    APPROVE = "approve"  # the model's grade and verdict stand
    OVERRIDE = "override"  # a different grade and/or authenticity
    CONFIRM_COUNTERFEIT = "confirm_counterfeit"
    INCONCLUSIVE = "inconclusive"  # the reviewer can't tell either; escalate or ask for photos


class ReasonCode(StrEnum):
    """Why a reviewer decided as they did; feeds retraining and model audits."""

    MODEL_CORRECT = "model_correct"
    MISSED_DEFECT = "missed_defect"
    FALSE_DEFECT = "false_defect"
    DESIGN_FEATURE = "design_feature"
    SEVERITY_WRONG = "severity_wrong"
    WRONG_CATEGORY = "wrong_category"
    COUNTERFEIT_EVIDENCE = "counterfeit_evidence"
    AUTHENTIC_EVIDENCE = "authentic_evidence"
    PHOTO_QUALITY = "photo_quality"
    OTHER = "other"


class QueueSort(StrEnum):
    SCORE = "score"  # most doubtful first
    AGE = "age"  # oldest first


class ReviewedDefect(BaseModel):
    """A defect the reviewer confirms on one photo of the item, where it is: a label for retraining."""

    model_config = ConfigDict(extra="forbid")
    photo_id: str = Field(max_length=32, description="one of the item's photos (`photos[].id` of the item)")
    type: DefectType
    box: tuple[float, float, float, float] = Field(
        description="x0, y0, x1, y1 in pixels of the photo as shown (EXIF-oriented), like the result's defect boxes"
    )

    @model_validator(mode="after")
    def _ordered_box(self) -> ReviewedDefect:
        x0, y0, x1, y1 = self.box
        if min(x0, y0) < 0 or x1 <= x0 or y1 <= y0:
            raise ValueError(f"a defect box needs 0 <= x0 < x1 and 0 <= y0 < y1, got {list(self.box)}")
        return self


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: ReviewAction
    reason_code: ReasonCode
    grade: str | None = Field(None, description="override: the grade the item really has")
    authenticity: Authenticity | None = Field(
        None, description="override: what the reviewer found (authentic, counterfeit)"
    )
    comment: str = Field("", max_length=2000)
    defects: list[ReviewedDefect] | None = Field(
        None,
        max_length=200,
        description="every defect the reviewer sees on the item's photos, each with its box: exported as defect "
        "labels for retraining. Absent: the reviewer did not check defects; []: the photos show none.",
    )

    @model_validator(mode="after")
    def _override_says_what(self) -> DecisionIn:
        if self.action is ReviewAction.OVERRIDE and self.grade is None and self.authenticity is None:
            raise ValueError("an override needs a new 'grade' or 'authenticity'")
        if self.action is not ReviewAction.OVERRIDE and (self.grade is not None or self.authenticity is not None):
            raise ValueError(f"'grade' and 'authenticity' go with action 'override', not '{self.action.value}'")
        if "\x00" in self.comment:
            raise ValueError("the comment contains a NUL byte; remove it")
        if self.reason_code is ReasonCode.OTHER and not self.comment.strip():
            raise ValueError("reason_code 'other' needs a comment saying why")
        if self.action is ReviewAction.INCONCLUSIVE and self.defects is not None:
            raise ValueError("'defects' go with a decision; an inconclusive review leaves them out")
        return self


def queue_query(category: str | None, channel: str | None, sort: QueueSort, include_decided: bool = False) -> Select:
    query = select(Item).where(Item.review_state == ReviewState.PENDING)
    if include_decided:
        query = select(Item).where(Item.review_state.in_([ReviewState.PENDING, ReviewState.DECIDED]))
    if category:
        query = query.where(Item.category == category)
    if channel:
        query = query.where(Item.channel == channel)
    if sort is QueueSort.SCORE:
        return query.order_by(Item.review_score.desc().nulls_last(), Item.created_at)
    return query.order_by(Item.created_at)


def review_queue(session: Session, query: Select, reason: str | None, limit: int, offset: int) -> list[Item]:
    """One page of the queue, filtered and paged in the database.

    Reasons are a JSON list; matching its text for the quoted code works the same on SQLite and PostgreSQL.
    """
    if reason:
        query = query.where(cast(Item.review_reasons, String).like(f'%"{_escape_like(reason)}"%', escape="\\"))
    return list(session.scalars(query.limit(limit).offset(offset)))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace('"', "")


def queue_counts(session: Session) -> dict[str, int]:
    """Pending items per reason code (an item with two reasons counts under both)."""
    counts: dict[str, int] = {}
    for reasons in session.scalars(select(Item.review_reasons).where(Item.review_state == ReviewState.PENDING)):
        for code in reasons or []:
            counts[code] = counts.get(code, 0) + 1
    return counts


def decide(
    session: Session,
    item_id: str,
    caller: Caller,
    decision: DecisionIn,
    grades: list[str],
    hooks: list[WebhookEndpoint],
) -> ReviewDecision:
    item = get_item(session, item_id, for_update=True)
    if item.status != "graded":
        raise ApiError(409, "not_graded", f"Item {item_id} is {item.status}; it can be decided once it is graded.")
    if decision.grade is not None and decision.grade not in grades:
        raise ApiError(422, "unknown_grade", f"Unknown grade '{decision.grade}'; use one of: {', '.join(grades)}.")
    if decision.defects:
        require_on_photos(session, item.id, decision.defects)
    row = ReviewDecision(
        item_id=item.id,
        reviewer=caller.key_id,
        action=decision.action,
        grade=decision.grade,
        authenticity=Authenticity.COUNTERFEIT
        if decision.action is ReviewAction.CONFIRM_COUNTERFEIT
        else decision.authenticity,
        reason_code=decision.reason_code,
        comment=decision.comment,
        defects=None if decision.defects is None else [d.model_dump(mode="json") for d in decision.defects],
    )
    session.add(row)
    result = latest_result(session, item.id)
    verdict = result.body.get("authenticity", {}).get("verdict") if result else None
    _apply(item, decision, grades[-1], verdict)
    session.flush()
    detail = decision.model_dump(mode="json") | {"decision_id": row.id}
    audit(session, item.id, caller.name, "review.decided", detail)
    enqueue_event(session, hooks, "item.decided", {"item_id": item.id, "decision": detail, "grade": item.grade})
    return row


def require_on_photos(session: Session, item_id: str, defects: list[ReviewedDefect]) -> None:
    """Each reviewed defect names a graded photo of the item and lies inside it (422 saying which does not)."""
    rows = list(session.scalars(select(Photo).where(Photo.item_id == item_id)))
    photos = {row.id: row for row in graded_photos(rows)}
    for number, defect in enumerate(defects, start=1):
        photo = photos.get(defect.photo_id)
        if photo is None:
            known = ", ".join(photos) or "none"
            raise ApiError(
                422,
                "unknown_photo",
                f"Defect {number} names photo '{defect.photo_id}', which is not a graded photo of item {item_id} "
                f"(its photos: {known}).",
            )
        if defect.box[2] > photo.width or defect.box[3] > photo.height:
            raise ApiError(
                422,
                "box_outside_photo",
                f"Defect {number}'s box {list(defect.box)} reaches past photo {photo.id}, which is "
                f"{photo.width} x {photo.height} pixels as shown; give the box in those pixels.",
            )


INCONCLUSIVE_REASON = "reviewer_inconclusive"


def _apply(item: Item, decision: DecisionIn, worst_grade: str, model_verdict: str | None) -> None:
    """Move the item on. Inconclusive keeps it in the queue (tagged) for a second reviewer or new photos."""
    item.updated_at = datetime.now(UTC)
    if decision.action is ReviewAction.INCONCLUSIVE:
        item.review_reasons = sorted({*(item.review_reasons or []), INCONCLUSIVE_REASON})
        return
    item.review_state = ReviewState.DECIDED
    if decision.grade is not None:
        item.grade = decision.grade
    counterfeit = (
        decision.action is ReviewAction.CONFIRM_COUNTERFEIT or decision.authenticity is Authenticity.COUNTERFEIT
    )
    model_suspects = decision.action is ReviewAction.APPROVE and model_verdict == "suspected_counterfeit"
    item.decision = "reject" if counterfeit or model_suspects or item.grade == worst_grade else "list"


def history(session: Session, item_id: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.item_id == item_id).order_by(AuditEvent.id)
    return list(session.scalars(query))


def decisions(session: Session, item_id: str) -> list[ReviewDecision]:
    query = select(ReviewDecision).where(ReviewDecision.item_id == item_id).order_by(ReviewDecision.created_at)
    return list(session.scalars(query))


def pending_count(session: Session) -> int:
    query = select(func.count()).select_from(Item).where(Item.review_state == ReviewState.PENDING)
    return session.scalar(query) or 0
