"""Kiosk photo quality before grading: photos that fail a check get a retake answer, before any inference, or,
where the policy says `on_failure: grade_with_warning`, a grade with a warning (the item then goes to review).

The checks are `grading.photo_quality`'s, with the thresholds of the active policy (swapped by an admin like the
rest of it). They read the pixels intake already decoded, about 1-2 ms a photo.
"""

from __future__ import annotations

from grading.photo_measures import measure_photo
from grading.photo_quality import assess_photos
from grading.policy import GradePolicy
from serving.errors import ApiError
from serving.photo_checks import PhotoCheckRecord, check_record
from serving.schemas import PhotoQualityWarning, RetakeDetails, RetakePhoto
from serving.uploads import Upload

GRADE_WITH_WARNING = "grade_with_warning"


def check_photos(uploads: list[Upload], policy: GradePolicy) -> list[PhotoCheckRecord]:
    """Every check of every photo, in the order sent (later photos are compared with earlier ones)."""
    measures = [measure_photo(upload.photo) for upload in uploads]
    qualities = assess_photos(measures, [upload.view for upload in uploads], policy.photo_quality)
    return [check_record(q, m, policy.version) for q, m in zip(qualities, measures, strict=True)]


def require_usable_photos(uploads: list[Upload], checks: list[PhotoCheckRecord], policy: GradePolicy) -> None:
    """Raise the retake answer (422 `retake_photos`) when a photo failed a check, unless the policy grades anyway."""
    unusable = _unusable(uploads, checks)
    if unusable and policy.photo_quality.on_failure != GRADE_WITH_WARNING:
        details = RetakeDetails(policy_version=policy.version, photos=unusable).model_dump(mode="json")
        raise ApiError(422, "retake_photos", _message(unusable, checks, len(uploads)), details=details)


def quality_warnings(uploads: list[Upload], checks: list[PhotoCheckRecord]) -> list[PhotoQualityWarning]:
    """The warning a graded answer carries when it graded photos that failed a check; none when all passed."""
    unusable = _unusable(uploads, checks)
    if not unusable:
        return []
    advice = _advice(unusable, checks)
    message = f"Graded with {_photos(unusable, len(uploads))} that failed a check; a person reviews it. {advice}"
    return [PhotoQualityWarning(code="photo_quality", message=message, photos=unusable)]


def _unusable(uploads: list[Upload], checks: list[PhotoCheckRecord]) -> list[RetakePhoto]:
    return [
        RetakePhoto(photo=upload.filename, position=position, view=upload.view.value, failed=record.failed)
        for position, (upload, record) in enumerate(zip(uploads, checks, strict=True), 1)
        if not record.usable
    ]


def _message(unusable: list[RetakePhoto], checks: list[PhotoCheckRecord], count: int) -> str:
    """What the kiosk shows: per photo to retake, the advice of the check to fix first (details list them all)."""
    return f"Please take {_photos(unusable, count)} again before we grade the item. {_advice(unusable, checks)}"


def _advice(unusable: list[RetakePhoto], checks: list[PhotoCheckRecord]) -> str:
    return " ".join(f"'{photo.photo}': {checks[photo.position - 1].first_fix.message}" for photo in unusable)


def _photos(unusable: list[RetakePhoto], count: int) -> str:
    return "the photo" if count == 1 else f"{len(unusable)} of the {count} photos"
