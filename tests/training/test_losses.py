"""Head losses: the photo-level damage loss judges a photo by its most suspicious cells."""

from __future__ import annotations

import torch

from grading.vocabulary import DefectType
from training.losses import PHOTO_TOP_CELLS, photo_damage_loss

CHANNELS = 1 + len(DefectType)


def _logits(suspicious_cells: int, strength: float = 6.0) -> torch.Tensor:
    """One photo, 28x28 cells; `suspicious_cells` of them say 'stain', the rest say 'background'."""
    logits = torch.zeros(1, CHANNELS, 28, 28)
    logits[:, 0] = strength
    flat = logits.view(1, CHANNELS, -1)
    flat[:, 0, :suspicious_cells] = -strength
    flat[:, 1, :suspicious_cells] = strength
    return logits


def test_a_clean_photo_with_a_few_firing_cells_costs_much_more_than_a_quiet_one() -> None:
    clean = torch.tensor([False])
    assert photo_damage_loss(_logits(PHOTO_TOP_CELLS), clean) > 10 * photo_damage_loss(_logits(0), clean)


def test_a_damaged_photo_is_rewarded_for_firing_cells() -> None:
    damaged = torch.tensor([True])
    assert photo_damage_loss(_logits(PHOTO_TOP_CELLS), damaged) < 0.01 < photo_damage_loss(_logits(0), damaged)


def test_only_the_top_cells_receive_gradient() -> None:
    logits = _logits(3).requires_grad_()
    photo_damage_loss(logits, torch.tensor([False])).backward()
    touched = (logits.grad.abs().sum(dim=1) > 0).flatten()
    assert int(touched.sum()) == PHOTO_TOP_CELLS


def test_the_embedding_groups_by_product_line_as_well() -> None:
    """Authentic AF1 and authentic AJ1 shoes are different identities; without lines they would be one."""
    from training.feature_cache import CachedFeatures
    from training.losses import _identity

    empty = torch.zeros(3)
    category, counterfeit, lines = torch.tensor([0, 0, 0]), torch.tensor([0, 0, 1]), torch.tensor([0, 1, 0])
    cache = CachedFeatures(*[empty] * 3, category, empty, counterfeit, *[empty] * 5, lines)
    assert len(set(_identity(cache).tolist())) == 3
    assert len(set(_identity(cache._replace(product_line=None)).tolist())) == 2
