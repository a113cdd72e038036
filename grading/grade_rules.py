"""The policy's grade rules on an item's merged defects: severity floors, critical defects, design features.

Only counted defects (see `grading.view_merge`) take part. A defect that a design-feature rule matches does not
floor the grade or trigger a critical rule; it is handed back so the item goes to review instead. The final grade
is the worse of the model's grade and the strongest floor; reaching the scale's last step rejects the item.
"""

from __future__ import annotations

from dataclasses import dataclass

from grading.item_result import FloorResult, FloorSource, Reason
from grading.policy import CriticalAction, GradePolicy, RejectReason
from grading.view_merge import ItemDefect

FloorCandidate = tuple[str, FloorSource, str]  # grade, source, why


@dataclass(frozen=True)
class ItemTraits:
    """What the rules read about the item besides its defects."""

    category: str | None
    material: str | None
    tags: list[str]


@dataclass(frozen=True)
class GradeOutcome:
    grade: str
    floor: FloorResult | None
    rejections: list[Reason]
    design_features: list[ItemDefect]


def apply_grade_rules(
    model_grade: str, defects: list[ItemDefect], item: ItemTraits, policy: GradePolicy
) -> GradeOutcome:
    """Floor the model's grade by the counted defects and list critical rejections."""
    counted = [defect for defect in defects if defect.counted]
    design = [defect for defect in counted if _maybe_design(defect, item, policy)]
    flooring = [defect for defect in counted if defect not in design]
    floors = _severity_floors(flooring, policy) + _critical_floors(flooring, item, policy)
    strongest = max(floors, key=lambda floor: policy.rank(floor[0]), default=None)
    model_rank = policy.rank(model_grade)
    floor = None
    if strongest is not None:
        grade, source, detail = strongest
        floor = FloorResult(grade=grade, source=source, detail=detail, applied=policy.rank(grade) > model_rank)
    grade = floor.grade if floor is not None and floor.applied else model_grade
    rejections = _rejections(flooring, item, policy)
    if grade == policy.grades[-1] and not rejections:
        rejections.append(Reason(code=RejectReason.BELOW_STANDARD, detail=f"the grade is {grade}, the last step"))
    return GradeOutcome(grade=grade, floor=floor, rejections=rejections, design_features=design)


def _maybe_design(defect: ItemDefect, item: ItemTraits, policy: GradePolicy) -> bool:
    return any(rule.applies(defect.type, item.category, item.material, item.tags) for rule in policy.design_features)


def _describe(defect: ItemDefect) -> str:
    return f"{defect.type.value} on {defect.view.value} ({defect.photo_id}), about {defect.size_cm:g} cm"


def _severity_floors(defects: list[ItemDefect], policy: GradePolicy) -> list[FloorCandidate]:
    worst = max(defects, key=lambda defect: defect.severity, default=None)
    grade = policy.floor_for(worst.severity) if worst is not None else None
    if grade is None:
        return []
    return [(grade, FloorSource.SEVERITY, f"{_describe(worst)}, severity {worst.severity:g}")]


def _critical_floors(defects: list[ItemDefect], item: ItemTraits, policy: GradePolicy) -> list[FloorCandidate]:
    floors = []
    for defect in defects:
        for rule in policy.critical:
            if rule.matches(defect.type, item.category, item.material, defect.view):
                grade = policy.grades[-1] if rule.action is CriticalAction.REJECT else rule.grade
                floors.append((grade, FloorSource.CRITICAL, f"{rule.name}: {_describe(defect)}"))
    return floors


def _rejections(defects: list[ItemDefect], item: ItemTraits, policy: GradePolicy) -> list[Reason]:
    return [
        Reason(code=RejectReason.CRITICAL_DEFECT, detail=f"{rule.name}: {_describe(defect)}")
        for defect in defects
        for rule in policy.critical
        if rule.action is CriticalAction.REJECT and rule.matches(defect.type, item.category, item.material, defect.view)
    ]
