"""Reviewer images: a photo's defect or anomaly maps drawn over a downscaled, EXIF-oriented copy of it.

The maps cover only the model's centre crop. `crop_box` places them on the photo, in the oriented,
original-pixel coordinates that `grading.intake.Photo.crop_box` and the result's defect boxes use, so the
overlay lines up with what the model saw. Orientation and colour modes are handled exactly as intake does
(`ImageOps.exif_transpose`, then `grading.intake.to_rgb`). PIL and numpy only.
"""

from __future__ import annotations

import io
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from grading.intake import IntakeLimits, to_rgb
from grading.photo_format import PhotoFormat, sniff_format
from grading.vocabulary import DefectType

Box = tuple[float, float, float, float]
Colour = tuple[int, int, int]


class OverlayKind(StrEnum):
    DEFECTS = "defects"
    ANOMALY = "anomaly"


class UnreadablePhoto(ValueError):
    """The photo bytes cannot be decoded for display; the message says why."""


DEFECT_COLOURS: dict[str, Colour] = {
    DefectType.STAIN: (230, 159, 0),
    DefectType.HOLE: (213, 0, 0),
    DefectType.TEAR: (170, 0, 255),
    DefectType.CUT: (255, 0, 170),
    DefectType.SCUFF: (0, 114, 178),
    DefectType.SCRATCH: (0, 200, 255),
    DefectType.PILLING: (0, 158, 115),
    DefectType.FADING: (240, 228, 66),
    DefectType.SNAG: (140, 86, 75),
    DefectType.CREASE: (120, 120, 255),
    DefectType.BROKEN_PART: (255, 90, 0),
    DefectType.SURFACE_FLAW: (160, 200, 0),
}
_SPARE_COLOURS: tuple[Colour, ...] = ((0, 128, 128), (128, 0, 64), (96, 96, 0), (64, 64, 192))

FOREGROUND_FROM = 0.3  # 1 - background probability: invisible at or below this ...
FOREGROUND_FULL = 0.7  # ... full defect opacity at or above this
DEFECT_OPACITY = 0.6
LEGEND_FROM = 0.25  # a type is in the legend once some cell reaches this share of full opacity
ANOMALY_FROM = 0.5  # share of the threshold below which the heat map is transparent
ANOMALY_OPACITY = 0.65
_HEAT_STOPS = np.array([[255, 235, 60], [255, 140, 0], [220, 0, 0]], dtype=np.float32)  # low → threshold


@dataclass(frozen=True)
class _Display:
    """An oriented RGB copy of the photo and its size relative to the oriented original."""

    image: Image.Image
    scale: tuple[float, float]  # display pixels per original pixel, x and y

    def box(self, box: Box) -> Box:
        sx, sy = self.scale
        return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


def render_overlay(
    photo_bytes: bytes,
    crop_box: tuple[float, float, float, float],
    defect_probs: np.ndarray,
    anomaly_map: np.ndarray,
    kind: OverlayKind,
    defect_types: list[str],
    anomaly_threshold: float = 1.0,
    defect_boxes: Sequence[tuple[str, Box]] = (),
    max_side: int = 1024,
) -> bytes:
    """A PNG of the photo (long side at most `max_side`) with the chosen map drawn over the crop it covers.

    Args:
        crop_box: (left, top, right, bottom) of the model's crop in original, EXIF-oriented pixels.
        defect_probs: (1 + len(defect_types), h, w) softmax; channel 0 is background.
        anomaly_map: (h, w), normalised so `anomaly_threshold` (1.0 for a bundle's maps) is anomalous.
        defect_boxes: (defect type, box in original oriented pixels), outlined and labelled on DEFECTS.

    Raises:
        UnreadablePhoto (a ValueError): the bytes are not a decodable photo.
        ValueError: a map's shape, the crop box or the threshold does not make sense.
    """
    kind = OverlayKind(kind)
    crop_box = _checked_box(crop_box)
    display = _display_copy(photo_bytes, max_side)
    layer = Image.new("RGBA", display.image.size, (0, 0, 0, 0))
    crop = display.box(crop_box)
    if kind is OverlayKind.DEFECTS:
        present = _draw_defects(layer, crop, display, defect_probs, defect_types, defect_boxes)
    else:
        _paste_map(layer, crop, _anomaly_rgba(anomaly_map, anomaly_threshold, _placement(crop)[2]))
    _outline_crop(layer, crop)
    if kind is OverlayKind.DEFECTS and present:
        _draw_legend(layer, present)
    composite = Image.alpha_composite(display.image.convert("RGBA"), layer).convert("RGB")
    return _encode(composite, "PNG")


def render_photo(photo_bytes: bytes, max_side: int = 1600) -> tuple[bytes, str]:
    """An EXIF-oriented JPEG display copy with its long side at most `max_side`, and its media type."""
    display = _display_copy(photo_bytes, max_side)
    return _encode(display.image, "JPEG", quality=85), "image/jpeg"


def defect_colour(defect_type: str) -> Colour:
    """The fixed colour of a defect type (a type outside the vocabulary gets a stable spare colour)."""
    known = DEFECT_COLOURS.get(defect_type)
    return known if known is not None else _SPARE_COLOURS[zlib.crc32(defect_type.encode()) % len(_SPARE_COLOURS)]


# --- decoding -----------------------------------------------------------------------------------------------


def _display_copy(data: bytes, max_side: int) -> _Display:
    if max_side < 1:
        raise ValueError(f"max_side must be a positive number of pixels, got {max_side}")
    photo_format = sniff_format(data)
    if photo_format is None:
        raise UnreadablePhoto(f"the photo bytes ({len(data)} bytes) are not a JPEG, PNG, WebP or HEIC photo")
    try:
        image, original_size = _decode_oriented(data, photo_format, max_side)
    except UnreadablePhoto:
        raise
    except Exception as error:  # Pillow raises many types on damaged input
        raise UnreadablePhoto(
            f"the {photo_format.value.upper()} photo could not be decoded ({type(error).__name__}: {error})"
        ) from error
    image = image.resize(_fitted(image.size, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _Display(image, (image.width / original_size[0], image.height / original_size[1]))


def _decode_oriented(data: bytes, photo_format: PhotoFormat, max_side: int) -> tuple[Image.Image, tuple[int, int]]:
    """Oriented RGB (a JPEG decoded at reduced size when that suffices) and the oriented original size."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data), formats=[photo_format.pillow_name])
        header_size = image.size
        _check_pixels(header_size)
        if photo_format is PhotoFormat.JPEG:
            image.draft("RGB", _fitted(header_size, max_side))
        image.load()
        oriented = ImageOps.exif_transpose(image)
    turned = oriented.size != image.size
    return to_rgb(oriented), (header_size[::-1] if turned else header_size)


def _check_pixels(size: tuple[int, int]) -> None:
    limit = IntakeLimits().max_pixels
    if size[0] * size[1] > limit or min(size) < 1:
        raise UnreadablePhoto(f"the photo is {size[0]}x{size[1]} pixels; display copies need 1 to {limit} pixels")


def _fitted(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """`size` scaled down (never up) so its long side is at most `max_side`."""
    scale = min(1.0, max_side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _encode(image: Image.Image, image_format: str, **options: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


# --- maps ---------------------------------------------------------------------------------------------------


def _checked_box(box: Sequence[float]) -> Box:
    if len(box) != 4 or not (box[2] > box[0] and box[3] > box[1]):
        raise ValueError(f"crop_box must be (left, top, right, bottom) with left < right and top < bottom, got {box}")
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _placement(crop: Box) -> tuple[int, int, tuple[int, int]]:
    """Whole-pixel (left, top, (width, height)) of the crop on the display copy."""
    left, top = round(crop[0]), round(crop[1])
    return left, top, (max(1, round(crop[2]) - left), max(1, round(crop[3]) - top))


def _paste_map(layer: Image.Image, crop: Box, rgba: np.ndarray) -> None:
    left, top, _ = _placement(crop)
    layer.paste(Image.fromarray(rgba, "RGBA"), (left, top))


def _resized(values: np.ndarray, size: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    return np.asarray(Image.fromarray(np.ascontiguousarray(values, np.float32)).resize(size, resample))


def _ramp(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def _defect_rgba(probs: np.ndarray, defect_types: list[str], size: tuple[int, int]) -> tuple[np.ndarray, list[str]]:
    """Each map cell coloured by its likeliest defect type, opaque where the background is unlikely.

    Colour is upsampled premultiplied by opacity, so clean cells (whose likeliest type means nothing) never
    tint the edge of a region. Returns the RGBA pixels and the types with a clearly visible region.
    """
    alpha = _ramp(1.0 - probs[0], FOREGROUND_FROM, FOREGROUND_FULL)
    likeliest = np.argmax(probs[1:], axis=0)
    palette = np.array([defect_colour(name) for name in defect_types], dtype=np.float32)
    premultiplied = palette[likeliest] * alpha[..., None]
    big_alpha = _resized(alpha, size, Image.Resampling.BILINEAR)
    channels = [_resized(premultiplied[..., channel], size, Image.Resampling.BILINEAR) for channel in range(3)]
    colour = np.dstack(channels) / np.maximum(big_alpha, 1e-6)[..., None]
    rgba = np.dstack([np.clip(colour, 0, 255), big_alpha * DEFECT_OPACITY * 255]).round().astype(np.uint8)
    shown = set(likeliest[alpha >= LEGEND_FROM].tolist())
    return rgba, [name for index, name in enumerate(defect_types) if index in shown]


def _anomaly_rgba(anomaly_map: np.ndarray, threshold: float, size: tuple[int, int]) -> np.ndarray:
    """Heat colours: transparent below half the threshold, yellow to red and strongest at the threshold."""
    if anomaly_map.ndim != 2:
        raise ValueError(f"anomaly_map must be (h, w), got shape {anomaly_map.shape}")
    if not threshold > 0:
        raise ValueError(f"anomaly_threshold must be positive, got {threshold}")
    heat = _ramp(_resized(anomaly_map, size, Image.Resampling.BILINEAR), ANOMALY_FROM * threshold, threshold)
    position = heat * (len(_HEAT_STOPS) - 1)
    lower = np.minimum(position.astype(np.intp), len(_HEAT_STOPS) - 2)
    mix = (position - lower)[..., None]
    colour = _HEAT_STOPS[lower] * (1 - mix) + _HEAT_STOPS[lower + 1] * mix
    return np.dstack([np.round(colour), np.round(heat * ANOMALY_OPACITY * 255)]).astype(np.uint8)


# --- drawing ------------------------------------------------------------------------------------------------


def _draw_defects(
    layer: Image.Image,
    crop: Box,
    display: _Display,
    probs: np.ndarray,
    defect_types: list[str],
    boxes: Sequence[tuple[str, Box]],
) -> list[str]:
    """Draw the probability colours and the boxes; return the defect types shown, for the legend."""
    if probs.ndim != 3 or probs.shape[0] != 1 + len(defect_types):
        raise ValueError(f"defect_probs must be (1 + {len(defect_types)} defect types, h, w), got shape {probs.shape}")
    shown: list[str] = []
    if defect_types:
        rgba, shown = _defect_rgba(probs, defect_types, _placement(crop)[2])
        _paste_map(layer, crop, rgba)
    for defect_type, box in boxes:
        _draw_box(layer, display.box(_checked_box(box)), defect_type)
    return shown + sorted({name for name, _ in boxes} - set(shown))


def _font(image_size: tuple[int, int]) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(11, round(max(image_size) / 64)))


def _draw_box(layer: Image.Image, box: Box, defect_type: str) -> None:
    draw = ImageDraw.Draw(layer)
    colour = defect_colour(defect_type)
    width = max(2, round(max(layer.size) / 400))
    draw.rectangle(box, outline=(*colour, 255), width=width)
    font = _font(layer.size)
    text_box = draw.textbbox((0, 0), defect_type, font=font)
    height = text_box[3] + 2 * width
    top = box[1] - height if box[1] >= height else box[1]
    draw.rectangle((box[0], top, box[0] + text_box[2] + 2 * width, top + height), fill=(*colour, 255))
    draw.text((box[0] + width, top + width), defect_type, fill=_text_colour(colour), font=font)


def _text_colour(background: Colour) -> tuple[int, int, int, int]:
    luminance = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    return (0, 0, 0, 255) if luminance > 150 else (255, 255, 255, 255)


def _outline_crop(layer: Image.Image, crop: Box) -> None:
    """A faint two-tone frame, visible on light and dark photos alike."""
    draw = ImageDraw.Draw(layer)
    draw.rectangle(crop, outline=(0, 0, 0, 90), width=3)
    draw.rectangle((crop[0] + 1, crop[1] + 1, crop[2] - 1, crop[3] - 1), outline=(255, 255, 255, 150), width=1)


def _draw_legend(layer: Image.Image, names: list[str]) -> None:
    """Swatch and name per defect type, in the bottom-left corner on a light panel."""
    draw = ImageDraw.Draw(layer)
    font = _font(layer.size)
    line = draw.textbbox((0, 0), "Hg", font=font)[3] + 4
    width = max(draw.textbbox((0, 0), name, font=font)[2] for name in names) + line + 12
    top = layer.height - line * len(names) - 8
    draw.rectangle((4, top - 4, 4 + width, layer.height - 4), fill=(255, 255, 255, 215))
    for row, name in enumerate(names):
        y = top + row * line
        draw.rectangle((8, y + 2, 8 + line - 6, y + line - 4), fill=(*defect_colour(name), 255))
        draw.text((8 + line, y), name, fill=(0, 0, 0, 255), font=font)
