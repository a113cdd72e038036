"""The policy's abstain rules: when an item goes to a person, each with a machine-readable `ReviewReason`.

Each rule reads the item's signals (computed once by `grading.item_grading`) and returns zero or more reasons;
the item is reviewed when any rule fires, even if a grade rule would reject it, because an uncertain machine
should not refuse an item alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grading.authenticity import AuthenticityVerdict
from grading.item_result import Reason
from grading.policy import GradePolicy, ReviewReason
from grading.view_merge import ItemDefect
from grading.vocabulary import View
from grading.wear import WearReading


@dataclass(frozen=True)
class ItemSignals:
    """Everything the abstain rules look at, already reduced from the photos' outputs.

    Attributes:
        photo_grades: each photo's most likely grade, by photo id.
        photo_categories: each photo's most likely category and its probability, by photo id.
        known_categories: the bundle's category labels (a declared category outside them cannot be checked).
        unusable_photos: the failed photo checks of each photo graded although it failed one, by photo id.
    """

    station: bool
    views: list[View]
    declared_category: str | None
    predicted_category: str
    category_probability: float
    known_categories: list[str]
    used_category: str
    model_grade: str
    grade_confidence: float
    photo_grades: dict[str, str]
    photo_categories: dict[str, tuple[str, float]]
    anomaly_max: float
    bundle_anomaly_threshold: float
    design_features: list[ItemDefect]
    uncertain_defects: list[ItemDefect]
    unexplained_grade: str | None
    authenticity: AuthenticityVerdict
    authentication_requested: bool
    unusable_photos: dict[str, list[str]] = field(default_factory=dict)
    wear: WearReading | None = None


def review_reasons(signals: ItemSignals, policy: GradePolicy) -> list[Reason]:
    rules = (
        _photos,
        _photo_quality,
        _confidence,
        _category,
        _views_disagree,
        _design,
        _uncertain,
        _wear,
        _anomaly,
        _authenticity,
    )
    return [reason for rule in rules for reason in rule(signals, policy)]


def _reason(code: ReviewReason, detail: str) -> list[Reason]:
    return [Reason(code=code, detail=detail)]


def _photos(signals: ItemSignals, policy: GradePolicy) -> list[Reason]:
    """Station items need enough photos and their category's required views (kiosk items need one photo)."""
    if not signals.station:
        return []
    reasons = []
    needed = policy.abstain.min_station_photos
    if len(signals.views) < needed:
        reasons += _reason(ReviewReason.TOO_FEW_PHOTOS, f"{len(signals.views)} photo(s); stations need {needed}")
    missing = [view.value for view in policy.required_views.for_category(signals.used_category)]
    missing = [view for view in missing if view not in signals.views]
    if missing:
        reasons += _reason(ReviewReason.MISSING_VIEWS, f"{signals.used_category} needs views: {', '.join(missing)}")
    return reasons


def _photo_quality(signals: ItemSignals, policy: GradePolicy) -> list[Reason]:
    """A photo graded although it failed a check (a kiosk policy that grades with a warning, a forced station
    submit): the grade may rest on what the camera could not show."""
    return [
        Reason(
            code=ReviewReason.PHOTO_QUALITY,
            detail=f"photo {photo_id} failed {', '.join(checks)}: judge the grade from the photos or ask for a retake",
        )
        for photo_id, checks in signals.unusable_photos.items()
    ]


def _confidence(signals: ItemSignals, policy: GradePolicy) -> list[Reason]:
    abstain, reasons = policy.abstain, []
    if not (signals.grade_confidence >= abstain.min_grade_confidence):  # NaN reviews too
        detail = f"grade {signals.model_grade} has confidence {signals.grade_confidence:.2f}"
        reasons += _reason(ReviewReason.LOW_CONFIDENCE, f"{detail} < {abstain.min_grade_confidence}")
    if signals.declared_category is None and not (signals.category_probability >= abstain.min_category_probability):
        detail = f"category {signals.predicted_category} has probability {signals.category_probability:.2f}"
        reasons += _reason(ReviewReason.LOW_CONFIDENCE, f"{detail} < {abstain.min_category_probability}")
    return reasons


def _category(signals: ItemSignals, policy: GradePolicy) -> list[Reason]:
    declared = signals.declared_category
    if declared is None or declared not in signals.known_categories or declared == signals.predicted_category:
        return []
    if signals.category_probability < policy.abstain.category_mismatch_probability:
        return []
    detail = f"declared {declared}, photos show {signals.predicted_category} ({signals.category_probability:.2f})"
    return _reason(ReviewReason.CATEGORY_MISMATCH, detail)


def _views_disagree(signals: ItemSignals, policy: GradePolicy) -> list[Reason]:
    """Photos whose grades lie far apart, or that confidently show different categories."""
    reasons = []
    ranks = {photo: policy.rank(grade) for photo, grade in signals.photo_grades.items()}
    if ranks and max(ranks.values()) - min(ranks.values()) >= policy.abstain.views_disagree_grade_steps:
        detail = ", ".join(f"{photo}: {grade}" for photo, grade in signals.photo_grades.items())
        reasons += _reason(ReviewReason.VIEWS_DISAGREE, f"photo grades differ: {detail}")
    sure = {
        photo: category
        for photo, (category, probability) in signals.photo_categories.items()
        if probability >= policy.abstain.min_category_probability
    }
    if len(set(sure.values())) > 1:
        detail = ", ".join(f"{photo}: {category}" for photo, category in sure.items())
        reasons += _reason(ReviewReason.VIEWS_DISAGREE, f"photos show different categories ({detail}); one item?")
    return reasons


def _design(signals: ItemSignals, policy: GradePolicy) -> list[Reason]:
    return [
        Reason(
            code=ReviewReason.POSSIBLE_DESIGN_FEATURE,
            detail=f"{defect.type.value} on {defect.view.value} ({defect.photo_id}) may be intended on this item",
        )
        for defect in signals.design_features
    ]


def _uncertain(signals: ItemSignals, policy: GradePolicy) -> list[Reason]:
    """Defect evidence too weak to lower the grade, and a model grade its defects do not explain."""
    reasons = [
        Reason(
            code=ReviewReason.UNCERTAIN_DEFECT,
            detail=f"possible {defect.type.value} on {defect.view.value} ({defect.photo_id}), peak "
            f"{defect.region.peak:.2f}: too uncertain to lower the grade; check it",
        )
        for defect in signals.uncertain_defects
    ]
    if signals.unexplained_grade is not None:
        reasons += _reason(ReviewReason.GRADE_UNEXPLAINED, signals.unexplained_grade)
    return reasons


def _wear(signals: ItemSignals, policy: GradePolicy) -> list[Reason]:
    """Shoes that may be worn, below the level at which wear lowers the grade."""
    wear = signals.wear
    if wear is None or not wear.suspected:
        return []
    detail = f"{wear.describe()}: too uncertain to lower the grade; check the toe box, midsole and upper for wear"
    return _reason(ReviewReason.WEAR_SUSPECTED, detail)


def _anomaly(signals: ItemSignals, policy: GradePolicy) -> list[Reason]:
    rule = policy.abstain.anomaly
    threshold = rule.score_at_least if rule.score_at_least is not None else signals.bundle_anomaly_threshold
    if not rule.enabled or signals.anomaly_max < threshold:
        return []
    return _reason(ReviewReason.ANOMALY, f"anomaly score {signals.anomaly_max:.2f} >= {threshold}")


def _authenticity(signals: ItemSignals, policy: GradePolicy) -> list[Reason]:
    if signals.authenticity is AuthenticityVerdict.SUSPECTED_COUNTERFEIT:
        return _reason(ReviewReason.SUSPECTED_COUNTERFEIT, "authenticity signals suggest a counterfeit; confirm")
    if signals.authenticity is AuthenticityVerdict.INCONCLUSIVE and signals.authentication_requested:
        return _reason(ReviewReason.AUTHENTICITY_INCONCLUSIVE, "authentication was asked for and is inconclusive")
    return []
