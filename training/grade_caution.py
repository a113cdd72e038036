"""How sure the model must be before its grade alone lowers a clean-looking item: the policy's
`abstain.unexplained_grade.min_probability`, fitted on real photos a person audited.

A photo with no certain defect is graded below the clean grade by the model's grade head alone when the model
gives at least `min_probability` to the grades below clean (`grading.grade_rules.likely_rank`). On audited clean
photos each such cut is an underpaid customer; on audited damaged ones it is wear the defect head missed. The
fitted value is the smallest one (at least 0.5, the ordinal median) that cuts at most `budget` of the clean
photos: a Neyman-Pearson operating point on real photos, not on composited ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MEDIAN = 0.5  # min_probability None: the ordinal median decides
DIGITS = 4
HIGHEST = 0.9999  # the policy needs min_probability < 1


@dataclass(frozen=True)
class CautionFit:
    min_probability: float
    clean_photos: int
    damaged_photos: int
    clean_cut_at_median: float  # share of audited clean photos graded below clean by the grade head alone
    clean_cut_fitted: float
    damaged_cut_at_median: float  # share of audited damaged photos the grade head alone grades below clean
    damaged_cut_fitted: float


def below_clean_probability(grade_probs: np.ndarray, clean_rank: int) -> np.ndarray:
    """Per photo (photos x grades, best grade first), the probability the model gives to grades below clean."""
    probs = np.asarray(grade_probs, dtype=np.float64)
    return probs[:, clean_rank + 1 :].sum(axis=1) / probs.sum(axis=1)


def fit_min_probability(clean_below: np.ndarray, budget: float) -> float:
    """The smallest probability >= 0.5 at which at most `budget` of the clean photos are cut (`below >= p`)."""
    if not 0 <= budget < 1:
        raise ValueError(f"the budget is a share of clean photos in [0, 1), got {budget}")
    if len(clean_below) == 0:
        raise ValueError("no audited clean photo to fit on: audit the split's photos (datasets/audits/README.md)")
    allowed = int(np.floor(budget * len(clean_below) + 1e-9))
    ordered = np.sort(np.asarray(clean_below, dtype=np.float64))[::-1]
    if allowed >= len(ordered):
        return MEDIAN
    first_spared = ordered[allowed]  # every photo at or below this one must stay clean
    above = math.floor(first_spared * 10**DIGITS + 1) / 10**DIGITS  # rounded up past it: a value to write down
    return float(min(max(MEDIAN, above), HIGHEST))


def caution_fit(clean_below: np.ndarray, damaged_below: np.ndarray, budget: float) -> CautionFit:
    """Fit on the clean photos and say what the fitted value costs on the damaged ones."""
    fitted = fit_min_probability(clean_below, budget)
    return CautionFit(
        min_probability=fitted,
        clean_photos=len(clean_below),
        damaged_photos=len(damaged_below),
        clean_cut_at_median=_share(clean_below, MEDIAN),
        clean_cut_fitted=_share(clean_below, fitted),
        damaged_cut_at_median=_share(damaged_below, MEDIAN),
        damaged_cut_fitted=_share(damaged_below, fitted),
    )


def _share(below: np.ndarray, probability: float) -> float:
    return float(np.mean(np.asarray(below) >= probability)) if len(below) else float("nan")
