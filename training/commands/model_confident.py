"""`secondlook model confident`: raise a bundle's confident thresholds on audited clean real photos.

Writes a copy of the bundle (same model.onnx, same defect_presence thresholds) whose `defect_confident` thresholds
are raised until at most `--budget` of the audited clean photos of the manifests' split (validation by default)
carry a certain defect, i.e. one that would lower a grade rather than send the item to review. The refit is
recorded in the new bundle's `training_config.confident_refit`. Promote it through the gate (`model promote
--golden`). See training/confident_refit.py for the rule.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.commands.arguments import existing_manifest

DEFAULT_BUDGET = 0.01
EPILOG = """\
example:
  secondlook model confident --bundle grading/bundles/default --out var/bundles/default-confident \\
      --version 0.4.1 --manifest var/manifests/clothing-small.jsonl \\
      --manifest var/manifests/sneakers-auth.split.jsonl
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    from grading.vocabulary import Split

    parser = subparsers.add_parser(
        "confident",
        help="raise a bundle's defect_confident thresholds on audited clean real photos (a new bundle)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bundle", type=Path, required=True, help="the bundle to start from (only read)")
    parser.add_argument("--out", type=Path, required=True, help="new, empty folder for the refitted bundle")
    parser.add_argument("--version", required=True, help="the new bundle's version, e.g. 0.4.1")
    parser.add_argument("--manifest", type=existing_manifest, action="append", required=True, help="(repeatable)")
    parser.add_argument("--split", type=Split, choices=list(Split), default=Split.VALIDATION, help="(validation)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="share of clean photos (0.01)")
    parser.add_argument("--audit", type=Path, action="append", help="audit CSV (default: datasets/audits/*.csv)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from grading.bundle import BundleError
    from grading.manifest import ManifestError
    from training.audit import AuditError, default_audit_paths, load_audits
    from training.confident_refit import clean_peaks, refit_bundle

    if not 0 <= args.budget < 1:
        print(f"error: --budget is a share of clean photos in [0, 1), got {args.budget}")
        return 2
    try:
        audits = load_audits(args.audit or default_audit_paths())
        peaks = clean_peaks(args.bundle, args.manifest, args.split, audits)
        refit = refit_bundle(args.bundle, args.out, args.version, peaks, args.budget)
    except (AuditError, BundleError, ManifestError, ValueError) as error:
        print(f"error: {error}")
        return 2
    print(f"audited clean {args.split.value} photos: {refit.clean_photos}")
    print(f"with a certain defect: {refit.certain_before:.1%} before, {refit.certain_after:.1%} after")
    for name, (old, new) in refit.raised.items():
        print(f"  {name}: confident {old:.4f} -> {new:.4f}")
    print(f"written: {args.out} (version {args.version}); promote it with `secondlook model promote --golden`")
    return 0
