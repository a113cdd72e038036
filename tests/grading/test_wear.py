"""Worn shoes through the item rules: the wear head's reading caps the grade, or sends the item to review."""

from __future__ import annotations

import pytest

from grading.item_grading import Channel, Decision, ItemFacts, PhotoEvidence, grade_item
from grading.item_result import FloorSource, ItemResult
from grading.policy import GradePolicy, PolicyError, ReviewReason, default_policy_path, load_policy
from grading.vocabulary import DefectType, View
from tests.grading import fake_outputs as fake
from tests.grading.fake_outputs import evidence

THRESHOLDS = (0.6, 0.8)  # wear_presence, wear_confident
SHOES = ItemFacts(channel=Channel.KIOSK, category="shoes", product_line="af1")
STATION_SHOES = ItemFacts(channel=Channel.STATION, category="shoes", product_line="af1")


def grade(
    photos: list[PhotoEvidence], facts: ItemFacts = SHOES, policy: GradePolicy | None = None, wear=THRESHOLDS
) -> ItemResult:
    return grade_item(facts, photos, fake.metadata(wear=wear), policy or fake.policy(), fake.pricing())


def shoe(wear: float | None, photo_id: str = "p1") -> PhotoEvidence:
    return evidence(photo_id, View.UNSPECIFIED, category="shoes", wear=wear)


def test_certain_wear_caps_the_grade_at_the_policys_grade_and_lists_the_item() -> None:
    result = grade([shoe(0.85, "top"), shoe(0.95, "side")])
    assert (result.grade.name, result.decision, result.reasons) == ("very_good", Decision.LIST, [])
    assert result.grade.floor.source is FloorSource.WEAR and result.grade.floor.applied
    assert "mean wear 0.90 over 2, most side: 0.95; certain from 0.80" in result.grade.floor.detail
    assert [photo.wear for photo in result.photos] == [pytest.approx(0.85), pytest.approx(0.95)]
    clean = grade([shoe(0.1)])
    assert result.price.voucher.cash < clean.price.voucher.cash


def test_an_items_wear_is_its_photos_mean_so_one_worn_looking_view_does_not_cap_a_clean_pair() -> None:
    one_view = grade([shoe(0.1, "sole"), shoe(0.9, "side")])  # mean 0.5: below wear_presence
    assert (one_view.grade.name, one_view.grade.floor, one_view.reasons) == ("like_new", None, [])
    assert grade([shoe(0.9)]).grade.floor.source is FloorSource.WEAR  # the same photo alone is certain


def test_suspected_wear_goes_to_review_with_the_clean_grade_and_offer() -> None:
    result = grade([shoe(0.7)])
    clean = grade([shoe(0.1)])
    assert (result.grade.name, result.grade.floor) == ("like_new", None)
    assert result.decision is Decision.REVIEW
    assert [reason.code for reason in result.reasons] == [ReviewReason.WEAR_SUSPECTED]
    assert "check the toe box" in result.reasons[0].detail
    assert result.price.voucher.cash == clean.price.voucher.cash
    assert (clean.decision, clean.reasons, clean.grade.floor) == (Decision.LIST, [], None)


def test_wear_is_read_only_for_the_policys_categories_lines_and_bundles_with_the_head() -> None:
    shirt = ItemFacts(channel=Channel.KIOSK, category="shirt", product_line="af1")
    assert grade([shoe(0.95)], facts=shirt).grade.floor is None
    for line in (None, "dunk"):  # the head was measured on the policy's lines only
        other = ItemFacts(channel=Channel.KIOSK, category="shoes", product_line=line)
        assert (grade([shoe(0.95)], facts=other).grade.floor, grade([shoe(0.7)], facts=other).reasons) == (None, [])
    declared = ItemFacts(channel=Channel.KIOSK, category="shoes", product_line=" AJ1 ")
    assert grade([shoe(0.95)], facts=declared).grade.floor.source is FloorSource.WEAR
    without_head = grade([shoe(None)], wear=None)
    assert (without_head.grade.name, without_head.photos[0].wear) == ("like_new", None)
    off = fake.policy().model_copy(update={"wear": fake.policy().wear.model_copy(update={"grade": None})})
    assert grade([shoe(0.95)], policy=off).grade.floor is None


def test_a_worse_defect_floor_still_wins_over_wear() -> None:
    big_stain = (DefectType.STAIN, slice(4, 12), slice(4, 12), 0.9)  # 64 cells: about 70 cm^2 of a shoe photo
    photo = evidence("p1", View.UNSPECIFIED, category="shoes", wear=0.95, blobs=[big_stain])
    result = grade([photo])
    assert result.grade.floor.source is FloorSource.SEVERITY
    assert fake.policy().rank(result.grade.name) > fake.policy().rank("very_good")


def test_a_wear_grade_off_the_scale_is_refused_with_the_field_named(tmp_path) -> None:
    text = default_policy_path().read_text().replace("  grade: very_good\n", "  grade: mint\n")
    with pytest.raises(PolicyError, match=r"wear\.grade: 'mint' is not on the grade scale"):
        load_policy(fake.write(tmp_path, text))


def test_views_the_head_has_not_learnt_are_not_read() -> None:
    side = evidence("side", View.SIDE, category="shoes", wear=0.9)
    sole = evidence("sole", View.SOLE, category="shoes", wear=0.1)  # a clean outsole must not dilute a worn upper
    result = grade([side, sole], facts=STATION_SHOES)
    assert result.grade.floor.source is FloorSource.WEAR and "side: wear 0.90" in result.grade.floor.detail
    only_sole = grade([evidence("sole", View.SOLE, category="shoes", wear=0.95)], facts=STATION_SHOES)
    assert only_sole.grade.floor is None and ReviewReason.WEAR_SUSPECTED not in [r.code for r in only_sole.reasons]
