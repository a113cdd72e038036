"""Every evaluation metric against values worked out by hand, including ties and degenerate inputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from grading.vocabulary import DefectType
from training import feature_cache, mask_grid
from training.evaluation import defect_sections
from training.evaluation.defect_sections import grid_truth
from training.evaluation.metrics import (
    accuracy,
    accuracy_after_abstaining,
    auroc,
    average_precision,
    confusion_matrix,
    expected_calibration_error,
    intersection_over_union,
    pr_curve,
    quadratic_weighted_kappa,
    reliability,
    roc_curve,
)
from training.mask_grid import area_fractions


def test_auroc_counts_the_pairs_each_positive_wins():
    # positive 0.35 beats 0.1, loses to 0.4; positive 0.8 beats both: 3 of 4 pairs
    result = auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert result.value == pytest.approx(0.75)
    assert result.n == 4 and result.reason is None


def test_auroc_counts_a_tie_as_half_a_win():
    # positive 0.5: tie with 0.5 (0.5) + win over 0.2 (1); positive 0.9: 2 wins -> 3.5 / 4
    assert auroc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]).value == pytest.approx(0.875)
    assert auroc([0, 1, 1, 0], [0.3, 0.3, 0.3, 0.3]).value == pytest.approx(0.5)


def test_auroc_of_a_perfect_and_a_reversed_ranking():
    assert auroc([0, 0, 1], [0.1, 0.2, 0.3]).value == 1.0
    assert auroc([0, 0, 1], [0.3, 0.2, 0.1]).value == 0.0


@pytest.mark.parametrize(
    ("labels", "reason"),
    [([1, 1, 1], "no negative examples among 3"), ([0, 0], "no positive examples among 2"), ([], "no examples")],
)
def test_auroc_with_one_class_is_undefined_with_a_reason(labels, reason):
    result = auroc(labels, np.linspace(0, 1, len(labels)))
    assert result.value is None
    assert result.reason == reason
    assert result.n == len(labels)


def test_auroc_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="differ in size"):
        auroc([0, 1], [0.5])


def test_average_precision_sums_recall_gain_times_precision():
    # thresholds 0.9: P=1, R=.5; 0.8: P=.5, R=.5; 0.7: P=2/3, R=1; 0.1: P=.5, R=1 -> .5 * 1 + .5 * 2/3
    result = average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    assert result.value == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_average_precision_treats_tied_scores_as_one_threshold():
    assert average_precision([1, 0], [0.5, 0.5]).value == pytest.approx(0.5)
    # 0.9: P=1, R=.5; the tie at 0.5 adds one positive and one negative at once: P=2/3, R=1
    assert average_precision([1, 0, 1], [0.9, 0.5, 0.5]).value == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_average_precision_without_positives_is_undefined_but_only_positives_is_one():
    assert average_precision([0, 0], [0.2, 0.8]).value is None
    assert average_precision([1, 1], [0.2, 0.8]).value == pytest.approx(1.0)


def test_roc_curve_runs_from_origin_to_one_one_with_a_point_per_distinct_score():
    curve = roc_curve([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])
    np.testing.assert_allclose(curve.x, [0, 0, 0.5, 1])
    np.testing.assert_allclose(curve.y, [0, 0.5, 1, 1])
    assert roc_curve([1, 1], [0.1, 0.2]) is None


def test_pr_curve_points():
    curve = pr_curve([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    np.testing.assert_allclose(curve.x, [0.5, 0.5, 1, 1])
    np.testing.assert_allclose(curve.y, [1, 0.5, 2 / 3, 0.5])
    assert pr_curve([0, 0], [0.1, 0.2]) is None


def test_accuracy_and_empty_accuracy():
    assert accuracy([True, False, True, True]).value == 0.75
    assert accuracy([]).value is None


def test_confusion_matrix_rows_are_true_columns_predicted():
    matrix = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1], 3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [0, 1, 0]])


def test_quadratic_weighted_kappa_worked_example():
    # O has ones at (0,0), (1,2), (2,2), (2,1): sum w*O = 1/4 + 1/4 = 0.5.
    # Marginals r = c = (1, 1, 2), E = r c^T / 4: sum w*E = (1 + 8 + 1 + 2 + 8 + 2) / 16 = 1.375.
    result = quadratic_weighted_kappa([0, 1, 2, 2], [0, 2, 2, 1], 3)
    assert result.value == pytest.approx(1 - 0.5 / 1.375)
    assert result.n == 4


def test_quadratic_weighted_kappa_perfect_chance_and_reversed():
    assert quadratic_weighted_kappa([0, 1, 2], [0, 1, 2], 3).value == pytest.approx(1.0)
    assert quadratic_weighted_kappa([0, 0, 1, 1], [0, 1, 0, 1], 2).value == pytest.approx(0.0)
    assert quadratic_weighted_kappa([0, 1], [1, 0], 2).value == pytest.approx(-1.0)


def test_quadratic_weighted_kappa_degenerate_inputs_are_undefined():
    same = quadratic_weighted_kappa([2, 2, 2], [2, 2, 2], 5)
    assert same.value is None and "chance" in same.reason and same.n == 3
    assert quadratic_weighted_kappa([], [], 3).value is None
    assert quadratic_weighted_kappa([0, 0], [0, 0], 1).reason == "needs at least two ordinal classes"


def test_expected_calibration_error_by_hand():
    # bin 0.9-1.0: accuracy .5, confidence .95 -> .45 x half; bin 0.6-0.7: accuracy 1, confidence .65 -> .35 x half
    result = expected_calibration_error([0.95, 0.95, 0.65, 0.65], [1, 0, 1, 1])
    assert result.value == pytest.approx(0.4)
    assert result.n == 4


def test_expected_calibration_error_is_zero_when_calibrated_and_undefined_when_empty():
    assert expected_calibration_error([0.5, 0.5], [1, 0]).value == pytest.approx(0.0)
    assert expected_calibration_error([], []).value is None


def test_reliability_puts_confidence_one_in_the_last_bin():
    table = reliability([1.0, 0.05], [1, 0], bins=10)
    assert table.counts[-1] == 1 and table.counts[0] == 1
    assert table.accuracy[-1] == 1.0
    assert np.isnan(table.accuracy[5])
    assert len(table.edges) == 11


def test_intersection_over_union():
    result = intersection_over_union([1, 1, 0, 0], [1, 0, 1, 0])
    assert result.value == pytest.approx(1 / 3)
    assert result.n == 2
    assert intersection_over_union([0, 0], [0, 0]).value is None


def test_accuracy_after_abstaining_sets_aside_the_least_confident():
    correct = [1, 0, 1, 1, 0]
    confidence = [0.9, 0.1, 0.8, 0.7, 0.2]
    assert accuracy_after_abstaining(correct, confidence, 0.0)[:3] == (pytest.approx(0.6), 5, None)
    assert accuracy_after_abstaining(correct, confidence, 0.2).value == pytest.approx(0.75)  # drops 1
    assert accuracy_after_abstaining(correct, confidence, 0.3).value == pytest.approx(0.75)  # floor(1.5) = 1
    assert accuracy_after_abstaining(correct, confidence, 0.4)[:3] == (pytest.approx(1.0), 3, None)


def test_accuracy_after_abstaining_breaks_ties_in_order_and_handles_nothing_left():
    # all equally confident: the first one goes first
    assert accuracy_after_abstaining([0, 1], [0.5, 0.5], 0.5).value == 1.0
    assert accuracy_after_abstaining([1], [0.5], 0.5).value == 1.0  # floor(0.5) = 0 set aside
    assert accuracy_after_abstaining([], [], 0.1).value is None
    with pytest.raises(ValueError, match="abstain rate"):
        accuracy_after_abstaining([1], [0.5], 1.0)


def test_area_fractions_downsample_a_mask_by_cell_area():
    mask = np.zeros((4, 4), dtype=np.uint8)
    mask[0:2, 0:1] = 1  # half of the top-left cell is class 1
    mask[2:4, 2:4] = 3  # the whole bottom-right cell is class 3
    fractions = area_fractions(mask, 2)
    assert fractions.shape[1:] == (2, 2)
    assert fractions[1, 0, 0] == pytest.approx(0.5)
    assert fractions[3, 1, 1] == pytest.approx(1.0)
    assert fractions[0, 0, 1] == pytest.approx(1.0)
    np.testing.assert_allclose(fractions.sum(axis=0), 1.0)
    with pytest.raises(ValueError, match="does not tile"):
        area_fractions(np.zeros((5, 5), dtype=np.uint8), 2)


def _thin_tear_mask() -> np.ndarray:
    """A 224 mask whose only defect is a tear 2 pixels wide down one 8 x 8 cell: a quarter of that cell."""
    mask = np.zeros((224, 224), dtype=np.uint8)
    mask[8:16, 19:21] = 1 + list(DefectType).index(DefectType.TEAR)  # cell (1, 2), columns 3-4 of its 8
    return mask


def test_a_thin_defect_is_a_positive_cell_in_training_targets_and_in_evaluation_truth():
    tear = 1 + list(DefectType).index(DefectType.TEAR)
    target = feature_cache.defect_map_at_stride(_thin_tear_mask())
    assert target[1, 2] == tear and np.count_nonzero(target) == 1
    outputs = SimpleNamespace(defect_probs=np.zeros((1, len(DefectType) + 1, 28, 28), dtype=np.float32))
    truth = grid_truth(SimpleNamespace(masks=[_thin_tear_mask()], outputs=outputs))
    assert truth.any_defect[0, 1, 2] and np.count_nonzero(truth.any_defect) == 1
    assert truth.cells[0, tear, 1, 2] and np.count_nonzero(truth.cells[0, 1:]) == 1
    np.testing.assert_array_equal(truth.any_defect[0], target > 0)  # one rule: the same cells in both


def test_training_and_evaluation_downsample_masks_with_one_function():
    assert feature_cache.cell_classes is defect_sections.cell_classes is mask_grid.cell_classes
    assert mask_grid.MIN_DEFECT_FRACTION == 0.125  # thin tears and snags stay in the targets


def test_occlusion_shows_where_covering_the_photo_moves_the_score() -> None:
    """A fake model whose counterfeit probability is the brightness of the top-left corner."""
    import numpy as np

    from grading.network_outputs import NetworkOutputs
    from training.evaluation.occlusion import GREY, PATCH, occlusion_map

    class CornerModel:
        def run(self, photos: np.ndarray) -> NetworkOutputs:
            corner = photos[:, :PATCH, :PATCH].mean(axis=(1, 2, 3)) / 255.0
            return NetworkOutputs(*([None] * 6), counterfeit_prob=corner)

    pixels = np.full((224, 224, 3), 255, dtype=np.uint8)
    probability, covered = occlusion_map(CornerModel(), pixels)
    assert probability == 1.0
    assert covered[0, 0] == GREY / 255.0  # covering the corner moves the score
    assert covered[-1, -1] == 1.0 and covered[0, -1] == 1.0  # covering elsewhere does not
