"""`secondlook photos quality`: fit the photo quality thresholds on real photos and measure what they catch.

Every photo of the manifest goes through the service's intake and quality measures. Thresholds are fitted on
the train split (each check refuses its share of real photos, see `training.photo_quality_fit`); the thresholds
of the policy file are then measured on the held-out splits: real photos refused (the target is at most 2%),
clearly unusable copies caught (at least 95%), and second shots of one view told from different garments.
Optionally draws a contact sheet of refused and accepted photos, real and degraded.

examples:
  secondlook photos quality var/manifests/clothing-small.jsonl
  secondlook photos quality var/manifests/clothing-small.jsonl --contact-sheet docs/photo_quality_contact_sheet.png
  secondlook photos quality var/manifests/clothing-small.jsonl --limit 300   # a quick look

exit codes: 0 measured (whether or not the targets are met; read the figures), 2 bad arguments or manifest
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from grading.bundle import read_metadata
from grading.intake import Preprocessing
from grading.manifest import ManifestError, read_manifest
from grading.photo_quality import RULES, PhotoQualityPolicy
from grading.policy import PolicyError, default_policy_path, load_policy
from grading.vocabulary import Split
from training.commands.arguments import existing_manifest
from training.photo_degradations import Degradation
from training.photo_quality_fit import (
    DEFAULT_SHARES,
    REAL,
    SAME_VIEW,
    PhotoSource,
    Sample,
    catch_rate,
    different_garment_distances,
    failed_checks,
    fit_thresholds,
    held_out,
    measure_sources,
    photo_sources,
    same_view_distances,
)
from training.photo_quality_sheet import write_contact_sheet

DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "grading" / "bundles" / "default"


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "quality",
        help="fit photo quality thresholds on real photos; measure refusals and what degraded copies are caught",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", type=existing_manifest, help="manifest of real photos (train split fits)")
    parser.add_argument("--policy", type=Path, default=default_policy_path(), help="policy whose thresholds to measure")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="bundle whose framing intake uses")
    parser.add_argument("--limit", type=int, help="use this many photos, drawn at random (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the degraded copies and of --limit")
    parser.add_argument("--contact-sheet", type=Path, metavar="FILE.png", help="also draw refused/accepted examples")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        sources = photo_sources(read_manifest(args.manifest), args.manifest)
        policy = load_policy(args.policy).photo_quality
    except (ManifestError, PolicyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.limit:
        chosen = np.random.default_rng(args.seed).permutation(len(sources))[: args.limit]
        sources = [sources[i] for i in sorted(chosen)]
    preprocessing = read_metadata(args.bundle).input.preprocessing()
    real, copies = _measure(sources, preprocessing, args.seed)
    _print_thresholds(real, policy, args.policy)
    _print_refusals(real, policy)
    _print_catches(copies, policy)
    _print_duplicates(real, copies, policy)
    if args.contact_sheet:
        sheet = write_contact_sheet(args.contact_sheet, real + copies, policy, preprocessing, args.seed)
        print(f"\ncontact sheet: {sheet}")
    return 0


def _measure(sources: list[PhotoSource], preprocessing: Preprocessing, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Every photo as itself; each held-out photo also as one copy of every degradation and as a second shot."""
    real = list(measure_sources(tqdm(sources, "real photos", unit="photo", leave=False), [REAL], preprocessing, seed))
    held = tqdm([s for s in sources if s.split != Split.TRAIN.value], "degraded copies", unit="photo", leave=False)
    kinds = [*(kind.value for kind in Degradation), *SAME_VIEW]
    return real, list(measure_sources(held, kinds, preprocessing, seed))


def _print_thresholds(real: list[Sample], policy: PhotoQualityPolicy, policy_path: Path) -> None:
    train = [s.measures for s in real if not held_out(s)]
    if not train:
        print("no train photos in the manifest: nothing to fit thresholds on (split it with `secondlook data split`)")
        return
    fitted = fit_thresholds(train, DEFAULT_SHARES, policy)
    print(f"thresholds: fitted on {len(train)} real train photos (share each may refuse) and in {policy_path}")
    for rule in RULES:
        share = DEFAULT_SHARES.get(rule.check, 0.0)
        fit, used = fitted[rule.threshold], getattr(policy, rule.threshold)
        print(f"  {rule.threshold:28s} fitted {fit:9.4g} ({share:.2%})   policy {used:9.4g}")


def _print_refusals(real: list[Sample], policy: PhotoQualityPolicy) -> None:
    print("\nreal photos refused by the policy's thresholds (target: at most 2%):")
    for name, group in (("train", [s for s in real if not held_out(s)]), ("held-out", list(filter(held_out, real)))):
        rate = catch_rate(REAL, failed_checks(group, policy))
        checks = ", ".join(f"{check.value} {share:.1%}" for check, share in rate.by_check.items() if share)
        print(f"  {name:9s} {rate.count:5d} photos: {rate.caught:6.2%} refused ({checks or 'none'})")


def _print_catches(copies: list[Sample], policy: PhotoQualityPolicy) -> None:
    degraded = [s for s in copies if s.kind not in SAME_VIEW]
    print(f"\nclearly unusable copies of held-out photos caught (target: at least 95%), {len(degraded)} copies:")
    print(f"  {'kind':14s} {'count':>5s} {'caught':>7s} {'as meant':>8s}  by check")
    for kind in Degradation:
        rate = catch_rate(kind.value, failed_checks([s for s in degraded if s.kind == kind.value], policy))
        checks = ", ".join(f"{check.value} {share:.0%}" for check, share in rate.by_check.items() if share >= 0.005)
        print(f"  {kind.value:14s} {rate.count:5d} {rate.caught:7.1%} {rate.caught_as_meant:8.1%}  {checks}")
    failures = failed_checks(degraded, policy)
    print(f"  {'all kinds':14s} {len(degraded):5d} {sum(map(bool, failures)) / max(1, len(failures)):7.1%}")


def _print_duplicates(real: list[Sample], copies: list[Sample], policy: PhotoQualityPolicy) -> None:
    originals = [s for s in real if held_out(s)]
    limit = policy.distinct_distance_at_least
    print(f"\nnear duplicates (pHash bits; a later photo closer than {limit} bits to an earlier one is refused):")
    rows = [(kind, same_view_distances(originals, [s for s in copies if s.kind == kind])) for kind in SAME_VIEW]
    rows.append(("different garments", different_garment_distances(originals)))
    for name, values in rows:
        if not len(values):
            print(f"  {name:19s} no pairs")
            continue
        quantiles = " ".join(f"{q:.0f}" for q in np.percentile(values, [1, 5, 25, 50, 75, 95, 99]))
        print(f"  {name:19s} {len(values):5d} pairs: {np.mean(values < limit):6.1%} refused; p1-p99 {quantiles}")
