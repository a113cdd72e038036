"""Anomaly head: a PatchCore-style memory bank of known-good patch features, per category.

Building it needs no training, only photos known to be good: every stride-8 patch gets a feature (the
stride-8 and upsampled stride-16 maps, averaged over its 3x3 neighbourhood, projected by PCA to a few
dozen dimensions), and a greedy k-centre coreset keeps a bounded number of them per category, so memory
stays fixed as the good set grows. At inference a patch's anomaly is its distance to the nearest bank
entry of the photo's (predicted) category; the photo's score is the largest smoothed patch anomaly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from training.network import Taps

PENALTY = 1.0e6  # added to squared distances of bank rows from another category


def patch_features(taps: Taps) -> torch.Tensor:
    """(N, H8*W8, 152) locally aggregated patch features at stride 8."""
    size = taps.stride8.shape[-2:]
    upsampled = F.interpolate(taps.stride16, size=size, mode="bilinear", align_corners=False)
    features = F.avg_pool2d(torch.cat([taps.stride8, upsampled], dim=1), 3, stride=1, padding=1)
    return features.flatten(2).transpose(1, 2)


@dataclass(frozen=True)
class Projection:
    """PCA fitted on good patches: `(x - mean) @ components.T`."""

    mean: torch.Tensor
    components: torch.Tensor

    @classmethod
    def fit(cls, patches: torch.Tensor, dims: int) -> Projection:
        mean = patches.mean(dim=0)
        _, _, right = torch.linalg.svd(patches - mean, full_matrices=False)
        return cls(mean=mean, components=right[:dims].contiguous())

    def __call__(self, patches: torch.Tensor) -> torch.Tensor:
        return (patches - self.mean) @ self.components.T


def greedy_coreset(features: torch.Tensor, size: int, seed: int = 0) -> torch.Tensor:
    """Indices of a k-centre coreset: each pick is the point farthest from all picked so far."""
    if len(features) <= size:
        return torch.arange(len(features))
    generator = torch.Generator().manual_seed(seed)
    picked = [int(torch.randint(len(features), (1,), generator=generator))]
    nearest = torch.cdist(features, features[picked[0]][None]).squeeze(1)
    for _ in range(size - 1):
        picked.append(int(nearest.argmax()))
        nearest = torch.minimum(nearest, torch.cdist(features, features[picked[-1]][None]).squeeze(1))
    return torch.tensor(picked)


class MemoryBank(nn.Module):
    """Nearest-neighbour patch distances against a per-category bank; exportable to ONNX as plain matmuls."""

    def __init__(self, projection: Projection, bank: torch.Tensor, bank_category: torch.Tensor, num_categories: int):
        super().__init__()
        self.register_buffer("projection_mean", projection.mean)
        self.register_buffer("projection_components", projection.components)
        self.register_buffer("bank", bank)
        self.register_buffer("bank_squared_norm", (bank**2).sum(dim=1))
        self.register_buffer("bank_category", bank_category)
        counts = torch.bincount(bank_category, minlength=num_categories)
        self.register_buffer("category_has_rows", (counts > 0).float())

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor]) -> MemoryBank:
        """Rebuild a bank saved with `state_dict()` (loaded with `torch.load(..., weights_only=True)`)."""
        projection = Projection(mean=state["projection_mean"], components=state["projection_components"])
        num_categories = len(state["category_has_rows"])
        return cls(projection, state["bank"], state["bank_category"], num_categories)

    def forward(self, taps: Taps, category: torch.Tensor) -> torch.Tensor:
        """(N, H8, W8) distance of each patch to the nearest good patch of `category` (any, if it has none)."""
        patches = patch_features(taps)
        projected = (patches - self.projection_mean) @ self.projection_components.T
        squared = (projected**2).sum(dim=2, keepdim=True) - 2 * projected @ self.bank.T + self.bank_squared_norm
        other_category = (self.bank_category[None, :] != category[:, None]).float()
        penalty = other_category * self.category_has_rows[category][:, None] * PENALTY
        nearest_rows = self.bank[(squared + penalty[:, None, :]).argmin(dim=2)]
        distance = (projected - nearest_rows).pow(2).sum(dim=2).sqrt()  # exact, unlike the expanded form above
        return distance.view(taps.stride8.shape[0], *taps.stride8.shape[-2:])


def anomaly_score(anomaly_map: torch.Tensor) -> torch.Tensor:
    """The largest 3x3-smoothed patch anomaly of each photo."""
    smoothed = F.avg_pool2d(anomaly_map[:, None], 3, stride=1, padding=1, count_include_pad=False)
    return smoothed.flatten(1).amax(dim=1)


def build_memory_bank(
    good_patches_by_category: dict[int, torch.Tensor], num_categories: int, dims: int, per_category: int, seed: int
) -> MemoryBank:
    """Fit the projection on all good patches, then keep a coreset of each category's patches."""
    every_patch = torch.cat(list(good_patches_by_category.values()))
    projection = Projection.fit(_sample_rows(every_patch, 50_000, seed), dims)
    rows, categories = [], []
    for category, patches in sorted(good_patches_by_category.items()):
        projected = projection(_sample_rows(patches, 40_000, seed))
        chosen = projected[greedy_coreset(projected, per_category, seed)]
        rows.append(chosen)
        categories.append(torch.full((len(chosen),), category, dtype=torch.int64))
    return MemoryBank(projection, torch.cat(rows), torch.cat(categories), num_categories)


def _sample_rows(rows: torch.Tensor, limit: int, seed: int) -> torch.Tensor:
    if len(rows) <= limit:
        return rows
    order = np.random.default_rng(seed).permutation(len(rows))[:limit]
    return rows[torch.from_numpy(order)]
