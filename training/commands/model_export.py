"""`secondlook model export`: a calibrated run to a model bundle (ONNX + bundle.json), parity-checked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.checkpoint import CheckpointError, RunFolder
from training.export import ExportParityError, export_bundle
from training.packaging import build_network, bundle_metadata, parity_photos

EPILOG = """\
Writes BUNDLE_DIR/model.onnx (preprocessing inside: uint8 photos in, named calibrated outputs out) and
BUNDLE_DIR/bundle.json (labels, thresholds, calibration, metrics, training data and licenses, sha256 of
every file). Refuses to write the bundle if ONNX Runtime and torch disagree on real validation photos.
Metrics: pass --metrics FILE (the metrics.json of `model evaluate`) to record them in the bundle.

example:
  secondlook model export --run var/runs/default --out var/bundles/default --name default --version 0.1.0
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a calibrated run to a model bundle",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--run", type=Path, required=True, help="calibrated run folder")
    parser.add_argument("--out", type=Path, required=True, help="bundle folder to write")
    parser.add_argument("--name", default="secondlook", help="bundle name")
    parser.add_argument("--version", default="0.1.0", help="bundle version")
    parser.add_argument("--metrics", type=Path, help="metrics.json to record in bundle.json")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    folder = RunFolder(args.run)
    try:
        metrics = _flat_metrics(json.loads(args.metrics.read_text())) if args.metrics else {}
        metadata = bundle_metadata(folder, args.name, args.version, metrics)
        written = export_bundle(build_network(folder), metadata, args.out, parity_photos(folder))
    except (CheckpointError, ExportParityError, FileNotFoundError) as error:
        print(f"error: {error}")
        return 2
    print(f"bundle written: {args.out} (parity max |diff| {max(written.parity.values()):.2e})")
    return 0


def _flat_metrics(document: dict, prefix: str = "") -> dict[str, float | None]:
    """Nested metrics.json to flat `section.metric` numbers (non-numbers are left out)."""
    flat: dict[str, float | None] = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= _flat_metrics(value, f"{name}.")
        elif (isinstance(value, int | float) and not isinstance(value, bool)) or value is None:
            flat[name] = value
    return flat
