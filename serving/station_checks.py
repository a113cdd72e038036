"""Station photo checks: each new photo judged on its own and against the item's earlier usable photos.

Unlike the kiosk, a station photo is never refused for its quality: it is stored with its checks, and the item
waits for a retake (`serving.station_readiness`). A retake is compared for near duplicates only with the photos
that passed, never with the failed photo it replaces (a sharp retake of a blurred photo shows the same view).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from grading.photo_measures import PhotoMeasures, hash_distance, measure_photo
from grading.photo_quality import DUPLICATE_MESSAGE, CheckResult, PhotoQuality, QualityCheck, assess_photo
from grading.policy import GradePolicy
from serving.photo_checks import PhotoCheckRecord, check_record, stored_record
from serving.tables import Photo
from serving.uploads import Upload


@dataclass(frozen=True)
class Measured:
    upload: Upload
    measures: PhotoMeasures


def measure_uploads(uploads: list[Upload]) -> list[Measured]:
    return [Measured(upload, measure_photo(upload.photo)) for upload in uploads]


def with_checks(existing: list[Photo], measured: list[Measured], policy: GradePolicy) -> list[Upload]:
    """The uploads, each one the item does not have yet with its checks (photos it has are not attached twice)."""
    attached = {row.sha256 for row in existing}
    usable = [(row.position + 1, int(r.phash, 16)) for row in existing if (r := stored_record(row)) and r.usable]
    checked, number = [], len(existing)
    for photo in measured:
        if photo.upload.sha256 in attached:
            checked.append(photo.upload)
            continue
        number += 1  # as `add_photos` numbers it: after the item's photos, in the order sent
        record = check_one(photo, usable, policy)
        if record.usable:
            usable.append((number, photo.measures.phash))
        checked.append(replace(photo.upload, checks=record))
    return checked


def check_one(photo: Measured, usable: list[tuple[int, int]], policy: GradePolicy) -> PhotoCheckRecord:
    """Every check of one photo; `usable` are (number, pHash) of the item's earlier photos that passed."""
    rules = policy.photo_quality
    checks: tuple[CheckResult, ...] = ()
    if rules.enabled:
        duplicate = nearest_duplicate(photo.measures.phash, usable, rules.distinct_distance_at_least)
        checks = (*assess_photo(photo.measures, rules, photo.upload.view), *((duplicate,) if duplicate else ()))
    return check_record(PhotoQuality(checks), photo.measures, policy.version)


def nearest_duplicate(phash: int, usable: list[tuple[int, int]], threshold: int) -> CheckResult | None:
    """The distance to the closest earlier usable photo; None when there is none."""
    if not usable:
        return None
    number, distance = min(((number, hash_distance(phash, other)) for number, other in usable), key=lambda p: p[1])
    message = DUPLICATE_MESSAGE.format(other=number)
    return CheckResult(QualityCheck.NEAR_DUPLICATE, distance, threshold, distance >= threshold, message)
