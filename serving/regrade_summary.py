"""What a regrade changed: each item's newest service result against its regraded one, counted.

Grades are compared by rank (`worse` means a lower grade than the service gave), decisions by whether the item
is now flagged (sent to review or rejected) where it was listed, or the other way round, authenticity by verdict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from pydantic import BaseModel

FLAGGED = ("review", "reject")


class ItemChange(NamedTuple):
    """One item's newest service result (None: it has none) and its regraded one ({} when regrading failed)."""

    item_id: str
    before: dict | None
    after: dict
    error: str | None = None


class RegradeSummary(BaseModel):
    items: int = 0
    failed: int = 0
    grade_better: int = 0
    grade_worse: int = 0
    grade_same: int = 0
    without_earlier_grade: int = 0
    newly_flagged: int = 0  # listed before, sent to review or rejected now
    no_longer_flagged: int = 0
    authenticity_changed: int = 0
    grade_moves: dict[str, int] = {}  # "excellent -> very_good": items
    decision_moves: dict[str, int] = {}

    def lines(self) -> list[str]:
        """The summary as a person reads it on the terminal."""
        lines = [
            f"{self.items} items regraded, {self.failed} could not be",
            f"grade: {self.grade_worse} lower, {self.grade_better} higher, {self.grade_same} the same",
            f"decision: {self.newly_flagged} newly flagged (review or reject), {self.no_longer_flagged} no longer",
            f"authenticity verdict changed: {self.authenticity_changed}",
        ]
        lines += [f"  grade {move}: {count}" for move, count in sorted(self.grade_moves.items())]
        lines += [f"  decision {move}: {count}" for move, count in sorted(self.decision_moves.items())]
        return lines


def summarise(changes: Iterable[ItemChange]) -> RegradeSummary:
    counts: Counter[str] = Counter()
    grade_moves: Counter[str] = Counter()
    decision_moves: Counter[str] = Counter()
    for change in changes:
        counts["items"] += 1
        if change.error or not change.after:
            counts["failed"] += 1
            continue
        if not change.before:  # graded before results were kept: nothing to compare with
            counts["without_earlier_grade"] += 1
            continue
        before = change.before
        counts[_grade_direction(before, change.after)] += 1
        counts[_flag_direction(before, change.after)] += 1
        if _verdict(before) != _verdict(change.after):
            counts["authenticity_changed"] += 1
        if _grade(before) != _grade(change.after):
            grade_moves[f"{_grade(before)} -> {_grade(change.after)}"] += 1
        if before.get("decision") != change.after.get("decision"):
            decision_moves[f"{before.get('decision')} -> {change.after.get('decision')}"] += 1
    known = {name: counts[name] for name in RegradeSummary.model_fields if name in counts}
    return RegradeSummary(**known, grade_moves=dict(grade_moves), decision_moves=dict(decision_moves))


def _grade(body: dict) -> str | None:
    return (body.get("grade") or {}).get("name")


def _grade_direction(before: dict, after: dict) -> str:
    old, new = before["grade"]["rank"], after["grade"]["rank"]
    if old == new:
        return "grade_same"
    return "grade_worse" if new > old else "grade_better"


def _flag_direction(before: dict, after: dict) -> str:
    was, now = before.get("decision") in FLAGGED, after.get("decision") in FLAGGED
    if now and not was:
        return "newly_flagged"
    return "no_longer_flagged" if was and not now else "unflagged_same"


def _verdict(body: dict) -> str | None:
    return (body.get("authenticity") or {}).get("verdict")
