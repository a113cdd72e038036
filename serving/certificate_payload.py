"""What a certificate says: the item's final grade and verdict (after review), its evidence and versions.

Only public facts of the item (category, brand, product line, sku) and content hashes of its photos go in: no API
key, station, program or tag (they can name the seller), no price, and no floats (so any JSON library writes the
same canonical bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from serving.review_records import ReviewAction
from serving.tables import Item, Photo, Result, ReviewDecision

PUBLIC_FACTS = ("brand", "product_line", "sku")


@dataclass(frozen=True)
class Evidence:
    """The rows a certificate reflects: the latest result and the decisive reviewer decisions, oldest first."""

    item: Item
    result: Result
    photos: list[Photo]
    decisions: list[ReviewDecision]


def certificate_payload(
    evidence: Evidence, certificate_id: str, issued_at: datetime, verify_url: str, supersedes: str | None
) -> dict:
    item, result = evidence.item, evidence.result
    return {
        "certificate_id": certificate_id,
        "supersedes": supersedes,
        "verify_url": verify_url,
        "issued_at": utc_text(issued_at),
        "item": {"id": item.id, "category": item.category} | {name: item.facts.get(name) for name in PUBLIC_FACTS},
        "grade": item.grade,
        "authenticity": authenticity(result, evidence.decisions),
        "defects": defects(result, evidence.photos),
        "photos": photos(result, evidence.photos),
        "review": review(evidence.decisions),
        "graded_at": utc_text(result.created_at),
        "versions": {
            "model": result.body.get("model_name"),
            "model_version": result.model_version,
            "policy_version": result.policy_version,
            "pricing_version": result.pricing_version,
        },
    }


def utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC to the second (SQLite hands back naive datetimes; they are UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def authenticity(result: Result, decisions: list[ReviewDecision]) -> dict:
    """The model's verdict, then each reviewer decision that says otherwise, in order (the last one stands)."""
    verdict, source = (result.body.get("authenticity") or {}).get("verdict", "not_checked"), "model"
    for decision in decisions:
        if decision.action == ReviewAction.CONFIRM_COUNTERFEIT:
            verdict, source = "counterfeit", "reviewer"
        elif decision.action == ReviewAction.OVERRIDE and decision.authenticity:
            verdict, source = decision.authenticity, "reviewer"
    return {"verdict": verdict, "decided_by": source}


def defects(result: Result, photo_rows: list[Photo]) -> list[dict]:
    """Each counted defect (a defect seen twice is counted once): its type, view, and its photo's sha256."""
    hashes = {photo.id: photo.sha256 for photo in photo_rows}
    return [
        {
            "type": defect["type"],
            "view": defect["view"],
            "photo_sha256": hashes.get(defect["photo_id"]),
            "certain": bool(defect.get("certain", True)),
        }
        for defect in result.body.get("defects", [])
        if defect.get("counted", True)
    ]


def photos(result: Result, photo_rows: list[Photo]) -> list[dict]:
    """The photos the grade was made from, in the result's order."""
    rows = {photo.id: photo for photo in photo_rows}
    used = [rows[p["photo_id"]] for p in result.body.get("photos", []) if p["photo_id"] in rows]
    return [{"view": photo.view, "sha256": photo.sha256} for photo in used]


def review(decisions: list[ReviewDecision]) -> dict | None:
    """The last decisive review (never who made it), or None for an item graded without review."""
    if not decisions:
        return None
    last = decisions[-1]
    return {"action": last.action, "decided_at": utc_text(last.created_at)}
