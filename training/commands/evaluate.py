"""`secondlook model evaluate`: run a model bundle over a manifest split and write metrics.json and report.html.

Only what the manifest's labels allow is computed: categories give category metrics, defect masks (or
boxes) give pixel and anomaly metrics, grades give kappa, authentic/counterfeit labels give authenticity
metrics. The report says which sections were skipped and why. Items are scored on the mean of their
photos' probabilities; pixel metrics are on the network's 28x28 grid (see the report's notes).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from grading.bundle import BundleError
from grading.manifest import ManifestError
from grading.vocabulary import Split
from training.evaluation import BATCH_SIZE

if TYPE_CHECKING:
    from training.evaluation.metrics import Metric
    from training.evaluation.run import Evaluation


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a model bundle on a manifest split; writes metrics.json and report.html",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  secondlook model evaluate --bundle grading/bundles/default "
        "--manifest var/manifests/clothing-small.jsonl",
    )
    parser.add_argument("--bundle", type=Path, required=True, help="model bundle folder (model.onnx + bundle.json)")
    parser.add_argument("--manifest", type=Path, required=True, help="manifest v1 (.jsonl) with labels")
    parser.add_argument("--split", type=Split, choices=list(Split), default=Split.TEST, help="default: test")
    parser.add_argument("--out", type=Path, help="output folder (default var/reports/<bundle name>-<manifest stem>)")
    parser.add_argument("--limit", type=_positive, help="evaluate only the split's first N items")
    parser.add_argument(
        "--batch-size", type=_positive, default=BATCH_SIZE, help=f"photos per ONNX run (default {BATCH_SIZE})"
    )
    parser.add_argument(
        "--audit",
        type=Path,
        action="append",
        help="audit CSV of real photos (repeatable; default: every datasets/audits/*.csv); its photos are graded "
        "as kiosk items in the real_photos section",
    )
    parser.add_argument("--policy", type=Path, help="grade policy for the real_photos section (default: shipped)")
    parser.add_argument("--pricing", type=Path, help="pricing for the real_photos section (default: shipped)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from grading.policy import PolicyError
    from grading.pricing import PricingError
    from training.audit import AuditError
    from training.evaluation.predictions import EvaluationInputError
    from training.evaluation.run import evaluate_bundle

    try:
        audits, rules = _audits(args), _rules(args)
        evaluation = evaluate_bundle(
            args.bundle,
            args.manifest,
            args.split,
            args.out,
            args.limit,
            args.batch_size,
            not args.no_progress,
            rules,
            audits,
        )
    except (BundleError, EvaluationInputError, ManifestError, AuditError, PolicyError, PricingError) as error:
        print(f"error: {error}")
        return 2
    _print_summary(evaluation)
    return 0


def _audits(args: argparse.Namespace) -> dict | None:
    from training.audit import AuditError, load_audits

    missing = [str(path) for path in args.audit or [] if not path.is_file()]
    if missing:
        raise AuditError(f"audit file not found: {', '.join(missing)}; pass an existing CSV to --audit")
    return load_audits(args.audit) if args.audit else None


def _rules(args: argparse.Namespace):
    from grading.policy import default_policy_path, load_policy
    from grading.pricing import default_pricing_path, load_pricing
    from training.evaluation.real_photo_section import GradingRules

    policy = load_policy(args.policy or default_policy_path())
    return GradingRules(policy, load_pricing(args.pricing or default_pricing_path()))


def _print_summary(evaluation: Evaluation) -> None:
    for section in evaluation.sections:
        if section.skipped:
            print(f"{section.task}: skipped ({section.skipped})")
            continue
        shown = ", ".join(_shown(name, section.metrics[name]) for name in section.headline)
        print(f"{section.task}: {shown}")
    print(f"wrote {evaluation.metrics_path} and {evaluation.report_path}")


def _shown(name: str, metric: Metric) -> str:
    from training.evaluation.report import format_value

    return f"{name} {format_value(name, metric)} (n={metric.n})"
