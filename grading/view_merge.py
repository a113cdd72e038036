"""Merging the defect regions of one item's photos into the defects the grade counts.

The rule, applied per defect type:

1. The worst counted defect decides floors (see `grading.policy.GradePolicy.floor_for`).
2. Two photos *overlap* when they may show the same surface: they have the same view (two `front` photos),
   or either is a `detail` close-up or has an `unspecified` view (it could show any surface).
   Photos of different named views (`front` and `back`) show distinct surfaces and never overlap.
3. Photos are taken most severe first (by their worst region of the type). A photo's regions of that type
   count unless an already counted photo overlaps it; then they are kept but marked `counted=False`, as the
   same defect seen again. Several regions on one photo are distinct places and all count.

So a stain on the front and its detail close-up count once (the more severe reading), while the same stain
type on the front and on the back counts twice.

The rule never counts one defect twice, at a price: a close-up that is the most severe reading of its type
absorbs that type's readings on every named view (it cannot say which one it shows), so the condition note may
then name fewer places than there are. Floors are unaffected: severity floors read only the worst defect, which
always counts, and critical rules read every reading, counted or not (`grading.grade_rules`), so an absorbed
`tear` on the `sole` still triggers the separating-sole rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from grading.defect_regions import DefectRegion
from grading.policy import Severity
from grading.vocabulary import WILDCARD_VIEWS, DefectType, View


@dataclass(frozen=True)
class ItemDefect:
    """One defect region placed on the item, sized and weighed.

    Attributes:
        size_cm: the region's longer side, in cm under the policy's frame-width assumption.
        area_cm2: the region's area under the same assumption.
        counted: False when the merge found it a duplicate of a more severe reading in an overlapping photo.
        certain: the region's peak reaches the bundle's `defect_confident` threshold for its type; an uncertain
            defect is shown and sends the item to review, but never lowers the grade on its own.
    """

    photo_id: str
    view: View
    region: DefectRegion
    size_cm: float
    area_cm2: float
    severity: float
    counted: bool = True
    certain: bool = True

    @property
    def type(self) -> DefectType:
        return self.region.type


def measure(region: DefectRegion, photo_id: str, view: View, category: str | None, severity: Severity) -> ItemDefect:
    """Size a region in cm (policy frame width for the category and view) and compute its severity."""
    width_cm = severity.frame_width.width_cm(category, view)
    area_cm2 = region.area_share * width_cm**2
    return ItemDefect(
        photo_id=photo_id,
        view=view,
        region=region,
        size_cm=round(region.extent_share * width_cm, 1),
        area_cm2=round(area_cm2, 2),
        severity=round(severity.of(region.type, area_cm2, view), 2),
    )


def views_overlap(first: View, second: View) -> bool:
    """Whether two photos may show the same surface of the item."""
    return first == second or first in WILDCARD_VIEWS or second in WILDCARD_VIEWS


def merge_views(defects: list[ItemDefect]) -> list[ItemDefect]:
    """Mark duplicates across overlapping photos as not counted; most severe first in the result."""
    merged: list[ItemDefect] = []
    for defect_type in dict.fromkeys(defect.type for defect in defects):
        merged += _merge_type([defect for defect in defects if defect.type == defect_type])
    return sorted(merged, key=lambda defect: (not defect.counted, -defect.severity))


def _merge_type(defects: list[ItemDefect]) -> list[ItemDefect]:
    by_photo: dict[str, list[ItemDefect]] = {}
    for defect in sorted(defects, key=lambda defect: (not defect.certain, -defect.severity)):  # certain readings win
        by_photo.setdefault(defect.photo_id, []).append(defect)
    counted_views: list[View] = []
    result = []
    for photo_defects in by_photo.values():  # insertion order: photos by their worst region, most severe first
        view = photo_defects[0].view
        duplicate = any(views_overlap(view, other) for other in counted_views)
        if not duplicate:
            counted_views.append(view)
        result += [replace(defect, counted=not duplicate) for defect in photo_defects]
    return result
