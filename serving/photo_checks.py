"""One photo's quality checks as the service keeps them: stored with the photo, shown to stations and reviewers,
recorded in the item's result.

Checks are judged once, when the photo arrives, with the thresholds of the policy active then (`policy_version`),
so what a station operator was told is what the grading and the reviewer see later.
"""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel, ConfigDict

from grading.item_result import FailedCheck, PhotoQualityResult
from grading.photo_measures import PhotoMeasures
from grading.photo_quality import FIX_ORDER, CheckResult, PhotoQuality, QualityCheck
from serving.tables import Photo

DECIMALS = 4


class StoredCheck(BaseModel):
    """One check of one photo, passed or not."""

    model_config = ConfigDict(frozen=True)

    check: QualityCheck
    value: float
    threshold: float
    passed: bool
    message: str


class PhotoCheckRecord(BaseModel):
    """Every check of one photo, what it measured (pHash as 16 hex digits) and the policy that judged it."""

    model_config = ConfigDict(frozen=True)

    policy_version: str
    checks: list[StoredCheck]
    measures: dict[str, float]
    phash: str

    @property
    def usable(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[FailedCheck]:
        return [
            FailedCheck(check=c.check, value=c.value, threshold=c.threshold, message=c.message)
            for c in self.checks
            if not c.passed
        ]

    @property
    def first_fix(self) -> FailedCheck | None:
        """The failed check to fix first (`grading.photo_quality.FIX_ORDER`); None when usable."""
        return min(self.failed, key=lambda failed: FIX_ORDER.index(failed.check), default=None)

    def result(self) -> PhotoQualityResult:
        """What the item's result records of this photo."""
        return PhotoQualityResult(
            usable=self.usable, failed=self.failed, measures=self.measures, policy_version=self.policy_version
        )


def check_record(quality: PhotoQuality, measures: PhotoMeasures, policy_version: str) -> PhotoCheckRecord:
    numbers = {name: round(float(value), DECIMALS) for name, value in asdict(measures).items() if name != "phash"}
    return PhotoCheckRecord(
        policy_version=policy_version,
        checks=[_stored(check) for check in quality.checks],
        measures=numbers,
        phash=f"{measures.phash:016x}",
    )


def _stored(check: CheckResult) -> StoredCheck:
    value, threshold = round(float(check.value), DECIMALS), float(check.threshold)
    return StoredCheck(check=check.check, value=value, threshold=threshold, passed=check.passed, message=check.message)


def stored_record(photo: Photo) -> PhotoCheckRecord | None:
    """The photo's record; None for a photo stored before checks were kept (it counts as usable)."""
    return PhotoCheckRecord.model_validate(photo.quality) if photo.quality else None


def quality_result(record: PhotoCheckRecord | None) -> PhotoQualityResult | None:
    return record.result() if record else None


def photo_is_usable(photo: Photo) -> bool:
    record = stored_record(photo)
    return record is None or record.usable
