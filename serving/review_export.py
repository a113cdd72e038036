"""Reviewer decisions written back as manifest v1 lines (`grading.manifest.Item`), for retraining.

One line per decided item; when an item was decided more than once the newest decision wins. Labels:

- grade: the reviewer's override when given, else the grade of the result the reviewer saw (the newest result
  at or before the decision), on the default scale when it is one of its grades;
- authenticity: `authentic` or `counterfeit` only when the reviewer said so (`ReviewDecision.authenticity`
  holding one of those, or the action `confirm_counterfeit`); anything else stays `unknown`;
- category, brand, product line: the facts declared when the item was created (a predicted category is not a
  label);
- defects: the reviewer's own (`DecisionIn.defects`): where the decision lists them, every graded photo is
  annotated, with a box per defect the reviewer confirmed on it (moved from the upright photo the reviewer saw to
  the stored pixels the manifest wants) and `[]` (clean) for a photo with none. A decision without them leaves
  the photos unannotated: the model's own defects exported as labels would teach the model its own mistakes.

Manifest v1 has no notes field, so provenance travels in `source`: the dataset `secondlook-review` and an
`original_path` of the form `review_decisions/<decision id>?reviewer=<key id>&reason=<code>&action=…&result=…`.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from grading import manifest
from grading.manifest import REVIEW_DATASET
from grading.orientation import ORIENTATION_TAG, stored_box
from grading.photo_format import heic_supported
from grading.vocabulary import DEFAULT_GRADE_SCALE, Authenticity, Grade, View
from serving.station_readiness import graded_photos
from serving.tables import Item, Photo, Result, ReviewDecision

REVIEW_LICENSE = "internal: photos submitted to the service for grading; not for redistribution"
CONFIRM_COUNTERFEIT = "confirm_counterfeit"


@dataclass(frozen=True)
class StoredPhotos:
    """Where the export finds photos: `path` gives a photo's location by sha256 (written as the manifest's photo
    path): an absolute file (folder store) or a URI such as `s3://bucket/key` (S3 store; width and height are then
    left out). `read` gives its bytes, for a photo behind a URI whose reviewed defect boxes need its orientation."""

    path: Callable[[str], Path | str]
    read: Callable[[str], bytes] | None = None


def export_decisions(session: Session, photos: StoredPhotos, since: datetime | None = None) -> Iterator[str]:
    """JSON lines, one `grading.manifest.Item` per decided item (its newest decision); `since`: only items whose
    newest decision was made at or after this time (naive means UTC)."""
    for decision in newest_decisions(session, since):
        item = session.get(Item, decision.item_id)
        assert item is not None, f"review decision {decision.id} names missing item {decision.item_id}"
        yield manifest_item(session, item, decision, photos).model_dump_json(exclude_none=True)


def newest_decisions(session: Session, since: datetime | None = None) -> Iterator[ReviewDecision]:
    """The newest decision of every item decided (last) at or after `since`, in item id order."""
    query = select(ReviewDecision).order_by(ReviewDecision.item_id, ReviewDecision.created_at, ReviewDecision.id)
    if since is not None:
        recent = select(ReviewDecision.item_id).where(ReviewDecision.created_at >= _utc(since))
        query = query.where(ReviewDecision.item_id.in_(recent))
    rows = session.scalars(query.execution_options(yield_per=500))
    for _, decisions in itertools.groupby(rows, key=lambda decision: decision.item_id):
        yield list(decisions)[-1]


def manifest_item(session: Session, item: Item, decision: ReviewDecision, photos: StoredPhotos) -> manifest.Item:
    result = reviewed_result(session, decision)
    facts = item.facts or {}
    return manifest.Item(
        id=f"{REVIEW_DATASET}/{item.id}",
        photos=[_manifest_photo(photo, photos, decision.defects) for photo in _photos(session, item.id)],
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


def _manifest_photo(photo: Photo, photos: StoredPhotos, reviewed: list[dict] | None) -> manifest.Photo:
    """Width and height come from a local file's header: the manifest wants stored (not EXIF-oriented) pixels.

    A URI (`s3://…`) is written as it is, without width and height (reading them would download every photo); only
    a photo with reviewed defects is read then, for its orientation.
    """
    location = photos.path(photo.sha256)
    header = _stored_header(location) if isinstance(location, Path) else None
    width, height = header[0] if header is not None else (None, None)
    defects = None
    if reviewed is not None:
        mine = [defect for defect in reviewed if defect["photo_id"] == photo.id]
        if mine and header is None:
            header = _stored_header(io.BytesIO(_read(photos, photo.sha256)))
        defects = [_stored_defect(defect, *header) for defect in mine] if mine else []
    return manifest.Photo(
        path=str(location), view=View(photo.view), sha256=photo.sha256, width=width, height=height, defects=defects
    )


def _read(photos: StoredPhotos, sha256: str) -> bytes:
    if photos.read is None:
        raise ValueError(f"photo {sha256} is not a local file and the export was given no way to read it")
    return photos.read(sha256)


def _stored_header(source: Path | io.BytesIO) -> tuple[tuple[int, int], int] | None:
    """((width, height) as stored, EXIF orientation), from the header only; None when it cannot be read."""
    heic_supported()  # registers the HEIC opener when pillow-heif is installed
    try:
        with Image.open(source) as image:
            return image.size, int(image.getexif().get(ORIENTATION_TAG, 1))
    except (OSError, ValueError):
        return None


def _stored_defect(defect: dict, stored_size: tuple[int, int], orientation: int) -> manifest.Defect:
    x0, y0, x1, y1 = stored_box(tuple(defect["box"]), orientation, stored_size)
    box = manifest.Box(x0=x0, y0=y0, x1=x1, y1=y1)
    return manifest.Defect(type=defect["type"], box=box, source_label="reviewer")


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
