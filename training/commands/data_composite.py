"""`secondlook data composite`: realistic defects on clean photos, with masks, severities and grades."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from grading.manifest import ManifestError
from training.commands.arguments import existing_manifest
from training.compositing.builder import CompositeSettings, composite_set
from training.compositing.contact_sheet import contact_sheet

EPILOG = """\
Reads a manifest of clean photos (e.g. `secondlook data import --catalog clothing-small`); for each item's
first photo it finds the garment (GrabCut), writes a re-encoded clean copy (`defects: []`, like_new) and
--per-photo damaged copies with one to three of: stain, hole, tear, scuff, pilling, fading, snag. Each
defect gets a mask and a severity; the item a grade (rule: training/compositing/grade_rule.py). Output:
OUT/photos, OUT/masks, OUT/manifest.jsonl. Deterministic for a given --seed.

example:
  secondlook data composite --manifest var/manifests/clothing-small.jsonl --out var/composited \\
      --contact-sheet datasets/docs/composite_contact_sheet.png
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "composite",
        help="composite realistic defects onto clean photos",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--manifest", type=existing_manifest, required=True, help="manifest of clean photos")
    parser.add_argument("--out", type=Path, default=Path("var/composited"), help="output folder")
    parser.add_argument("--per-photo", type=int, default=2, help="damaged copies per clean photo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="only the first N items")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--contact-sheet", type=Path, help="also write a contact sheet PNG here")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.per_photo < 1:
        print("error: --per-photo must be at least 1")
        return 2
    settings = CompositeSettings(per_photo=args.per_photo, seed=args.seed)
    try:
        report = composite_set(args.manifest, args.out, settings, args.limit, args.workers)
    except ManifestError as error:
        print(f"error: {error}")
        return 2
    print(json.dumps(asdict(report) | {"skipped": len(report.skipped)}, indent=2))
    for item_id, reason in report.skipped[:10]:
        print(f"skipped {item_id}: {reason}")
    if args.contact_sheet:
        print(f"contact sheet: {contact_sheet(args.out / 'manifest.jsonl', args.contact_sheet)}")
    return 0
