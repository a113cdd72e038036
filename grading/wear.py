"""Wear on shoes from the bundle's wear head: an item's reading, the grade floor it sets, the review it asks for.

The head (`wear_prob`, one probability per photo; `training.wear_head`) sees the look of a worn pair (creases,
greyed midsoles, dirt, scuffs, yellowing) that the defect heads do not; an item's wear is its photos' mean. It
places nothing on the photo, so it never names a defect: certain wear caps the grade at the policy's
`wear.grade`, weaker wear sends the item to a person (`wear_suspected`) with its grade and offer untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from grading.bundle import Thresholds
from grading.item_result import FloorSource
from grading.network_outputs import NetworkOutputs
from grading.policy import GradePolicy
from grading.vocabulary import View


class _Photo(Protocol):
    photo_id: str
    view: View
    outputs: NetworkOutputs


@dataclass(frozen=True)
class WearReading:
    """The item's wear: the mean of its photos' wear probabilities, its most worn-looking photo, and where the mean
    stands against the bundle's thresholds.

    The mean, not the maximum (as for the counterfeit probability, `grading.authenticity`): the thresholds hold
    for one photo at a time (1% of clean photos reach wear_confident), and with the maximum every extra photo of a
    clean pair would be one more chance to cap it, so a station item with four views would be capped about four
    times as often as a kiosk item with one.
    """

    probability: float
    photos: int
    worst_photo: str
    worst: float
    presence: float
    confident: float

    @property
    def certain(self) -> bool:
        return self.probability >= self.confident

    @property
    def suspected(self) -> bool:
        return self.presence <= self.probability < self.confident

    def describe(self) -> str:
        level = f"certain from {self.confident:.2f}"
        if self.photos == 1:
            return f"the photo looks worn ({self.worst_photo}: wear {self.probability:.2f}; {level})"
        return (
            f"the photos look worn (mean wear {self.probability:.2f} over {self.photos}, most {self.worst_photo}: "
            f"{self.worst:.2f}; {level})"
        )


def read_wear(
    evidence: list[_Photo], thresholds: Thresholds, policy: GradePolicy, category: str, product_line: str | None
) -> WearReading | None:
    """None when the policy leaves wear off, the item is not of a category and declared line it covers, no photo is
    of a view it reads, or the bundle has no head."""
    rule = policy.wear
    if rule.grade is None or category not in rule.categories or thresholds.wear_presence is None:
        return None
    if rule.product_lines and (product_line or "").strip().lower() not in rule.product_lines:
        return None
    evidence = [item for item in evidence if item.view not in rule.ignored_views]
    if not evidence or any(item.outputs.wear_prob is None for item in evidence):
        return None
    wear = np.array([float(np.asarray(item.outputs.wear_prob)) for item in evidence])
    worst = int(wear.argmax())
    confident = thresholds.wear_confident if thresholds.wear_confident is not None else thresholds.wear_presence
    return WearReading(
        round(float(wear.mean()), 4),
        len(wear),
        evidence[worst].photo_id,
        float(wear[worst]),
        thresholds.wear_presence,
        confident,
    )


def wear_floor(reading: WearReading | None, policy: GradePolicy) -> list[tuple[str, FloorSource, str]]:
    """The grade cap of certain wear, as a floor candidate for `grading.grade_rules` (none otherwise)."""
    if reading is None or not reading.certain:  # read_wear gives no reading when the policy's wear.grade is None
        return []
    return [(policy.wear.grade, FloorSource.WEAR, reading.describe())]
