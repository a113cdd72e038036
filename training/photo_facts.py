"""What validation needs to know about each photo file, read once: content hash, whether intake decodes it,
its stored size, its perceptual hash, and the state of its mask files.

`inspect_photos` spreads the work over worker processes: decoding through intake is the costly part and is
CPU-bound, so two processes on two cores roughly halve the time of a few thousand photos.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from grading.intake import IntakeError, load_photo
from training.near_duplicates import perceptual_hash

_PARALLEL_FROM = 200  # below this many photos, starting worker processes costs more than it saves
_PIL_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


@dataclass(frozen=True)
class PhotoTask:
    """A photo file and the mask files of its defects, all as resolved paths."""

    path: Path
    masks: tuple[Path, ...] = ()


@dataclass(frozen=True)
class MaskFacts:
    """One mask file: `size` is (width, height); `error` says why it could not be read."""

    path: Path
    found: bool
    size: tuple[int, int] | None = None
    empty: bool = False
    error: str | None = None


@dataclass(frozen=True)
class PhotoFacts:
    """One photo file. `size` is (width, height) as stored (before EXIF orientation), from the header.

    `intake_error` is the message of intake's `IntakeError`, the one a service user would see.
    """

    path: Path
    found: bool
    sha256: str | None = None
    size: tuple[int, int] | None = None
    intake_error: str | None = None
    phash: int | None = None
    masks: tuple[MaskFacts, ...] = ()


def inspect_photo(task: PhotoTask) -> PhotoFacts:
    """Read one photo and its masks; never raises for bad content, only describes it."""
    try:
        data = task.path.read_bytes()
    except OSError:
        return PhotoFacts(task.path, found=False, masks=tuple(map(inspect_mask, task.masks)))
    return PhotoFacts(
        path=task.path,
        found=True,
        sha256=hashlib.sha256(data).hexdigest(),
        size=_stored_size(data),
        intake_error=_intake_error(data),
        phash=perceptual_hash(data),
        masks=tuple(map(inspect_mask, task.masks)),
    )


def inspect_mask(path: Path) -> MaskFacts:
    if not path.is_file():
        return MaskFacts(path, found=False)
    try:
        with Image.open(path) as mask:
            return MaskFacts(path, found=True, size=mask.size, empty=not np.asarray(mask).any())
    except _PIL_ERRORS as error:
        return MaskFacts(path, found=True, error=f"{type(error).__name__}: {error}")


def inspect_photos(tasks: Sequence[PhotoTask], workers: int = 2, progress: bool = True) -> list[PhotoFacts]:
    """`inspect_photo` over many tasks, in `workers` processes when there are enough to pay for them."""
    bar = tqdm(total=len(tasks), unit="photo", desc="reading photos", disable=not progress, leave=False)
    with bar:
        if workers > 1 and len(tasks) >= _PARALLEL_FROM:
            with ProcessPoolExecutor(workers) as pool:
                return _counted(pool.map(inspect_photo, tasks, chunksize=32), bar)
        return _counted(map(inspect_photo, tasks), bar)


def _counted(facts: Iterable[PhotoFacts], bar: tqdm) -> list[PhotoFacts]:
    """Collect facts, ticking the progress bar once per photo (`tqdm.update` returns a flag, not None)."""
    collected = []
    for item in facts:
        bar.update()
        collected.append(item)
    return collected


def _stored_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except _PIL_ERRORS:
        return None


def _intake_error(data: bytes) -> str | None:
    try:
        load_photo(data)
    except IntakeError as error:
        return error.message
    return None
