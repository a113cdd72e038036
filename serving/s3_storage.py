"""Photos in an S3-compatible bucket (AWS S3, MinIO, Ceph…), for services that run on several processes or machines.

Content-addressed like the folder store: key `<prefix><sha256[:2]>/<sha256>`, so the bucket's prefix can be copied
to a folder (`aws s3 sync`) and read as a folder store. `put` returns once S3 has acknowledged the object (S3 writes
are durable when acknowledged) and skips the upload when the object is already there. Any network or server
failure surfaces as `PhotoStoreUnavailable` (the API answers 503 `photo_store_unavailable`); a bucket that cannot
be used at start-up as `PhotoStoreMisconfigured`, with what to fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from serving.settings import Settings
from serving.storage import PhotoNotFound, PhotoStoreMisconfigured, PhotoStoreUnavailable, content_address

T = TypeVar("T")

MISSING_KEY_CODES = {"404", "NoSuchKey", "NotFound"}
MISSING_BUCKET_CODES = {"404", "NoSuchBucket"}
ACCESS_CODES = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}
CREDENTIALS_HINT = (
    "set SECONDLOOK_S3_ACCESS_KEY_ID and SECONDLOOK_S3_SECRET_ACCESS_KEY (or the AWS_* variables or ~/.aws that"
    " boto3 reads) to a key allowed s3:ListBucket, s3:GetObject and s3:PutObject on the bucket"
)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None

    def key_of(self, sha256: str) -> str:
        return self.prefix + content_address(sha256)

    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")


class S3PhotoStore:
    """`s3://bucket/<prefix>ab/abcdef…`: one object per distinct photo; storing the same bytes twice uploads once."""

    def __init__(self, client: BaseClient, location: S3Location) -> None:
        self.client, self.location = client, location

    @classmethod
    def from_settings(cls, settings: Settings) -> S3PhotoStore:
        """A store on the configured bucket, checked now: fails fast with `PhotoStoreMisconfigured`."""
        assert settings.s3_bucket, "from_settings needs s3_bucket"
        location = S3Location(settings.s3_bucket, normalized_prefix(settings.s3_prefix), settings.s3_endpoint_url)
        store = cls(s3_client(settings), location)
        store.check()
        return store

    def check(self) -> None:
        """The bucket exists and these credentials may use it, or `PhotoStoreMisconfigured` saying what to fix."""
        try:
            self.client.head_bucket(Bucket=self.location.bucket)
        except (BotoCoreError, ClientError) as error:
            raise PhotoStoreMisconfigured(self._misconfiguration(error)) from error

    def put(self, data: bytes, sha256: str | None = None) -> str:
        digest = sha256 or hashlib.sha256(data).hexdigest()
        key = self.location.key_of(digest)
        if not self._object_exists(key):
            self._call("store", key, self.client.put_object, Bucket=self.location.bucket, Key=key, Body=data)
        return digest

    def get(self, sha256: str) -> bytes:
        key = self.location.key_of(sha256)
        try:
            response = self._call("read", key, self.client.get_object, Bucket=self.location.bucket, Key=key)
            return response["Body"].read()
        except BotoCoreError as error:  # the connection broke while the body streamed
            raise PhotoStoreUnavailable(f"could not read s3://{self.location.bucket}/{key}: {error}") from error

    def exists(self, sha256: str) -> bool:
        try:
            return self._object_exists(self.location.key_of(sha256))
        except PhotoNotFound:  # a malformed hash names no photo
            return False

    def path_of(self, sha256: str) -> str:
        """`s3://bucket/key`: what the review export writes as the photo's path."""
        return f"s3://{self.location.bucket}/{self.location.key_of(sha256)}"

    def _object_exists(self, key: str) -> bool:
        try:
            self._call("look up", key, self.client.head_object, Bucket=self.location.bucket, Key=key)
        except PhotoNotFound:
            return False
        return True

    def _call(self, action: str, key: str, operation: Callable[..., T], **arguments: Any) -> T:
        """One S3 request; a missing object is `PhotoNotFound`, every other failure `PhotoStoreUnavailable`."""
        try:
            return operation(**arguments)
        except ClientError as error:
            if error_code(error) in MISSING_KEY_CODES:
                raise PhotoNotFound(key.rsplit("/", 1)[-1]) from error
            raise PhotoStoreUnavailable(f"could not {action} s3://{self.location.bucket}/{key}: {error}") from error
        except BotoCoreError as error:
            raise PhotoStoreUnavailable(f"could not {action} s3://{self.location.bucket}/{key}: {error}") from error

    def _misconfiguration(self, error: Exception) -> str:
        where = self.location.where()
        if isinstance(error, NoCredentialsError):
            return f"no S3 credentials for {where}: {CREDENTIALS_HINT}"
        if isinstance(error, EndpointConnectionError):
            return f"cannot reach the S3 endpoint for {where} ({error}): check SECONDLOOK_S3_ENDPOINT_URL"
        code = error_code(error) if isinstance(error, ClientError) else ""
        if code in MISSING_BUCKET_CODES:
            return f"the S3 bucket does not exist ({where}): create it or fix SECONDLOOK_S3_BUCKET"
        if code in ACCESS_CODES:
            return f"S3 refused access to {where} ({code}): {CREDENTIALS_HINT}"
        return f"cannot use {where}: {error}"


def s3_client(settings: Settings) -> BaseClient:
    """A thread-safe client: short timeouts, three attempts, path-style addressing for S3-compatible servers."""
    secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
    session = boto3.session.Session(
        aws_access_key_id=settings.s3_access_key_id, aws_secret_access_key=secret, region_name=settings.s3_region
    )
    config = Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"total_max_attempts": 3, "mode": "standard"},
        max_pool_connections=32,  # the request thread pool stores photos in parallel
        s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
    )
    return session.client("s3", endpoint_url=settings.s3_endpoint_url, config=config)


def normalized_prefix(prefix: str) -> str:
    """`photos` and `/photos/` both mean keys under `photos/`; an empty prefix is the bucket's root."""
    stripped = prefix.strip("/")
    return f"{stripped}/" if stripped else ""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
