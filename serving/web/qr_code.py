"""A QR code as inline SVG (`segno`), so a printed page needs no image request and no script."""

from __future__ import annotations

import segno
from markupsafe import Markup

QR_ERROR_LEVEL = "q"  # survives a quarter of the code smudged or creased on paper
QR_SCALE = 4


def qr_svg(url: str, title: str = "QR code") -> Markup:
    """An `<svg>` element of the QR code of `url` (black on white, with a quiet zone; sized by the CSS)."""
    code = segno.make(url, error=QR_ERROR_LEVEL, boost_error=False)
    return Markup(code.svg_inline(scale=QR_SCALE, omitsize=True, svgclass="qr-code", lineclass=None, title=title))
