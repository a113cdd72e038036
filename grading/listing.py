"""Listing fields for a graded item: condition label, a short factual condition note, and shop department.

The note states only what the merged, counted defects say, one sentence per defect type and view, worst first:
"Small stain on front, about 2 cm. Pilling on back." Sizes are estimates under the policy's frame-width
assumption, hence "about", and given in whole cm; the size word (small < 3 cm, medium < 8 cm, large) follows the
rounded figure the buyer reads. Spread-out wear (pilling, fading, creases) gets no size. After five sentences the
note says how many more defects the photos show.
"""

from __future__ import annotations

import math

from grading.pricing import Departments, Listing
from grading.view_merge import ItemDefect
from grading.vocabulary import DefectType, View

SPREAD_OUT = frozenset({DefectType.PILLING, DefectType.FADING, DefectType.CREASE, DefectType.SURFACE_FLAW})
NO_PLACE = frozenset({View.UNSPECIFIED, View.DETAIL})
MAX_SENTENCES = 5
NO_DEFECTS_NOTE = "No specific defect located in the photos; the grade reflects the overall condition seen."


def condition_label(grade: str, listing: Listing) -> str:
    """The buyer-facing label of a grade; the grade name in words when the configuration has none."""
    return listing.condition_labels.get(grade, grade.replace("_", " ").capitalize())


def department(departments: Departments, category: str | None, material: str | None, tags: list[str]) -> str:
    """The shop department: first matching tag, then material, then category, then the default."""
    by_tag = {tag.lower(): name for tag, name in departments.by_tag.items()}
    for tag in tags:
        if tag.lower() in by_tag:
            return by_tag[tag.lower()]
    by_material = {key.lower(): name for key, name in departments.by_material.items()}
    if material is not None and material.lower() in by_material:
        return by_material[material.lower()]
    return departments.by_category.get((category or "").lower(), departments.default)


def condition_note(defects: list[ItemDefect], by_design: frozenset[DefectType] = frozenset()) -> str:
    """Sentences for the counted defects, worst first; `by_design` types are said to be possibly intended."""
    groups: dict[tuple[DefectType, View], list[ItemDefect]] = {}
    for defect in sorted((d for d in defects if d.counted), key=lambda d: -d.severity):
        groups.setdefault((defect.type, defect.view), []).append(defect)
    sentences = [_sentence(group, group[0].type in by_design) for group in groups.values()]
    if not sentences:
        return NO_DEFECTS_NOTE
    extra = sum(len(group) for group in list(groups.values())[MAX_SENTENCES:])
    tail = [f"{extra} more defect{'s' if extra > 1 else ''} listed in the photos."] if extra > 0 else []
    return " ".join(sentences[:MAX_SENTENCES] + tail)


def _sentence(group: list[ItemDefect], by_design: bool) -> str:
    defect_type, view = group[0].type, group[0].view
    noun = defect_type.value.replace("_", " ")
    place = "" if view in NO_PLACE else f" on {view.value}"
    largest = _whole_cm(max(defect.size_cm for defect in group))
    if defect_type in SPREAD_OUT:
        text = f"{noun.capitalize()}{place}"
    elif len(group) > 1:
        text = f"{len(group)} {_plural(noun)}{place}, the largest about {largest} cm"
    else:
        text = f"{_size_word(largest)} {noun}{place}, about {largest} cm"
    return f"{text} (may be a design feature)." if by_design else f"{text}."


def _plural(noun: str) -> str:
    return f"{noun}es" if noun.endswith(("s", "sh", "ch", "x", "z")) else f"{noun}s"


def _size_word(whole_cm: int) -> str:
    return "Small" if whole_cm < 3 else "Medium" if whole_cm < 8 else "Large"


def _whole_cm(size_cm: float) -> int:
    """The size as the note states it: whole cm, halves rounded up, at least 1."""
    return max(1, math.floor(size_cm + 0.5))
