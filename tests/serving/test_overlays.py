"""Reviewer overlays on real photos: sizes, EXIF orientation, alpha and grey photos, where colour changes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from serving.overlays import OverlayKind, UnreadablePhoto, defect_colour, render_overlay, render_photo

TYPES = ["stain", "hole", "tear"]
MAP = 28  # cells per side, as the bundle's 224-pixel crop gives


def encode(pixels: np.ndarray, image_format: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def rotated_jpeg(pixels: np.ndarray) -> bytes:
    """JPEG stored as given with EXIF orientation 6: viewers show it turned 90 degrees clockwise."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(pixels, exif=exif.tobytes(), quality=95)


def decoded(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def defect_probs(cells: tuple[slice, slice] | None, channel: int = 2) -> np.ndarray:
    """Background everywhere except `cells`, where defect type `channel` (1-based) is near certain."""
    probs = np.zeros((1 + len(TYPES), MAP, MAP), np.float32)
    probs[0] = 1.0
    if cells is not None:
        probs[0][cells] = 0.02
        probs[channel][cells] = 0.98
    return probs


def anomaly(cells: tuple[slice, slice], value: float) -> np.ndarray:
    values = np.zeros((MAP, MAP), np.float32)
    values[cells] = value
    return values


def defects_overlay(photo: bytes, crop: tuple[float, ...], probs: np.ndarray, **options) -> np.ndarray:
    blank = np.zeros((MAP, MAP), np.float32)
    return decoded(render_overlay(photo, crop, probs, blank, OverlayKind.DEFECTS, TYPES, **options))


def anomaly_overlay(photo: bytes, crop: tuple[float, ...], values: np.ndarray, **options) -> np.ndarray:
    blank = defect_probs(None)
    return decoded(render_overlay(photo, crop, blank, values, OverlayKind.ANOMALY, TYPES, **options))


@pytest.fixture(scope="module")
def astronaut() -> bytes:
    return encode(data.astronaut(), quality=95)  # 512 x 512


CROP = (64.0, 64.0, 448.0, 448.0)  # 384 pixels: one map cell = 13.7 pixels
TOP_LEFT_CELLS = (slice(2, 8), slice(2, 8))  # pixels 91..173 of the photo at full size


def test_defect_region_takes_its_type_colour_and_far_pixels_stay(astronaut: bytes) -> None:
    clean = defects_overlay(astronaut, CROP, defect_probs(None))
    marked = defects_overlay(astronaut, CROP, defect_probs(TOP_LEFT_CELLS))
    assert marked.shape == clean.shape == (512, 512, 3)
    inside = (slice(110, 155), slice(110, 155))
    hole = np.array(defect_colour("hole"))
    assert np.abs(marked[inside] - clean[inside]).mean() > 40
    assert np.abs(marked[inside] - hole).mean() < np.abs(clean[inside] - hole).mean() / 2
    far = (slice(250, 430), slice(250, 430))  # inside the crop, far from the defect, the frame and the legend
    assert np.array_equal(marked[far], clean[far])


def test_clean_maps_leave_the_photo_as_it_was_away_from_the_crop_frame(astronaut: bytes) -> None:
    clean = defects_overlay(astronaut, CROP, defect_probs(None))
    original = np.asarray(Image.open(io.BytesIO(astronaut)).convert("RGB"), dtype=np.int16)
    assert np.abs(clean[100:400, 100:400] - original[100:400, 100:400]).max() <= 2
    assert np.abs(clean[64, 100:400] - original[64, 100:400]).mean() > 5  # the faint frame is there


def test_boxes_are_outlined_in_their_type_colour(astronaut: bytes) -> None:
    boxes = [("scuff", (300.0, 300.0, 400.0, 400.0))]
    marked = defects_overlay(astronaut, CROP, defect_probs(None), defect_boxes=boxes)
    assert np.abs(marked[350, 300] - np.array(defect_colour("scuff"))).max() <= 2
    clean = defects_overlay(astronaut, CROP, defect_probs(None))
    assert np.array_equal(marked[340:360, 320:380], clean[340:360, 320:380])  # the box is not filled


def test_downscaled_overlay_keeps_the_defect_in_place(astronaut: bytes) -> None:
    clean = defects_overlay(astronaut, CROP, defect_probs(None), max_side=256)
    marked = defects_overlay(astronaut, CROP, defect_probs(TOP_LEFT_CELLS), max_side=256)
    assert marked.shape == (256, 256, 3)
    assert np.abs(marked[55:77, 55:77] - clean[55:77, 55:77]).mean() > 40
    assert np.array_equal(marked[130:210, 130:210], clean[130:210, 130:210])


def test_anomaly_heat_is_strong_at_the_threshold_and_absent_below_half(astronaut: bytes) -> None:
    values = anomaly(TOP_LEFT_CELLS, 1.5)
    values[18:24, 18:24] = 0.3
    heat = anomaly_overlay(astronaut, CROP, values)
    clean = anomaly_overlay(astronaut, CROP, np.zeros((MAP, MAP), np.float32))
    inside = (slice(110, 155), slice(110, 155))
    shift = (heat[inside] - clean[inside]).mean(axis=(0, 1))
    assert shift[0] > shift[2] + 40  # towards red
    low = (slice(330, 380), slice(330, 380))
    assert np.array_equal(heat[low], clean[low])


def test_exif_rotated_photo_is_drawn_upright_with_maps_in_oriented_pixels() -> None:
    coffee = data.coffee()  # 400 high, 600 wide; shown 600 high, 400 wide after orientation 6
    photo = rotated_jpeg(coffee)
    crop = (0.0, 100.0, 400.0, 500.0)  # the centre square of the oriented photo
    clean = defects_overlay(photo, crop, defect_probs(None))
    marked = defects_overlay(photo, crop, defect_probs(TOP_LEFT_CELLS))
    assert marked.shape == (600, 400, 3)
    upright = np.rot90(coffee, k=-1).astype(np.int16)
    assert np.abs(clean[150:450, 50:350] - upright[150:450, 50:350]).mean() < 4
    cells = (slice(140, 200), slice(40, 100))  # cells 2..8 of the crop, in oriented pixels
    hole = np.array(defect_colour("hole"))
    assert np.abs(marked[cells] - hole).mean() < np.abs(clean[cells] - hole).mean() - 20
    assert np.array_equal(marked[350:480, 250:380], clean[350:480, 250:380])


def test_png_with_alpha_is_flattened_on_white() -> None:
    rgba = np.dstack([data.astronaut(), np.full((512, 512), 255, np.uint8)])
    rgba[:, :40, 3] = 0  # a transparent strip on the left
    photo = encode(rgba, "PNG")
    overlay = defects_overlay(photo, CROP, defect_probs(TOP_LEFT_CELLS), max_side=512)
    assert overlay.shape == (512, 512, 3)
    assert (overlay[100:400, 5:35] == 255).all()


def test_grey_photo_gets_colour_overlays() -> None:
    photo = encode(data.camera(), "JPEG")  # 512 x 512, one channel
    overlay = defects_overlay(photo, CROP, defect_probs(TOP_LEFT_CELLS))
    assert overlay.shape == (512, 512, 3)
    region = overlay[110:155, 110:155]
    assert np.abs(region[..., 0] - region[..., 2]).mean() > 40  # grey has R == B; the hole colour does not


def test_render_photo_is_an_upright_jpeg_within_max_side() -> None:
    body, media_type = render_photo(rotated_jpeg(data.coffee()), max_side=300)
    image = Image.open(io.BytesIO(body))
    assert media_type == "image/jpeg"
    assert image.format == "JPEG"
    assert image.size == (200, 300)


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        (b"", "not a JPEG, PNG, WebP or HEIC"),
        (b"%PDF-1.7 not a photo", "not a JPEG, PNG, WebP or HEIC"),
        (encode(data.astronaut())[:400], "could not be decoded"),
    ],
)
def test_bad_photo_bytes_raise_value_error(photo: bytes, message: str) -> None:
    with pytest.raises(UnreadablePhoto, match=message):
        render_photo(photo)
    with pytest.raises(ValueError, match=message):
        render_overlay(photo, CROP, defect_probs(None), np.zeros((MAP, MAP)), OverlayKind.DEFECTS, TYPES)


def test_maps_that_do_not_fit_the_labels_are_refused(astronaut: bytes) -> None:
    wrong = np.zeros((2, MAP, MAP), np.float32)
    with pytest.raises(ValueError, match="defect_probs must be"):
        render_overlay(astronaut, CROP, wrong, np.zeros((MAP, MAP)), OverlayKind.DEFECTS, TYPES)
    with pytest.raises(ValueError, match="crop_box"):
        render_overlay(astronaut, (10, 10, 5, 50), defect_probs(None), np.zeros((MAP, MAP)), "defects", TYPES)
