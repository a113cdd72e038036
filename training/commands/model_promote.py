"""`secondlook model promote`: replace a shipped bundle with a candidate only if no metric gets worse."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from grading.bundle import BundleError, read_metadata

LOWER_IS_BETTER = (  # parts of a metric's name that make lower better (the real-photo section's shares of clean photos)
    "expected_calibration_error",
    "false_alarm_rate",
    "counted_defect_rate",
    "below_very_good",
    "review_rate",
    "underpaid_rate",
    "review_share",
)
TOLERANCE = 0.005

EPILOG = """\
Compares the metrics recorded in both bundle.json files (see `model export --metrics`). Every metric
present in both must be at least as good in the candidate (within 0.005); metrics the candidate lacks
block the promotion too. A target that does not exist yet is simply created. --force skips the gate.

example:
  secondlook model promote --candidate var/bundles/default --target grading/bundles/default
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "promote",
        help="ship a candidate bundle if its metrics are no worse",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--candidate", type=Path, required=True)
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--force", action="store_true", help="promote even if a metric got worse")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        candidate = read_metadata(args.candidate)
        current = read_metadata(args.target) if args.target.exists() else None
    except BundleError as error:
        print(f"error: {error}")
        return 2
    regressions = metric_regressions(current.metrics, candidate.metrics) if current else []
    if regressions and not args.force:
        print("not promoted; these metrics would get worse:\n  " + "\n  ".join(regressions))
        return 1
    replace_folder(args.candidate, args.target)
    print(f"promoted {candidate.name} {candidate.version} to {args.target}")
    return 0


def metric_regressions(current: dict[str, float | None], candidate: dict[str, float | None]) -> list[str]:
    """Human-readable lines, one per metric of the shipped bundle that the candidate does worse on or lacks."""
    worse = []
    for name, old in sorted(current.items()):
        new = candidate.get(name)
        if old is None:
            continue
        if new is None:
            worse.append(f"{name}: {old:.4f} -> missing")
        elif _worse(name, old, new):
            worse.append(f"{name}: {old:.4f} -> {new:.4f}")
    return worse


def _worse(name: str, old: float, new: float) -> bool:
    if any(part in name.rsplit(".", 1)[-1] for part in LOWER_IS_BETTER):  # e.g. false_alarm_rate_at_threshold
        return new > old + TOLERANCE
    return new < old - TOLERANCE


def replace_folder(source: Path, target: Path) -> None:
    """Copy `source` over `target` so that a reader never sees a half-copied bundle."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".promote-", dir=target.parent))
    shutil.copytree(source, staging, dirs_exist_ok=True)
    if target.exists():
        retired = target.with_name(target.name + ".retired")
        shutil.rmtree(retired, ignore_errors=True)
        target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired)
    else:
        staging.rename(target)
