"""Reviewer decisions written back as manifest v1 lines (`grading.manifest.Item`), for retraining.

One line per decided item; when an item was decided more than once the newest decision wins. Labels:

- grade: the reviewer's override when given, else the grade of the result the reviewer saw (the newest result
  at or before the decision), on the default scale when it is one of its grades;
- authenticity: `authentic` or `counterfeit` only when the reviewer said so (`ReviewDecision.authenticity`
  holding one of those, or the action `confirm_counterfeit`); anything else stays `unknown`;
- category, brand, product line: the facts declared when the item was created (a predicted category is not a
  label);
- defects: left absent (= not annotated). Manifest v1 cannot mark a defect list as reviewer-approved, and the
  model's own defects exported as labels would teach the model its own mistakes.

Manifest v1 has no notes field, so provenance travels in `source`: the dataset `secondlook-review` and an
`original_path` of the form `review_decisions/<decision id>?reviewer=<key id>&reason=<code>&action=…&result=…`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from grading import manifest
from grading.photo_format import heic_supported
from grading.vocabulary import DEFAULT_GRADE_SCALE, Authenticity, Grade, View
from serving.station_readiness import graded_photos
from serving.tables import Item, Photo, Result, ReviewDecision

REVIEW_DATASET = "secondlook-review"
REVIEW_LICENSE = "internal: photos submitted to the service for grading; not for redistribution"
CONFIRM_COUNTERFEIT = "confirm_counterfeit"


def export_decisions(
    session: Session, photo_path: Callable[[str], Path | str], since: datetime | None = None
) -> Iterator[str]:
    """JSON lines, one `grading.manifest.Item` per decided item (its newest decision).

    Args:
        photo_path: where a photo's sha256 is stored (written as the manifest's photo path): an absolute file
            (folder store), or a URI such as `s3://bucket/key` (S3 store; width and height are then left out).
        since: only items whose newest decision was made at or after this time (naive means UTC).
    """
    for decision in newest_decisions(session, since):
        item = session.get(Item, decision.item_id)
        assert item is not None, f"review decision {decision.id} names missing item {decision.item_id}"
        yield manifest_item(session, item, decision, photo_path).model_dump_json(exclude_none=True)


def newest_decisions(session: Session, since: datetime | None = None) -> Iterator[ReviewDecision]:
    """The newest decision of every item decided (last) at or after `since`, in item id order."""
    query = select(ReviewDecision).order_by(ReviewDecision.item_id, ReviewDecision.created_at, ReviewDecision.id)
    if since is not None:
        recent = select(ReviewDecision.item_id).where(ReviewDecision.created_at >= _utc(since))
        query = query.where(ReviewDecision.item_id.in_(recent))
    rows = session.scalars(query.execution_options(yield_per=500))
    for _, decisions in itertools.groupby(rows, key=lambda decision: decision.item_id):
        yield list(decisions)[-1]


def manifest_item(
    session: Session, item: Item, decision: ReviewDecision, photo_path: Callable[[str], Path | str]
) -> manifest.Item:
    result = reviewed_result(session, decision)
    facts = item.facts or {}
    return manifest.Item(
        id=f"{REVIEW_DATASET}/{item.id}",
        photos=[_manifest_photo(photo, photo_path) for photo in _photos(session, item.id)],
        category=facts.get("category"),
        brand=facts.get("brand"),
        product_line=facts.get("product_line"),
        grade=_grade_label(decision, result),
        authenticity=_authenticity(decision),
        group=item.id,
        source=_source(decision, result),
    )


def reviewed_result(session: Session, decision: ReviewDecision) -> Result | None:
    """The result the reviewer saw: the newest at or before the decision (else the newest there is)."""
    newest_first = select(Result).where(Result.item_id == decision.item_id)
    newest_first = newest_first.order_by(Result.created_at.desc(), Result.id.desc()).limit(1)
    seen = session.scalars(newest_first.where(Result.created_at <= decision.created_at)).first()
    return seen if seen is not None else session.scalars(newest_first).first()


def _photos(session: Session, item_id: str) -> list[Photo]:
    """The photos the reviewed grade rests on: a photo that failed a check and was replaced by its retake is left out
    (it stays stored), so retraining never reads the blurred or dark copy under the reviewer's label."""
    rows = list(session.scalars(select(Photo).where(Photo.item_id == item_id).order_by(Photo.position)))
    return graded_photos(rows)


def _manifest_photo(photo: Photo, photo_path: Callable[[str], Path | str]) -> manifest.Photo:
    """Width and height come from a local file's header: the manifest wants stored (not EXIF-oriented) pixels.

    A URI (`s3://…`) is written as it is, without width and height (reading them would download every photo).
    """
    location = photo_path(photo.sha256)
    size = _stored_size(location) if isinstance(location, Path) else None
    width, height = size if size is not None else (None, None)
    return manifest.Photo(path=str(location), view=View(photo.view), sha256=photo.sha256, width=width, height=height)


def _stored_size(path: Path) -> tuple[int, int] | None:
    """(width, height) as stored, read from the header only; None when the file cannot be read."""
    heic_supported()  # registers the HEIC opener when pillow-heif is installed
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, ValueError):
        return None


def _grade_label(decision: ReviewDecision, result: Result | None) -> manifest.GradeLabel | None:
    value = decision.grade or _result_grade(result)
    if value is None:
        return None
    if value in {grade.value for grade in Grade}:
        return manifest.GradeLabel(scale=DEFAULT_GRADE_SCALE, value=value)
    policy = result.policy_version if result is not None else "unknown"
    return manifest.GradeLabel(scale=f"policy:{policy}", value=value)


def _result_grade(result: Result | None) -> str | None:
    """`ItemResult.grade.name`, read from the stored JSON without validating the whole (older) body."""
    if result is None:
        return None
    grade = (result.body or {}).get("grade") or {}
    return grade.get("name")


def _authenticity(decision: ReviewDecision) -> Authenticity:
    if decision.authenticity in (Authenticity.AUTHENTIC, Authenticity.COUNTERFEIT):
        return Authenticity(decision.authenticity)
    if decision.action == CONFIRM_COUNTERFEIT:
        return Authenticity.COUNTERFEIT
    return Authenticity.UNKNOWN


def _source(decision: ReviewDecision, result: Result | None) -> manifest.Source:
    provenance = {"reviewer": decision.reviewer, "reason": decision.reason_code, "action": decision.action}
    if result is not None:
        provenance |= {"result": result.id, "model": result.model_version}
    original = f"review_decisions/{decision.id}?{urlencode(provenance)}"
    return manifest.Source(dataset=REVIEW_DATASET, license=REVIEW_LICENSE, original_path=original)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
