"""`secondlook model grade-caution`: how sure the grade head must be to lower a clean-looking item on its own.

Runs the bundle over the audited photos of each manifest's split (validation by default: fit there, measure on
test) and prints the policy's `abstain.unexplained_grade.min_probability` at which at most `--budget` of the
audited clean photos are graded below the clean grade by the grade head alone, with what it spares on the clean
photos and costs on the audited damaged ones. See training/grade_caution.py for the rule.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from grading.bundle import BundleError
from grading.manifest import ManifestError
from grading.vocabulary import Grade, Split

DEFAULT_BUDGET = 0.03


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade-caution",
        help="fit the policy's unexplained_grade.min_probability on audited clean real photos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  secondlook model grade-caution --bundle grading/bundles/default "
        "--manifest var/manifests/clothing-small.jsonl --manifest var/manifests/sneakers-auth.split.jsonl",
    )
    parser.add_argument("--bundle", type=Path, required=True, help="model bundle folder (model.onnx + bundle.json)")
    parser.add_argument("--manifest", type=Path, action="append", required=True, help="manifest v1 (repeatable)")
    parser.add_argument("--split", type=Split, choices=list(Split), default=Split.VALIDATION, help="(validation)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="share of clean photos (default 0.03)")
    parser.add_argument("--clean-grade", default=Grade.LIKE_NEW.value, help="the policy's clean grade (like_new)")
    parser.add_argument("--audit", type=Path, action="append", help="audit CSV (default: datasets/audits/*.csv)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from training.audit import AuditError
    from training.evaluation.predictions import EvaluationInputError

    try:
        clean, damaged = _audited_below_clean(args)
        fit = _fit(clean, damaged, args.budget)
    except (BundleError, EvaluationInputError, ManifestError, AuditError, ValueError) as error:
        print(f"error: {error}")
        return 2
    print(f"audited {args.split.value} photos: {fit.clean_photos} clean or design, {fit.damaged_photos} damaged")
    print(f"graded below {args.clean_grade} by the grade head alone (no defect needed):")
    median = f"clean {fit.clean_cut_at_median:.1%}, damaged {fit.damaged_cut_at_median:.1%}"
    print(f"  at the ordinal median (0.5): {median}")
    print(
        f"  at min_probability {fit.min_probability}: clean {fit.clean_cut_fitted:.1%} (budget {args.budget:.1%}), "
        f"damaged {fit.damaged_cut_fitted:.1%}"
    )
    print(f"policy: abstain.unexplained_grade.min_probability: {fit.min_probability}")
    return 0


def _fit(clean: np.ndarray, damaged: np.ndarray, budget: float):
    from training.grade_caution import caution_fit

    return caution_fit(clean, damaged, budget)


def _audited_below_clean(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """P(below the clean grade) of every audited clean and damaged photo of the manifests' split."""
    from grading.inference import load_model
    from training.audit import AuditError, default_audit_paths, load_audits
    from training.audited_photos import audited_photos
    from training.grade_caution import below_clean_probability

    audits = load_audits(args.audit or default_audit_paths())
    model = load_model(args.bundle)
    grades = model.metadata.labels.grades
    if args.clean_grade not in grades:
        raise AuditError(f"--clean-grade {args.clean_grade!r} is not one of the bundle's grades: {', '.join(grades)}")
    audited = audited_photos(model, args.manifest, args.split, audits)
    below = below_clean_probability(audited.outputs.grade_probs, grades.index(args.clean_grade))
    return below[audited.clean], below[audited.damaged]
