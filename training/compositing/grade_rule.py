"""The condition grade of a composited item, as a function of its defects (type, severity).

| defects on the item                                                        | grade      |
|----------------------------------------------------------------------------|------------|
| none                                                                       | like_new   |
| hole or tear: the worst >= 0.85, or three or more                          | reject     |
| hole or tear: the worst >= 0.65, two, or total severity >= 1.2             | poor       |
| hole or tear otherwise                                                     | fair       |
| surface only (stain, scuff, pilling, fading, snag): total >= 1.2           | poor       |
| surface only: total >= 0.7 or the worst >= 0.5                             | fair       |
| surface only: total >= 0.35, or two or more defects                        | good       |
| surface only: one defect, severity >= 0.15                                 | very_good  |
| surface only: one barely visible defect (severity < 0.15)                  | excellent  |

`new_with_tags` is never assigned: tags cannot be composited.
"""

from __future__ import annotations

from collections.abc import Sequence

from grading.vocabulary import DefectType, Grade

OPENINGS = {DefectType.HOLE, DefectType.TEAR}


def grade_for(defects: Sequence[tuple[DefectType, float]]) -> Grade:
    if not defects:
        return Grade.LIKE_NEW
    openings = [severity for kind, severity in defects if kind in OPENINGS]
    total = sum(severity for _, severity in defects)
    if openings:
        return _grade_with_openings(openings, total)
    return _grade_surface_only(len(defects), max(severity for _, severity in defects), total)


def _grade_with_openings(openings: list[float], total: float) -> Grade:
    if max(openings) >= 0.85 or len(openings) >= 3:
        return Grade.REJECT
    if max(openings) >= 0.65 or len(openings) >= 2 or total >= 1.2:
        return Grade.POOR
    return Grade.FAIR


def _grade_surface_only(count: int, worst: float, total: float) -> Grade:
    if total >= 1.2:
        return Grade.POOR
    if total >= 0.7 or worst >= 0.5:
        return Grade.FAIR
    if total >= 0.35 or count >= 2:
        return Grade.GOOD
    return Grade.VERY_GOOD if worst >= 0.15 else Grade.EXCELLENT
