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
    rng = np.random.default_rng(seed)
    floor = np.array([200, 190, 170], np.float32) + rng.normal(0, 3, (SIZE, SIZE, 3))
    colour = rng.uniform(30, 160, 3).astype(np.float32)
    weave = rng.normal(0, 25, (SIZE // 4, SIZE // 4, 1)).repeat(4, axis=0).repeat(4, axis=1)
    pixels = floor.copy()
    left, right = max(0, centre_x - width // 2), min(SIZE, centre_x + width // 2)
    pixels[40:190, left:right] = colour + weave[40:190, left:right]
    return np.clip(pixels, 0, 255).astype(np.uint8)


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
    smeared = np.mean([np.roll(pixels, shift, axis=1) for shift in range(-10, 11)], axis=0).astype(np.uint8)
    assert QualityCheck.SHAKE in failed(smeared)


def test_dark_and_over_exposed_photos_fail_their_exposure_checks() -> None:
    pixels = garment().astype(np.float32)
    dark = (pixels * 0.15).astype(np.uint8)
    blown = np.clip(pixels * 5.0, 0, 255).astype(np.uint8)
    assert QualityCheck.TOO_DARK in failed(dark)
    assert {QualityCheck.TOO_BRIGHT, QualityCheck.CLIPPED_HIGHLIGHTS} <= failed(blown)


def test_a_dark_garment_with_a_lighter_background_is_not_too_dark() -> None:
    pixels = garment()
    pixels[40:190, 52:172] = 15  # a black garment, correctly exposed: the floor stays light
    assert QualityCheck.TOO_DARK not in failed(pixels)


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
    off_side = garment(centre_x=40, width=160)
    assert QualityCheck.CUT_OFF in failed(off_side)
    assert not failed(off_side, View.DETAIL) & {QualityCheck.CUT_OFF, QualityCheck.ITEM_COVERAGE}


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
