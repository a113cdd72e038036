"""PSI and its bins: the standard formula, fixed equal-mass bins from the reference, the levels and the minimum."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grading import psi
from grading.psi import DriftLevel


def test_psi_of_identical_shares_is_zero() -> None:
    assert psi.psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_psi_is_the_standard_formula() -> None:
    reference, window = [0.5, 0.5], [0.9, 0.1]
    expected = (0.9 - 0.5) * math.log(0.9 / 0.5) + (0.1 - 0.5) * math.log(0.1 / 0.5)
    assert psi.psi(reference, window) == pytest.approx(expected)
    assert psi.psi(window, reference) == pytest.approx(expected)  # symmetric


def test_an_empty_bin_counts_through_epsilon_without_dividing_by_zero() -> None:
    value = psi.psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])
    expected = 2 * (0.5 - psi.EPSILON) * math.log(0.5 / psi.EPSILON)
    assert value == pytest.approx(expected)
    assert psi.psi([0.0, 1.0], [0.0, 1.0]) == 0.0  # empty on both sides: no contribution


def test_bins_must_agree() -> None:
    with pytest.raises(ValueError, match="bin both the same way"):
        psi.psi([0.5, 0.5], [1.0])


def test_quantile_edges_make_equal_mass_bins_and_never_sit_on_a_value() -> None:
    values = np.arange(100.0)
    edges = psi.quantile_edges(values)
    assert edges == [19.5, 39.5, 59.5, 79.5]
    assert psi.number_counts(values, edges) == [20, 20, 20, 20, 20]


def test_a_reference_of_few_values_gets_a_bin_per_value_and_one_either_side() -> None:
    assert psi.quantile_edges([0, 0, 0, 0, 1]) == [-0.5, 0.5, 1.5]
    edges = psi.quantile_edges([240.0] * 10)
    assert edges == [239.76, 240.24]
    assert psi.number_counts([240.0, 240.0001, 960.0, 100.0], edges) == [1, 2, 1]
    reference = psi.shares(psi.number_counts([240.0] * 10, edges))
    assert psi.psi(reference, psi.shares(psi.number_counts([960.0] * 5, edges))) > psi.DRIFT
    with pytest.raises(ValueError, match="at least one value"):
        psi.quantile_edges([])


def test_ties_between_quantiles_merge_bins() -> None:
    values = [0.0] * 50 + list(range(1, 51))
    edges = psi.quantile_edges(values)
    assert len(edges) < psi.NUMBER_BINS - 1 and 0.0 not in edges
    assert psi.number_counts(values, edges)[0] == 50  # the tie stays in one bin


def test_number_bins_are_open_at_both_ends() -> None:
    assert psi.number_counts([-1e9, 0.5, 1.0, 1.5, 1e9], [1.0]) == [3, 2]  # (-inf, 1], (1, inf)


def test_labels_have_their_own_bins_and_one_for_any_other() -> None:
    assert psi.label_counts(["a", "b", "a", "zzz"], ["a", "b"]) == [2, 1, 1]
    assert psi.shares([2, 1, 1]) == [0.5, 0.25, 0.25]
    assert psi.shares([0, 0]) == [0.0, 0.0]


def test_a_sample_of_the_reference_itself_reads_stable() -> None:
    generator = np.random.default_rng(7)
    reference = generator.normal(100, 20, 5000)
    edges = psi.quantile_edges(reference)
    reference_shares = psi.shares(psi.number_counts(reference, edges))
    window = generator.normal(100, 20, psi.MIN_WINDOW * 3)
    value = psi.psi(reference_shares, psi.shares(psi.number_counts(window, edges)))
    assert psi.level(value, len(window)) is DriftLevel.STABLE
    darker = window * 0.5
    value = psi.psi(reference_shares, psi.shares(psi.number_counts(darker, edges)))
    assert psi.level(value, len(darker)) is DriftLevel.DRIFT


@pytest.mark.parametrize(
    ("value", "observations", "expected"),
    [
        (0.0, psi.MIN_WINDOW, DriftLevel.STABLE),
        (psi.WATCH, psi.MIN_WINDOW, DriftLevel.WATCH),
        (psi.DRIFT, psi.MIN_WINDOW, DriftLevel.DRIFT),
        (5.0, psi.MIN_WINDOW - 1, DriftLevel.TOO_FEW),
    ],
)
def test_levels(value: float, observations: int, expected: DriftLevel) -> None:
    assert psi.level(value, observations) is expected


def test_the_worst_level_wins() -> None:
    assert psi.worst([DriftLevel.STABLE, DriftLevel.DRIFT, DriftLevel.WATCH]) is DriftLevel.DRIFT
    assert psi.worst([DriftLevel.TOO_FEW, DriftLevel.STABLE]) is DriftLevel.STABLE
    assert psi.worst([]) is DriftLevel.TOO_FEW
