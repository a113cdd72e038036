"""Uploaded photo files: size-capped reads and intake, with errors that name the file and the fix."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

from fastapi import UploadFile

from grading.intake import IntakeError, IntakeLimits, Photo, Preprocessing, load_photo
from grading.vocabulary import View
from serving.errors import ApiError
from serving.photo_checks import PhotoCheckRecord

_READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    sha256: str
    view: View
    photo: Photo
    preprocessing: Preprocessing  # the framing `photo` was decoded with (the bundle's at upload time)
    checks: PhotoCheckRecord | None = None  # its quality checks, stored with it


async def read_capped(file: UploadFile, max_bytes: int) -> bytes:
    """The file's bytes, refusing with 413 as soon as it grows past `max_bytes`."""
    chunks, size = [], 0
    while block := await file.read(_READ_BLOCK):
        size += len(block)
        if size > max_bytes:
            raise ApiError(
                413,
                "photo_too_large",
                f"Photo '{file.filename}' is larger than {max_bytes // (1024 * 1024)} MB. Send a smaller JPEG.",
            )
        chunks.append(block)
    return b"".join(chunks)


def parse_views(raw: str | None, count: int) -> list[View]:
    """`views` is a comma-separated list, one per photo in order (front,back,…); missing means unspecified."""
    if not raw:
        return [View.UNSPECIFIED] * count
    names = [name.strip().lower() for name in raw.split(",")]
    if len(names) != count:
        raise ApiError(422, "views_mismatch", f"Got {len(names)} views for {count} photos; send one view per photo.")
    known = ", ".join(view.value for view in View)
    for name in names:
        if name not in View.__members__.values():
            raise ApiError(422, "unknown_view", f"Unknown view '{name}'; use one of: {known}.")
    return [View(name) for name in names]


def decode_upload(filename: str, data: bytes, view: View, limits: IntakeLimits, preprocessing: Preprocessing) -> Upload:
    """Intake one photo; a refused photo is a 422 whose message is the kiosk-readable intake message."""
    try:
        photo = load_photo(data, limits, preprocessing)
    except IntakeError as error:
        raise ApiError(
            422,
            f"photo_{error.failure.value}",
            f"Photo '{filename}': {error}",
            details={"photo": filename, "failure": error.failure.value},
        ) from error
    return Upload(filename, data, hashlib.sha256(data).hexdigest(), view, photo, preprocessing)


class DecodedPhotoCache:
    """Recently decoded photos by sha256 and framing, so a job graded right after upload skips a second decode
    (and a bundle swapped in between, with another framing, never gets photos framed for the old one)."""

    def __init__(self, capacity: int = 256) -> None:
        self._photos: OrderedDict[tuple[str, Preprocessing], Photo] = OrderedDict()
        self._capacity = capacity
        self._lock = Lock()

    def put(self, sha256: str, preprocessing: Preprocessing, photo: Photo) -> None:
        with self._lock:
            self._photos[sha256, preprocessing] = photo
            self._photos.move_to_end((sha256, preprocessing))
            while len(self._photos) > self._capacity:
                self._photos.popitem(last=False)

    def take(self, sha256: str, preprocessing: Preprocessing) -> Photo | None:
        with self._lock:
            return self._photos.pop((sha256, preprocessing), None)
