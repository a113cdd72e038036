"""The result of grading one item: flat, frozen, JSON-serialisable with `model_dump(mode="json")`.

Every result names the model, policy and pricing versions that produced it, so a decision can be audited
and reproduced later.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from grading.authenticity import NEAREST_SHOWN, AuthenticityVerdict
from grading.photo_quality import QualityCheck
from grading.policy import RejectReason, ReviewReason
from grading.vocabulary import DefectType, View


class Decision(StrEnum):
    LIST = "list"
    REVIEW = "review"
    REJECT = "reject"


class FloorSource(StrEnum):
    SEVERITY = "severity"
    CRITICAL = "critical"
    WEAR = "wear"  # the wear head is sure the shoes are worn (policy `wear`)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reason(_Frozen):
    """A machine-readable code and a sentence for the reviewer."""

    code: ReviewReason | RejectReason
    detail: str


class CategoryResult(_Frozen):
    declared: str | None
    predicted: str
    probability: float
    used: str


class FloorResult(_Frozen):
    """The strongest floor among defects; `applied` when it made the grade worse than the model's."""

    grade: str
    source: FloorSource
    detail: str
    applied: bool


class GradeResult(_Frozen):
    """`confidence` is the item's grade probability within the policy's band around `model_grade`."""

    name: str
    rank: int
    confidence: float
    model_grade: str
    floor: FloorResult | None


class DefectResult(_Frozen):
    """One defect region; `counted` is False when merged away as a duplicate of another photo's reading, `certain`
    False when its peak is below the bundle's confidence threshold (shown and reviewed, never lowers the grade)."""

    type: DefectType
    photo_id: str
    view: View
    box: tuple[float, float, float, float]
    size_cm: float
    area_cm2: float
    severity: float
    peak: float
    counted: bool
    certain: bool = True
    possible_design_feature: bool = False


class AnomalyResult(_Frozen):
    max_score: float
    per_photo: dict[str, float]
    used: bool


class NearestReference(_Frozen):
    """An enrolled reference of the item's product line: its id and cosine similarity to the item (the best over
    the item's photos)."""

    reference_id: str
    similarity: float


class AuthenticityResult(_Frozen):
    verdict: AuthenticityVerdict
    counterfeit_probability: float
    reference_similarity: float | None
    references: int
    product_line: str | None = None
    product_line_source: str = Field("none", description="declared by the caller, model (nearest prototype) or none")
    reason: str = Field("", description="why the verdict, in words, for kiosk, station and reviewer")
    nearest_references: list[NearestReference] = Field(
        default_factory=list,
        description=f"the enrolled references nearest the item, nearest first (at most {NEAREST_SHOWN}; the first "
        "one's similarity is `reference_similarity`); empty without references and in results from before they "
        "were recorded",
    )


class VoucherOffer(_Frozen):
    cash: float
    store_credit: float


class PriceResult(_Frozen):
    """A station gets `list_price`, a kiosk a `voucher`; provisional while the decision is review."""

    currency: str
    list_price: float | None
    voucher: VoucherOffer | None
    factors: dict[str, float | str]


class ListingResult(_Frozen):
    condition_label: str
    condition_note: str
    department: str


class FailedCheck(_Frozen):
    """A photo check the photo did not pass (`grading.photo_quality`)."""

    check: QualityCheck = Field(description="stable name of the check, e.g. sharpness")
    value: float = Field(description="what the photo measured")
    threshold: float = Field(description="the policy's limit it missed")
    message: str = Field(description="what to do, for the person holding the camera")


class PhotoQualityResult(_Frozen):
    """The photo checks of one graded photo, as judged when it arrived (docs/photo_quality.md)."""

    usable: bool = Field(description="false: graded although it failed a check (the item goes to review)")
    failed: list[FailedCheck]
    measures: dict[str, float] = Field(description="what the checks read, e.g. sharpness and brightness")
    policy_version: str = Field(description="the policy whose thresholds judged the photo")


class PhotoResult(_Frozen):
    photo_id: str
    view: View
    category: str
    category_probability: float
    grade: str
    grade_probability: float
    anomaly_score: float
    wear: float | None = Field(
        None, description="probability the photo shows worn shoes; null: the bundle has no wear head"
    )
    quality: PhotoQualityResult | None = Field(None, description="null: not checked (graded before checks were kept)")


class ItemResult(_Frozen):
    model_name: str
    model_version: str
    policy_version: str
    pricing_version: str
    channel: str
    category: CategoryResult
    grade: GradeResult
    defects: list[DefectResult]
    anomaly: AnomalyResult
    authenticity: AuthenticityResult
    decision: Decision
    reasons: list[Reason]
    price: PriceResult | None
    listing: ListingResult
    photos: list[PhotoResult]
