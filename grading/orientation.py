"""EXIF orientation as geometry: a box on the photo as shown (upright) back to the pixels as stored.

Results, overlays and reviewers work on the upright photo (`ImageOps.exif_transpose`); manifests keep boxes in
the stored pixels (`grading.manifest.Box`), which training orients again (`training.photo_targets`). Each EXIF
orientation (tag 0x0112, values 1-8) is one of the eight flips and quarter turns; the map from an upright point
back to the stored point is written out per value below, on pixel edges (a box's corners, not pixel centres).
"""

from __future__ import annotations

ORIENTATION_TAG = 0x0112


def stored_point(x: float, y: float, orientation: int, stored_size: tuple[int, int]) -> tuple[float, float]:
    """The stored position of upright point (x, y); `stored_size` is (width, height) of the stored pixels."""
    width, height = stored_size
    inverse = {
        1: (x, y),
        2: (width - x, y),
        3: (width - x, height - y),
        4: (x, height - y),
        5: (y, x),
        6: (y, height - x),
        7: (width - y, height - x),
        8: (width - y, x),
    }
    if orientation not in inverse:
        return x, y  # out-of-range tags are ignored by Pillow's exif_transpose too
    return inverse[orientation]


def stored_box(
    box: tuple[float, float, float, float], orientation: int, stored_size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """Upright box (x0, y0, x1, y1) as the box it covers in the stored pixels."""
    corners = [stored_point(x, y, orientation, stored_size) for x, y in ((box[0], box[1]), (box[2], box[3]))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return min(xs), min(ys), max(xs), max(ys)
