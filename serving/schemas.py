"""Request and response bodies of the HTTP API (the grading result itself is `grading.item_result.ItemResult`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from grading.item_grading import Channel, ItemFacts
from grading.item_result import ItemResult
from grading.photo_quality import QualityCheck
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


class FailedCheck(BaseModel):
    check: QualityCheck = Field(description="stable name of the check, e.g. sharpness")
    value: float = Field(description="what the photo measured")
    threshold: float = Field(description="the policy's limit it missed")
    message: str = Field(description="what to do, for the person holding the camera")


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


class PhotoOut(BaseModel):
    id: str
    position: int
    view: str
    sha256: str
    width: int
    height: int
    source_format: str


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
