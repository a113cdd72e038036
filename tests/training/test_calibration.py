"""Calibration rules on hand-made scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from training.calibration import authenticity_band, best_temperature, budgeted_thresholds, f1_optimal_threshold


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


def test_f1_threshold_never_cuts_inside_a_block_of_tied_scores() -> None:
    """Four tied scores (one positive): a cut inside the block would count one admitted photo, `>=` admits four."""
    scores = np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.1])
    positive = np.array([True, True, False, False, False, False])
    threshold = f1_optimal_threshold(scores, positive)
    admitted = scores >= threshold
    assert threshold > 0.5 and admitted.tolist() == [True, False, False, False, False, False]


def test_precision_threshold_holds_its_target_with_tied_scores() -> None:
    """Ties at the cut: the precision of what `>=` admits, not of a prefix of the sorted list, meets the target."""
    scores = np.array([0.9, 0.8, 0.6, 0.6, 0.6, 0.2])
    truth = np.array([1, 1, 1, 0, 0, 0])
    above, _, _ = authenticity_band(scores, truth, 0.99)
    admitted = scores >= above
    assert truth[admitted].mean() >= 0.99 and admitted.sum() == 2


def test_budgeted_thresholds_hold_the_false_alarm_budget_and_find_more_with_more_budget() -> None:
    rng = np.random.default_rng(0)
    clean = rng.beta(2, 5, size=(400, 3))
    damaged = rng.beta(4, 3, size=(300, 3))
    found = []
    for budget in (0.0, 0.01, 0.04, 0.2):
        thresholds = budgeted_thresholds(clean, damaged, budget)
        assert (clean >= thresholds).any(axis=1).mean() <= budget
        found.append((damaged >= thresholds).any(axis=1).mean())
    assert found == sorted(found) and found[-1] > found[0]


def test_a_type_only_damaged_photos_show_is_lowered_for_free() -> None:
    """Leather-only types never fire on clean garments: their thresholds drop to find every such photo."""
    clean = np.array([[0.9, 0.1], [0.2, 0.1], [0.3, 0.05], [0.1, 0.1]])
    damaged = np.array([[0.95, 0.1], [0.2, 0.6], [0.1, 0.4]])
    thresholds = budgeted_thresholds(clean, damaged, 0.0)
    assert thresholds[1] == 0.4 and (damaged >= thresholds).any(axis=1).all()
    assert not (clean >= thresholds).any()


def test_defect_thresholds_fit_the_budget_on_clean_photos_and_confidence_above_presence() -> None:
    from training.calibration import defect_thresholds
    from training.feature_cache import CachedFeatures

    rng = np.random.default_rng(1)
    count, types = 200, ["stain", "hole"]
    clean = torch.zeros(count, dtype=torch.bool)
    clean[:100] = True
    defect_map = torch.zeros(count, 4, 4, dtype=torch.uint8)
    defect_map[100:150, 1, 1], defect_map[150:, 2, 2] = 1, 2
    probs = torch.from_numpy(rng.uniform(0, 0.6, size=(count, 3, 4, 4)).astype(np.float32))
    probs[100:150, 1, 1, 1], probs[150:, 2, 2, 2] = 0.95, 0.95
    empty = torch.zeros(count)
    cache = CachedFeatures(
        empty, empty, empty, empty, empty, empty, torch.ones(count, dtype=torch.bool), clean, defect_map, empty, empty
    )
    presence, confident, rules = defect_thresholds(probs, cache, types, (0.05, 0.01))
    clean_peaks = probs[:100, 1:].amax(dim=(2, 3)).numpy()
    assert (clean_peaks >= np.array([presence[t] for t in types])).any(axis=1).mean() <= 0.05
    assert all(confident[t] >= presence[t] for t in types) and "at most 5% of 100 clean photos" in rules
    damaged_peaks = probs[100:, 1:].amax(dim=(2, 3)).numpy()
    assert (damaged_peaks >= np.array([presence[t] for t in types])).any(axis=1).all()
    assert all(confident[t] >= 0.5 for t in types)


def test_a_type_no_clean_photo_constrains_keeps_its_f1_threshold() -> None:
    """Without clean photos of a type's domain the budget says nothing: the threshold must not sink to zero."""
    from training.calibration import defect_thresholds
    from training.feature_cache import CachedFeatures

    count = 70
    clean = torch.zeros(count, dtype=torch.bool)
    clean[:30] = True
    defect_map = torch.zeros(count, 4, 4, dtype=torch.uint8)
    defect_map[30:50, 1, 1] = 1  # stains, whose hole channel reads 0.03
    defect_map[50:, 1, 1] = 2  # holes: 15 clear, 5 weak readings the budget alone would chase to 0.02
    probs = torch.full((count, 3, 4, 4), 0.01)
    probs[30:50, 1, 1, 1], probs[30:50, 2, 1, 1] = 0.9, 0.03
    probs[50:65, 2, 1, 1], probs[65:, 2, 1, 1] = 0.9, 0.02
    empty = torch.zeros(count)
    cache = CachedFeatures(
        empty, empty, empty, empty, empty, empty, torch.ones(count, dtype=torch.bool), clean, defect_map, empty, empty
    )
    presence, _, _ = defect_thresholds(probs, cache, ["stain", "hole"], (0.05, 0.01))
    assert presence["hole"] > 0.4  # the F1 cut between the clear holes (0.9) and the stains' readings (0.03)


def test_clean_grade_bias_is_the_smallest_shift_within_the_budget() -> None:
    from grading.grade_decision import median_grade
    from training.calibration import clean_grade_bias, grade_bias_vector
    from training.network import corn_probabilities

    rng = np.random.default_rng(2)
    logits = torch.from_numpy(np.stack([np.full(400, 6.0), *rng.normal(0.3, 1.5, size=(6, 400))], axis=1)).float()

    def share_unexplained(bias: float) -> float:
        ranks = median_grade(corn_probabilities(logits + grade_bias_vector(bias, 7)).numpy())
        return float((ranks >= 3).mean())

    bias = clean_grade_bias(logits, 0.05)
    assert bias < 0 and share_unexplained(bias) <= 0.05 < share_unexplained(bias + 0.05)
    assert clean_grade_bias(logits, 1.0) == 0.0
    assert grade_bias_vector(bias, 7)[0] == 0.0  # "worse than new with tags" keeps its logit


def test_product_line_prototypes_are_the_normalised_means_of_authentic_photos() -> None:
    from training.calibration import product_line_prototypes
    from training.feature_cache import CachedFeatures

    embeddings = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.0, -1.0], [5.0, 5.0]])
    count = len(embeddings)
    empty = torch.zeros(count)
    counterfeit = torch.tensor([0, 0, 0, 1, -1])  # the counterfeit (and unlabelled) photos stay out
    lines = torch.tensor([0, 0, 1, 1, -1])
    cache = CachedFeatures(*[empty] * 5, counterfeit, empty, empty, empty, empty, empty, lines)
    prototypes = product_line_prototypes(embeddings, cache, ["af1", "aj1"])
    assert prototypes["aj1"] == pytest.approx([0.0, 1.0])
    assert prototypes["af1"] == pytest.approx([0.9 / np.hypot(0.9, 0.3), 0.3 / np.hypot(0.9, 0.3)])
