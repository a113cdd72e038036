"""Photo quality before grading: photos that fail a check get a retake answer, before any inference.

The checks are `grading.photo_quality`'s, with the thresholds of the active policy (swapped by an admin like the
rest of it). They read the pixels intake already decoded, about 1-2 ms a photo.
"""

from __future__ import annotations

from grading.photo_measures import measure_photo
from grading.photo_quality import PhotoQuality, assess_photos
from grading.policy import GradePolicy
from serving.errors import ApiError
from serving.schemas import FailedCheck, RetakeDetails, RetakePhoto
from serving.uploads import Upload


def photo_quality(uploads: list[Upload], policy: GradePolicy) -> list[PhotoQuality]:
    """Every check of every photo, in the order sent (later photos are compared with earlier ones)."""
    measures = [measure_photo(upload.photo) for upload in uploads]
    return assess_photos(measures, [upload.view for upload in uploads], policy.photo_quality)


def require_usable_photos(uploads: list[Upload], policy: GradePolicy) -> None:
    """Raise the retake answer (422 `retake_photos`) when any photo fails a check; return when all are usable."""
    unusable = [
        (position, upload, quality)
        for position, (upload, quality) in enumerate(zip(uploads, photo_quality(uploads, policy), strict=True), 1)
        if not quality.usable
    ]
    if unusable:
        retakes = [_retake_photo(position, upload, quality) for position, upload, quality in unusable]
        details = RetakeDetails(policy_version=policy.version, photos=retakes).model_dump(mode="json")
        raise ApiError(422, "retake_photos", _message(unusable, len(uploads)), details=details)


def _retake_photo(position: int, upload: Upload, quality: PhotoQuality) -> RetakePhoto:
    failed = [
        FailedCheck(check=c.check, value=round(c.value, 4), threshold=c.threshold, message=c.message)
        for c in quality.failed
    ]
    return RetakePhoto(photo=upload.filename, position=position, view=upload.view.value, failed=failed)


def _message(unusable: list[tuple[int, Upload, PhotoQuality]], count: int) -> str:
    """What the kiosk shows: per photo to retake, the advice of the check to fix first (details list them all)."""
    advice = " ".join(f"'{upload.filename}': {quality.first_fix.message}" for _, upload, quality in unusable)
    photos = "the photo" if count == 1 else f"{len(unusable)} of the {count} photos"
    return f"Please take {photos} again before we grade the item. {advice}"
