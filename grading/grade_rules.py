"""The policy's grade rules on an item's merged defects: severity floors, critical defects, design features.

Critical rules read every reading, counted or not (see `grading.view_merge`): a close-up that absorbs the sole's
tear must not hide a separating sole. Severity floors and design features read only counted defects. A counted
defect that a design-feature rule matches, and no critical rule does, does not floor the grade; it is handed back
so the item goes to review instead. Critical rules take precedence over design features (a hole in leather tagged
"distressed" still rejects). Only certain defects (`ItemDefect.certain`) take part in any rule: an uncertain one
is handed back so the item goes to review, and never lowers a grade or rejects an item on its own. The model's
grade counts only as far as the certain defects explain it (`abstain.unexplained_grade`); the final grade is the
worse of that grade and the strongest floor; reaching the scale's last step rejects the item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from grading.item_result import FloorResult, FloorSource, Reason
from grading.policy import CriticalAction, CriticalRule, GradePolicy, RejectReason
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
    uncertain: list[ItemDefect] = field(default_factory=list)
    unexplained: str | None = None  # why the model's grade was not trusted alone


def apply_grade_rules(
    model_grade: str,
    defects: list[ItemDefect],
    item: ItemTraits,
    policy: GradePolicy,
    grade_probs: Sequence[float] | None = None,
    other_floors: Sequence[FloorCandidate] = (),
) -> GradeOutcome:
    """Floor the model's grade by the defects and list critical rejections; `grade_probs` (the item's mean grade
    probabilities, best grade first) serve `abstain.unexplained_grade.min_probability`; `other_floors` are caps
    from evidence other than defects (certain wear, `grading.wear`), weighed like the defects' floors."""
    certain = [defect for defect in defects if defect.certain]
    uncertain = [defect for defect in defects if defect.counted and not defect.certain]
    critical = [defect for defect in certain if _critical_rules(defect, item, policy)]
    counted = [defect for defect in certain if defect.counted]
    design = [defect for defect in counted if defect not in critical and _maybe_design(defect, item, policy)]
    flooring = [defect for defect in counted if defect not in design]
    floors = _severity_floors(flooring, policy) + _critical_floors(critical, item, policy) + list(other_floors)
    trusted, unexplained = _explained_model_grade(model_grade, grade_probs, floors, policy)
    floor = _strongest(floors, trusted, policy)
    grade = floor.grade if floor is not None and floor.applied else trusted
    rejections = _rejections(critical, item, policy)
    if grade == policy.grades[-1] and not rejections:
        rejections.append(Reason(code=RejectReason.BELOW_STANDARD, detail=f"the grade is {grade}, the last step"))
    return GradeOutcome(grade, floor, rejections, design, uncertain, unexplained)


def _explained_model_grade(
    model_grade: str, grade_probs: Sequence[float] | None, floors: list[FloorCandidate], policy: GradePolicy
) -> tuple[str, str | None]:
    """The model's grade, or, when the model goes `steps` past what the certain defects explain, review with the
    grade `steps - 1` below that evidence; with `min_probability`, a grade below the evidence counts only as far as
    the model is that sure of it (an unsure model grade far below still sends the item to review)."""
    rule = policy.abstain.unexplained_grade
    if rule is None:
        return model_grade, None
    evidence = max([policy.rank(grade) for grade, _, _ in floors] + [policy.rank(rule.clean_grade)])
    rank = cautious = policy.rank(model_grade)
    if rule.min_probability is not None and grade_probs is not None and rank > evidence:
        cautious = max(evidence, min(rank, likely_rank(grade_probs, rule.min_probability)))
    limit = min(evidence + rule.steps - 1, len(policy.grades) - 1)
    if rank <= limit:
        return policy.grades[cautious], None
    kept = policy.grades[min(cautious, limit)]
    detail = (
        f"the model grades {model_grade}, but its certain defects explain {policy.grades[evidence]}; "
        f"{kept} until a person decides"
    )
    return kept, detail


def likely_rank(grade_probs: Sequence[float], probability: float) -> int:
    """The worst grade rank r that the model gives at least `probability` to r or worse (0.5: the ordinal median)."""
    probs = np.asarray(grade_probs, dtype=np.float64)
    at_or_worse = np.cumsum(probs[::-1])[::-1] / probs.sum()
    return int(np.flatnonzero(at_or_worse >= probability - 1e-12).max())


def _strongest(floors: list[FloorCandidate], model_grade: str, policy: GradePolicy) -> FloorResult | None:
    strongest = max(floors, key=lambda floor: policy.rank(floor[0]), default=None)
    if strongest is None:
        return None
    grade, source, detail = strongest
    return FloorResult(grade=grade, source=source, detail=detail, applied=policy.rank(grade) > policy.rank(model_grade))


def _critical_rules(defect: ItemDefect, item: ItemTraits, policy: GradePolicy) -> list[CriticalRule]:
    return [rule for rule in policy.critical if rule.matches(defect.type, item.category, item.material, defect.view)]


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
        for rule in _critical_rules(defect, item, policy):
            grade = policy.grades[-1] if rule.action is CriticalAction.REJECT else rule.grade
            floors.append((grade, FloorSource.CRITICAL, f"{rule.name}: {_describe(defect)}"))
    return floors


def _rejections(defects: list[ItemDefect], item: ItemTraits, policy: GradePolicy) -> list[Reason]:
    return [
        Reason(code=RejectReason.CRITICAL_DEFECT, detail=f"{rule.name}: {_describe(defect)}")
        for defect in defects
        for rule in _critical_rules(defect, item, policy)
        if rule.action is CriticalAction.REJECT
    ]
