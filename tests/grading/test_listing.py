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


def test_note_plurals_follow_english() -> None:
    scratches = [defect(DefectType.SCRATCH, View.SIDE, 2, 2), defect(DefectType.SCRATCH, View.SIDE, 1, 1)]
    assert condition_note(scratches) == "2 scratches on side, the largest about 2 cm."
    parts = [defect(DefectType.BROKEN_PART, View.SOLE, 1, 2), defect(DefectType.BROKEN_PART, View.SOLE, 1, 1)]
    assert condition_note(parts) == "2 broken parts on sole, the largest about 1 cm."


def test_size_word_agrees_with_the_rounded_size() -> None:
    assert condition_note([defect(DefectType.STAIN, View.FRONT, 2.6, 1)]) == "Medium stain on front, about 3 cm."
    assert condition_note([defect(DefectType.STAIN, View.FRONT, 7.5, 1)]) == "Large stain on front, about 8 cm."
    assert condition_note([defect(DefectType.STAIN, View.FRONT, 2.4, 1)]) == "Small stain on front, about 2 cm."


def test_the_tail_counts_defects_not_sentences() -> None:
    views = [View.FRONT, View.BACK, View.SIDE, View.SOLE, View.INSIDE, View.LABEL]
    defects = [defect(DefectType.STAIN, view, 2, 10 - i) for i, view in enumerate(views)]
    defects += [defect(DefectType.HOLE, View.LABEL, 1, 1), defect(DefectType.HOLE, View.LABEL, 1, 0.5)]
    note = condition_note(defects)  # 7 sentences: the stain on label and 2 holes on label are left for the tail
    assert note.count(".") == 6 and note.endswith(" 3 more defects listed in the photos.")
