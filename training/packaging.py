"""From a calibrated training run to the network and the bundle description that `export_bundle` writes."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import torch
import yaml

from grading.bundle import BundleMetadata, Calibration, InputSpec, Labels, Thresholds, TrainingData
from grading.intake import Preprocessing, load_photo
from grading.manifest import read_manifest, resolve_photo_path
from grading.vocabulary import Split
from training.calibration import grade_bias_vector
from training.checkpoint import CheckpointError, RunFolder
from training.export import GradingNetwork
from training.network import BackboneTaps


def calibration_of(run: RunFolder) -> dict:
    calibration = run.metadata().get("calibration")
    if calibration is None:
        raise CheckpointError(f"{run.path} is not calibrated yet; run `secondlook model calibrate --run {run.path}`")
    return calibration


def build_network(run: RunFolder) -> GradingNetwork:
    """The exportable network: ImageNet backbone, the run's heads and bank, its calibration folded in."""
    calibration = calibration_of(run)
    distances = torch.tensor(calibration["anomaly_distance"], dtype=torch.float32)
    bank_scale = torch.tensor(calibration["anomaly_bank_scale"], dtype=torch.float32)
    return GradingNetwork(
        BackboneTaps(),
        run.load_heads(),
        run.load_memory(),
        calibration["temperatures"],
        distances,
        bank_scale,
        calibration["anomaly_bank_weight"],
        grade_bias_vector(calibration.get("grade_bias", 0.0), len(run.metadata()["labels"]["grades"]) - 1),
    ).eval()


def bundle_metadata(run: RunFolder, name: str, version: str, metrics: dict[str, float | None]) -> BundleMetadata:
    metadata = run.metadata()
    calibration = calibration_of(run)
    categories = metadata["labels"]["categories"]
    return BundleMetadata(
        name=name,
        version=version,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        input=InputSpec(framing=run_preprocessing(run).framing),
        labels=Labels(**metadata["labels"]),
        thresholds=Thresholds(
            defect_presence=calibration["defect_presence"],
            defect_confident=calibration.get("defect_confident", {}),
            counterfeit_above=calibration["counterfeit_above"],
            authentic_below=calibration["authentic_below"],
        ),
        calibration=Calibration(
            temperatures=calibration["temperatures"],
            anomaly_distance_per_category=dict(zip(categories, calibration["anomaly_distance"], strict=True)),
            anomaly_bank_scale_per_category=dict(zip(categories, calibration["anomaly_bank_scale"], strict=True)),
            anomaly_bank_weight=calibration["anomaly_bank_weight"],
            grade_bias=calibration.get("grade_bias", 0.0),
            product_line_prototypes=calibration.get("product_line_prototypes", {}),
        ),
        metrics=metrics,
        training_data=[TrainingData(**source) for source in metadata["training_data"]],
        training_config=yaml.safe_load(run.config_path.read_text(encoding="utf-8")),
    )


def run_preprocessing(run: RunFolder) -> Preprocessing:
    """The intake geometry the run trained on."""
    return Preprocessing(framing=run.framing())


def parity_photos(run: RunFolder, count: int = 8) -> np.ndarray:
    """Real validation photos from the run's manifests, through intake, for the export parity check."""
    config = yaml.safe_load(run.config_path.read_text(encoding="utf-8"))
    preprocessing = run_preprocessing(run)
    pixels = []
    for manifest in map(Path, config["manifests"]):
        for item in read_manifest(manifest):
            if item.split is Split.VALIDATION and len(pixels) < count:
                data = resolve_photo_path(manifest, item.photos[0].path).read_bytes()
                pixels.append(load_photo(data, preprocessing=preprocessing).pixels)
    if not pixels:
        raise CheckpointError("the run's manifests have no validation photos to check export parity on")
    return np.stack(pixels)
