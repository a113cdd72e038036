"""What the item page shows, built from the review API's item document (`routes.review.item_document`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from grading.authenticity import AuthenticityVerdict
from grading.policy import GradePolicy, ReviewReason
from grading.vocabulary import Authenticity
from serving.certificates import current_certificate
from serving.overlays import OverlayKind
from serving.references import reference_photos
from serving.review_records import ReasonCode, ReviewAction
from serving.routes.review import item_document

ACTION_LABELS = {
    ReviewAction.APPROVE: ("a", "Approve", "the model's grade and verdict stand"),
    ReviewAction.OVERRIDE: ("o", "Override grade", "set the grade or authenticity it really has"),
    ReviewAction.CONFIRM_COUNTERFEIT: ("c", "Confirm counterfeit", "reject the item as counterfeit"),
    ReviewAction.INCONCLUSIVE: ("i", "Inconclusive", "cannot tell; escalate or ask for photos"),
}
REASON_LABELS = {
    ReasonCode.MODEL_CORRECT: "Model is correct",
    ReasonCode.MISSED_DEFECT: "Model missed a defect",
    ReasonCode.FALSE_DEFECT: "Model saw a defect that is not there",
    ReasonCode.DESIGN_FEATURE: "A design feature, not damage",
    ReasonCode.SEVERITY_WRONG: "Defect severity is wrong",
    ReasonCode.WRONG_CATEGORY: "Wrong category",
    ReasonCode.COUNTERFEIT_EVIDENCE: "Evidence of a counterfeit",
    ReasonCode.AUTHENTIC_EVIDENCE: "Evidence it is authentic",
    ReasonCode.PHOTO_QUALITY: "Photos too poor to judge",
    ReasonCode.OTHER: "Other (say why in the comment)",
}
AUTHENTICITY_CHOICES = (Authenticity.AUTHENTIC, Authenticity.COUNTERFEIT)  # what a reviewer may establish
IN_QUESTION = {AuthenticityVerdict.INCONCLUSIVE.value, AuthenticityVerdict.SUSPECTED_COUNTERFEIT.value}
QUESTION_REASONS = {ReviewReason.AUTHENTICITY_INCONCLUSIVE.value, ReviewReason.SUSPECTED_COUNTERFEIT.value}
ENROLMENT_ORDER_NOTE = "In enrolment order: no similarities were recorded when this item was graded."


@dataclass(frozen=True)
class FailedCheckView:
    """A photo check the photo failed, worded for the page: "too dark", "13", "at least 60", what to do."""

    name: str
    measured: str
    limit: str
    message: str


@dataclass(frozen=True)
class PhotoView:
    id: str
    view: str
    width: int
    height: int
    urls: dict[str, str]  # "photo", "defects", "anomaly" → this site's image URLs
    stats: dict | None  # the result's per-photo scores
    defects: list[dict]
    usable: bool | None = None  # passed every photo check; None: not checked
    failed_checks: tuple[FailedCheckView, ...] = ()
    replaced_by: int | None = None  # the number (1-based) of the retake graded instead of this photo


@dataclass(frozen=True)
class ReferenceView:
    """A reference photo beside the item: nearest first with its similarity, or in enrolment order without."""

    id: str
    url: str
    alt: str
    caption: str


def item_context(db: Session, item_id: str, policy: GradePolicy) -> dict:
    """The item document plus photos with page URLs and, when authenticity is in question, the references."""
    document = item_document(db, item_id)
    result = document["result"]
    product_line = document["facts"].get("product_line")
    in_question = authenticity_in_question(result)
    references, note = _references_shown(db, result, product_line, policy) if in_question else ([], "")
    return {
        "doc": document,
        "result": result,
        "photos": [_photo_view(item_id, photo, result, document["photos"]) for photo in document["photos"]],
        "authenticity_in_question": in_question,
        "product_line": product_line,
        "references": references,
        "references_note": note,
        "certificate": current_certificate(db, item_id),
    }


def authenticity_in_question(result: dict | None) -> bool:
    if not result:
        return False
    reasons = {reason["code"] for reason in result.get("reasons", [])}
    return result["authenticity"]["verdict"] in IN_QUESTION or bool(reasons & QUESTION_REASONS)


def _photo_view(item_id: str, photo: dict, result: dict | None, photos: list[dict]) -> PhotoView:
    stats = next((p for p in (result or {}).get("photos", []) if p["photo_id"] == photo["id"]), None)
    defects = [d for d in (result or {}).get("defects", []) if d["photo_id"] == photo["id"]]
    return PhotoView(
        photo["id"],
        photo["view"],
        photo["width"],
        photo["height"],
        _photo_urls(item_id, photo["id"], graded=stats is not None),
        stats,
        defects,
        usable=photo.get("usable"),
        failed_checks=tuple(failed_check_view(check) for check in photo.get("failed_checks", [])),
        replaced_by=_number_of(photo.get("replaced_by"), photos),
    )


def _photo_urls(item_id: str, photo_id: str, graded: bool) -> dict[str, str]:
    """The photo and its overlays; a photo the grading did not read (a retake replaced it) has no overlays."""
    base = f"/review/items/{item_id}/photos/{photo_id}"
    return {"photo": base} | {
        kind.value: f"{base}/overlay?kind={kind.value}" if graded else base for kind in OverlayKind
    }


def _number_of(photo_id: str | None, photos: list[dict]) -> int | None:
    return next((number for number, photo in enumerate(photos, 1) if photo["id"] == photo_id), None)


def failed_check_view(check: dict) -> FailedCheckView:
    """A failed check's value against its threshold: below an at-least limit, or above an at-most one."""
    value, threshold = check["value"], check["threshold"]
    limit = f"{'at least' if value < threshold else 'at most'} {_number(threshold)}"
    return FailedCheckView(check["check"].replace("_", " "), _number(value), limit, check["message"])


def _number(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def authentic_threshold(policy: GradePolicy, result: dict | None) -> float | None:
    """The similarity that counts as authentic under the policy that graded the item; None when that policy is no
    longer the active one (its thresholds are not kept) or lets references vouch for nothing (null, or 1, which only
    a copy of a reference reaches)."""
    if not result or result["policy_version"] != policy.version:
        return None
    threshold = policy.authenticity.authentic_similarity_at_least
    return threshold if threshold is not None and threshold < 1 else None


def _nearest_view(rank: int, match: dict, product_line: str | None, threshold: float | None) -> ReferenceView:
    line = f" of {product_line}" if product_line else ""
    similarity = similarity_text(match["similarity"], threshold)
    alt = f"Nearest authentic reference {rank}{line}, similarity {similarity} to the item"
    caption = reference_caption(match["similarity"], threshold)
    return ReferenceView(match["reference_id"], _reference_url(match["reference_id"]), alt, caption)


def reference_caption(similarity: float, threshold: float | None) -> str:
    """The similarity and, given a threshold, whether it reaches it: "similarity 0.91 · reaches the authentic
    threshold 0.85"."""
    caption = f"similarity {similarity_text(similarity, threshold)}"
    if threshold is None:
        return caption
    return f"{caption} · {'reaches' if similarity >= threshold else 'is below'} the authentic threshold {threshold:g}"


def similarity_text(similarity: float, threshold: float | None) -> str:
    """Two decimals, or more where rounding would carry it across the threshold (0.8499 against 0.85)."""
    decimals = 2
    while threshold is not None and decimals < 6 and similarity < threshold <= float(f"{similarity:.{decimals}f}"):
        decimals += 1
    return f"{similarity:.{decimals}f}"


def _references_shown(
    db: Session, result: dict, product_line: str | None, policy: GradePolicy
) -> tuple[list[ReferenceView], str]:
    """The references recorded with the result, nearest first and captioned with their similarity (and, where the
    policy gives one, whether it reaches the authentic threshold), and a note on how they are shown; for a result
    without them (graded before they were recorded or before any were enrolled) the line's, in enrolment order."""
    nearest = result["authenticity"].get("nearest_references", [])
    if not nearest:
        references = _references(db, product_line) if product_line else []
        return references, ENROLMENT_ORDER_NOTE if references else ""
    threshold = authentic_threshold(policy, result)
    views = [_nearest_view(rank, match, product_line, threshold) for rank, match in enumerate(nearest, 1)]
    return views, _nearest_note(policy, result, threshold)


def _nearest_note(policy: GradePolicy, result: dict, threshold: float | None) -> str:
    note = "Nearest first, each with its similarity to the item (the best over the item's photos)"
    if threshold is not None:
        return f"{note}."
    if result["policy_version"] == policy.version:
        return f"{note}; under policy {policy.version} references never vouch for an item on their own."
    return f"{note}; no threshold is shown: the item was graded under policy {result['policy_version']}, not active."


def _references(db: Session, product_line: str) -> list[ReferenceView]:
    rows = reference_photos(db, product_line)
    return [
        ReferenceView(
            row.id,
            _reference_url(row.id),
            f"Enrolled authentic reference {rank} of {product_line}",
            f"reference {rank}",
        )
        for rank, row in enumerate(rows, 1)
    ]


def _reference_url(reference_id: str) -> str:
    return f"/review/references/{reference_id}"
