"""A shipped bundle's condition heads and their calibration, read back so a run can build on them.

A bundle keeps only its ONNX graph, not the run that trained it. The condition heads (the fine-tuned embedding
head, the defect decoder, the category and grade heads) are read back from that graph so that a run can build on
them in one of two ways:
- `condition_from`: train the authenticity branch beside them and leave every condition output exactly as
  shipped, with the same calibrated thresholds. That is how authenticity reaches the default bundle without
  retraining the condition side, whose figures move from one full retrain to the next (model card).
- `heads_from`: go on training them, e.g. on reviewer corrections (recipe `corrections.yaml`), and calibrate
  anew; the next bundle starts from what the shipped one learnt instead of from ImageNet.

The exporter fuses each convolution with the BatchNorm after it. The fused weight goes back into the convolution
and the BatchNorm becomes the identity plus the fused bias: the same function in eval mode, which is how frozen
heads run (`freeze_condition_heads`). Linear layers keep their parameter names in the graph.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from grading.bundle import BundleMetadata, read_metadata
from training.network import GradingHeads

# ONNX node of each fused convolution -> (its convolution, its BatchNorm) in GradingHeads. The decoder's nodes lack
# the "defects" scope because the network calls `DefectDecoder.features`, not the module itself.
FUSED_CONVOLUTIONS = {
    "/heads/embedding_head/conv/Conv": ("embedding_head.conv", "embedding_head.norm"),
    "/heads/laterals.0/laterals.0.0/Conv": ("defects.laterals.0.0", "defects.laterals.0.1"),
    "/heads/laterals.1/laterals.1.0/Conv": ("defects.laterals.1.0", "defects.laterals.1.1"),
    "/heads/laterals.2/laterals.2.0/Conv": ("defects.laterals.2.0", "defects.laterals.2.1"),
    "/heads/refine/refine.0/refine.0.0/Conv": ("defects.refine.0.0", "defects.refine.0.1"),
    "/heads/refine/refine.1/refine.1.0/Conv": ("defects.refine.1.0", "defects.refine.1.1"),
}
NAMED_LAYERS = ("defects.classify", "category.1", "category.4", "grade.layers.0", "grade.layers.3")
CONDITION_MODULES = ("embedding_head", "defects", "category", "grade")


class BundleHeadsError(ValueError):
    """The bundle cannot give its condition heads back; the message says why and what to use instead."""


def condition_heads_from_bundle(folder: Path, product_lines: int = 0) -> GradingHeads:
    """Heads whose condition modules compute what the bundle's graph computes; the authenticity branch starts from
    ImageNet weights as in a new run."""
    import onnx
    from onnx import numpy_helper

    metadata = read_metadata(folder)
    _require_supported(folder, metadata)
    graph = onnx.load(str(folder / "model.onnx")).graph
    weights = {tensor.name: torch.from_numpy(numpy_helper.to_array(tensor).copy()) for tensor in graph.initializer}
    labels = metadata.labels
    heads = GradingHeads(len(labels.defect_types), len(labels.categories), len(labels.grades))
    for layer in NAMED_LAYERS:
        module = heads.get_submodule(layer)
        module.weight.data.copy_(_initializer(weights, f"heads.{layer}.weight", folder))
        module.bias.data.copy_(_initializer(weights, f"heads.{layer}.bias", folder))
    nodes = {node.name: node for node in graph.node}
    for node_name, (conv_name, norm_name) in FUSED_CONVOLUTIONS.items():
        if node_name not in nodes:
            raise BundleHeadsError(f"{folder}/model.onnx has no node {node_name}: it was not exported by this code")
        _, weight_name, bias_name = nodes[node_name].input
        conv, norm = heads.get_submodule(conv_name), heads.get_submodule(norm_name)
        _load_fused(conv, norm, _initializer(weights, weight_name, folder), _initializer(weights, bias_name, folder))
    return heads


def _require_supported(folder: Path, metadata: BundleMetadata) -> None:
    if metadata.calibration.anomaly_bank_weight != 0:
        raise BundleHeadsError(
            f"{folder} mixes a memory bank into its anomaly map (weight {metadata.calibration.anomaly_bank_weight}); "
            "only bundles without one (weight 0, 0.3.0 on) can be built on: retrain from the manifests instead"
        )


def _initializer(weights: dict[str, torch.Tensor], name: str, folder: Path) -> torch.Tensor:
    if name not in weights:
        raise BundleHeadsError(f"{folder}/model.onnx has no initializer {name}: it was not exported by this code")
    return weights[name]


def _load_fused(conv: nn.Conv2d, norm: nn.BatchNorm2d, weight: torch.Tensor, bias: torch.Tensor) -> None:
    """Fused weight into the convolution; the BatchNorm becomes x + bias (gamma cancels its own 1/sqrt(1+eps))."""
    conv.weight.data.copy_(weight)
    norm.running_mean.zero_()
    norm.running_var.fill_(1.0)
    norm.weight.data.fill_(math.sqrt(1.0 + norm.eps))
    norm.bias.data.copy_(bias)


def freeze_condition_heads(heads: GradingHeads) -> None:
    """No gradient and BatchNorm statistics kept for every condition module (call after each `heads.train()`)."""
    for name in CONDITION_MODULES:
        module = heads.get_submodule(name)
        module.eval()
        for parameter in module.parameters():
            parameter.requires_grad_(False)


def keep_fused_norms(heads: GradingHeads) -> None:
    """The read-back BatchNorms (identity plus the fused bias) in eval mode while their heads go on training: batch
    statistics would replace the identity and undo what the bundle learnt (call after each `heads.train()`)."""
    for _conv, norm_name in FUSED_CONVOLUTIONS.values():
        heads.get_submodule(norm_name).eval()


def condition_source(folder: Path) -> dict[str, object]:
    """What a run records of the bundle it builds on: which bundle, and its condition calibration (kept in the
    run, so that calibrating later does not depend on the bundle folder staying as it was)."""
    metadata = read_metadata(folder)
    return {
        "bundle": str(folder),
        "name": metadata.name,
        "version": metadata.version,
        "model_sha256": metadata.files["model.onnx"],
        "calibration": condition_calibration(metadata),
    }


def condition_calibration(metadata: BundleMetadata) -> dict[str, object]:
    """The bundle's condition calibration in the run's calibration keys (`training.calibration.CalibrationResult`)."""
    calibration, categories = metadata.calibration, metadata.labels.categories
    temperatures = {name: value for name, value in calibration.temperatures.items() if name != "counterfeit"}
    source = f"kept from bundle {metadata.name} {metadata.version}"
    return {
        "temperatures": temperatures,
        "anomaly_distance": [calibration.anomaly_distance_per_category[name] for name in categories],
        "anomaly_bank_scale": [calibration.anomaly_bank_scale_per_category[name] for name in categories],
        "anomaly_bank_weight": calibration.anomaly_bank_weight,
        "anomaly_rule": dict.fromkeys(categories, source),
        "defect_presence": dict(metadata.thresholds.defect_presence),
        "defect_confident": dict(metadata.thresholds.defect_confident),
        "defect_rule": source,
        "grade_bias": calibration.grade_bias,
    }
