"""The grading network: one EfficientNet-Lite0 pass per photo, light heads on its features.

The backbone stays frozen (ImageNet weights): on a 2-core CPU that is what makes training minutes, not
hours, and it lets training cache backbone features once per augmented photo. The heads:

- defects by type: a small feature-pyramid decoder over strides 8/16/32, background + one map per type;
- category: a small MLP on the pooled 1280-d embedding;
- condition grade: CORN ordinal head on the embedding plus a summary of the defect maps;
- authenticity: a 128-d metric embedding (cosine against enrolled references) and a counterfeit logit.

The anomaly head (a memory bank of known-good patches) needs no training and lives in `patch_memory`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from training.backbone import EMBEDDING_DIM, create_backbone

TAP_STAGES = (2, 4, 6)  # timm stage indices whose outputs are at strides 8, 16, 32
TAP_CHANNELS = (40, 112, 320)
AUTH_EMBEDDING_DIM = 128


class Taps(NamedTuple):
    """What one backbone pass yields for the heads."""

    stride8: torch.Tensor
    stride16: torch.Tensor
    stride32: torch.Tensor
    pooled: torch.Tensor


class HeadLogits(NamedTuple):
    """Raw head outputs before calibration; training losses read these."""

    defect_logits: torch.Tensor
    category_logits: torch.Tensor
    grade_logits: torch.Tensor
    embedding: torch.Tensor
    counterfeit_logit: torch.Tensor


class BackboneTaps(nn.Module):
    """EfficientNet-Lite0 returning the stride-8/16/32 maps and the pooled embedding in a single pass."""

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        model = create_backbone(pretrained=pretrained)
        self.stem = nn.Sequential(model.conv_stem, model.bn1)
        self.stages = model.blocks
        self.head = nn.Sequential(model.conv_head, model.bn2)

    def forward(self, images: torch.Tensor) -> Taps:
        x = self.stem(images)
        taps = []
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index in TAP_STAGES:
                taps.append(x)
        pooled = self.head(x).mean(dim=(2, 3))
        return Taps(*taps, pooled)


def conv_bn_relu(in_channels: int, out_channels: int, kernel: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DefectDecoder(nn.Module):
    """Feature-pyramid decoder: per-pixel logits for background + each defect type at stride 8."""

    def __init__(self, num_classes: int, width: int = 64) -> None:
        super().__init__()
        self.laterals = nn.ModuleList(conv_bn_relu(channels, width) for channels in TAP_CHANNELS)
        self.refine = nn.Sequential(conv_bn_relu(width, width, 3, groups=width), conv_bn_relu(width, width))
        self.classify = nn.Conv2d(width, num_classes, 1)

    def forward(self, taps: Taps) -> torch.Tensor:
        size = taps.stride8.shape[-2:]
        merged = self.laterals[0](taps.stride8)
        for lateral, feature in zip(self.laterals[1:], (taps.stride16, taps.stride32), strict=True):
            merged = merged + F.interpolate(lateral(feature), size=size, mode="nearest")  # cheap backward on CPU
        return self.classify(self.refine(merged))


def defect_summary(defect_logits: torch.Tensor) -> torch.Tensor:
    """Per defect type: the largest and the mean probability over the photo (background left out)."""
    probabilities = defect_logits.softmax(dim=1)[:, 1:]
    return torch.cat([probabilities.amax(dim=(2, 3)), probabilities.mean(dim=(2, 3))], dim=1)


class CornGradeHead(nn.Module):
    """Ordinal grade with CORN (conditional ordinal regression): K-1 logits, logit k = P(rank > k | rank > k-1)."""

    def __init__(self, num_grades: int, num_defect_types: int, hidden: int = 128) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(EMBEDDING_DIM + 2 * num_defect_types, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(hidden, num_grades - 1),
        )

    def forward(self, pooled: torch.Tensor, summary: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.cat([pooled, summary], dim=1))


def corn_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Grade probabilities (N, K) from CORN logits (N, K-1): P(rank > k) is the running product."""
    exceed = torch.exp(torch.cumsum(F.logsigmoid(logits), dim=1))  # cumprod of sigmoids; ONNX has no CumProd
    ones = torch.ones_like(exceed[:, :1])
    zeros = torch.zeros_like(exceed[:, :1])
    return torch.cat([ones, exceed], dim=1) - torch.cat([exceed, zeros], dim=1)


def corn_loss(logits: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
    """CORN loss: binary task k is trained only on examples with rank >= k, predicting rank > k."""
    tasks = torch.arange(logits.shape[1], device=logits.device)
    eligible = ranks[:, None] >= tasks[None, :]
    targets = (ranks[:, None] > tasks[None, :]).float()
    losses = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return (losses * eligible).sum() / eligible.sum().clamp(min=1)


class GradingHeads(nn.Module):
    """Every trained head, on cached or live backbone taps."""

    def __init__(self, num_defect_types: int, num_categories: int, num_grades: int) -> None:
        super().__init__()
        self.defects = DefectDecoder(num_defect_types + 1)
        self.category = nn.Sequential(
            nn.Dropout(0.2),
            nn.Linear(EMBEDDING_DIM, 512),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(512, num_categories),
        )
        self.grade = CornGradeHead(num_grades, num_defect_types)
        self.auth_embedding = nn.Linear(EMBEDDING_DIM, AUTH_EMBEDDING_DIM)
        self.counterfeit = nn.Linear(EMBEDDING_DIM, 1)

    def forward(self, taps: Taps) -> HeadLogits:
        defect_logits = self.defects(taps)
        grade_logits = self.grade(taps.pooled, defect_summary(defect_logits.detach()))
        return HeadLogits(
            defect_logits=defect_logits,
            category_logits=self.category(taps.pooled),
            grade_logits=grade_logits,
            embedding=F.normalize(self.auth_embedding(taps.pooled), dim=1),
            counterfeit_logit=self.counterfeit(taps.pooled).squeeze(1),
        )
