"""Export the grading network to one ONNX graph with pre- and post-processing inside, and verify it.

The graph takes uint8 NHWC photos straight from `grading.intake` and returns the named, calibrated
`NetworkOutputs`. `export_bundle` checks the graph with `onnx.checker`, then runs the same real photos
through torch and ONNX Runtime and refuses to write the bundle unless every output agrees within
`PARITY_TOLERANCE` and every decision (category, grade, anomalous, counterfeit) is identical.

Once checked, the bundle records its reference distributions for drift monitoring: the exported graph run over the
validation split of the run's manifests through the service's grading code (`training.drift_reference`), written to
`reference_distributions.json` and hashed in `bundle.json` like every file.

The bundle is built in a staging folder beside the target and moved into place only once it has passed, so a
failed export leaves no loadable bundle behind and a previous bundle at the target untouched.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from grading.bundle import METADATA_FILE, MODEL_FILE, BundleMetadata, write_metadata
from grading.grade_decision import median_grade
from grading.inference import load_model
from grading.network_outputs import INPUT_NAME, OUTPUT_NAMES, NetworkOutputs, map_outputs
from grading.reference_distributions import write_reference
from training.anomaly_map import mixed_anomaly_map
from training.backbone import normalise
from training.drift_reference import default_policy_fits, reference_from_manifests
from training.network import BackboneTaps, GradingHeads, corn_probabilities
from training.patch_memory import MemoryBank, anomaly_score

log = logging.getLogger("secondlook.export")

PARITY_TOLERANCE = 1e-3
OPSET = 17
TEMPERATURE_NAMES = ("category", "defects", "grade", "counterfeit")


class ExportParityError(RuntimeError):
    """ONNX Runtime disagrees with torch on the exported graph; the bundle was not written."""


class GradingNetwork(nn.Module):
    """Photos in, calibrated `NetworkOutputs` out: the whole flow of one pass, as exported."""

    def __init__(
        self,
        backbone: BackboneTaps,
        heads: GradingHeads,
        memory: MemoryBank,
        temperatures: dict[str, float],
        anomaly_distance: torch.Tensor,
        bank_scale: torch.Tensor | None = None,
        bank_weight: float = 1.0,
        grade_bias: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.backbone, self.heads, self.memory = backbone, heads, memory
        values = [float(temperatures.get(name, 1.0)) for name in TEMPERATURE_NAMES]
        self.register_buffer("temperatures", torch.tensor(values, dtype=torch.float32))
        self.register_buffer("anomaly_distance", anomaly_distance.float())
        scale = torch.ones_like(anomaly_distance) if bank_scale is None else bank_scale
        self.register_buffer("bank_scale", scale.float())
        self.bank_weight = float(bank_weight)
        tasks = heads.grade.layers[-1].out_features
        self.register_buffer("grade_bias", torch.zeros(tasks) if grade_bias is None else grade_bias.float())

    def forward(self, photos: torch.Tensor) -> NetworkOutputs:
        taps = self.backbone(normalise(photos))
        logits = self.heads(taps)
        category_probs = (logits.category_logits / self.temperatures[0]).softmax(dim=1)
        category = category_probs.argmax(dim=1)
        defect_probs = (logits.defect_logits / self.temperatures[1]).softmax(dim=1)
        bank_distance = self._bank_distance(taps, category, defect_probs)
        mixed = mixed_anomaly_map(defect_probs, bank_distance, self.bank_scale[category], self.bank_weight)
        anomaly_map = mixed / self.anomaly_distance[category][:, None, None]
        return NetworkOutputs(
            defect_probs=defect_probs,
            anomaly_map=anomaly_map,
            anomaly_score=anomaly_score(anomaly_map),
            category_probs=category_probs,
            grade_probs=corn_probabilities(logits.grade_logits / self.temperatures[2] + self.grade_bias),
            embedding=logits.embedding,
            counterfeit_prob=torch.sigmoid(logits.counterfeit_logit / self.temperatures[3]),
        )

    def _bank_distance(self, taps, category: torch.Tensor, defect_probs: torch.Tensor) -> torch.Tensor:
        """The memory bank's distances; with weight 0 the bank is left out of the graph (it costs time)."""
        if self.bank_weight == 0:
            return torch.zeros_like(defect_probs[:, 0])
        return self.memory(taps, category)


def export_bundle(
    network: GradingNetwork,
    metadata: BundleMetadata,
    folder: Path,
    parity_photos: np.ndarray,
    reference_manifests: Sequence[Path] | None = None,
) -> BundleMetadata:
    """Make `folder` a bundle (`model.onnx`, `bundle.json`) once the checker and the parity check pass.

    `folder` must be new, empty or a previous bundle, which is replaced as a whole. On any failure the
    staging folder is removed and `folder` is left as it was.

    Args:
        reference_manifests: manifests whose validation split gives the reference distributions; by default the
            run's (`metadata.training_config["manifests"]`); none: the bundle records no reference.
    """
    folder = Path(folder)
    _check_replaceable(folder)
    staging = _staging_folder(folder)
    if reference_manifests is None:
        reference_manifests = [Path(m) for m in metadata.training_config.get("manifests", ())]
    try:
        written = _write_checked_bundle(network.eval(), metadata, staging, parity_photos, reference_manifests)
        _move_into_place(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def _write_checked_bundle(
    network: GradingNetwork,
    metadata: BundleMetadata,
    folder: Path,
    parity_photos: np.ndarray,
    reference_manifests: Sequence[Path],
) -> BundleMetadata:
    _export_graph(network, folder / MODEL_FILE, metadata.input.crop_size)
    onnx.checker.check_model(str(folder / MODEL_FILE), full_check=True)
    written = write_metadata(folder, metadata)
    parity = check_parity(network, folder, parity_photos, written)
    checked = write_metadata(folder, written.model_copy(update={"parity": parity}))
    if reference_manifests and default_policy_fits(metadata):
        write_reference(folder, reference_from_manifests(load_model(folder), reference_manifests).reference)
    elif reference_manifests:
        log.warning("no reference distributions recorded: the default grade policy uses another grade scale")
    return write_metadata(folder, checked)


def _check_replaceable(folder: Path) -> None:
    """Refuse a target that holds something other than a bundle: replacing it would delete those files."""
    if not folder.exists() or (folder / METADATA_FILE).is_file():
        return
    if not folder.is_dir() or any(folder.iterdir()):
        raise ValueError(f"{folder} exists and is not a model bundle; export into a new or empty folder")


def _staging_folder(folder: Path) -> Path:
    """A new hidden folder beside `folder` (same file system, so the final rename is atomic)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.export-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    return staging


def _move_into_place(staging: Path, folder: Path) -> None:
    """Rename `staging` to `folder`; a previous `folder` is set aside first and removed once the new one is in."""
    if not folder.exists():
        staging.rename(folder)
        return
    retired = folder.with_name(f".{folder.name}.retired-{uuid.uuid4().hex[:8]}")
    folder.rename(retired)
    try:
        staging.rename(folder)
    except OSError:
        retired.rename(folder)
        raise
    shutil.rmtree(retired)


def _export_graph(network: GradingNetwork, path: Path, crop_size: int) -> None:
    example = torch.zeros(2, crop_size, crop_size, 3, dtype=torch.uint8)
    dynamic = {INPUT_NAME: {0: "batch"}} | {name: {0: "batch"} for name in OUTPUT_NAMES}
    with torch.inference_mode():
        torch.onnx.export(
            network,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )


def check_parity(
    network: GradingNetwork, folder: Path, photos: np.ndarray, metadata: BundleMetadata
) -> dict[str, float]:
    """Max |torch - onnxruntime| per output on real photos; raise `ExportParityError` on any disagreement."""
    with torch.inference_mode():
        expected = map_outputs(network(torch.from_numpy(photos)), lambda tensor: tensor.numpy())
    actual = load_model(folder).run(photos)
    differences = {name: float(np.abs(getattr(expected, name) - getattr(actual, name)).max()) for name in OUTPUT_NAMES}
    worst = {name: value for name, value in differences.items() if value > PARITY_TOLERANCE}
    if worst:
        raise ExportParityError(f"torch and ONNX Runtime differ beyond {PARITY_TOLERANCE}: {worst}")
    _check_same_decisions(expected, actual, metadata)
    return differences


def _check_same_decisions(expected: NetworkOutputs, actual: NetworkOutputs, metadata: BundleMetadata) -> None:
    threshold = metadata.thresholds
    decisions = {
        "category": lambda o: o.category_probs.argmax(axis=1),
        "grade": lambda o: median_grade(o.grade_probs),
        "anomalous": lambda o: o.anomaly_score >= threshold.anomaly,
        "counterfeit": lambda o: o.counterfeit_prob >= threshold.counterfeit_above,
    }
    for name, decide in decisions.items():
        if not np.array_equal(decide(expected), decide(actual)):
            raise ExportParityError(f"torch and ONNX Runtime make different '{name}' decisions on the parity photos")
