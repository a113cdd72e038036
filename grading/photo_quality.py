"""Photo quality checks: ask for a retake before a blurred, dark or badly framed photo becomes a bad grade.

`grading.photo_measures` turns a photo into numbers; this module compares them with the policy's
`photo_quality` section (`PhotoQualityPolicy`). Each check has a stable name, the measured value, the threshold
and a message for the person holding the camera. The thresholds were fitted on real phone photos so that
together they refuse at most 2% of them (`secondlook photos quality`, docs/photo_quality.md); what each measure
can and cannot see is in `grading.photo_measures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from grading.photo_measures import PhotoMeasures, hash_distance
from grading.vocabulary import View

HASH_BITS = 64


class QualityCheck(StrEnum):
    """The name of one photo check; stable across versions, so clients may branch on it."""

    SHARPNESS = "sharpness"
    SHAKE = "shake"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    CLIPPED_SHADOWS = "clipped_shadows"
    CLIPPED_HIGHLIGHTS = "clipped_highlights"
    TOO_SMALL = "too_small"
    ITEM_COVERAGE = "item_coverage"
    CUT_OFF = "cut_off"
    FRAMING = "framing"
    SMEARED = "smeared"
    NEAR_DUPLICATE = "near_duplicate"


class PhotoQualityPolicy(BaseModel):
    """Thresholds of the photo checks: the policy file's `photo_quality` section (docs/photo_quality.md).

    The defaults are the fitted values the shipped policy holds. `framing_exempt_views` are close-ups by design,
    where a frame full of the item is right: the coverage and cut-off checks skip them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    sharpness_at_least: float = Field(25.0, ge=0)
    shake_at_most: float = Field(0.58, ge=0, le=1)
    highlight_level_at_least: float = Field(100.0, ge=0, le=255)
    brightness_at_most: float = Field(220.0, ge=0, le=255)
    clipped_shadows_at_most: float = Field(0.8, ge=0, le=1)
    clipped_highlights_at_most: float = Field(0.2, ge=0, le=1)
    clipped_highlights_when_brightness_at_least: float = Field(
        0.0, ge=0, le=255, description="check clipped highlights only in photos at least this bright (0: every photo)"
    )
    short_side_at_least: int = Field(128, ge=1)
    item_coverage_at_least: float = Field(0.02, ge=0, le=1)
    cut_off_at_most: float = Field(0.6, ge=0, le=1)
    badly_framed_at_most: float = Field(
        0.64, ge=0, le=1, description="the framing network's probability that the item is not wholly in view"
    )
    smeared_at_most: float = Field(
        0.54, ge=0, le=1, description="the framing network's probability that a moving camera smeared the photo"
    )
    distinct_distance_at_least: int = Field(
        6, ge=0, le=HASH_BITS, description="bits two photos of one item must differ by; closer is a duplicate"
    )
    framing_exempt_views: list[View] = Field(default_factory=lambda: [View.DETAIL, View.LABEL])
    on_failure: Literal["retake", "grade_with_warning"] = Field(
        "retake",
        description="what a kiosk does with a photo that fails: answer retake_photos before grading, or grade with a"
        " warning and send the item to review (photo_quality); stations always keep the photo and wait for a retake",
    )


@dataclass(frozen=True)
class CheckResult:
    """One check of one photo: the measured value against the policy's threshold.

    Attributes:
        message: what to do, written for the person holding the camera (meaningful when the check failed).
    """

    check: QualityCheck
    value: float
    threshold: float
    passed: bool
    message: str


class Rule(NamedTuple):
    """How one check reads `PhotoMeasures` and `PhotoQualityPolicy`."""

    check: QualityCheck
    measure: str  # attribute of PhotoMeasures
    threshold: str  # attribute of PhotoQualityPolicy
    at_least: bool  # True: the value must reach the threshold; False: it must not exceed it
    framing: bool  # skipped for the policy's framing-exempt views
    message: str
    only_if: tuple[str, str] | None = None  # (measure, policy field): applies when the measure reaches the field


RULES: tuple[Rule, ...] = (
    Rule(
        QualityCheck.SHARPNESS,
        "sharpness",
        "sharpness_at_least",
        at_least=True,
        framing=False,
        message="The photo is blurred: hold the phone still, let it focus on the item and try again.",
    ),
    Rule(
        QualityCheck.SHAKE,
        "shake",
        "shake_at_most",
        at_least=False,
        framing=False,
        message="The photo is smeared: hold the phone still with both hands while it takes the photo.",
    ),
    Rule(
        QualityCheck.TOO_DARK,
        "highlight_level",
        "highlight_level_at_least",
        at_least=True,
        framing=False,
        message="The photo is too dark: turn on more light or move to a brighter spot and try again.",
    ),
    Rule(
        QualityCheck.TOO_BRIGHT,
        "brightness",
        "brightness_at_most",
        at_least=False,
        framing=False,
        message="The photo is too bright: move out of direct light or turn off the flash and try again.",
    ),
    Rule(
        QualityCheck.CLIPPED_SHADOWS,
        "clipped_shadows",
        "clipped_shadows_at_most",
        at_least=False,
        framing=False,
        message="Much of the photo is black: light the item evenly, without deep shadows, and try again.",
    ),
    Rule(
        QualityCheck.CLIPPED_HIGHLIGHTS,
        "clipped_highlights",
        "clipped_highlights_at_most",
        at_least=False,
        framing=False,
        message="Much of the item is washed out to white: keep glare and direct light off it and try again.",
        only_if=("brightness", "clipped_highlights_when_brightness_at_least"),
    ),
    Rule(
        QualityCheck.TOO_SMALL,
        "short_side",
        "short_side_at_least",
        at_least=True,
        framing=False,
        message="The photo is too small to show details: send it at the camera's full resolution.",
    ),
    Rule(
        QualityCheck.ITEM_COVERAGE,
        "item_coverage",
        "item_coverage_at_least",
        at_least=True,
        framing=True,
        message="We can't make out the item: lay it on a plain surface of another colour, all of it in the frame.",
    ),
    Rule(
        QualityCheck.CUT_OFF,
        "cut_off",
        "cut_off_at_most",
        at_least=False,
        framing=True,
        message="Part of the item is outside the photo: step back and centre the whole item in the frame.",
    ),
    Rule(
        QualityCheck.FRAMING,
        "badly_framed",
        "badly_framed_at_most",
        at_least=False,
        framing=True,
        message="The whole item is not in the photo: step back until all of it fits in the frame, then centre it.",
    ),
    Rule(
        QualityCheck.SMEARED,
        "smeared",
        "smeared_at_most",
        at_least=False,
        framing=False,
        message="The photo is smeared: hold the phone still with both hands while it takes the photo.",
    ),
)
# What to fix first when a photo fails several checks: a dark or tiny photo also reads as blurred and unframed.
FIX_ORDER: tuple[QualityCheck, ...] = (
    QualityCheck.TOO_SMALL,
    QualityCheck.TOO_DARK,
    QualityCheck.TOO_BRIGHT,
    QualityCheck.CLIPPED_HIGHLIGHTS,
    QualityCheck.CLIPPED_SHADOWS,
    QualityCheck.SHARPNESS,
    QualityCheck.SHAKE,
    QualityCheck.SMEARED,
    QualityCheck.ITEM_COVERAGE,
    QualityCheck.FRAMING,
    QualityCheck.CUT_OFF,
    QualityCheck.NEAR_DUPLICATE,
)
DUPLICATE_MESSAGE = "This photo shows the same as photo {other}: turn the item over or show another side."


def assess_photo(
    measures: PhotoMeasures, policy: PhotoQualityPolicy, view: View = View.UNSPECIFIED
) -> list[CheckResult]:
    """Every check that applies to one photo on its own, passed or not (framing checks skip exempt views)."""
    framing = view not in policy.framing_exempt_views
    applying = [rule for rule in RULES if (framing or not rule.framing) and applies_to(rule, measures, policy)]
    return [_apply(rule, measures, policy) for rule in applying]


def applies_to(rule: Rule, measures: PhotoMeasures, policy: PhotoQualityPolicy) -> bool:
    """False for a conditional check whose condition the photo does not meet."""
    if rule.only_if is None:
        return True
    measure, threshold = rule.only_if
    return getattr(measures, measure) >= getattr(policy, threshold)


def _apply(rule: Rule, measures: PhotoMeasures, policy: PhotoQualityPolicy) -> CheckResult:
    value, threshold = float(getattr(measures, rule.measure)), float(getattr(policy, rule.threshold))
    passed = value >= threshold if rule.at_least else value <= threshold
    return CheckResult(rule.check, value, threshold, passed, rule.message)


def duplicate_checks(measures: Sequence[PhotoMeasures], policy: PhotoQualityPolicy) -> list[CheckResult | None]:
    """Per photo, its distance to the closest earlier photo of the item (None for the first photo).

    A later photo closer than `distinct_distance_at_least` bits to an earlier one fails; the earlier one stays.
    """
    results: list[CheckResult | None] = [None] if measures else []
    for index in range(1, len(measures)):
        distances = [hash_distance(measures[index].phash, earlier.phash) for earlier in measures[:index]]
        closest = min(range(index), key=distances.__getitem__)
        value, threshold = distances[closest], policy.distinct_distance_at_least
        message = DUPLICATE_MESSAGE.format(other=closest + 1)
        results.append(CheckResult(QualityCheck.NEAR_DUPLICATE, value, threshold, value >= threshold, message))
    return results


@dataclass(frozen=True)
class PhotoQuality:
    """Every check of one photo of an item."""

    checks: tuple[CheckResult, ...]

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if not check.passed)

    @property
    def usable(self) -> bool:
        return not self.failed

    @property
    def first_fix(self) -> CheckResult | None:
        """The failed check to fix first (`FIX_ORDER`), whose message is the one to show; None when usable."""
        return min(self.failed, key=lambda check: FIX_ORDER.index(check.check), default=None)


def assess_photos(
    measures: Sequence[PhotoMeasures], views: Sequence[View], policy: PhotoQualityPolicy
) -> list[PhotoQuality]:
    """Every photo of one item (in the order sent) checked on its own and against the item's earlier photos.

    With `policy.enabled` false nothing is checked and every photo is usable.
    """
    if not policy.enabled:
        return [PhotoQuality(()) for _ in measures]
    duplicates = duplicate_checks(measures, policy)
    return [
        PhotoQuality((*assess_photo(m, policy, view), *((duplicate,) if duplicate else ())))
        for m, view, duplicate in zip(measures, views, duplicates, strict=True)
    ]
