"""The mixed anomaly map: defect-head probability and scaled memory-bank distance."""

from __future__ import annotations

import torch

from training.anomaly_map import mixed_anomaly_map


def defect_probs_with_background(background: float) -> torch.Tensor:
    probs = torch.zeros(1, 3, 2, 2)
    probs[:, 0] = background
    probs[:, 1] = 1.0 - background
    return probs


def test_weight_zero_reads_only_the_defect_head() -> None:
    mixed = mixed_anomaly_map(defect_probs_with_background(0.3), torch.full((1, 2, 2), 50.0), torch.tensor([2.0]), 0.0)
    torch.testing.assert_close(mixed, torch.full((1, 2, 2), 0.7))


def test_weight_one_reads_only_the_bank_distance_over_its_category_scale() -> None:
    distances = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]]])
    probs = torch.cat([defect_probs_with_background(0.0)] * 2)
    mixed = mixed_anomaly_map(probs, distances, torch.tensor([2.0, 4.0]), 1.0)
    torch.testing.assert_close(mixed, torch.stack([distances[0] / 2.0, distances[1] / 4.0]))


def test_a_clean_patch_near_the_good_bank_stays_low_and_a_defect_raises_the_map() -> None:
    near_good, scale = torch.full((1, 2, 2), 0.5), torch.tensor([1.0])
    clean = mixed_anomaly_map(defect_probs_with_background(0.99), near_good, scale, 0.25)
    damaged = mixed_anomaly_map(defect_probs_with_background(0.1), near_good, scale, 0.25)
    assert float(clean.max()) < 0.2 < 0.7 < float(damaged.min())
