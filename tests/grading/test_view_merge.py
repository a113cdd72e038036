"""The overlap rule: same view or a detail photo count once; different named views count separately."""

from __future__ import annotations

import pytest

from grading.defect_regions import DefectRegion
from grading.view_merge import ItemDefect, measure, merge_views, views_overlap
from grading.vocabulary import DefectType, View
from tests.grading.fake_outputs import policy


def seen(photo_id: str, view: View, severity: float, defect: DefectType = DefectType.STAIN) -> ItemDefect:
    region = DefectRegion(defect, 0.9, (0, 0, 1, 1), 0.01, 0.1)
    return ItemDefect(photo_id, view, region, size_cm=1.0, area_cm2=1.0, severity=severity)


def counted(defects: list[ItemDefect]) -> list[tuple[str, bool]]:
    return [(d.photo_id, d.counted) for d in defects]


def test_a_detail_photo_and_the_front_count_once_keeping_the_most_severe() -> None:
    merged = merge_views([seen("front", View.FRONT, 3.0), seen("close", View.DETAIL, 5.0)])
    assert counted(merged) == [("close", True), ("front", False)]


def test_front_and_back_are_distinct_surfaces() -> None:
    merged = merge_views([seen("front", View.FRONT, 3.0), seen("back", View.BACK, 5.0)])
    assert all(d.counted for d in merged)


def test_two_photos_of_the_same_view_count_once() -> None:
    merged = merge_views([seen("a", View.FRONT, 3.0), seen("b", View.FRONT, 2.0)])
    assert counted(merged) == [("a", True), ("b", False)]


def test_several_regions_on_one_photo_all_count() -> None:
    merged = merge_views([seen("a", View.FRONT, 3.0), seen("a", View.FRONT, 2.0), seen("b", View.FRONT, 1.0)])
    assert counted(merged) == [("a", True), ("a", True), ("b", False)]


def test_different_types_merge_independently() -> None:
    merged = merge_views([seen("a", View.FRONT, 3.0), seen("b", View.FRONT, 2.0, DefectType.HOLE)])
    assert all(d.counted for d in merged)


def test_overlap_table() -> None:
    assert views_overlap(View.SOLE, View.SOLE)
    assert views_overlap(View.DETAIL, View.BACK)
    assert views_overlap(View.UNSPECIFIED, View.FRONT)
    assert not views_overlap(View.FRONT, View.BACK)


def test_measure_sizes_by_the_category_frame_width() -> None:
    region = DefectRegion(DefectType.HOLE, 0.9, (0, 0, 1, 1), area_share=4 / 784, extent_share=2 / 28)
    defect = measure(region, "p", View.FRONT, "shirt", policy().severity)
    assert defect.size_cm == pytest.approx(55 * 2 / 28, abs=0.05)
    assert defect.area_cm2 == pytest.approx(55**2 * 4 / 784, abs=0.01)
    assert defect.severity == pytest.approx(4.0 * defect.area_cm2, abs=0.02)
