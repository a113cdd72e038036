"""Reviewer pages: sign in with a reviewer key, work the queue, look at an item, decide, sign out.

Server-rendered (Jinja2) from the same app as the API and built on the same functions (`review_records`,
`item_document`, the overlay rendering); plain JavaScript in `static/review.js` adds keyboard shortcuts and
overlay toggles without a reload. Sessions are signed cookies; every form carries the session's CSRF token.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from grading.authenticity import AuthenticityVerdict
from grading.vocabulary import DefectType
from serving.certificates import issue_certificate, reissue_if_certified
from serving.dependencies import RuntimeDep
from serving.errors import ApiError
from serving.item_records import latest_result
from serving.overlays import OverlayKind, render_photo
from serving.review_images import overlay_png, photo_row
from serving.review_records import DecisionIn, ReviewAction, decide
from serving.routes.certificates import issuer_for
from serving.runtime import Runtime
from serving.tables import ReferencePhoto, Result
from serving.web.defect_form import BOX_EXAMPLE, MissedRow, missed_rows, reviewed_defects
from serving.web.guard import (
    CheckedForm,
    PageSession,
    ReviewerPage,
    SignInRefused,
    sign_in_caller,
    sign_out_everywhere,
)
from serving.web.item_view import ACTION_LABELS, AUTHENTICITY_CHOICES, REASON_LABELS, item_context
from serving.web.queue_view import (
    AGE_LABELS,
    PAGE_SIZE,
    QueueFilters,
    category_choices,
    filters_from,
    next_item_id,
    queue_rows,
    reason_choices,
)
from serving.web.rendering import WEB_FOLDER, PageRoute, error_page, page, redirect
from serving.web.session import new_session
from serving.web.throttle import SignInThrottle

STATIC_PATH = "/review/static"
OVERLAY_CHOICES = ("photo", *(kind.value for kind in OverlayKind))
IMAGE_HEADERS = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
router = APIRouter(prefix="/review", tags=["reviewer pages"], route_class=PageRoute, include_in_schema=False)


def static_files() -> StaticFiles:
    """The pages' CSS and JavaScript, mounted by `create_app` at STATIC_PATH."""
    return StaticFiles(directory=WEB_FOLDER / "static")


# --- signing in and out -------------------------------------------------------------------------------------


@router.get("")
def home(request: Request, _session: PageSession) -> Response:
    return redirect(request, "/review/queue")


@router.get("/sign-in")
def sign_in_form(request: Request, session: PageSession, next: str = "/review/queue") -> Response:
    if session.signed_in:
        return redirect(request, _safe_next(next))
    return page(request, "sign_in.html", {"next": _safe_next(next), "error": None})


@router.post("/sign-in")
def sign_in(request: Request, runtime: RuntimeDep, form: CheckedForm) -> Response:
    target = _safe_next(form.get("next", ""))
    client = request.client.host if request.client else "unknown"
    throttle = _throttle(request)
    if wait := throttle.wait_seconds(client):
        error = f"Too many refused sign-ins from this address. Wait {math.ceil(wait / 60)} min and try again."
        return page(request, "sign_in.html", {"next": target, "error": error}, status=429)
    try:
        with runtime.sessions() as db:
            caller = sign_in_caller(db, form.get("key", ""))
    except SignInRefused as refusal:
        throttle.refused(client)
        return page(request, "sign_in.html", {"next": target, "error": str(refusal)}, status=403)
    request.state.web_session = new_session(caller.key_id)
    return redirect(request, target)


@router.post("/sign-out")
def sign_out(request: Request, runtime: RuntimeDep, session: PageSession, _form: CheckedForm) -> Response:
    if session.signed_in:
        with runtime.sessions.begin() as db:
            sign_out_everywhere(db, session.key_id)
    request.state.web_session = new_session()
    request.state.caller = None
    return page(request, "sign_in.html", {"next": "/review/queue", "error": None, "signed_out": True})


def _throttle(request: Request) -> SignInThrottle:
    """One throttle per app (so test apps in one process don't share it)."""
    if not hasattr(request.app.state, "sign_in_throttle"):
        request.app.state.sign_in_throttle = SignInThrottle()
    return request.app.state.sign_in_throttle


def _safe_next(target: str) -> str:
    """Only a path of these pages (never another site) may follow sign-in."""
    ok = target.startswith("/review/") and not target.startswith("//") and "\\" not in target
    return target if ok and not target.startswith(STATIC_PATH) else "/review/queue"


# --- the queue ----------------------------------------------------------------------------------------------


@router.get("/queue")
def queue(
    request: Request, runtime: RuntimeDep, _caller: ReviewerPage, page_number: Annotated[int, Query(ge=1)] = 1
) -> Response:
    filters = _filters(dict(request.query_params))
    offset = (page_number - 1) * PAGE_SIZE
    with runtime.sessions() as db:
        rows = queue_rows(db, filters, offset, PAGE_SIZE + 1)
        context = {"reasons": reason_choices(db), "categories": category_choices(db)}
    context |= {"rows": rows[:PAGE_SIZE], "more": len(rows) > PAGE_SIZE, "page_number": page_number}
    context |= {"filters": filters, "age_labels": AGE_LABELS, "done": request.query_params.get("done")}
    return page(request, "queue.html", context)


def _filters(values: dict[str, str]) -> QueueFilters:
    try:
        return filters_from(values)
    except ValueError as error:
        raise ApiError(422, "invalid_filter", f"The queue filter is not valid: {error}.") from error


# --- an item and its decision -------------------------------------------------------------------------------


@router.get("/items/{item_id}")
def item(request: Request, runtime: RuntimeDep, _caller: ReviewerPage, item_id: str) -> Response:
    filters = _filters(dict(request.query_params))
    shown = request.query_params.get("overlay", "photo")
    overlay = shown if shown in OVERLAY_CHOICES else "photo"
    return _item_page(request, runtime, item_id, filters, done=request.query_params.get("done"), overlay=overlay)


@router.post("/items/{item_id}/decision")
def decision(request: Request, runtime: RuntimeDep, caller: ReviewerPage, item_id: str, form: CheckedForm) -> Response:
    filters = _filters(form)
    try:
        grades = list(runtime.grader.rules.policy.grades)
        with runtime.sessions.begin() as db:
            body = decision_from(form, latest_result(db, item_id))
            decide(db, item_id, caller, body, grades, runtime.settings.webhooks)
            reissue_if_certified(db, item_id, issuer_for(request), caller.name)  # a certified item: a new one
    except ValidationError as error:
        return _item_page(request, runtime, item_id, filters, form=form, errors=_messages(error), status=422)
    except ApiError as error:
        if error.status == 404:
            raise
        return _item_page(request, runtime, item_id, filters, form=form, errors=[error.message], status=error.status)
    return redirect(request, _after_decision(runtime, filters, item_id))


@router.post("/items/{item_id}/certificate")
def issue(request: Request, runtime: RuntimeDep, caller: ReviewerPage, item_id: str, _form: CheckedForm) -> Response:
    """Issue the item's certificate (or keep the current one) and open its printable page."""
    with runtime.sessions.begin() as db:
        row, _created = issue_certificate(db, item_id, issuer_for(request), caller.name)
    return redirect(request, f"/certificates/{row.id}")


def decision_from(form: dict[str, str], result: Result | None = None) -> DecisionIn:
    """The form as the API's DecisionIn; grade and authenticity count only for an override."""
    override = form.get("action") == ReviewAction.OVERRIDE
    return DecisionIn(
        action=form.get("action") or None,
        reason_code=form.get("reason_code") or None,
        grade=(form.get("grade") or None) if override else None,
        authenticity=(form.get("authenticity") or None) if override else None,
        comment=form.get("comment", ""),
        defects=reviewed_defects(form, result),
    )


def _messages(error: ValidationError) -> list[str]:
    named = {
        "action": "Choose a decision: approve (a), override grade (o), confirm counterfeit (c) or inconclusive (i).",
        "reason_code": "Choose a reason code.",
        "comment": "The comment is too long (at most 2000 characters).",
    }
    messages = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = named.get(field) or str(problem["msg"]).removeprefix("Value error, ")
        messages.append(message[:1].upper() + message[1:])
    return list(dict.fromkeys(messages))


def _after_decision(runtime: Runtime, filters: QueueFilters, item_id: str) -> str:
    with runtime.sessions() as db:
        next_id = next_item_id(db, filters, item_id)
    query = filters.query_string(done=item_id)
    return f"/review/items/{next_id}?{query}" if next_id else f"/review/queue?{query}"


def _item_page(
    request: Request,
    runtime: Runtime,
    item_id: str,
    filters: QueueFilters,
    form: dict[str, str] | None = None,
    errors: list[str] | None = None,
    status: int = 200,
    done: str | None = None,
    overlay: str = "photo",
) -> Response:
    with runtime.sessions() as db:
        context = item_context(db, item_id, runtime.grader.rules.policy)
    context |= {"filters": filters, "form": form or {}, "errors": errors or [], "done": done, "overlay": overlay}
    context |= {"actions": ACTION_LABELS, "reason_labels": REASON_LABELS, "authenticity_choices": AUTHENTICITY_CHOICES}
    context |= {"grades": list(runtime.grader.rules.policy.grades), "verdicts": AuthenticityVerdict}
    context |= {"defect_types": [t.value for t in DefectType], "box_example": BOX_EXAMPLE}
    context |= {"missed": _missed_for_page(form or {})}
    return page(request, "item.html", context, status)


def _missed_for_page(form: dict[str, str]) -> list[MissedRow]:
    """The missed-defect rows to show: those the reviewer sent (when the form comes back with errors) and a blank one
    to fill in (the page's script fills it when a box is drawn on a photo)."""
    try:
        rows = [row for row in missed_rows(form) if not row.blank]
    except ApiError:
        rows = []
    next_index = max((row.index for row in rows), default=-1) + 1
    return [*rows, MissedRow(next_index, "", "", "")]


# --- images -------------------------------------------------------------------------------------------------


@router.get("/items/{item_id}/photos/{photo_id}")
async def photo(runtime: RuntimeDep, _caller: ReviewerPage, item_id: str, photo_id: str) -> Response:
    row = await run_in_threadpool(photo_row, runtime, item_id, photo_id)
    body, media_type = await run_in_threadpool(_display_copy, runtime, row.sha256)
    return Response(body, media_type=media_type, headers=IMAGE_HEADERS)


@router.get("/items/{item_id}/photos/{photo_id}/overlay")
async def overlay(
    runtime: RuntimeDep, _caller: ReviewerPage, item_id: str, photo_id: str, kind: OverlayKind = OverlayKind.DEFECTS
) -> Response:
    body = await run_in_threadpool(overlay_png, runtime, item_id, photo_id, kind)
    return Response(body, media_type="image/png", headers=IMAGE_HEADERS)


@router.get("/references/{reference_id}")
async def reference(request: Request, runtime: RuntimeDep, _caller: ReviewerPage, reference_id: str) -> Response:
    sha256 = await run_in_threadpool(_reference_sha256, runtime, reference_id)
    if sha256 is None:
        return error_page(request, 404, "Not found", f"No enrolled reference photo with id '{reference_id}'.")
    body, media_type = await run_in_threadpool(_display_copy, runtime, sha256)
    return Response(body, media_type=media_type, headers=IMAGE_HEADERS)


def _reference_sha256(runtime: Runtime, reference_id: str) -> str | None:
    with runtime.sessions() as db:
        row = db.get(ReferencePhoto, reference_id)
        return None if row is None else row.sha256


def _display_copy(runtime: Runtime, sha256: str) -> tuple[bytes, str]:
    return render_photo(runtime.store.get(sha256))
