"""Photo quality checks on generated photos: each kind of bad photo fails its own check, with a message to act on."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from grading.intake import Photo
from grading.photo_format import PhotoFormat
from grading.photo_measures import measure_photo
from grading.photo_quality import (
    RULES,
    PhotoQualityPolicy,
    QualityCheck,
    assess_photo,
    assess_photos,
    duplicate_checks,
)
from grading.policy import PolicyError, default_policy_path, load_policy
from grading.vocabulary import View

SIZE = 224


def garment(seed: int = 0, centre_x: int = SIZE // 2, width: int = 120) -> np.ndarray:
    """A textured, item-shaped patch of one colour on a plain, lightly noisy floor: a sharp product photo."""
    return garment_in(40, 190, max(0, centre_x - width // 2), min(SIZE, centre_x + width // 2), seed)


def garment_in(top: int, bottom: int, left: int, right: int, seed: int = 0) -> np.ndarray:
    """`garment` with the item filling the rows top:bottom and columns left:right."""
    rng = np.random.default_rng(seed)
    floor = np.array([200, 190, 170], np.float32) + rng.normal(0, 3, (SIZE, SIZE, 3))
    colour = rng.uniform(30, 160, 3).astype(np.float32)
    weave = rng.normal(0, 25, (SIZE // 4, SIZE // 4, 1)).repeat(4, axis=0).repeat(4, axis=1)
    pixels = floor.copy()
    pixels[top:bottom, left:right] = colour + weave[top:bottom, left:right]
    return np.clip(pixels, 0, 255).astype(np.uint8)


def smeared(pixels: np.ndarray, degrees: float, length: int = 21) -> np.ndarray:
    """A straight shake `length` px long at `degrees` from the x axis: the mean of the photo shifted along it."""
    angle, image = np.radians(degrees), pixels.astype(np.float32)
    padded = np.pad(image, ((length, length), (length, length), (0, 0)), mode="edge")
    total = np.zeros_like(image)
    for offset in np.linspace(-length / 2, length / 2, length):
        dy, dx = length + round(offset * np.sin(angle)), length + round(offset * np.cos(angle))
        total += padded[dy : dy + SIZE, dx : dx + SIZE]
    return (total / length).astype(np.uint8)


def under_exposed(pixels: np.ndarray, stops: float = 4.0) -> np.ndarray:
    """Fewer photons in linear light, encoded again with the sRGB-like gamma of 2.2."""
    linear = (pixels.astype(np.float32) / 255) ** 2.2 * 2.0**-stops
    return np.clip(np.rint(linear ** (1 / 2.2) * 255), 0, 255).astype(np.uint8)


def photo(pixels: np.ndarray, source_size: tuple[int, int] = (3000, 4000)) -> Photo:
    return Photo(pixels, PhotoFormat.JPEG, source_size, (0.0, 0.0, float(source_size[0]), float(source_size[1])))


def failed(pixels: np.ndarray, view: View = View.UNSPECIFIED, **measure: object) -> set[QualityCheck]:
    results = assess_photo(measure_photo(photo(pixels, **measure)), PhotoQualityPolicy(), view)
    return {result.check for result in results if not result.passed}


def test_a_sharp_well_framed_photo_passes_every_check() -> None:
    results = assess_photo(measure_photo(photo(garment())), PhotoQualityPolicy())
    assert {r.check for r in results} >= {rule.check for rule in RULES} - {QualityCheck.CLIPPED_HIGHLIGHTS}
    assert all(r.passed for r in results), [r for r in results if not r.passed]


def test_a_blurred_photo_fails_sharpness_with_a_message_to_hold_still() -> None:
    blurred = np.asarray(Image.fromarray(garment()).filter(ImageFilter.GaussianBlur(4)))
    results = {r.check: r for r in assess_photo(measure_photo(photo(blurred)), PhotoQualityPolicy())}
    sharpness = results[QualityCheck.SHARPNESS]
    assert not sharpness.passed and sharpness.value < sharpness.threshold == 25.0
    assert "blurred" in sharpness.message and "hold the phone still" in sharpness.message


def test_a_sideways_shake_fails_the_shake_check() -> None:
    pixels = garment().astype(np.float32)
    smeared_sideways = np.mean([np.roll(pixels, shift, axis=1) for shift in range(-10, 11)], axis=0).astype(np.uint8)
    assert QualityCheck.SHAKE in failed(smeared_sideways)


@pytest.mark.parametrize("degrees", [45, 135])
def test_a_diagonal_shake_fails_the_shake_check(degrees: int) -> None:
    """A diagonal smear keeps edges along both axes partly crisp; the diagonal directions see it."""
    assert QualityCheck.SHAKE in failed(smeared(garment(), degrees))


def test_dark_and_over_exposed_photos_fail_their_exposure_checks() -> None:
    pixels = garment().astype(np.float32)
    dark = (pixels * 0.15).astype(np.uint8)
    blown = np.clip(pixels * 5.0, 0, 255).astype(np.uint8)
    assert QualityCheck.TOO_DARK in failed(dark)
    assert {QualityCheck.TOO_BRIGHT, QualityCheck.CLIPPED_HIGHLIGHTS} <= failed(blown)


def test_four_stops_under_is_too_dark_even_on_a_white_sheet() -> None:
    """White turns into 72 of 255 four stops under: nothing in the photo is bright any more."""
    pixels = garment()
    pixels[:40] = pixels[190:] = 250  # a white sheet above and below the item
    assert QualityCheck.TOO_DARK not in failed(pixels)
    assert QualityCheck.TOO_DARK in failed(under_exposed(pixels))


def test_a_dark_garment_with_a_lighter_background_is_not_too_dark() -> None:
    pixels = garment()
    pixels[40:190, 52:172] = 15  # a black garment, correctly exposed: the floor stays light
    assert QualityCheck.TOO_DARK not in failed(pixels)


def test_a_navy_garment_filling_the_frame_with_a_light_label_is_not_too_dark() -> None:
    pixels = np.empty((SIZE, SIZE, 3), np.uint8)
    pixels[:] = (20, 25, 60)
    pixels[30:50, 100:120] = 235  # the care label: 0.8% of the frame
    assert QualityCheck.TOO_DARK not in failed(pixels)


def test_a_saturated_red_garment_is_neither_dark_nor_washed_out() -> None:
    pixels = garment()
    pixels[40:190, 52:172] = (252, 20, 25)  # one channel at the top: correctly exposed red, grey luma 80
    assert not failed(pixels) & {QualityCheck.TOO_DARK, QualityCheck.CLIPPED_HIGHLIGHTS}


def test_a_blown_out_pink_item_on_a_darker_floor_fails_clipped_highlights() -> None:
    """Two channels clipped over the item: washed out, though its grey level (175) and the photo's mean are not."""
    pixels = garment()
    pixels[:] = (120, 60, 60)  # a dark red rug
    pixels[40:190, 52:172] = (255, 150, 255)
    assert QualityCheck.CLIPPED_HIGHLIGHTS in failed(pixels)


def test_clipped_white_around_a_darker_item_is_not_over_exposed() -> None:
    pixels = garment()
    pixels[:, :40] = 255  # a white sheet at the side: clipped, but the photo is not bright overall
    pixels[:, -40:] = 255
    assert not failed(pixels) & {QualityCheck.CLIPPED_HIGHLIGHTS, QualityCheck.TOO_BRIGHT}


def test_a_photo_uploaded_too_small_fails_too_small() -> None:
    assert failed(garment(), source_size=(90, 120)) == {QualityCheck.TOO_SMALL}


def test_a_frame_of_nothing_but_one_surface_fails_item_coverage() -> None:
    floor = np.full((SIZE, SIZE, 3), 128, np.uint8) + np.random.default_rng(0).integers(0, 6, (SIZE, SIZE, 3)).astype(
        np.uint8
    )
    assert QualityCheck.ITEM_COVERAGE in failed(floor)


def test_an_item_crowding_one_side_is_cut_off_but_a_close_up_view_is_exempt() -> None:
    off_side = garment_in(20, 200, 0, 80)  # the item's left part is outside the photo
    assert QualityCheck.CUT_OFF in failed(off_side)
    assert not failed(off_side, View.DETAIL) & {QualityCheck.CUT_OFF, QualityCheck.ITEM_COVERAGE}


def test_an_item_cut_off_at_the_top_is_cut_off() -> None:
    """Centred left to right, so balanced halves would not show it: the item's centre lies far up."""
    assert QualityCheck.CUT_OFF in failed(garment_in(0, 80, 10, 214))  # the top of the item is outside the photo


def test_a_garment_filling_the_frame_above_a_strip_of_floor_is_not_cut_off() -> None:
    """The edge's colour is the garment's, so the mask finds the floor: too little of the frame to place."""
    pixels = garment()
    pixels[:, :] = pixels[100, 100]
    pixels[:40] = garment()[0:40]  # the floor at the top
    assert QualityCheck.CUT_OFF not in failed(pixels)


def test_the_same_photo_sent_twice_fails_near_duplicate_naming_the_first() -> None:
    first = garment(seed=1)
    resent = np.asarray(Image.open(io.BytesIO(_jpeg(first, quality=60))).convert("RGB"))
    measures = [measure_photo(photo(p)) for p in (first, garment(seed=2), resent)]
    checks = duplicate_checks(measures, PhotoQualityPolicy())
    assert checks[0] is None and checks[1].passed
    assert not checks[2].passed and checks[2].check is QualityCheck.NEAR_DUPLICATE and "photo 1" in checks[2].message


def test_assess_photos_gives_every_photo_its_checks_and_a_disabled_policy_none() -> None:
    measures = [measure_photo(photo(garment(seed))) for seed in (1, 2)]
    checked = assess_photos(measures, [View.FRONT, View.BACK], PhotoQualityPolicy())
    assert [q.usable for q in checked] == [True, True]
    assert QualityCheck.NEAR_DUPLICATE in {c.check for c in checked[1].checks}
    assert assess_photos(measures, [View.FRONT, View.BACK], PhotoQualityPolicy(enabled=False))[0].checks == ()


def test_the_shipped_policy_holds_the_fitted_thresholds() -> None:
    assert load_policy(default_policy_path()).photo_quality == PhotoQualityPolicy()


def test_a_misspelt_threshold_is_named(tmp_path) -> None:
    text = default_policy_path().read_text(encoding="utf-8").replace("shake_at_most:", "shake_at_mots:")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=r"photo_quality\.shake_at_mots: unknown field"):
        load_policy(path)


def _jpeg(pixels: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_a_dark_photo_is_told_to_fix_the_light_first() -> None:
    dark = (garment().astype(np.float32) * 0.05).astype(np.uint8)
    [quality] = assess_photos([measure_photo(photo(dark))], [View.FRONT], PhotoQualityPolicy())
    assert len(quality.failed) > 1 and quality.first_fix.check is QualityCheck.TOO_DARK
    assert assess_photos([measure_photo(photo(garment()))], [View.FRONT], PhotoQualityPolicy())[0].first_fix is None
