"""Admin: API keys, active versions, loading a new bundle or new rules without a restart, reference photos, drift."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from grading.bundle import BundleError
from grading.inference import load_model
from grading.policy import PolicyError
from grading.pricing import PricingError
from serving.auth import create_key, list_keys, revoke_key
from serving.dependencies import AdminCaller, RuntimeDep
from serving.drift_monitor import DriftDep
from serving.errors import ApiError
from serving.item_grader import load_rules
from serving.item_records import audit, items_waiting_for_photos, pending_jobs
from serving.photo_intake import decode_uploads, store_uploads
from serving.references import enroll, reembed_for, reference_counts
from serving.review_records import pending_count
from serving.runtime import Runtime, warm_up
from serving.schemas import KeyCreated, KeyInfo, NewKey
from serving.tables import ApiKey, Role
from serving.webhooks import redrive

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/keys", response_model=KeyCreated, status_code=201, summary="Create an API key for a role")
def new_key(runtime: RuntimeDep, caller: AdminCaller, body: NewKey) -> KeyCreated:
    try:
        role = Role(body.role)
    except ValueError as error:
        known = ", ".join(r.value for r in Role)
        raise ApiError(422, "unknown_role", f"Unknown role '{body.role}'; use one of: {known}.") from error
    with runtime.sessions.begin() as session:
        key = create_key(session, body.name, role)
        audit(session, None, caller.name, "key.created", {"name": body.name, "role": role.value})
    return KeyCreated(id=key.split("_")[1], name=body.name, role=role.value, key=key)


@router.get("/keys", response_model=list[KeyInfo], summary="Every API key (never the key itself)")
def keys(runtime: RuntimeDep, _caller: AdminCaller) -> list[KeyInfo]:
    with runtime.sessions() as session:
        return [key_info(row) for row in list_keys(session)]


@router.delete("/keys/{prefix}", response_model=KeyInfo, summary="Revoke a key; it stops working at once")
def revoke(runtime: RuntimeDep, caller: AdminCaller, prefix: Annotated[str, Path(max_length=16)]) -> KeyInfo:
    with runtime.sessions.begin() as session:
        row = revoke_key(session, prefix)
        if row.id == caller.key_id:
            raise ApiError(409, "own_key", "You can't revoke the key you are using; use another admin key.")
        audit(session, None, caller.name, "key.revoked", {"name": row.name, "role": row.role, "prefix": prefix})
        return key_info(row)


def key_info(row: ApiKey) -> KeyInfo:
    return KeyInfo(id=row.prefix, name=row.name, role=row.role, created_at=row.created_at, revoked_at=row.revoked_at)


@router.get("/status", summary="Active model, policy and pricing versions; queue depths")
def status(runtime: RuntimeDep, _caller: AdminCaller) -> dict:
    return status_document(runtime)


def status_document(runtime: Runtime) -> dict:
    model = runtime.scheduler.model
    rules = runtime.grader.rules
    with runtime.sessions() as session:
        jobs, reviews, references = pending_jobs(session), pending_count(session), reference_counts(session)
        waiting = items_waiting_for_photos(session)
    return {
        "model": {"name": model.metadata.name, "version": model.metadata.version, "folder": str(model.folder)},
        "policy": {"version": rules.policy.version, "file": str(rules.policy_path)},
        "pricing": {"version": rules.pricing.version, "file": str(rules.pricing_path)},
        "queues": {
            "inference_photos": runtime.scheduler.queued_photos(),
            "grading_jobs": jobs,
            "review": reviews,
            "waiting_for_photos": waiting,
        },
        "references": references,
    }


class BundleSwap(BaseModel):
    path: str = Field(description="Folder of a model bundle on the server", examples=["grading/bundles/default"])


@router.post("/bundle", summary="Load another model bundle without a restart")
def swap_bundle(runtime: RuntimeDep, caller: AdminCaller, body: BundleSwap) -> dict:
    try:
        model = load_model(FilePath(body.path), threads=runtime.settings.inference_threads)
    except (BundleError, FileNotFoundError) as error:
        raise ApiError(422, "bad_bundle", f"The bundle was not loaded: {error}") from error
    warm_up(model)  # the first request after the swap should not pay ONNX Runtime's warm-up
    with runtime.sessions.begin() as session:
        references = reembed_for(session, runtime.store, model, caller.key_id)
        detail = {"path": body.path, "version": model.metadata.version, "references_embedded": references}
        audit(session, None, caller.name, "bundle.loaded", detail)
    runtime.scheduler.swap_model(model)
    return status_document(runtime)


class RulesSwap(BaseModel):
    policy: str | None = Field(None, description="Path of a grade policy YAML on the server")
    pricing: str | None = Field(None, description="Path of a pricing YAML on the server")


@router.post("/rules", summary="Load a new grade policy and/or pricing without a restart")
def swap_rules(runtime: RuntimeDep, caller: AdminCaller, body: RulesSwap) -> dict:
    current = runtime.grader.rules
    try:
        rules = load_rules(FilePath(body.policy or current.policy_path), FilePath(body.pricing or current.pricing_path))
    except (PolicyError, PricingError, FileNotFoundError) as error:
        raise ApiError(422, "bad_rules", f"The rules were not loaded: {error}") from error
    runtime.grader.rules = rules
    with runtime.sessions.begin() as session:
        detail = {"policy": rules.policy.version, "pricing": rules.pricing.version}
        audit(session, None, caller.name, "rules.loaded", detail)
    return status_document(runtime)


@router.post("/webhooks/redrive", summary="Retry every webhook message that ran out of attempts")
def redrive_webhooks(runtime: RuntimeDep, caller: AdminCaller) -> dict:
    with runtime.sessions.begin() as session:
        count = redrive(session, runtime.settings.webhook_max_attempts)
        audit(session, None, caller.name, "webhooks.redriven", {"messages": count})
    return {"redriven": count}


@router.post("/references/{product_line}", status_code=201, summary="Enroll authentic reference photos")
async def add_references(
    runtime: RuntimeDep,
    caller: AdminCaller,
    product_line: Annotated[str, Path(min_length=1, max_length=200)],
    photos: Annotated[list[UploadFile], File(description="Photos of authentic items of this product line")],
    views: Annotated[str | None, Form()] = None,
) -> dict:
    uploads = await decode_uploads(
        photos, views, max_count=32, max_bytes=runtime.settings.max_photo_bytes, preprocessing=runtime.preprocessing()
    )
    await run_in_threadpool(store_uploads, runtime.store, uploads)
    embeddings = await run_in_threadpool(runtime.grader.embed, [u.photo for u in uploads])
    version = runtime.scheduler.model.metadata.version
    with runtime.sessions.begin() as session:
        rows = enroll(session, product_line, [u.sha256 for u in uploads], embeddings, version, caller.key_id)
        audit(session, None, caller.name, "references.enrolled", {"product_line": product_line, "count": len(rows)})
        return {"product_line": product_line, "enrolled": len(rows), "references": reference_counts(session)}


@router.get("/drift", summary="Drift of scores and photo quality per channel, station, camera and category")
def drift(
    monitor: DriftDep,
    _caller: AdminCaller,
    fresh: Annotated[bool, Query(description="recompute now instead of reusing a report up to a minute old")] = False,
) -> dict:
    """Population stability index of each group's sliding window against the active bundle's reference, per
    measure, with both distributions; `flagged` lists the groups whose scores drift (docs/drift.md)."""
    return monitor.report(fresh=fresh).document()
