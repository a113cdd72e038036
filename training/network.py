"""The grading network: one EfficientNet-Lite0 pass per photo, light heads on its features.

The backbone stays frozen (ImageNet weights) up to its last stage: on a 2-core CPU that is what makes
training minutes, not hours, and it lets training cache backbone features once per augmented photo. Only
its last 1x1 convolution (320 -> 1280 channels, the `EmbeddingHead`) is fine-tuned, on the cached stride-32
map: it is cheap to train and lifts the category head by about two points. The heads:

- defects by type: a small feature-pyramid decoder over strides 8/16/32, background + one map per type;
- category: a small MLP on the pooled 1280-d embedding of the fine-tuned `EmbeddingHead`;
- condition grade: CORN ordinal head on a summary of the defect maps and the decoder features averaged where
  the defects are (not on the 1280-d embedding: with it the head memorised training photos and graded real
  clean garments worse than like_new with no defect to show for it);
- authenticity: its own `AuthenticityBranch` (a fine-tuned copy of the backbone's stride-32 stages and last
  convolution on the frozen stride-16 map: counterfeit cues are small details, and fine-tuning those stages
  measured item AUROC 0.895 vs 0.857 for the last convolution alone on sneakers-auth, same probe), with a
  128-d metric embedding (cosine against enrolled references and product-line prototypes) and a counterfeit
  logit. It is trained only on photos with an authenticity or product-line label, so the condition heads and the
  category head never share weights with it.

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
    """What one pass of the frozen backbone yields for the heads."""

    stride8: torch.Tensor
    stride16: torch.Tensor
    stride32: torch.Tensor


class HeadLogits(NamedTuple):
    """Raw head outputs before calibration; training losses read these."""

    defect_logits: torch.Tensor
    category_logits: torch.Tensor
    grade_logits: torch.Tensor
    embedding: torch.Tensor
    counterfeit_logit: torch.Tensor


class BackboneTaps(nn.Module):
    """The frozen part of EfficientNet-Lite0, returning the stride-8/16/32 maps in a single pass."""

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        model = create_backbone(pretrained=pretrained)
        self.stem = nn.Sequential(model.conv_stem, model.bn1)
        self.stages = model.blocks

    def forward(self, images: torch.Tensor) -> Taps:
        x = self.stem(images)
        taps = []
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index in TAP_STAGES:
                taps.append(x)
        return Taps(*taps)


class EmbeddingHead(nn.Module):
    """The backbone's last 1x1 convolution and BatchNorm+ReLU6 on the stride-32 map, mean-pooled to 1280-d.

    Starts from the ImageNet weights and is fine-tuned with the heads; its BatchNorm statistics stay as
    ImageNet left them (`train()` keeps that layer in eval mode), so small batches cannot skew them.
    """

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        model = create_backbone(pretrained=pretrained)
        self.conv, self.norm = model.conv_head, model.bn2

    def train(self, mode: bool = True) -> EmbeddingHead:
        super().train(mode)
        self.norm.eval()
        return self

    def forward(self, stride32: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(stride32)).mean(dim=(2, 3))


class AuthenticityBranch(nn.Module):
    """Stages 5-6 and the last 1x1 convolution of EfficientNet-Lite0 (ImageNet start), stride-16 map in, 1280-d out.

    About 1.4 ms of ONNX Runtime time per photo on 2 threads; BatchNorm statistics stay as ImageNet left them.
    """

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        model = create_backbone(pretrained=pretrained)
        self.stages = nn.Sequential(model.blocks[5], model.blocks[6])
        self.conv, self.norm = model.conv_head, model.bn2

    def train(self, mode: bool = True) -> AuthenticityBranch:
        super().train(mode)
        for module in self.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self

    def forward(self, stride16: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(self.stages(stride16))).mean(dim=(2, 3))


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
        self.width = width
        self.laterals = nn.ModuleList(conv_bn_relu(channels, width) for channels in TAP_CHANNELS)
        self.refine = nn.Sequential(conv_bn_relu(width, width, 3, groups=width), conv_bn_relu(width, width))
        self.classify = nn.Conv2d(width, num_classes, 1)

    def features(self, taps: Taps) -> torch.Tensor:
        """(N, width, H8, W8): the merged and refined pyramid the per-pixel classifier reads."""
        size = taps.stride8.shape[-2:]
        merged = self.laterals[0](taps.stride8)
        for lateral, feature in zip(self.laterals[1:], (taps.stride16, taps.stride32), strict=True):
            merged = merged + F.interpolate(lateral(feature), size=size, mode="nearest")  # cheap backward on CPU
        return self.refine(merged)

    def forward(self, taps: Taps) -> torch.Tensor:
        return self.classify(self.features(taps))


DEFECT_SUMMARY_TOP_CELLS = 8


def defect_summary(defect_logits: torch.Tensor) -> torch.Tensor:
    """What the grade head reads of the defect maps: per type, the largest and the mean probability and the
    share of cells above 0.5; for any defect, the largest, the mean and the mean of the top cells."""
    probabilities = defect_logits.softmax(dim=1)
    types, any_defect = probabilities[:, 1:], 1.0 - probabilities[:, 0].flatten(1)
    top = any_defect.topk(DEFECT_SUMMARY_TOP_CELLS, dim=1).values.mean(dim=1, keepdim=True)
    per_type = [types.amax(dim=(2, 3)), types.mean(dim=(2, 3)), (types > 0.5).float().mean(dim=(2, 3))]
    return torch.cat([*per_type, any_defect.amax(dim=1, keepdim=True), any_defect.mean(dim=1, keepdim=True), top], 1)


def summary_size(num_defect_types: int) -> int:
    return 3 * num_defect_types + 3


def defect_attended(features: torch.Tensor, defect_logits: torch.Tensor) -> torch.Tensor:
    """(N, width): decoder features averaged with the any-defect probability as weights (what the defects
    look like: size and contrast matter to the grade); near zero weight gives near-zero features."""
    weights = 1.0 - defect_logits.softmax(dim=1)[:, :1]
    return (features * weights).sum(dim=(2, 3)) / weights.sum(dim=(2, 3)).clamp(min=1e-3)


class CornGradeHead(nn.Module):
    """Ordinal grade with CORN (conditional ordinal regression): K-1 logits, logit k = P(rank > k | rank > k-1).

    Reads the defect-map summary and the defect-attended decoder features: a grade follows from what the defect
    maps show, so the policy can always point at the evidence behind it.
    """

    def __init__(self, num_grades: int, num_defect_types: int, decoder_width: int, hidden: int = 128) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(summary_size(num_defect_types) + decoder_width, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(hidden, num_grades - 1),
        )

    def forward(self, summary: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.cat([summary, attended], dim=1))


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

    def __init__(self, num_defect_types: int, num_categories: int, num_grades: int, pretrained: bool = True) -> None:
        super().__init__()
        self.embedding_head = EmbeddingHead(pretrained)
        self.defects = DefectDecoder(num_defect_types + 1)
        self.category = nn.Sequential(
            nn.Dropout(0.2),
            nn.Linear(EMBEDDING_DIM, 512),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(512, num_categories),
        )
        self.grade = CornGradeHead(num_grades, num_defect_types, self.defects.width)
        self.authenticity = AuthenticityBranch(pretrained)
        self.auth_embedding = nn.Linear(EMBEDDING_DIM, AUTH_EMBEDDING_DIM)
        self.counterfeit = nn.Sequential(nn.Dropout(0.3), nn.Linear(EMBEDDING_DIM, 1))

    def forward(self, taps: Taps, with_authenticity: bool = True) -> HeadLogits:
        """Every head; the condition stream of training passes `with_authenticity=False` (zeros instead), since
        the branch is trained in its own stream (`authenticity_outputs`) and would only cost time there."""
        pooled = self.embedding_head(taps.stride32)
        if with_authenticity:
            embedding, counterfeit_logit = self.authenticity_outputs(taps.stride16)
        else:
            rows = len(taps.stride16)
            embedding, counterfeit_logit = pooled.new_zeros((rows, AUTH_EMBEDDING_DIM)), pooled.new_zeros(rows)
        features = self.defects.features(taps)
        defect_logits = self.defects.classify(features)
        seen = defect_logits.detach()  # the grade loss does not reshape the defect maps
        grade_logits = self.grade(defect_summary(seen), defect_attended(features.detach(), seen))
        return HeadLogits(
            defect_logits=defect_logits,
            category_logits=self.category(pooled),
            grade_logits=grade_logits,
            embedding=embedding,
            counterfeit_logit=counterfeit_logit,
        )

    def authenticity_outputs(self, stride16: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(L2-normalised embedding, counterfeit logit) of the authenticity branch."""
        pooled = self.authenticity(stride16)
        return F.normalize(self.auth_embedding(pooled), dim=1), self.counterfeit(pooled).squeeze(1)
