"""`secondlook model promote`: replace a shipped bundle with a candidate only if no figure gets worse."""

from __future__ import annotations

import argparse
import getpass
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from grading.bundle import BundleError, read_metadata, write_metadata
from training.commands.model_compare import ComparisonFailed, add_golden_arguments, comparison_of, print_comparison
from training.evaluation.compare import TOLERANCE, lower_is_better

EPILOG = """\
With --golden (what `make default-bundle` does): both bundles are evaluated now, with the same code, on the
golden set's real items (`secondlook model compare`), and the candidate is refused when any headline figure
is worse beyond its 95% bootstrap interval; the figures are named and the report written. Without --golden:
the metrics recorded in both bundle.json files (see `model export --metrics`) are compared, each within 0.005,
and metrics the candidate lacks block too; those may come from older evaluation code.
A target that does not exist yet is simply created. --force promotes anyway; the promoted bundle's history
(bundle.json) records every promotion: when, by whom, over which version, forced or not, and what was worse.

example:
  secondlook model promote --candidate var/bundles/default-candidate --target grading/bundles/default \\
      --golden datasets/golden.yaml
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
    parser.add_argument("--force", action="store_true", help="promote even if a figure got worse (recorded)")
    parser.add_argument("--by", default=None, help="who promotes, for the history (default: the login name)")
    parser.add_argument("--report", type=Path, help="comparison report folder (default var/reports/promote-<version>)")
    add_golden_arguments(parser, None, "golden-set file: gate on figures measured now (see above)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        candidate = read_metadata(args.candidate)
        current = read_metadata(args.target) if args.target.exists() else None
        regressions, gate = _regressions(args, current, candidate)
    except (BundleError, ComparisonFailed) as error:
        print(f"error: {error}")
        return 2
    if regressions and not args.force:
        print("not promoted; these figures would get worse:\n  " + "\n  ".join(regressions))
        return 1
    entry = history_entry(current, gate, regressions, args.force, args.by or getpass.getuser())
    replace_folder(args.candidate, args.target, entry)
    print(f"promoted {candidate.name} {candidate.version} to {args.target}" + (" (forced)" if regressions else ""))
    return 0


def _regressions(args: argparse.Namespace, current, candidate) -> tuple[list[str], str]:
    """The lines naming what got worse, and which gate said so."""
    if current is None:
        return [], "first bundle"
    if args.golden is None:
        return metric_regressions(current.metrics, candidate.metrics), "recorded metrics"
    result = comparison_of(args.target, args.candidate, args)
    print_comparison(result, args.report or Path("var/reports") / f"promote-{candidate.name}-{candidate.version}")
    return [_regression_line(figure) for figure in result.worse], f"golden set {args.golden}"


def _regression_line(figure) -> str:
    c = figure.comparison
    b = "missing" if c.b.value is None else f"{c.b.value:.4f}"
    beyond = f"B-A [{c.difference.low:+.4f}, {c.difference.high:+.4f}]" if c.difference else c.why_no_interval
    return f"{figure.name}: {c.a.value:.4f} -> {b} ({beyond})"


def history_entry(current, gate: str, regressions: list[str], forced: bool, by: str) -> dict:
    """What the promoted bundle's history records about this promotion."""
    return {
        "promoted": datetime.now(UTC).isoformat(timespec="seconds"),
        "by": by,
        "replaced": None if current is None else f"{current.name} {current.version}",
        "gate": gate,
        "forced": bool(forced and regressions),
        "worse": regressions,
    }


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
    if lower_is_better(name):  # e.g. false_alarm_rate_at_threshold
        return new > old + TOLERANCE
    return new < old - TOLERANCE


def replace_folder(source: Path, target: Path, history: dict | None = None) -> None:
    """Copy `source` over `target` so that a reader never sees a half-copied bundle; `history` is appended to the
    copy's bundle.json history, after the target's own (the candidate's folder is left as it was)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".promote-", dir=target.parent))
    shutil.copytree(source, staging, dirs_exist_ok=True)
    if history is not None:
        _append_history(staging, target, history)
    if target.exists():
        retired = target.with_name(target.name + ".retired")
        shutil.rmtree(retired, ignore_errors=True)
        target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired)
    else:
        staging.rename(target)


def _append_history(staging: Path, target: Path, entry: dict) -> None:
    earlier = read_metadata(target).history if target.exists() else []
    metadata = read_metadata(staging)
    write_metadata(staging, metadata.model_copy(update={"history": [*earlier, entry]}))
