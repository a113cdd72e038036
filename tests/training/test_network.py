"""Heads and the ordinal grade maths."""

from __future__ import annotations

import pytest
import torch

from grading.vocabulary import DefectType, Grade
from training.backbone import BackboneVariant, create_backbone
from training.network import BackboneTaps, GradingHeads, Taps, corn_loss, corn_probabilities


def random_taps(batch: int = 2) -> Taps:
    return Taps(
        torch.randn(batch, 40, 28, 28),
        torch.randn(batch, 112, 14, 14),
        torch.randn(batch, 320, 7, 7),
    )


def test_corn_probabilities_are_a_distribution_ordered_by_the_logits() -> None:
    probabilities = corn_probabilities(torch.tensor([[10.0, 10.0, -10.0], [-10.0, 0.0, 0.0]]))
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(2))
    assert probabilities[0].argmax() == 2  # passes tasks 0 and 1, fails task 2 -> rank 2
    assert probabilities[1].argmax() == 0


def test_corn_loss_is_low_for_the_right_rank_and_high_for_a_far_one() -> None:
    logits = torch.tensor([[8.0, 8.0, -8.0]])
    right, far = corn_loss(logits, torch.tensor([2])), corn_loss(logits, torch.tensor([0]))
    assert right < 0.01 < far


def test_heads_give_every_output_with_the_expected_shapes() -> None:
    heads = GradingHeads(len(DefectType), num_categories=5, num_grades=len(Grade)).eval()
    with torch.no_grad():
        out = heads(random_taps())
    assert out.defect_logits.shape == (2, len(DefectType) + 1, 28, 28)
    assert out.category_logits.shape == (2, 5)
    assert out.grade_logits.shape == (2, len(Grade) - 1)
    assert out.embedding.norm(dim=1).tolist() == pytest.approx([1.0, 1.0], abs=1e-5)
    assert out.counterfeit_logit.shape == (2,)


def test_embedding_head_starts_as_the_imagenet_embedding_and_keeps_its_batchnorm_frozen() -> None:
    backbone, embedder = BackboneTaps().eval(), create_backbone(BackboneVariant.EMBEDDING)
    heads = GradingHeads(len(DefectType), num_categories=5, num_grades=len(Grade))
    images = torch.rand(2, 3, 224, 224)
    with torch.inference_mode():
        torch.testing.assert_close(heads.embedding_head(backbone(images).stride32), embedder(images))
    heads.train()
    assert heads.embedding_head.conv.training and not heads.embedding_head.norm.training
    assert all(p.requires_grad for p in heads.embedding_head.parameters())


def test_the_condition_stream_skips_the_authenticity_branch_and_its_own_pass_matches_the_full_one() -> None:
    """Training's condition stream gets zeros and leaves the branch without gradient; the authenticity stream's
    pass is the one export runs."""
    heads = GradingHeads(len(DefectType), num_categories=5, num_grades=len(Grade)).eval()
    taps = random_taps()
    without = heads(taps, with_authenticity=False)
    assert without.embedding.abs().sum() == 0 and without.counterfeit_logit.abs().sum() == 0
    (without.category_logits.sum() + without.defect_logits.sum()).backward()
    assert all(p.grad is None for p in heads.authenticity.parameters())
    with torch.no_grad():
        full, (embedding, logit) = heads(taps), heads.authenticity_outputs(taps.stride16)
    torch.testing.assert_close(full.embedding, embedding)
    torch.testing.assert_close(full.counterfeit_logit, logit)
    heads.train()
    norms = [m for m in heads.authenticity.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms)
