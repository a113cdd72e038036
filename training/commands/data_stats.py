"""`secondlook data stats`: count a manifest's items per split, category, authenticity, defect type, grade and
photos per item, as tables (one row per label value, one column per split); optionally a PNG of bar charts.

examples:
  secondlook data stats var/manifests/clothing-small.jsonl
  secondlook data stats var/splits/leather-defects-boxes.jsonl --histogram var/stats/leather-defects-boxes.png

exit codes: 0 printed, 2 the manifest is missing or a line does not parse (the message names the line)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grading.manifest import ManifestError, read_manifest
from training.commands.arguments import existing_manifest
from training.stats import format_stats, manifest_stats, write_histogram


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stats",
        help="count items per split, category, authenticity, defect type, grade; optional histogram PNG",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", type=existing_manifest, help="manifest v1 file (JSON Lines)")
    parser.add_argument("--histogram", type=Path, metavar="FILE.png", help="also write bar charts to this PNG")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        stats = manifest_stats(read_manifest(args.manifest))
    except ManifestError as error:
        print(f"error: {error} (run `secondlook data validate` for every problem)", file=sys.stderr)
        return 2
    print(format_stats(stats))
    if args.histogram:
        print(f"wrote {write_histogram(stats, args.histogram)}")
    return 0
