"""`secondlook model distributions`: add reference distributions to an existing bundle, for drift monitoring.

Runs the bundle over a manifest split through the service's own grading code and writes
BUNDLE/reference_distributions.json (grade, defect rate, category confidence, counterfeit probability, photo
brightness, sharpness and size; overall and per category), then records its sha256 in BUNDLE/bundle.json.
model.onnx is only read. `model export` records the same from the run's validation split; this command gives a
bundle exported before, such as the shipped one, its reference. See docs/drift.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.commands.arguments import existing_manifest

EPILOG = """\
example:
  secondlook model distributions --bundle grading/bundles/default \\
      --manifest var/manifests/clothing-small.jsonl --split validation
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    from grading.vocabulary import Split

    parser = subparsers.add_parser(
        "distributions",
        help="add reference distributions (for drift monitoring) to a bundle",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bundle", type=Path, required=True, help="bundle folder to add the reference to")
    parser.add_argument(
        "--manifest", type=existing_manifest, action="append", required=True, help="manifest (repeatable)"
    )
    parser.add_argument(
        "--split", choices=[s.value for s in Split], default=Split.VALIDATION.value, help="split (validation)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from grading.bundle import BundleError
    from grading.manifest import ManifestError
    from grading.vocabulary import Split
    from training.drift_reference import add_reference

    try:
        result = add_reference(args.bundle, args.manifest, Split(args.split))
    except (BundleError, ManifestError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}")
        return 2
    reference = result.reference
    print(f"reference of {reference.items} items and {reference.photos} photos from {reference.source}")
    print(f"categories with their own reference: {', '.join(sorted(reference.by_category)) or 'none'}")
    if result.skipped_photos or result.skipped_items:
        print(f"skipped {result.skipped_photos} unreadable photos and {result.skipped_items} items without any")
    print(f"written: {args.bundle / 'reference_distributions.json'} (recorded in bundle.json)")
    return 0
