"""Which photo formats are accepted, recognised by their leading bytes rather than the file name."""

from __future__ import annotations

from enum import StrEnum
from functools import cache


class PhotoFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    HEIC = "heic"

    @property
    def pillow_name(self) -> str:
        """The format name Pillow's `Image.open(formats=...)` expects."""
        return {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "heic": "HEIF"}[self.value]


_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def sniff_format(data: bytes) -> PhotoFormat | None:
    """Return the photo format the bytes start with, or None when it is not one we accept.

    HEIC counts only when `pillow-heif` is installed (the `heic` extra), since nothing else decodes it.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return PhotoFormat.JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PhotoFormat.PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return PhotoFormat.WEBP
    if data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS and heic_supported():
        return PhotoFormat.HEIC
    return None


@cache
def heic_supported() -> bool:
    """Register the HEIC decoder with Pillow once; False when `pillow-heif` is not installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True
