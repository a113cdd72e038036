"""Masked losses: each head learns only from the photos that carry its label."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grading.vocabulary import DefectType
from training.feature_cache import CachedFeatures
from training.network import HeadLogits, corn_loss


def head_losses(logits: HeadLogits, batch: CachedFeatures, background_weight: float) -> dict[str, torch.Tensor]:
    """Loss per condition head (category, defects, grade) over the rows that have its label; a head with no such
    rows in the batch is left out. The authenticity branch has its own, `authenticity_losses`."""
    losses = {}
    rows = batch.category >= 0
    if rows.any():
        losses["category"] = F.cross_entropy(logits.category_logits[rows], batch.category[rows], label_smoothing=0.1)
    if batch.annotated.any():
        annotated = logits.defect_logits[batch.annotated]
        losses["defects"] = defect_loss(annotated, batch.defect_map[batch.annotated], background_weight)
        losses["damaged"] = photo_damage_loss(annotated, ~batch.clean[batch.annotated])
    rows = batch.grade >= 0
    if rows.any():
        losses["grade"] = corn_loss(logits.grade_logits[rows], batch.grade[rows])
    return {name: value for name, value in losses.items() if torch.isfinite(value)}


def defect_loss(defect_logits: torch.Tensor, defect_map: torch.Tensor, background_weight: float) -> torch.Tensor:
    """Per-cell cross-entropy; background cells weigh less, since defects cover a small share of a photo."""
    weights = torch.ones(len(DefectType) + 1, device=defect_logits.device)
    weights[0] = background_weight
    return F.cross_entropy(defect_logits, defect_map.long(), weight=weights)


PHOTO_TOP_CELLS = 8


def photo_damage_loss(defect_logits: torch.Tensor, damaged: torch.Tensor) -> torch.Tensor:
    """Photo-level: is anything on this photo damaged? The cells' any-defect log-odds, averaged over the
    `PHOTO_TOP_CELLS` highest, against the photo's label. Per-cell cross-entropy alone lets texture fire on
    clean photos at little cost; a photo is judged by its most suspicious cells, so train those."""
    any_defect = torch.logsumexp(defect_logits[:, 1:], dim=1) - defect_logits[:, 0]
    top = any_defect.flatten(1).topk(PHOTO_TOP_CELLS, dim=1).values.mean(dim=1)
    return F.binary_cross_entropy_with_logits(top, damaged.float())


def authenticity_losses(
    outputs: tuple[torch.Tensor, torch.Tensor], batch: CachedFeatures, temperature: float = 0.1
) -> dict[str, torch.Tensor]:
    """The authenticity stream's losses from (embedding, counterfeit logit) of labelled rows."""
    embedding, counterfeit_logit = outputs
    losses = {"embedding": supervised_contrastive(embedding, _identity(batch), temperature)}
    rows = batch.counterfeit >= 0
    if rows.any():
        losses["counterfeit"] = F.binary_cross_entropy_with_logits(
            counterfeit_logit[rows], batch.counterfeit[rows].float()
        )
    return {name: value for name, value in losses.items() if torch.isfinite(value)}


def authenticity_rows(batch: CachedFeatures) -> torch.Tensor:
    """Rows the authenticity branch learns from: labelled authentic/counterfeit or with a product line."""
    rows = batch.counterfeit >= 0
    return rows if batch.product_line is None else rows | (batch.product_line >= 0)


def _identity(batch: CachedFeatures) -> torch.Tensor:
    """What the embedding should group together: same category, authenticity and product line (so that an
    item's embedding finds its line's prototype and its references, `grading.authenticity`)."""
    identity = batch.category * 3 + (batch.counterfeit + 1)
    if batch.product_line is None:
        return identity
    return identity * (int(batch.product_line.max()) + 2) + (batch.product_line + 1)


def supervised_contrastive(embedding: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """SupCon (Khosla et al. 2020) on L2-normalised embeddings; rows without a positive are skipped."""
    similarity = embedding @ embedding.T / temperature
    self_mask = torch.eye(len(labels), dtype=torch.bool, device=embedding.device)
    similarity = similarity.masked_fill(self_mask, -1e9)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    log_probability = similarity - similarity.logsumexp(dim=1, keepdim=True)
    has_positive = positives.any(dim=1)
    if not has_positive.any():
        return torch.tensor(float("nan"))
    mean_positive = (log_probability * positives).sum(dim=1)[has_positive] / positives.sum(dim=1)[has_positive]
    return -mean_positive.mean()
