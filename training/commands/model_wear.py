"""`secondlook model wear`: append a wear head to a bundle, fitted on audited photos of shoes.

Writes a copy of the bundle whose graph has one more output, `wear_prob` (does the photo show a worn pair?), with
every other output unchanged. The head is a logistic regression on pools of the frozen backbone's maps, fitted
on the audited shoe photos of the manifests' train and validation splits (and, in a reviewer export
(GET /v1/review/export, split with `data split`), the reviewers' grades); `wear_presence` / `wear_confident` are
set on their out-of-fold probabilities so that at most 3% / 1% of the clean ones reach them. The fit and its
out-of-fold figures are recorded in the new bundle's `training_config.wear_head`. Promote it through the gate
(`model promote --golden`). See training/wear_head.py and training/wear_refit.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.commands.arguments import existing_manifest

EPILOG = """\
example:
  secondlook model wear --bundle grading/bundles/default --out var/bundles/default-wear \\
      --version 0.5.0 --manifest var/manifests/sneakers-auth.split.jsonl
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "wear",
        help="append a wear head fitted on audited photos of shoes (a new bundle)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bundle", type=Path, required=True, help="the bundle to start from (only read)")
    parser.add_argument("--out", type=Path, required=True, help="new, empty folder for the new bundle")
    parser.add_argument("--version", required=True, help="the new bundle's version, e.g. 0.5.0")
    parser.add_argument("--manifest", type=existing_manifest, action="append", required=True, help="(repeatable)")
    parser.add_argument("--audit", type=Path, action="append", help="audit CSV (default: datasets/audits/*.csv)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from grading.bundle import BundleError
    from grading.manifest import ManifestError
    from training.audit import AuditError, default_audit_paths, load_audits
    from training.evaluation.predictions import EvaluationInputError
    from training.wear_refit import FOLDS, add_wear_head

    try:
        audits = load_audits(args.audit or default_audit_paths())
        fit = add_wear_head(args.bundle, args.out, args.version, args.manifest, audits)
    except (AuditError, BundleError, EvaluationInputError, ManifestError, ValueError) as error:
        print(f"error: {error}")
        return 2
    print(f"fitted on {fit.photos} audited train and validation photos of shoes ({fit.worn} worn)")
    print(f"out of fold ({FOLDS} folds by group): AUROC {fit.out_of_fold_auroc:.3f}")
    print(f"wear_presence {fit.presence:.4f}: reached by {fit.found_at_presence:.1%} of worn photos out of fold")
    print(f"wear_confident {fit.confident:.4f}: reached by {fit.found_at_confident:.1%}")
    print(f"written: {args.out} (version {args.version}); promote it with `secondlook model promote --golden`")
    return 0
