"""Photo storage behind one small interface: content-addressed by sha256, written durably.

`LocalPhotoStore` keeps photos in a folder (the default, one machine); `serving.s3_storage.S3PhotoStore` keeps
them in an S3-compatible bucket (several processes or machines). `open_photo_store` picks one from the settings;
nothing else in the service touches files or buckets.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from serving.settings import Settings


class PhotoNotFound(KeyError):
    """No photo with this sha256 in the store."""


class PhotoStoreUnavailable(RuntimeError):
    """The store did not answer or refused a read or write (a network or server problem, worth retrying)."""


class PhotoStoreMisconfigured(RuntimeError):
    """The store cannot be used as configured (missing bucket, wrong credentials): the message says what to fix."""


class PhotoStore(Protocol):
    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Store the bytes durably (they survive a crash once this returns) and return their sha256.

        `sha256` saves hashing again when the caller has just computed it from the same bytes.
        """

    def get(self, sha256: str) -> bytes:
        """The stored bytes, or `PhotoNotFound`."""

    def exists(self, sha256: str) -> bool: ...

    def path_of(self, sha256: str) -> Path | str:
        """Where the photo lives, for export manifests: an absolute file path, or a URI such as `s3://bucket/key`."""


def open_photo_store(settings: Settings) -> PhotoStore:
    """The S3 bucket when `s3_bucket` is set (checked now: `PhotoStoreMisconfigured`), else `data_dir/photos`."""
    if not settings.s3_bucket:
        return LocalPhotoStore(settings.photos_dir)
    from serving.s3_storage import S3PhotoStore  # boto3 is imported only by services that use it

    return S3PhotoStore.from_settings(settings)


def photo_store_location(settings: Settings) -> str:
    """Where photos are kept, for the start-up banner: the folder, or `s3://bucket/prefix`."""
    if not settings.s3_bucket:
        return str(settings.photos_dir)
    return f"s3://{settings.s3_bucket}/{settings.s3_prefix.strip('/')}" + (
        f" at {settings.s3_endpoint_url}" if settings.s3_endpoint_url else ""
    )


class LocalPhotoStore:
    """`root/ab/abcdef…`: one file per distinct photo; storing the same bytes twice writes nothing new."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes, sha256: str | None = None) -> str:
        digest = sha256 or hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_durably(path, data)
        return digest

    def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        if not path.is_file():
            raise PhotoNotFound(sha256)
        return path.read_bytes()

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def path_of(self, sha256: str) -> Path:
        """Where the photo lives on disk (for manifests exported to training on the same machine)."""
        return self._path(sha256).resolve()

    def _path(self, sha256: str) -> Path:
        return self.root / content_address(sha256)


def content_address(sha256: str) -> str:
    """`ab/abcdef…`: where a photo lives under the store's root or prefix; `PhotoNotFound` for a malformed hash."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise PhotoNotFound(sha256)
    return f"{sha256[:2]}/{sha256}"


def _write_durably(path: Path, data: bytes) -> None:
    """Write a temporary file, fsync it, rename it into place, fsync the folder: all or nothing."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
