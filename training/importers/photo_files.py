"""Reading what the manifest needs from a photo file without decoding its pixels."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image, UnidentifiedImageError

Image.MAX_IMAGE_PIXELS = None  # only headers are read here; intake enforces its own pixel cap


def sha256_of(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        while chunk := stream.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) as stored, from the header only; None if no decoder recognises the file."""
    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return None
