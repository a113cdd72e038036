"""Condition label, condition note text and department mapping."""

from __future__ import annotations

from grading.defect_regions import DefectRegion
from grading.listing import NO_DEFECTS_NOTE, condition_label, condition_note, department
from grading.view_merge import ItemDefect
from grading.vocabulary import DefectType, View
from tests.grading.fake_outputs import pricing


def defect(kind: DefectType, view: View, size_cm: float, severity: float, counted: bool = True) -> ItemDefect:
    region = DefectRegion(kind, 0.9, (0, 0, 1, 1), 0.01, 0.1)
    return ItemDefect("p", view, region, size_cm=size_cm, area_cm2=1.0, severity=severity, counted=counted)


def test_note_names_type_place_and_size_worst_first() -> None:
    note = condition_note(
        [defect(DefectType.PILLING, View.BACK, 20, 1.0), defect(DefectType.STAIN, View.FRONT, 2.2, 5)]
    )
    assert note == "Small stain on front, about 2 cm. Pilling on back."


def test_note_groups_repeats_and_skips_duplicates() -> None:
    defects = [
        defect(DefectType.HOLE, View.FRONT, 4, 9),
        defect(DefectType.HOLE, View.FRONT, 1, 3),
        defect(DefectType.HOLE, View.DETAIL, 9, 1, counted=False),
    ]
    assert condition_note(defects) == "2 holes on front, the largest about 4 cm."


def test_note_without_defects_and_with_possible_design() -> None:
    assert condition_note([]) == NO_DEFECTS_NOTE
    note = condition_note([defect(DefectType.TEAR, View.UNSPECIFIED, 9, 5)], frozenset({DefectType.TEAR}))
    assert note == "Large tear, about 9 cm (may be a design feature)."


def test_condition_label_from_config_or_words() -> None:
    listing = pricing().listing
    assert condition_label("very_good", listing) == "Very good condition"
    assert condition_label("pristine_ish", listing) == "Pristine ish"


def test_department_prefers_tag_then_material_then_category() -> None:
    departments = pricing().listing.departments
    assert department(departments, "pants", "denim", ["Kids"]) == "Kids"
    assert department(departments, "skirt", "Denim", []) == "Denim"
    assert department(departments, "t-shirt", None, []) == "Divided"
    assert department(departments, "bag", None, []) == "Ladies"
