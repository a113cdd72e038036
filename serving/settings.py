"""Service settings: defaults < environment (`SECONDLOOK_*`) < arguments; built once, passed to `create_app`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from grading.policy import default_policy_path
from grading.pricing import default_pricing_path

DEFAULT_BUNDLE = Path(__file__).resolve().parents[1] / "grading" / "bundles" / "default"
ENV_PREFIX = "SECONDLOOK_"


class WebhookEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    secret: str = Field(min_length=16, description="shared secret for the HMAC-SHA256 signature header")
    events: list[str] = Field(default_factory=lambda: ["item.graded", "item.decided"])


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Path("var/service")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file in data_dir (WAL)")
    bundle: Path = DEFAULT_BUNDLE
    policy: Path = Field(default_factory=default_policy_path)
    pricing: Path = Field(default_factory=default_pricing_path)
    inference_threads: int = 2
    max_batch: int = 2  # bench/scheduler_bench.py: same station throughput as 4 or 8, half the kiosk wait
    max_wait_ms: float = 4.0
    max_queued_photos: int = 64
    job_workers: int = 2
    max_pending_jobs: int = 500
    job_lease_seconds: float = 120.0
    job_max_attempts: int = 3
    max_photos_per_item: int = 8
    max_kiosk_photos: int = 4
    kiosk_wait_budget_seconds: float = Field(
        2.0, gt=0, description="a kiosk request expected to wait longer is refused before decoding (503, Retry-After)"
    )
    max_photo_bytes: int = 25 * 1024 * 1024
    s3_bucket: str | None = Field(None, description="keep photos in this S3 bucket; default: data_dir/photos")
    s3_prefix: str = Field("photos/", description="key prefix in the bucket: <prefix><sha256[:2]>/<sha256>")
    s3_endpoint_url: str | None = Field(None, description="an S3-compatible server (MinIO, Ceph…); default: AWS")
    s3_region: str | None = Field(None, description="default: boto3's (AWS_REGION, ~/.aws/config)")
    s3_access_key_id: str | None = Field(None, description="default: boto3's credential chain (AWS_*, ~/.aws)")
    s3_secret_access_key: SecretStr | None = None
    webhooks: list[WebhookEndpoint] = Field(default_factory=list)
    webhook_poll_seconds: float = 0.5
    webhook_max_attempts: int = 500  # backoff caps at 10 min: about 3.4 days of retrying before giving up
    start_background: bool = True  # job workers and webhook delivery; tests may switch them off
    certificate_key_file: Path | None = Field(None, description="Ed25519 private key (PEM); default: generated")
    public_url: str | None = Field(None, description="base URL buyers reach, for certificate links and QR codes")

    @field_validator("job_workers", "max_batch", "inference_threads", "max_queued_photos")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"public_url must start with https:// or http:// (got {value!r})")
        return value.rstrip("/") if value else value

    @property
    def photos_dir(self) -> Path:
        return self.data_dir / "photos"

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'secondlook.db').resolve()}"


def settings_from_environment(**overrides: object) -> Settings:
    """`SECONDLOOK_DATA_DIR`, `SECONDLOOK_DATABASE_URL`, `SECONDLOOK_BUNDLE`, … then explicit overrides.

    `SECONDLOOK_WEBHOOKS` is JSON: `[{"url": "https://…", "secret": "at least 16 characters"}]`.
    """
    values: dict[str, object] = {}
    for name in Settings.model_fields:
        raw = os.environ.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = _webhooks(raw) if name == "webhooks" else raw
    values.update({key: value for key, value in overrides.items() if value is not None})
    return Settings.model_validate(values)


def _webhooks(raw: str) -> object:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{ENV_PREFIX}WEBHOOKS is not valid JSON ({error}); expected e.g. "
            '[{"url": "https://pricing.example/hooks", "secret": "a-long-shared-secret"}]'
        ) from error
