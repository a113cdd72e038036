"""What the item page shows, built from the review API's item document (`routes.review.item_document`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from grading.authenticity import AuthenticityVerdict
from grading.policy import ReviewReason
from grading.vocabulary import Authenticity
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


@dataclass(frozen=True)
class PhotoView:
    id: str
    view: str
    width: int
    height: int
    urls: dict[str, str]  # "photo", "defects", "anomaly" → this site's image URLs
    stats: dict | None  # the result's per-photo scores
    defects: list[dict]


@dataclass(frozen=True)
class ReferenceView:
    id: str
    url: str


def item_context(db: Session, item_id: str) -> dict:
    """The item document plus photos with page URLs and, when authenticity is in question, the references."""
    document = item_document(db, item_id)
    result = document["result"]
    product_line = document["facts"].get("product_line")
    in_question = authenticity_in_question(result)
    references = _references(db, product_line) if in_question and product_line else []
    return {
        "doc": document,
        "result": result,
        "photos": [_photo_view(item_id, photo, result) for photo in document["photos"]],
        "authenticity_in_question": in_question,
        "product_line": product_line,
        "references": references,
    }


def authenticity_in_question(result: dict | None) -> bool:
    if not result:
        return False
    reasons = {reason["code"] for reason in result.get("reasons", [])}
    return result["authenticity"]["verdict"] in IN_QUESTION or bool(reasons & QUESTION_REASONS)


def _photo_view(item_id: str, photo: dict, result: dict | None) -> PhotoView:
    base = f"/review/items/{item_id}/photos/{photo['id']}"
    urls = {"photo": base} | {kind.value: f"{base}/overlay?kind={kind.value}" for kind in OverlayKind}
    stats = next((p for p in (result or {}).get("photos", []) if p["photo_id"] == photo["id"]), None)
    defects = [d for d in (result or {}).get("defects", []) if d["photo_id"] == photo["id"]]
    return PhotoView(photo["id"], photo["view"], photo["width"], photo["height"], urls, stats, defects)


def _references(db: Session, product_line: str) -> list[ReferenceView]:
    return [ReferenceView(row.id, f"/review/references/{row.id}") for row in reference_photos(db, product_line)]
