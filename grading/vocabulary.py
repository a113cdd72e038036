"""Closed sets of names shared by data, models, policy and service."""

from __future__ import annotations

from enum import StrEnum


class DefectType(StrEnum):
    """What a buyer would call the damage. Source datasets map their own class names onto these."""

    STAIN = "stain"
    HOLE = "hole"
    TEAR = "tear"
    CUT = "cut"
    SCUFF = "scuff"
    SCRATCH = "scratch"
    PILLING = "pilling"
    FADING = "fading"
    SNAG = "snag"
    CREASE = "crease"
    BROKEN_PART = "broken_part"
    SURFACE_FLAW = "surface_flaw"


class Grade(StrEnum):
    """The default condition scale, best first. Its order is the ordinal the grade head learns."""

    NEW_WITH_TAGS = "new_with_tags"
    LIKE_NEW = "like_new"
    EXCELLENT = "excellent"
    VERY_GOOD = "very_good"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    REJECT = "reject"

    @property
    def rank(self) -> int:
        """0 for the best grade, increasing as condition worsens."""
        return list(Grade).index(self)


DEFAULT_GRADE_SCALE = "secondlook-8"


class Authenticity(StrEnum):
    AUTHENTIC = "authentic"
    COUNTERFEIT = "counterfeit"
    UNKNOWN = "unknown"


class View(StrEnum):
    """Which side of the item a photo shows."""

    FRONT = "front"
    BACK = "back"
    SIDE = "side"
    LABEL = "label"
    SOLE = "sole"
    INSIDE = "inside"
    DETAIL = "detail"
    UNSPECIFIED = "unspecified"


# Views that may show any surface of the item: a close-up, or a kiosk photo whose side nobody named.
WILDCARD_VIEWS = frozenset({View.DETAIL, View.UNSPECIFIED})


class Split(StrEnum):
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"
