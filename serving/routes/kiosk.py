"""Kiosk: grade 1-4 photos of one item synchronously and answer with a voucher offer."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from grading.item_grading import Channel, ItemFacts
from serving.auth import Caller
from serving.dependencies import KioskCaller, RuntimeDep
from serving.errors import ApiError
from serving.inference_scheduler import Priority, QueueFull
from serving.item_grader import DecodedPhoto, Graded
from serving.item_records import add_photos, create_item, record_result
from serving.kiosk_admission import KioskBusy
from serving.photo_checks import quality_result
from serving.photo_intake import decode_uploads, store_uploads
from serving.references import gallery_for
from serving.retake import check_photos, quality_warnings, require_usable_photos
from serving.runtime import Runtime
from serving.schemas import KioskOffer, PhotoQualityWarning, RetakeAnswer, Timings, parse_facts, split_tags
from serving.tables import new_id
from serving.uploads import Upload

router = APIRouter(prefix="/v1/kiosk", tags=["kiosk"])


@router.post(
    "/grade",
    response_model=KioskOffer,
    summary="Grade one item from 1-4 photos and make a voucher offer",
    description=(
        "Multipart form: `photos` (1-4 JPEG/PNG/WebP/HEIC files), optional `views` (comma-separated, one per photo),"
        " and optional item facts. Example: `curl -H 'X-API-Key: $KEY' -F photos=@front.jpg -F category=shoes"
        " http://127.0.0.1:8000/v1/kiosk/grade`. The item, its photos and the result are stored before the answer."
        " Photos too blurred, dark, small or badly framed to grade get a 422 `retake_photos` answer naming each"
        " photo, its failed checks and what to do, before any grading; nothing is stored then. Where the policy says"
        " `photo_quality.on_failure: grade_with_warning`, they are graded instead: the answer carries a"
        " `photo_quality` warning and the item goes to review (its offer is provisional)."
    ),
    responses={422: {"model": RetakeAnswer, "description": "Retake photos (or another 422 with its own code)"}},
)
async def grade(
    runtime: RuntimeDep,
    caller: KioskCaller,
    photos: Annotated[list[UploadFile], File(description="1-4 photos of the item")],
    views: Annotated[str | None, Form(examples=["front,back"])] = None,
    category: Annotated[str | None, Form(examples=["shoes"])] = None,
    brand: Annotated[str | None, Form()] = None,
    product_line: Annotated[str | None, Form()] = None,
    material: Annotated[str | None, Form()] = None,
    program: Annotated[str | None, Form()] = None,
    tags: Annotated[str | None, Form(description="comma-separated, e.g. distressed")] = None,
    authenticate: Annotated[bool, Form()] = False,
) -> KioskOffer:
    started = time.perf_counter()
    raw = {"category": category, "brand": brand, "product_line": product_line, "material": material}
    raw |= {"program": program, "tags": split_tags(tags), "authenticate": authenticate}
    facts = parse_facts(Channel.KIOSK, {k: v for k, v in raw.items() if v is not None})
    try:
        with runtime.kiosk_admission.admit(len(photos)):  # before any decoding: a refusal decodes nothing
            return await _grade_admitted(runtime, caller, photos, views, facts, started)
    except KioskBusy as busy:
        raise ApiError(503, "busy", f"The grader is busy: {busy}.", retry_after=busy.retry_after_seconds) from busy


async def _grade_admitted(
    runtime: Runtime, caller: Caller, photos: list[UploadFile], views: str | None, facts: ItemFacts, started: float
) -> KioskOffer:
    settings = runtime.settings
    uploads = await decode_uploads(
        photos,
        views,
        max_count=settings.max_kiosk_photos,
        max_bytes=settings.max_photo_bytes,
        preprocessing=runtime.preprocessing(),
    )
    decoded_at = time.perf_counter()
    uploads = await run_in_threadpool(_checked, runtime, caller, uploads)
    checked_at = time.perf_counter()
    photo_ids = [new_id() for _ in uploads]
    graded, store_ms = await _grade_and_store(runtime, facts, uploads, photo_ids)
    stored_at = time.perf_counter()
    timings = {"decode_ms": (decoded_at - started) * 1e3, "quality_ms": (checked_at - decoded_at) * 1e3}
    timings |= {"inference_ms": graded.inference_ms}
    timings |= {"policy_ms": graded.grading_ms, "store_ms": store_ms}
    item_id = await run_in_threadpool(_record, runtime, caller, facts, uploads, photo_ids, graded, timings)
    timings["total_ms"] = (time.perf_counter() - started) * 1e3
    timings["store_ms"] += (time.perf_counter() - stored_at) * 1e3
    warnings = quality_warnings(uploads, [upload.checks for upload in uploads])
    runtime.kiosk_admission.record(len(uploads), (timings["decode_ms"] + graded.inference_ms) / 1e3)
    return _offer(item_id, graded, Timings(**{k: round(v, 2) for k, v in timings.items()}), warnings)


def _checked(runtime: Runtime, caller: Caller, uploads: list[Upload]) -> list[Upload]:
    """The uploads with their checks (counted per kiosk in the metrics), or the retake answer (422)."""
    policy = runtime.grader.rules.policy
    checks = check_photos(uploads, policy)
    runtime.metrics.photo_quality.observe(caller.name, Channel.KIOSK.value, checks)
    require_usable_photos(uploads, checks, policy)
    return [replace(upload, checks=record) for upload, record in zip(uploads, checks, strict=True)]


async def _grade_and_store(
    runtime: Runtime, facts: ItemFacts, uploads: list[Upload], photo_ids: list[str]
) -> tuple[Graded, float]:
    """Inference and the durable photo writes run at the same time; the answer waits for both."""
    started = time.perf_counter()
    storing = asyncio.ensure_future(run_in_threadpool(store_uploads, runtime.store, uploads))
    try:
        graded = await run_in_threadpool(_grade, runtime, facts, uploads, photo_ids)
    except QueueFull as full:
        raise ApiError(
            503, "busy", "The grader is busy with other requests; retry shortly.", retry_after=full.retry_after_seconds
        ) from full
    finally:
        await storing
    return graded, (time.perf_counter() - started) * 1e3 - graded.inference_ms - graded.grading_ms


def _grade(runtime: Runtime, facts: ItemFacts, uploads: list[Upload], photo_ids: list[str]) -> Graded:
    photos = [
        DecodedPhoto(photo_id, upload.view, upload.photo, quality_result(upload.checks))
        for photo_id, upload in zip(photo_ids, uploads, strict=True)
    ]
    model_version = runtime.scheduler.model.metadata.version
    with runtime.sessions() as session:
        references = gallery_for(session, facts.product_line, model_version)
    return runtime.grader.grade(facts, photos, Priority.KIOSK, references)


def _record(
    runtime: Runtime,
    caller: Caller,
    facts: ItemFacts,
    uploads: list[Upload],
    photo_ids: list[str],
    graded: Graded,
    timings: dict,
) -> str:
    """One transaction: the item, its photos and the result."""
    with runtime.sessions.begin() as session:
        item = create_item(session, caller, facts)
        add_photos(session, item, uploads, caller.name, runtime.settings.max_kiosk_photos, photo_ids)
        record_result(session, item, graded, runtime.settings.webhooks, timings)
        return item.id


def _offer(item_id: str, graded: Graded, timings: Timings, warnings: list[PhotoQualityWarning]) -> KioskOffer:
    result = graded.result
    voucher = result.price.voucher if result.price else None
    return KioskOffer(
        item_id=item_id,
        decision=result.decision.value,
        needs_review=result.decision.value == "review",
        grade=result.grade.name,
        condition_label=result.listing.condition_label,
        currency=result.price.currency if result.price else "",
        cash=voucher.cash if voucher else None,
        store_credit=voucher.store_credit if voucher else None,
        result=result,
        timings=timings,
        warnings=warnings,
    )
