"""The grade a distribution decides is its ordinal median, not its most probable grade."""

from __future__ import annotations

import numpy as np

from grading.grade_decision import median_grade


def test_a_distribution_split_between_like_new_and_damage_decides_a_damaged_grade() -> None:
    # like_new is the single most probable grade, but most of the mass says damaged: the median is 'good'
    probabilities = np.array([0.0, 0.4, 0.02, 0.03, 0.1, 0.3, 0.15, 0.0])
    assert int(probabilities.argmax()) == 1
    assert median_grade(probabilities) == 4


def test_rows_are_decided_one_by_one_and_unnormalised_rows_are_fine() -> None:
    rows = np.array([[0.9, 0.1, 0.0], [0.0, 0.2, 0.8], [0.5, 0.0, 0.5], [2.0, 1.0, 1.0]])
    assert median_grade(rows).tolist() == [0, 2, 0, 0]
    assert isinstance(median_grade(rows[1]), int)
