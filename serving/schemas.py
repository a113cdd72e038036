"""Request and response bodies of the HTTP API (the grading result itself is `grading.item_result.ItemResult`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from grading.item_grading import Channel, ItemFacts
from grading.item_result import FailedCheck, ItemResult
from serving.errors import ApiError

FACTS_EXAMPLE = {"sku": "NB-574-GRY-42", "brand": "New Balance", "category": "shoes", "product_line": "574"}


MAX_FACT_LENGTH = 80  # the database's category column; names, SKUs and lines are never longer in practice


def parse_facts(channel: Channel, raw: dict) -> ItemFacts:
    """Item facts from the caller, or a 422 listing each bad field."""
    _check_text(raw)
    try:
        return ItemFacts.model_validate({**raw, "channel": channel.value})
    except ValidationError as error:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
        known = ", ".join(name for name in ItemFacts.model_fields if name != "channel")
        raise ApiError(
            422, "invalid_metadata", f"Item metadata is invalid ({'; '.join(problems)}). Known fields: {known}."
        ) from error


def _check_text(raw: dict) -> None:
    values = [(k, v) for k, v in raw.items() if isinstance(v, str)]
    values += [(f"{k}[]", t) for k, v in raw.items() if isinstance(v, list) for t in v if isinstance(t, str)]
    for name, value in values:
        if len(value) > MAX_FACT_LENGTH:
            message = f"Item metadata field '{name}' is {len(value)} characters; at most {MAX_FACT_LENGTH}."
            raise ApiError(422, "invalid_metadata", message)
        if "\x00" in value:
            raise ApiError(422, "invalid_metadata", f"Item metadata field '{name}' contains a NUL byte; remove it.")


def parse_metadata_json(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ApiError(422, "invalid_metadata", f"Field 'metadata' is not valid JSON: {error}.") from error
    if not isinstance(value, dict):
        raise ApiError(
            422, "invalid_metadata", "Field 'metadata' must be a JSON object, e.g. " + json.dumps(FACTS_EXAMPLE)
        )
    return value


def split_tags(raw: str | None) -> list[str]:
    return [tag.strip() for tag in (raw or "").split(",") if tag.strip()]


class Timings(BaseModel):
    decode_ms: float
    quality_ms: float = Field(description="the photo quality checks, after decoding and before grading")
    inference_ms: float
    policy_ms: float
    store_ms: float
    total_ms: float


class RetakePhoto(BaseModel):
    photo: str = Field(description="the file name as sent")
    position: int = Field(description="1-based, among the distinct photos in the order sent")
    view: str
    failed: list[FailedCheck]


class RetakeDetails(BaseModel):
    policy_version: str
    photos: list[RetakePhoto] = Field(description="only the photos to take again; the others were fine")


class RetakeBody(BaseModel):
    code: Literal["retake_photos"]
    message: str
    details: RetakeDetails


class RetakeAnswer(BaseModel):
    """422 from the kiosk: photos too blurred, dark, small or badly framed to grade; nothing graded or stored."""

    error: RetakeBody


class PhotoQualityWarning(BaseModel):
    """A kiosk grade made although photos failed a check (policy `photo_quality.on_failure: grade_with_warning`):
    the item goes to review (reason photo_quality), so its offer is provisional until a person decides."""

    code: Literal["photo_quality"]
    message: str
    photos: list[RetakePhoto] = Field(description="the photos that failed, each with all its failed checks")


class KioskOffer(BaseModel):
    item_id: str
    decision: str
    needs_review: bool
    grade: str
    condition_label: str
    currency: str
    cash: float | None
    store_credit: float | None
    result: ItemResult
    timings: Timings
    warnings: list[PhotoQualityWarning] = Field(
        default_factory=list, description="empty unless photos that failed a check were graded"
    )


class PhotoOut(BaseModel):
    id: str
    position: int = Field(description="0-based; messages call it photo position + 1")
    view: str
    sha256: str
    width: int
    height: int
    source_format: str
    usable: bool | None = Field(
        None, description="passed every photo check when it arrived; null: not checked (stored before checks were kept)"
    )
    failed_checks: list[FailedCheck] = Field(default_factory=list, description="what to fix, with a message each")
    replaced_by: str | None = Field(
        None, description="the later usable photo of the same view graded instead of this one (this one stays stored)"
    )


class PhotoToRetake(BaseModel):
    photo_id: str
    number: int = Field(description="1-based, as messages name it: photo 2 is the item's second photo")
    view: str
    failed: list[FailedCheck]


class ItemNeeds(BaseModel):
    """Why a station item is not graded yet and what to send: retakes (same view) and missing required views."""

    message: str
    retake: list[PhotoToRetake]
    missing_views: list[str] = Field(description="required for the declared category and not photographed yet")


class ItemSummary(BaseModel):
    item_id: str
    sku: str | None
    status: str
    review_state: str
    decision: str | None
    grade: str | None
    updated_at: datetime


class StationItem(BaseModel):
    item_id: str
    status: str
    review_state: str
    decision: str | None
    grade: str | None
    facts: dict
    photos: list[PhotoOut]
    needs: ItemNeeds | None = Field(
        None,
        description="receiving or needs_photos: what must come before grading (null: nothing); submit with force=true"
        " to grade anyway, and the item goes to review",
    )
    result: ItemResult | None = None
    error: str | None = None
    idempotent_replay: bool = False
    created_at: datetime
    updated_at: datetime


class NewKey(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["station-berlin-3"])
    role: str = Field(examples=["station"])


class KeyInfo(BaseModel):
    id: str = Field(description="The key's public prefix (the part after `sl_`); revoke it with this")
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(BaseModel):
    id: str = Field(description="The key's public prefix (the part after `sl_`); revoke it with this")
    name: str
    role: str
    key: str = Field(description="Shown once; only its hash is stored.")
