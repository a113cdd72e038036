"""Grading one item: its photos' network outputs, the caller's facts, the policy and pricing to an `ItemResult`.

Steps: check the evidence against the bundle's labels; find defect regions per photo and size them; merge
views (`grading.view_merge`); average the photos' grade and category probabilities; floor the grade and find
rejections (`grading.grade_rules`); assess authenticity; collect review reasons (`grading.review_rules`);
price and write the listing fields. Decision: review when any review reason fires, else reject when a rejection
applies, else list.
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from enum import StrEnum
from typing import NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from grading import listing
from grading.authenticity import AuthenticityAssessment, ModelBand, ReferenceGallery, assess
from grading.bundle import BundleMetadata
from grading.defect_regions import DefectRegion, find_regions
from grading.grade_decision import median_grade
from grading.grade_rules import GradeOutcome, ItemTraits, apply_grade_rules
from grading.intake import Photo
from grading.item_result import (
    AnomalyResult,
    AuthenticityResult,
    CategoryResult,
    Decision,
    DefectResult,
    GradeResult,
    ItemResult,
    ListingResult,
    NearestReference,
    PhotoQualityResult,
    PhotoResult,
    PriceResult,
    VoucherOffer,
)
from grading.network_outputs import NetworkOutputs, map_outputs
from grading.policy import GradePolicy
from grading.pricing import PricingConfig, check_pricing_against_policy, quote
from grading.review_rules import ItemSignals, review_reasons
from grading.view_merge import ItemDefect, measure, merge_views
from grading.vocabulary import View
from grading.wear import WearReading, read_wear, wear_floor

__all__ = ["Channel", "Decision", "ItemFacts", "ItemResult", "PhotoEvidence", "grade_item", "split_outputs"]


class Channel(StrEnum):
    KIOSK = "kiosk"
    STATION = "station"


class ItemFacts(BaseModel):
    """What the caller declares about the item; everything but the channel is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel
    sku: str | None = None
    brand: str | None = None
    category: str | None = None
    product_line: str | None = None
    program: str | None = None
    material: str | None = None
    tags: list[str] = Field(default_factory=list)
    authenticate: bool = False


class PhotoEvidence(NamedTuple):
    """One photo and its network outputs, each array without the batch axis (see `split_outputs`), and its photo
    checks (None: not checked); a photo graded although it failed a check sends the item to review."""

    photo_id: str
    view: View
    photo: Photo
    outputs: NetworkOutputs
    quality: PhotoQualityResult | None = None


def split_outputs(batch: NetworkOutputs) -> list[NetworkOutputs]:
    """One `NetworkOutputs` per photo of a batch, the batch axis removed."""
    sizes = {name: len(array) for name, array in zip(NetworkOutputs._fields, batch, strict=True) if array is not None}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"network outputs disagree on the batch size: {sizes}")
    return [map_outputs(batch, lambda array, row=index: array[row]) for index in range(len(batch.anomaly_score))]


def grade_item(
    facts: ItemFacts,
    evidence: list[PhotoEvidence],
    model: BundleMetadata,
    policy: GradePolicy,
    pricing: PricingConfig,
    references: ReferenceGallery | None = None,
    when: datetime.date | None = None,
) -> ItemResult:
    """Grade one item from its photos; raise ValueError when the evidence does not fit the bundle or policy.

    Raises `grading.pricing.PricingError` (a ValueError) when the pricing's grade names do not fit the policy.

    Args:
        when: the date for seasonal pricing; today when omitted.
    """
    check_evidence(evidence, model, policy)
    check_pricing_against_policy(pricing, policy)
    category = _category(facts, evidence, model)
    defects = merge_views(_defects(evidence, model, policy, category.used))
    model_grade, confidence = _model_grade(evidence, policy)
    traits = ItemTraits(category=category.used, material=facts.material, tags=facts.tags)
    grade_probs = np.mean([item.outputs.grade_probs for item in evidence], axis=0)
    wear = read_wear(evidence, model.thresholds, policy, category.used, facts.product_line)
    outcome = apply_grade_rules(model_grade, defects, traits, policy, grade_probs, wear_floor(wear, policy))
    requested = facts.authenticate or (facts.program is not None and facts.program in policy.authenticity.programs)
    authenticity = _authenticity(facts, evidence, model, policy, references, requested)
    signals = _signals(
        facts, evidence, model, category, model_grade, confidence, outcome, authenticity, requested, wear
    )
    reviews = review_reasons(signals, policy)
    decision = Decision.REVIEW if reviews else Decision.REJECT if outcome.rejections else Decision.LIST
    return ItemResult(
        model_name=model.name,
        model_version=model.version,
        policy_version=policy.version,
        pricing_version=pricing.version,
        channel=facts.channel.value,
        category=category,
        grade=GradeResult(
            name=outcome.grade,
            rank=policy.rank(outcome.grade),
            confidence=round(confidence, 4),
            model_grade=model_grade,
            floor=outcome.floor,
        ),
        defects=[_defect_result(defect, outcome) for defect in defects],
        anomaly=_anomaly(evidence, policy),
        authenticity=_authenticity_result(authenticity),
        decision=decision,
        reasons=reviews + outcome.rejections,
        price=_price(facts, category.used, outcome.grade, policy, pricing, when or datetime.date.today()),
        listing=_listing(facts, category.used, outcome, defects, pricing),
        photos=[_photo_result(item, model) for item in evidence],
    )


def check_evidence(evidence: list[PhotoEvidence], model: BundleMetadata, policy: GradePolicy) -> None:
    """Raise ValueError unless there are photos with unique ids whose finite arrays match the bundle's labels."""
    if not evidence:
        raise ValueError("an item needs at least one photo; got none")
    ids = [item.photo_id for item in evidence]
    if len(set(ids)) != len(ids):
        raise ValueError(f"photo ids must be unique within an item; got {ids}")
    if policy.grades != model.labels.grades:
        raise ValueError(
            f"policy {policy.version} grades {policy.grades} differ from bundle {model.version} grades "
            f"{model.labels.grades}; use a policy written for this bundle's grade scale"
        )
    for item in evidence:
        _check_shapes(item, model)
        _check_values(item)


PROBABILITY_VECTORS = ("category_probs", "grade_probs")


def _check_values(item: PhotoEvidence) -> None:
    """Refuse broken model outputs: NaN or infinite values anywhere, or a probability vector without mass."""
    for name in NetworkOutputs._fields:
        if getattr(item.outputs, name) is not None and not np.isfinite(getattr(item.outputs, name)).all():
            raise ValueError(
                f"photo {item.photo_id}: model output {name} contains NaN or infinite values; the model run is "
                "broken for this photo, so it cannot be graded (check the bundle and retake or re-run the photo)"
            )
    for name in PROBABILITY_VECTORS:
        total = float(np.sum(getattr(item.outputs, name)))
        if not total > 0:
            raise ValueError(
                f"photo {item.photo_id}: model output {name} sums to {total:g}, but probabilities must sum to more "
                "than 0; the model run is broken for this photo, so it cannot be graded"
            )
    if np.size(item.outputs.embedding) == 0:
        raise ValueError(f"photo {item.photo_id}: model output embedding is empty; use a bundle that emits embeddings")


def _check_shapes(item: PhotoEvidence, model: BundleMetadata) -> None:
    labels, outputs = model.labels, item.outputs
    expected = {
        "defect_probs": (3, len(labels.defect_types) + 1),
        "category_probs": (1, len(labels.categories)),
        "grade_probs": (1, len(labels.grades)),
        "embedding": (1, None),
        "anomaly_score": (0, None),
        "counterfeit_prob": (0, None),
    }
    for name, (ndim, first) in expected.items():
        shape = np.shape(getattr(outputs, name))
        if len(shape) != ndim or (first is not None and shape[0] != first):
            raise ValueError(
                f"photo {item.photo_id}: {name} has shape {shape}, but bundle {model.name} {model.version} expects "
                f"{ndim} axes{f' starting with {first}' if first else ''} per photo (batch axis removed; "
                "use split_outputs on a batch)"
            )


def _category(facts: ItemFacts, evidence: list[PhotoEvidence], model: BundleMetadata) -> CategoryResult:
    probs = np.mean([item.outputs.category_probs for item in evidence], axis=0)
    best = int(probs.argmax())
    predicted = model.labels.categories[best]
    declared = (facts.category or "").strip().lower() or None  # a blank declaration declares nothing
    return CategoryResult(
        declared=declared, predicted=predicted, probability=round(float(probs[best]), 4), used=declared or predicted
    )


def _defects(
    evidence: list[PhotoEvidence], model: BundleMetadata, policy: GradePolicy, category: str
) -> list[ItemDefect]:
    types, presence = model.labels.defect_types, model.thresholds.defect_presence
    return [
        replace(measure(region, item.photo_id, item.view, category, policy.severity), certain=_certain(region, model))
        for item in evidence
        for region in find_regions(item.outputs.defect_probs, types, presence, item.photo)
    ]


def _certain(region: DefectRegion, model: BundleMetadata) -> bool:
    """The region's peak reaches the bundle's confidence threshold (its presence threshold where none is set)."""
    thresholds = model.thresholds
    name = region.type.value
    return region.peak >= thresholds.defect_confident.get(name, thresholds.defect_presence.get(name, 0.0))


def _model_grade(evidence: list[PhotoEvidence], policy: GradePolicy) -> tuple[str, float]:
    """The ordinal median of the photos' mean grade probabilities, and the mass within the confidence band."""
    probs = np.mean([item.outputs.grade_probs for item in evidence], axis=0)
    rank = median_grade(probs)
    band = policy.abstain.grade_confidence_band
    confidence = float(probs[max(0, rank - band) : rank + band + 1].sum() / probs.sum())
    return policy.grades[min(rank, len(probs) - 1)], confidence


def _authenticity(
    facts: ItemFacts,
    evidence: list[PhotoEvidence],
    model: BundleMetadata,
    policy: GradePolicy,
    references: ReferenceGallery | None,
    requested: bool,
) -> AuthenticityAssessment:
    return assess(
        embeddings=np.stack([item.outputs.embedding for item in evidence]),
        counterfeit_probs=np.array([float(item.outputs.counterfeit_prob) for item in evidence]),
        product_line=facts.product_line,
        requested=requested,
        gallery=references,
        counterfeit_above=model.thresholds.counterfeit_above,
        authentic_below=model.thresholds.authentic_below,
        policy=policy.authenticity,
        band=ModelBand(
            model.thresholds.counterfeit_above,
            model.thresholds.authentic_below,
            tuple(model.labels.product_lines),
            model.calibration.product_line_prototypes,
        ),
    )


def _authenticity_result(assessment: AuthenticityAssessment) -> AuthenticityResult:
    nearest = [NearestReference(**match._asdict()) for match in assessment.nearest_references]
    return AuthenticityResult(**(vars(assessment) | {"nearest_references": nearest}))


def _signals(
    facts: ItemFacts,
    evidence: list[PhotoEvidence],
    model: BundleMetadata,
    category: CategoryResult,
    model_grade: str,
    confidence: float,
    outcome: GradeOutcome,
    authenticity: AuthenticityAssessment,
    requested: bool,
    wear: WearReading | None,
) -> ItemSignals:
    labels = model.labels
    return ItemSignals(
        station=facts.channel is Channel.STATION,
        views=[item.view for item in evidence],
        declared_category=category.declared,
        predicted_category=category.predicted,
        category_probability=category.probability,
        known_categories=labels.categories,
        used_category=category.used,
        model_grade=model_grade,
        grade_confidence=confidence,
        photo_grades={item.photo_id: labels.grades[median_grade(item.outputs.grade_probs)] for item in evidence},
        photo_categories={item.photo_id: _photo_category(item, model) for item in evidence},
        anomaly_max=max(float(item.outputs.anomaly_score) for item in evidence),
        bundle_anomaly_threshold=model.thresholds.anomaly,
        design_features=outcome.design_features,
        uncertain_defects=outcome.uncertain,
        unexplained_grade=outcome.unexplained,
        authenticity=authenticity.verdict,
        authentication_requested=requested,
        unusable_photos=_unusable_photos(evidence),
        wear=wear,
    )


def _unusable_photos(evidence: list[PhotoEvidence]) -> dict[str, list[str]]:
    """The failed checks of each photo graded although it failed one, by photo id."""
    return {
        item.photo_id: [failed.check.value for failed in item.quality.failed]
        for item in evidence
        if item.quality is not None and not item.quality.usable
    }


def _photo_category(item: PhotoEvidence, model: BundleMetadata) -> tuple[str, float]:
    best = int(item.outputs.category_probs.argmax())
    return model.labels.categories[best], float(item.outputs.category_probs[best])


def _defect_result(defect: ItemDefect, outcome: GradeOutcome) -> DefectResult:
    return DefectResult(
        type=defect.type,
        photo_id=defect.photo_id,
        view=defect.view,
        box=defect.region.box,
        size_cm=defect.size_cm,
        area_cm2=defect.area_cm2,
        severity=defect.severity,
        peak=round(defect.region.peak, 4),
        counted=defect.counted,
        certain=defect.certain,
        possible_design_feature=defect in outcome.design_features,
    )


def _anomaly(evidence: list[PhotoEvidence], policy: GradePolicy) -> AnomalyResult:
    scores = {item.photo_id: round(float(item.outputs.anomaly_score), 4) for item in evidence}
    return AnomalyResult(max_score=max(scores.values()), per_photo=scores, used=policy.abstain.anomaly.enabled)


def _price(
    facts: ItemFacts, category: str, grade: str, policy: GradePolicy, pricing: PricingConfig, when: datetime.date
) -> PriceResult | None:
    """No price for a rejected grade; otherwise a kiosk voucher offer or a station list price."""
    if grade == policy.grades[-1]:
        return None
    kiosk = facts.channel is Channel.KIOSK
    offer = quote(pricing, grade, kiosk, when, category, facts.brand, facts.product_line)
    voucher = VoucherOffer(cash=offer.cash, store_credit=offer.store_credit) if kiosk else None
    return PriceResult(currency=offer.currency, list_price=offer.list_price, voucher=voucher, factors=offer.factors)


def _listing(
    facts: ItemFacts, category: str, outcome: GradeOutcome, defects: list[ItemDefect], pricing: PricingConfig
) -> ListingResult:
    by_design = frozenset(defect.type for defect in outcome.design_features)
    return ListingResult(
        condition_label=listing.condition_label(outcome.grade, pricing.listing),
        condition_note=listing.condition_note([defect for defect in defects if defect.certain], by_design),
        department=listing.department(pricing.listing.departments, category, facts.material, facts.tags),
    )


def _photo_result(item: PhotoEvidence, model: BundleMetadata) -> PhotoResult:
    category, probability = _photo_category(item, model)
    grade = median_grade(item.outputs.grade_probs)
    return PhotoResult(
        photo_id=item.photo_id,
        view=item.view,
        category=category,
        category_probability=round(probability, 4),
        grade=model.labels.grades[grade],
        grade_probability=round(float(item.outputs.grade_probs[grade]), 4),
        anomaly_score=round(float(item.outputs.anomaly_score), 4),
        wear=None if item.outputs.wear_prob is None else round(float(item.outputs.wear_prob), 4),
        quality=item.quality,
    )
