"""Certificate API: reviewers issue an item's certificate; anyone may fetch a certificate, its standing, and the
operator's public key (certificates hold no personal data, and their ids are 128 random bits)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from serving.certificates import (
    Issuer,
    current_certificate,
    document,
    get_certificate,
    issue_certificate,
    standing,
)
from serving.dependencies import ReviewerCaller, RuntimeDep
from serving.errors import ApiError
from serving.item_records import get_item
from serving.operator_key import OperatorKey
from serving.tables import Certificate

router = APIRouter(tags=["certificates"])
PUBLIC_KEY_PATH = "/.well-known/secondlook-certificate-key.pem"


def operator_key(request: Request) -> OperatorKey:
    return request.app.state.operator_key


def issuer_for(request: Request) -> Issuer:
    """The operator's key and the public base URL (the `public_url` setting, else the address the call came to)."""
    public_url = request.app.state.runtime.settings.public_url or str(request.base_url).rstrip("/")
    return Issuer(operator_key(request), public_url)


IssuerDep = Annotated[Issuer, Depends(issuer_for)]
KeyDep = Annotated[OperatorKey, Depends(operator_key)]


def answer(row: Certificate, key: OperatorKey) -> dict:
    """A certificate for the API: its standing, where to see it, and the signed document."""
    state = standing(row, key)
    links = {"json": f"/v1/certificates/{row.id}", "print": f"/certificates/{row.id}"}
    links["verify"] = document(row)["payload"]["verify_url"]
    return {"certificate_id": row.id, "item_id": row.item_id, "status": state.state, "message": state.message} | {
        "links": links,
        "document": document(row),
    }


@router.post(
    "/v1/review/items/{item_id}/certificate",
    summary="Issue the item's certificate (or return it while it still reflects the item)",
    description=(
        "The item must be graded and not waiting for review (409 `awaiting_review` otherwise). Answers 201 with a"
        " new certificate, or 200 with the current one when nothing changed since. A later reviewer decision"
        " revokes it and issues a new one."
    ),
)
def issue(runtime: RuntimeDep, caller: ReviewerCaller, issuer: IssuerDep, item_id: str, response: Response) -> dict:
    with runtime.sessions.begin() as session:
        row, created = issue_certificate(session, item_id, issuer, caller.name)
    response.status_code = 201 if created else 200
    return answer(row, issuer.key)


@router.get("/v1/review/items/{item_id}/certificate", summary="The item's current certificate")
def current(runtime: RuntimeDep, _caller: ReviewerCaller, key: KeyDep, item_id: str) -> dict:
    with runtime.sessions() as session:
        get_item(session, item_id)
        row = current_certificate(session, item_id)
    if row is None:
        message = f"Item {item_id} has no certificate yet; issue one with POST /v1/review/items/{item_id}/certificate."
        raise ApiError(404, "no_certificate", message)
    return answer(row, key)


@router.get("/v1/certificates/{certificate_id}", summary="A certificate as signed (no key needed)")
def certificate_file(runtime: RuntimeDep, certificate_id: str) -> JSONResponse:
    with runtime.sessions() as session:
        row = get_certificate(session, certificate_id)
    headers = {"Content-Disposition": f'attachment; filename="certificate-{row.id}.json"'}
    return JSONResponse(document(row), headers=headers)


@router.get("/v1/certificates/{certificate_id}/status", summary="Whether a certificate is valid or revoked")
def certificate_status(runtime: RuntimeDep, key: KeyDep, certificate_id: str) -> dict:
    with runtime.sessions() as session:
        row = get_certificate(session, certificate_id)
    state = standing(row, key)
    return {"certificate_id": row.id, "status": state.state, "message": state.message} | {
        "superseded_by": row.superseded_by
    }


@router.get(PUBLIC_KEY_PATH, summary="The operator's public key (PEM) that signs certificates")
def public_key(key: KeyDep) -> Response:
    return Response(key.public_pem(), media_type="application/x-pem-file", headers={"X-Key-Id": key.key_id})
