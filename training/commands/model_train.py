"""`secondlook model train`: train the grading heads on one or more manifests."""

from __future__ import annotations

import argparse
from pathlib import Path

from training.config import ConfigError, load_config

EPILOG = """\
Manifests need splits (train / validation; test is kept for `model evaluate`). Each head learns from the
photos that carry its label: categories, defect masks or boxes, grades, authenticity. The anomaly bank
needs known-good photos (`defects: []`), e.g. the clean copies of the composited set.

Configuration: defaults < --config FILE.yaml < --set key=value (repeatable). The resolved config is
written to OUT/config.yaml. Keys: see training/config.py (epochs, batch_size, learning_rate,
augmented_copies, bank_per_category, max_photos_per_manifest, ...).

example:
  secondlook model train --manifest var/manifests/clothing-small.jsonl \\
      --manifest var/composited/manifest.jsonl --out var/runs/default --set epochs=20
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the grading heads",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--manifest", action="append", type=Path, default=[], help="manifest file (repeatable)")
    parser.add_argument("--config", type=Path, help="YAML file of config keys")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one config key")
    parser.add_argument("--out", type=Path, help="run folder (default var/runs/default)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (feature caching, epochs)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from training.checkpoint import CheckpointError
    from training.trainer import TrainingDataError, train

    overrides = list(args.set)
    if args.manifest:
        overrides.append("manifests=[" + ", ".join(f"'{path}'" for path in args.manifest) + "]")
    if args.out:
        overrides.append(f"out='{args.out}'")
    try:
        config = load_config(args.config, overrides)
        folder = train(config, resume=args.resume, progress=not args.no_progress)
    except (ConfigError, TrainingDataError, CheckpointError, FileNotFoundError) as error:
        print(f"error: {error}")
        return 2
    print(f"trained: {folder.path} (next: secondlook model calibrate --run {folder.path})")
    return 0
