"""`secondlook data validate`: check a manifest and list every problem with its line, item id and fix.

Checks: lines that do not parse (unknown labels included), duplicate item ids, missing photo files, photos
that the service's intake refuses (its message is shown), sha256 or size mismatches, masks missing / all zero /
of another size than their photo, boxes and polygons outside the photo, one photo in several items, the same
photo with different labels, split leakage (exact or near-duplicate photos, or one `group`, in two splits),
and items without a split. Photos are read once, in two processes.

examples:
  secondlook data validate var/manifests/leather-defects-masks.jsonl
  secondlook data validate var/splits/leather-defects-boxes.jsonl --near-duplicate-distance 6 --limit 200

exit codes: 0 no errors (warnings allowed), 1 errors found, 2 the manifest file is missing
"""

from __future__ import annotations

import argparse
import sys
import time

from training.commands.arguments import existing_manifest
from training.near_duplicates import DEFAULT_MAX_DISTANCE
from training.validate import format_report, validate_manifest


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a manifest: files, intake, hashes, masks, boxes, duplicates, split leakage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", type=existing_manifest, help="manifest v1 file (JSON Lines)")
    parser.add_argument(
        "--near-duplicate-distance", type=int, default=DEFAULT_MAX_DISTANCE, help="pHash bits (of 64), 0 = identical"
    )
    parser.add_argument("--limit", type=int, default=50, help="findings to list in the table (all are counted)")
    parser.add_argument("--workers", type=int, default=2, help="processes that read photos")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.near_duplicate_distance < 64:
        print(
            f"error: --near-duplicate-distance is in pHash bits, 0..63; got {args.near_duplicate_distance}",
            file=sys.stderr,
        )
        return 2
    start = time.perf_counter()
    try:
        report = validate_manifest(args.manifest, args.near_duplicate_distance, args.workers, not args.no_progress)
    except (UnicodeDecodeError, PermissionError) as error:
        print(f"error: cannot read {args.manifest} as a UTF-8 JSON Lines manifest ({error})", file=sys.stderr)
        return 2
    print(format_report(report, args.limit))
    print(f"checked in {time.perf_counter() - start:.1f} s")
    return report.exit_code
