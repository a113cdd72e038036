"""The camera that took a photo, from its EXIF make and model, stored with the photo for drift monitoring.

Only the two EXIF fields are read (Pillow parses the header, not the pixels); what comes back is cleaned so it can
be a Prometheus label and a table cell: printable characters only, spaces collapsed, the make not repeated when the
model already starts with it ("Canon Canon EOS R6" → "Canon EOS R6"), at most `MAX_LENGTH` characters.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

MAKE_TAG, MODEL_TAG = 0x010F, 0x0110
MAX_LENGTH = 120


def camera_of(data: bytes) -> str | None:
    """ "Make Model" from the photo's EXIF, or None when it has neither (or no readable header)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return None
    make, model = _text(exif.get(MAKE_TAG)), _text(exif.get(MODEL_TAG))
    if model.lower().startswith(make.lower()):
        make = ""
    name = " ".join(part for part in (make, model) if part)
    return name[:MAX_LENGTH] or None


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="ignore")
    text = "".join(c for c in str(value or "") if c.isprintable())
    return " ".join(text.split())
