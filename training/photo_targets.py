"""A manifest photo as the model sees it: intake pixels plus its defect mask, on the same geometry.

Defects (boxes as weak masks, polygons, mask files) are drawn into a class-index mask in stored pixels
(0 = background, 1 + index in `DefectType` for each type), then oriented and cropped exactly as
`grading.intake` oriented and cropped the photo, so pixels and labels never drift apart.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from grading.intake import Preprocessing, load_photo
from grading.manifest import Defect, Photo, resolve_photo_path
from grading.vocabulary import DefectType

DEFECT_TYPES = list(DefectType)
MASK_THRESHOLD = 128  # mask files may have anti-aliased edges
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class PhotoTarget:
    """Model-input pixels (crop, crop, 3) and, when the photo is annotated, its class mask (crop, crop)."""

    pixels: np.ndarray
    defect_mask: np.ndarray | None


def load_photo_target(manifest_path: Path, photo: Photo, preprocessing: Preprocessing) -> PhotoTarget:
    data = resolve_photo_path(manifest_path, photo.path).read_bytes()
    decoded = load_photo(data, preprocessing=preprocessing)
    if photo.defects is None:
        return PhotoTarget(decoded.pixels, None)
    stored = Image.open(io.BytesIO(data))
    mask = draw_defects(manifest_path, photo.defects, stored.size)
    transpose = _ORIENTATION_TRANSPOSE.get(stored.getexif().get(0x0112, 1))
    if transpose is not None:
        mask = mask.transpose(transpose)
    size = (preprocessing.crop_size, preprocessing.crop_size)
    cropped = mask.resize(size, Image.Resampling.NEAREST, box=decoded.crop_box)
    return PhotoTarget(decoded.pixels, np.array(cropped, dtype=np.uint8))


def draw_defects(manifest_path: Path, defects: list[Defect], size: tuple[int, int]) -> Image.Image:
    """Class-index mask in stored pixels; later defects are drawn over earlier ones."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for defect in defects:
        value = 1 + DEFECT_TYPES.index(defect.type)
        if defect.box is not None:
            draw.rectangle((defect.box.x0, defect.box.y0, defect.box.x1, defect.box.y1), fill=value)
        elif defect.polygon is not None:
            draw.polygon([tuple(point) for point in defect.polygon], fill=value)
        else:
            mask.paste(value, mask=_binary_mask(resolve_photo_path(manifest_path, defect.mask), size))
    return mask


def _binary_mask(path: Path, size: tuple[int, int]) -> Image.Image:
    image = Image.open(path)
    grey = image.getchannel(0) if image.mode in ("RGB", "RGBA", "LA") else image.convert("L")
    if grey.size != size:
        grey = grey.resize(size, Image.Resampling.NEAREST)
    return grey.point(lambda value: 255 if value >= MASK_THRESHOLD else 0)
