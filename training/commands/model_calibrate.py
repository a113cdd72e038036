"""`secondlook model calibrate`: temperatures, anomaly distances and thresholds from the validation split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from training.checkpoint import RunFolder


EPILOG = """\
Reads the run's config and manifests, computes features of the validation photos, and writes the
calibration into RUN/checkpoint.json. See training/calibration.py for each rule.

example:
  secondlook model calibrate --run var/runs/default
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="calibrate a trained run on its validation split",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--run", type=Path, required=True, help="run folder written by `model train`")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from training.checkpoint import CheckpointError, RunFolder
    from training.trainer import TrainingDataError

    folder = RunFolder(args.run)
    try:
        result = calibrate_run(folder)
    except (CheckpointError, TrainingDataError, FileNotFoundError) as error:
        print(f"error: {error}")
        return 2
    print(json.dumps(result, indent=2))
    print(f"calibrated: {folder.path} (next: secondlook model export --run {folder.path} --out BUNDLE_DIR)")
    return 0


def calibrate_run(folder: RunFolder) -> dict:
    """Calibrate on the run's validation photos and store the result in its checkpoint.json."""
    from grading.vocabulary import Split
    from training.calibration import calibrate
    from training.checkpoint import CheckpointError
    from training.config import load_config
    from training.feature_cache import compute_features
    from training.frozen_backbone import onnx_backbone
    from training.packaging import run_preprocessing
    from training.trainer import TrainingDataError, load_training_set

    metadata = folder.metadata()
    if not folder.config_path.is_file():
        raise CheckpointError(f"{folder.config_path} is missing; the run folder is incomplete")
    config = load_config(folder.config_path)
    categories = metadata["labels"]["categories"]
    data = load_training_set(config)
    validation = data.refs[Split.VALIDATION]
    if not validation:
        raise TrainingDataError(
            f"the manifests of {folder.path} have no validation photos to calibrate on; "
            "split them with a validation share (secondlook data split)"
        )
    cache = compute_features(
        onnx_backbone(),
        validation,
        categories,
        0,
        config.workers,
        "validation",
        run_preprocessing(folder),
        product_lines=metadata["labels"].get("product_lines", []),
    )
    result = calibrate(
        folder.load_heads(),
        folder.load_memory(),
        cache,
        categories,
        metadata["labels"]["defect_types"],
        config.anomaly_good_percentile,
        config.authenticity_target_precision,
        config.anomaly_bank_weight,
        (config.defect_false_alarm_budget, config.defect_confident_false_alarm_budget),
        config.grade_clean_budget,
        metadata["labels"].get("product_lines", []),
    ).to_json()
    if "condition_from" in metadata:
        result = with_condition_calibration(result, metadata["condition_from"]["calibration"])
    folder.write_metadata(metadata | {"calibration": result})
    return result


def with_condition_calibration(result: dict, kept: dict) -> dict:
    """A run built on a bundle keeps that bundle's condition calibration; only authenticity is fitted anew."""
    temperatures = kept["temperatures"] | {"counterfeit": result["temperatures"]["counterfeit"]}
    return result | kept | {"temperatures": temperatures}
