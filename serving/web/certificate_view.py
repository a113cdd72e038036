"""What the public certificate pages show: the signed payload in words, its standing, and where to check it."""

from __future__ import annotations

import json

from serving.certificates import standing
from serving.operator_key import OperatorKey
from serving.routes.certificates import PUBLIC_KEY_PATH
from serving.tables import Certificate
from serving.web.qr_code import qr_svg

VERDICT_LABELS = {
    "authentic": "Authentic",
    "counterfeit": "Counterfeit",
    "suspected_counterfeit": "Suspected counterfeit",
    "inconclusive": "Inconclusive",
    "unknown": "Unknown",
    "not_checked": "Not checked",
}
REVIEW_LABELS = {
    "approve": "A reviewer confirmed the grade",
    "override": "A reviewer set the grade",
    "confirm_counterfeit": "A reviewer confirmed a counterfeit",
}


def words(code: str | None) -> str:
    """A code as words: `very_good` → `Very good`."""
    return (code or "").replace("_", " ").capitalize() or "—"


def defect_rows(defects: list[dict]) -> list[dict]:
    """Defects of the same type, view, photo and certainty as one row with a count, in first-seen order."""
    rows: dict[tuple, dict] = {}
    for defect in defects:
        key = (defect["type"], defect["view"], defect["photo_sha256"], defect["certain"])
        rows.setdefault(key, defect | {"count": 0})["count"] += 1
    return list(rows.values())


def certificate_context(row: Certificate, key: OperatorKey, with_qr: bool = False) -> dict:
    payload = json.loads(row.payload)
    verify_url = payload["verify_url"]
    context = {
        "certificate": row,
        "payload": payload,
        "standing": standing(row, key),
        "verify_url": verify_url,
        "json_url": f"/v1/certificates/{row.id}",
        "print_url": f"/certificates/{row.id}",
        "key_url": PUBLIC_KEY_PATH,
        "verdict": VERDICT_LABELS.get(payload["authenticity"]["verdict"], words(payload["authenticity"]["verdict"])),
        "review_label": REVIEW_LABELS.get((payload["review"] or {}).get("action"), "Graded by the model, no review"),
        "defect_rows": defect_rows(payload["defects"]),
        "words": words,
    }
    if with_qr:
        context["qr"] = qr_svg(verify_url, title=f"QR code: {verify_url}")
    return context
