"""`secondlook model export`: a calibrated run to a model bundle (ONNX + bundle.json), parity-checked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EPILOG = """\
Writes BUNDLE_DIR/model.onnx (preprocessing inside: uint8 photos in, named calibrated outputs out) and
BUNDLE_DIR/bundle.json (labels, thresholds, calibration, metrics, training data and licenses, sha256 of
every file). Refuses to write the bundle if ONNX Runtime and torch disagree on real validation photos.
BUNDLE_DIR must be new, empty or an earlier bundle; an earlier bundle is replaced only once the new one
has passed, and stays as it was when the export fails.
Metrics: pass --metrics NAME=FILE (repeatable; FILE is the metrics.json of `model evaluate`) to record
each headline metric in bundle.json as NAME.SECTION.METRIC.

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
    parser.add_argument(
        "--metrics", action="append", default=[], metavar="NAME=FILE", help="metrics.json of `model evaluate`"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from training.checkpoint import CheckpointError, RunFolder
    from training.export import ExportParityError, export_bundle
    from training.packaging import build_network, bundle_metadata, parity_photos

    folder = RunFolder(args.run)
    try:
        metrics = headline_metrics(args.metrics)
        metadata = bundle_metadata(folder, args.name, args.version, metrics)
        written = export_bundle(build_network(folder), metadata, args.out, parity_photos(folder))
    except (CheckpointError, ExportParityError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}")
        return 2
    print(f"bundle written: {args.out} (parity max |diff| {max(written.parity.values()):.2e})")
    return 0


def headline_metrics(named_files: list[str]) -> dict[str, float | None]:
    """`NAME=metrics.json` pairs to `NAME.section.metric` values (the headline metrics of each section)."""
    metrics: dict[str, float | None] = {}
    for named_file in named_files:
        name, separator, path = named_file.partition("=")
        if not separator:
            raise ValueError(f"--metrics needs NAME=FILE, e.g. composited=var/reports/x/metrics.json; got {named_file}")
        sections = json.loads(Path(path).read_text(encoding="utf-8"))["sections"]
        for section, content in sections.items():
            for metric, entry in content.get("metrics", {}).items():
                metrics[f"{name}.{section}.{metric}"] = entry.get("value")
    return metrics
