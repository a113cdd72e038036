"""`secondlook data split`: give every item of a manifest a split, without leakage, and write a new manifest.

All photos of an item, items sharing a `group`, and every exact or near-duplicate photo (pHash within
--near-duplicate-distance bits) land in one split. The run is deterministic for a given --seed.

modes:
  keep-source  keep the source's splits; a group spanning splits moves wholly to its most protected split
               (test > validation > train), or is dropped with --on-leak drop; items without a split are
               assigned by --ratios
  ratios       ignore the source's splits; assign groups by a seeded hash at --ratios (train,validation,test)
  carve        keep-source, then carve --validation-share of train into validation when there is no
               validation split (test is left as it is)

Items whose byte-identical photos carry different labels are reported; --on-conflict drop removes them.

examples:
  secondlook data split var/manifests/leather-defects-boxes.jsonl --out var/splits/leather-defects-boxes.jsonl
  secondlook data split var/manifests/leather-defects-masks.jsonl --out var/splits/masks.jsonl --mode carve
  secondlook data split var/manifests/fabric-defects-boxes.jsonl --out var/splits/fabric.jsonl \\
      --mode ratios --ratios 0.6,0.2,0.2 --seed 1
  secondlook data split var/manifests/sneakers-auth.jsonl --out var/manifests/sneakers-auth.split.jsonl \\
      --transformed-copies

--transformed-copies also joins photos that are rotated, mirrored or cropped copies of one another (an
embedding finds candidates, ORB keypoints verify them; a few minutes per 4,000 photos). Items joined only by
duplicate photos get `group: copies-of/<first item id>`, which evaluation reads as one item.

The output's photo paths are rewritten relative to its own folder, so it can live anywhere.
exit codes: 0 written, 2 bad input (missing manifest, bad ratios, a line that does not parse)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from grading.manifest import Defect, Item, ManifestError, read_manifest, write_manifest
from training.commands.arguments import existing_manifest
from training.near_duplicates import DEFAULT_MAX_DISTANCE
from training.splits import (
    ConflictPolicy,
    LeakPolicy,
    SplitMode,
    SplitOptions,
    SplitOptionsError,
    format_report,
    split_manifest_items,
)


class UsageError(ValueError):
    """A command-line value the split cannot use; the message says which and how to fix it."""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "split",
        help="assign leakage-free, seeded train/validation/test splits (near-duplicate aware)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", type=existing_manifest, help="manifest v1 file (JSON Lines) to split")
    parser.add_argument("--out", type=Path, required=True, help="manifest to write, with the new splits")
    parser.add_argument("--mode", choices=[str(mode) for mode in SplitMode], default=str(SplitMode.KEEP_SOURCE))
    parser.add_argument("--ratios", default="0.8,0.1,0.1", help="train,validation,test summing to 1")
    parser.add_argument("--validation-share", type=float, default=0.15, help="share of train carved (carve)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--near-duplicate-distance", type=int, default=DEFAULT_MAX_DISTANCE, help="pHash bits (of 64), 0 = identical"
    )
    parser.add_argument(
        "--transformed-copies",
        action="store_true",
        help="also join rotated, mirrored or cropped copies of one photo (ORB-verified; Roboflow augmented exports)",
    )
    parser.add_argument("--on-leak", choices=[str(p) for p in LeakPolicy], default=str(LeakPolicy.MOVE))
    parser.add_argument("--on-conflict", choices=[str(p) for p in ConflictPolicy], default=str(ConflictPolicy.KEEP))
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    try:
        options = _options(args)
        items = _read(args.manifest)
        kept, report = split_manifest_items(items, args.manifest, options, progress=not args.no_progress)
    except (UsageError, SplitOptionsError, ManifestError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_manifest(rebase_photo_paths(kept, args.manifest, args.out), args.out)
    print(format_report(report))
    print(f"wrote {args.out} ({len(kept)} items) in {time.perf_counter() - start:.1f} s")
    return 0


def _options(args: argparse.Namespace) -> SplitOptions:
    return SplitOptions(
        mode=SplitMode(args.mode),
        ratios=parse_ratios(args.ratios),
        validation_share=args.validation_share,
        seed=args.seed,
        max_distance=args.near_duplicate_distance,
        on_leak=LeakPolicy(args.on_leak),
        on_conflict=ConflictPolicy(args.on_conflict),
        transformed_copies=args.transformed_copies,
    )


def parse_ratios(text: str) -> tuple[float, float, float]:
    """'0.8,0.1,0.1' -> (0.8, 0.1, 0.1); anything else raises `UsageError` with an example."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise UsageError(f"--ratios needs three numbers train,validation,test, e.g. 0.8,0.1,0.1; got '{text}'")
    return values  # type: ignore[return-value]


def _read(path: Path) -> list[Item]:
    return read_manifest(path)


def rebase_photo_paths(items: list[Item], source: Path, out: Path) -> list[Item]:
    """Rewrite relative photo and mask paths so they resolve from `out`'s folder as they did from `source`'s."""
    source_folder, out_folder = Path(os.path.abspath(source)).parent, Path(os.path.abspath(out)).parent
    if source_folder == out_folder:
        return items
    return [_rebased(item, source_folder, out_folder) for item in items]


def _rebased(item: Item, source_folder: Path, folder: Path) -> Item:
    photos = []
    for photo in item.photos:
        defects = None if photo.defects is None else [_rebased_defect(d, source_folder, folder) for d in photo.defects]
        path = _relative(photo.path, source_folder, folder)
        photos.append(photo.model_copy(update={"path": path, "defects": defects}))
    return item.model_copy(update={"photos": photos})


def _rebased_defect(defect: Defect, source_folder: Path, folder: Path) -> Defect:
    if defect.mask is None:
        return defect
    return defect.model_copy(update={"mask": _relative(defect.mask, source_folder, folder)})


def _relative(path: str, source_folder: Path, folder: Path) -> str:
    """Absolute paths stay as they are; relative ones are re-expressed from `folder`."""
    if Path(path).is_absolute():
        return path
    return os.path.relpath(os.path.normpath(source_folder / path), folder)
