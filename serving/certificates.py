"""Issuing, reissuing and reading certificates; each function works inside the caller's transaction.

An item gets a certificate once its grade is final: graded without review, or decided by a reviewer. Asking again
returns the same certificate while it still reflects the item; a newer decision (or result) revokes it and issues
a new one that names the old one in `supersedes`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.certificate_payload import Evidence, certificate_payload, utc_text
from serving.certificate_signing import ALGORITHM, FORMAT, canonical_json, sign, verify
from serving.errors import ApiError
from serving.item_records import audit, get_item, item_photos, latest_result
from serving.operator_key import OperatorKey
from serving.review_records import ReviewAction
from serving.tables import Certificate, Item, ItemStatus, ReviewDecision, ReviewState, new_id

ID_LENGTH = 32


@dataclass(frozen=True)
class Issuer:
    """Who signs, and the public address verification links start with (e.g. https://grading.example)."""

    key: OperatorKey
    public_url: str

    def verify_url(self, certificate_id: str) -> str:
        return f"{self.public_url}/verify/{certificate_id}"


def issue_certificate(session: Session, item_id: str, issuer: Issuer, actor: str) -> tuple[Certificate, bool]:
    """The item's current certificate, issuing one (and revoking an outdated one) when needed; True if new."""
    item = get_item(session, item_id, for_update=True)
    evidence = final_evidence(session, item)
    current = current_certificate(session, item.id)
    decision_id = evidence.decisions[-1].id if evidence.decisions else None
    if current is not None and (current.result_id, current.decision_id) == (evidence.result.id, decision_id):
        return current, False
    row_supersedes = current.id if current else None
    row = _signed_row(evidence, issuer, decision_id, row_supersedes)
    session.add(row)
    session.flush()
    if current is not None:
        why = "a reviewer's decision" if current.decision_id != decision_id else "the item was graded again"
        _revoke(current, row, f"superseded after {why}")
    audit(session, item.id, actor, "certificate.issued", {"certificate": row.id, "supersedes": row_supersedes})
    return row, True


def reissue_if_certified(session: Session, item_id: str, issuer: Issuer, actor: str) -> Certificate | None:
    """After a reviewer decision: a certified item whose grade is final gets a certificate that reflects it."""
    item = get_item(session, item_id)
    if current_certificate(session, item_id) is None or item.review_state == ReviewState.PENDING:
        return None
    return issue_certificate(session, item_id, issuer, actor)[0]


def final_evidence(session: Session, item: Item) -> Evidence:
    """The rows a certificate reflects, or 409 when the item's grade is not final yet."""
    if item.status != ItemStatus.GRADED:
        raise ApiError(
            409, "not_graded", f"Item {item.id} is {item.status}; a certificate can be issued once it is graded."
        )
    if item.review_state == ReviewState.PENDING:
        raise ApiError(
            409,
            "awaiting_review",
            f"Item {item.id} is waiting for a reviewer's decision; a certificate shows the final grade, so decide"
            f" the item first (POST /v1/review/items/{item.id}/decision), then ask again.",
        )
    result = latest_result(session, item.id)
    if result is None:
        raise ApiError(409, "not_graded", f"Item {item.id} has no grading result; grade it first.")
    return Evidence(item, result, item_photos(session, item.id), decisive_decisions(session, item.id))


def decisive_decisions(session: Session, item_id: str) -> list[ReviewDecision]:
    """Decisions that settle the item (every one but inconclusive), oldest first."""
    query = (
        select(ReviewDecision)
        .where(ReviewDecision.item_id == item_id, ReviewDecision.action != ReviewAction.INCONCLUSIVE)
        .order_by(ReviewDecision.created_at, ReviewDecision.id)
    )
    return list(session.scalars(query))


def _signed_row(evidence: Evidence, issuer: Issuer, decision_id: str | None, supersedes: str | None) -> Certificate:
    certificate_id, now = new_id(), datetime.now(UTC).replace(microsecond=0)
    payload = certificate_payload(evidence, certificate_id, now, issuer.verify_url(certificate_id), supersedes)
    document = sign(issuer.key.private, payload)
    return Certificate(
        id=certificate_id,
        item_id=evidence.item.id,
        result_id=evidence.result.id,
        decision_id=decision_id,
        key_id=document["key_id"],
        payload=canonical_json(payload).decode(),
        signature=document["signature"],
        created_at=now,
    )


def _revoke(old: Certificate, new: Certificate, reason: str) -> None:
    old.revoked_at = new.created_at
    old.revoked_reason = reason
    old.superseded_by = new.id


def current_certificate(session: Session, item_id: str) -> Certificate | None:
    query = select(Certificate).where(Certificate.item_id == item_id, Certificate.revoked_at.is_(None))
    return session.scalars(query.order_by(Certificate.created_at.desc()).limit(1)).first()


def find_certificate(session: Session, certificate_id: str) -> Certificate | None:
    return None if len(certificate_id) > ID_LENGTH else session.get(Certificate, certificate_id)


def get_certificate(session: Session, certificate_id: str) -> Certificate:
    row = find_certificate(session, certificate_id)
    if row is None:
        raise ApiError(
            404,
            "unknown_certificate",
            f"No certificate with id '{certificate_id}'. Check the id printed on the certificate.",
        )
    return row


def document(row: Certificate) -> dict:
    """The signed document as issued: the file a buyer keeps and verifies offline."""
    return {
        "format": FORMAT,
        "algorithm": ALGORITHM,
        "key_id": row.key_id,
        "payload": json.loads(row.payload),
        "signature": row.signature,
    }


@dataclass(frozen=True)
class Standing:
    """What the verification page says: `valid`, `revoked` or `invalid`, and why in words (a sentence that follows
    the state, e.g. "Revoked. On …, superseded after a reviewer's decision (certificate …).")."""

    state: str
    message: str


def standing(row: Certificate, key: OperatorKey) -> Standing:
    if row.revoked_at is not None:
        newer = f" (certificate {row.superseded_by})" if row.superseded_by else ""
        return Standing("revoked", f"On {utc_text(row.revoked_at)}, {row.revoked_reason}{newer}.")
    if row.key_id != key.key_id:
        return Standing("invalid", f"Signed with key {row.key_id}, which this service no longer signs with.")
    checked = verify(document(row), key.public)
    if not checked.valid:
        return Standing("invalid", "The stored certificate does not match its signature; do not trust it.")
    return Standing("valid", f"Signed by this service's key {key.key_id} and not revoked.")
