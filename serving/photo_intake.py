"""Upload handling shared by the kiosk, station and admin routes: read, check counts, decode in threads."""

from __future__ import annotations

import asyncio

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from grading.intake import IntakeLimits, Preprocessing
from serving.errors import ApiError
from serving.storage import PhotoStore
from serving.uploads import Upload, decode_upload, parse_views, read_capped


async def decode_uploads(
    files: list[UploadFile],
    views: str | None,
    *,
    max_count: int,
    max_bytes: int,
    preprocessing: Preprocessing,
    min_count: int = 1,
) -> list[Upload]:
    """Every photo decoded (two at a time on two cores) or the first problem as a 4xx naming the file."""
    files = [file for file in files or [] if file.filename or file.size]
    if len(files) < min_count:
        raise ApiError(422, "no_photos", f"Send at least {min_count} photo(s) as multipart field 'photos'.")
    if len(files) > max_count:
        raise ApiError(422, "too_many_photos", f"Send at most {max_count} photos per request; got {len(files)}.")
    parsed_views = parse_views(views, len(files))
    contents = [await read_capped(file, max_bytes) for file in files]
    limits = IntakeLimits(max_bytes=max_bytes)
    jobs = [
        run_in_threadpool(decode_upload, file.filename or f"photo {i + 1}", data, view, limits, preprocessing)
        for i, (file, data, view) in enumerate(zip(files, contents, parsed_views, strict=True))
    ]
    return _distinct(list(await asyncio.gather(*jobs)))


def _distinct(uploads: list[Upload]) -> list[Upload]:
    """The same file sent twice in one request is one photo."""
    seen: dict[str, Upload] = {}
    for upload in uploads:
        seen.setdefault(upload.sha256, upload)
    return list(seen.values())


def store_uploads(store: PhotoStore, uploads: list[Upload]) -> None:
    """Write every photo durably; called before the transaction that acknowledges them."""
    for upload in uploads:
        store.put(upload.data, upload.sha256)
