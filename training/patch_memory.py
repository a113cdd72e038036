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
    """Nearest-neighbour patch distances against the bank of the photo's category; plain ONNX ops.

    The bank is a (categories, K, D) tensor: each photo is compared with the K rows of its own category
    only, so the cost per photo does not grow with the number of categories.
    """

    def __init__(self, projection: Projection, bank: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("projection_mean", projection.mean)
        self.register_buffer("projection_components", projection.components)
        self.register_buffer("bank", bank)
        self.register_buffer("bank_squared_norm", (bank**2).sum(dim=2))

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor]) -> MemoryBank:
        """Rebuild a bank saved with `state_dict()` (loaded with `torch.load(..., weights_only=True)`)."""
        projection = Projection(mean=state["projection_mean"], components=state["projection_components"])
        return cls(projection, state["bank"])

    def forward(self, taps: Taps, category: torch.Tensor) -> torch.Tensor:
        """(N, H8, W8) distance of each patch to the nearest good patch of `category`."""
        projected = (patch_features(taps) - self.projection_mean) @ self.projection_components.T
        rows = self.bank[category]  # (N, K, D)
        squared = (projected**2).sum(dim=2, keepdim=True) - 2 * projected @ rows.transpose(1, 2)
        nearest = (squared + self.bank_squared_norm[category][:, None, :]).argmin(dim=2)
        index = nearest[:, :, None].expand(-1, -1, rows.shape[2])
        distance = (projected - rows.gather(1, index)).pow(2).sum(dim=2).sqrt()  # exact, unlike the expansion
        return distance.view(taps.stride8.shape[0], *taps.stride8.shape[-2:])


def anomaly_score(anomaly_map: torch.Tensor) -> torch.Tensor:
    """The largest 3x3-smoothed patch anomaly of each photo."""
    smoothed = F.avg_pool2d(anomaly_map[:, None], 3, stride=1, padding=1, count_include_pad=False)
    return smoothed.flatten(1).amax(dim=1)


def build_memory_bank(
    good_patches_by_category: dict[int, torch.Tensor], num_categories: int, dims: int, per_category: int, seed: int
) -> MemoryBank:
    """Fit the projection on all good patches, then keep a coreset of `per_category` rows per category.

    A category without good photos gets a coreset of all categories' patches; one with fewer patches than
    `per_category` repeats rows (a repeated row never changes a nearest-neighbour distance).
    """
    projection = Projection.fit(_sample_across(good_patches_by_category, 50_000, seed), dims)
    shared = _coreset_rows(projection(_sample_across(good_patches_by_category, 40_000, seed)), per_category, seed)
    banks = []
    for category in range(num_categories):
        patches = good_patches_by_category.get(category)
        rows = (
            shared
            if patches is None
            else _coreset_rows(projection(_sample_rows(patches, 40_000, seed)), per_category, seed)
        )
        banks.append(rows)
    return MemoryBank(projection, torch.stack(banks))


def _coreset_rows(projected: torch.Tensor, size: int, seed: int) -> torch.Tensor:
    chosen = projected[greedy_coreset(projected, size, seed)]
    repeats = -(-size // len(chosen))
    return chosen.repeat(repeats, 1)[:size]


def _sample_across(rows_by_category: dict[int, torch.Tensor], limit: int, seed: int) -> torch.Tensor:
    """About `limit` rows drawn from every category in proportion to its size, without joining them all first."""
    total = sum(len(rows) for rows in rows_by_category.values())
    share = min(1.0, limit / max(total, 1))
    parts = [_sample_rows(rows, max(1, round(len(rows) * share)), seed) for _, rows in sorted(rows_by_category.items())]
    return torch.cat(parts)


def _sample_rows(rows: torch.Tensor, limit: int, seed: int) -> torch.Tensor:
    if len(rows) <= limit:
        return rows
    order = np.random.default_rng(seed).permutation(len(rows))[:limit]
    return rows[torch.from_numpy(order)]
