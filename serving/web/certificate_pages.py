"""Public certificate pages, no key needed: the printable certificate with its QR code, and the verification page
the QR code links to (valid, revoked or invalid)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from serving.certificates import find_certificate
from serving.dependencies import RuntimeDep
from serving.operator_key import OperatorKey
from serving.routes.certificates import KeyDep
from serving.runtime import Runtime
from serving.web.certificate_view import certificate_context
from serving.web.rendering import page

router = APIRouter(tags=["certificate pages"], include_in_schema=False)


@router.get("/certificates/{certificate_id}")
def printable(request: Request, runtime: RuntimeDep, key: KeyDep, certificate_id: str) -> Response:
    return _certificate_page(request, runtime, key, certificate_id, "certificate_print.html")


@router.get("/verify/{certificate_id}")
def verification(request: Request, runtime: RuntimeDep, key: KeyDep, certificate_id: str) -> Response:
    return _certificate_page(request, runtime, key, certificate_id, "certificate_verify.html")


def _certificate_page(
    request: Request, runtime: Runtime, key: OperatorKey, certificate_id: str, template: str
) -> Response:
    with runtime.sessions() as session:
        row = find_certificate(session, certificate_id)
    if row is None:
        return page(request, "certificate_missing.html", {"certificate_id": certificate_id}, status=404)
    return page(request, template, certificate_context(row, key, with_qr=template == "certificate_print.html"))
