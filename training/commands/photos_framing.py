"""`secondlook photos framing`: train the framing network the photo checks use to see an item not wholly in view.

The train split's real photos and badly framed and smeared copies of them (`training.framing_examples`) go
through the service's intake; a small network (`grading.photo_framing`) learns whole / too close / off centre /
smeared from intake's 56 px overview of the whole photo. A tenth of the photos is held back: the command prints
how well the network tells whole photos from each kind of copy there, and, for each measure (badly_framed,
smeared), the threshold that refuses 0.5%, 1% and 2% of those real photos (the policy's `badly_framed_at_most`
and `smeared_at_most` are chosen from these; `secondlook photos quality` then measures them on the validation
and test photos). Writes framing.onnx and framing.json (how it was made) into --out.

examples:
  secondlook photos framing var/manifests/clothing-small.jsonl --out grading/framing
  secondlook photos framing var/manifests/clothing-small.jsonl --out /tmp/framing --limit 200 --epochs 2

exit codes: 0 trained, 2 bad arguments, manifest or no train photos
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

from grading.bundle import file_sha256, read_metadata
from grading.manifest import ManifestError, read_manifest
from grading.photo_framing import FRAMING_CLASSES, FRAMING_MODEL
from grading.vocabulary import Split
from training.commands.arguments import existing_manifest
from training.framing_examples import COPIES
from training.framing_training import MEASURES, FramingFit, build_examples, export_framing, train_framing
from training.photo_quality_fit import photo_sources

DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "grading" / "bundles" / "default"
REPORTED_SHARES = (0.005, 0.01, 0.02)


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "framing",
        help="train the network that tells a whole item from one too close, off centre or smeared",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", type=existing_manifest, help="manifest of real photos (its train split is used)")
    parser.add_argument("--out", type=Path, default=FRAMING_MODEL.parent, help="folder for framing.onnx and .json")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="bundle whose framing intake uses")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--limit", type=int, help="use this many train photos (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        sources = photo_sources(read_manifest(args.manifest), args.manifest)
    except ManifestError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    paths = [source.path for source in sources if source.split == Split.TRAIN.value][: args.limit]
    if len(paths) < 10:
        print(f"error: {len(paths)} train photos in {args.manifest}; split it first (secondlook data split)")
        return 2
    torch.set_num_threads(2)
    started = time.monotonic()
    preprocessing = read_metadata(args.bundle).input.preprocessing()
    examples = build_examples(paths, preprocessing, args.seed)
    print(f"{len(examples.labels)} examples from {len(paths)} photos in {time.monotonic() - started:.0f} s")
    fit = train_framing(examples, args.epochs, args.seed)
    model = args.out / "framing.onnx"
    parity = export_framing(fit.network, model)
    record = _record(args, fit, len(paths), parity, model, time.monotonic() - started)
    (args.out / "framing.json").write_text(json.dumps(record, indent=2) + "\n")
    _print(fit, record)
    return 0


def _record(args: argparse.Namespace, fit: FramingFit, photos: int, parity: float, model: Path, seconds: float) -> dict:
    return {
        "classes": list(FRAMING_CLASSES),
        "trained_on": {"manifest": args.manifest.name, "split": "train", "photos": photos, "copies": len(COPIES)},
        "epochs": fit.epochs,
        "seed": args.seed,
        "train_loss": round(fit.train_loss, 4),
        "held_back": {
            "photos": fit.held_back_photos,
            "accuracy": round(fit.held_back_accuracy, 4),
            **{
                measure: {
                    "auroc_whole_vs_its_copies": round(fit.held_back_auroc[measure], 4),
                    "threshold_refusing": {
                        f"{s:.1%}": round(fit.threshold_refusing(measure, s), 4) for s in REPORTED_SHARES
                    },
                }
                for measure in MEASURES
            },
        },
        "parity_max_abs": parity,
        "sha256": file_sha256(model),
        "seconds": round(seconds),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _print(fit: FramingFit, record: dict) -> None:
    held = record["held_back"]
    print(f"held back {held['photos']} photos: accuracy {held['accuracy']:.1%} over {', '.join(FRAMING_CLASSES)}")
    for measure in MEASURES:
        print(f"  {measure}: AUROC whole vs its copies {held[measure]['auroc_whole_vs_its_copies']:.3f}")
        for share, threshold in held[measure]["threshold_refusing"].items():
            print(f"    {measure}_at_most {threshold:.3f} refuses {share} of the real photos")
    print(f"ONNX parity {record['parity_max_abs']:.1e}; {record['seconds']} s in all")
