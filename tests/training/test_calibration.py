"""Calibration rules on hand-made scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from training.calibration import authenticity_band, best_temperature, f1_optimal_threshold


def test_f1_optimal_threshold_separates_separable_scores() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    positive = np.array([0, 0, 0, 1, 1, 1], dtype=bool)
    threshold = f1_optimal_threshold(scores, positive)
    assert 0.3 < threshold < 0.7
    assert ((scores >= threshold) == positive).all()


def test_temperature_scaling_cools_an_overconfident_classifier() -> None:
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (2000,), generator=generator)
    noisy = torch.where(
        torch.rand(2000, generator=generator) < 0.7, labels, torch.randint(0, 3, (2000,), generator=generator)
    )
    logits = F.one_hot(noisy, 3).float() * 10.0  # always certain, right only ~80% of the time
    temperature = best_temperature(lambda t: F.cross_entropy(logits / t, labels))
    assert temperature > 3.0
    assert F.cross_entropy(logits / temperature, labels) < F.cross_entropy(logits, labels)


def test_authenticity_band_reaches_the_target_precision_on_decided_items() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 4000)
    probability = np.clip(truth * 0.35 + rng.normal(0.33, 0.15, 4000), 0, 1)
    above, below, review = authenticity_band(probability, truth, 0.99)
    decided_fake, decided_real = probability >= above, probability <= below
    assert truth[decided_fake].mean() >= 0.99
    assert (1 - truth[decided_real]).mean() >= 0.99
    assert 0.0 < review < 1.0
    assert review == pytest.approx(1 - (decided_fake | decided_real).mean())


def test_without_authenticity_labels_every_item_goes_to_review() -> None:
    above, below, review = authenticity_band(np.array([0.2, 0.9]), np.array([-1, -1]), 0.99)
    assert (above, below, review) == (1.0, 0.0, None)
