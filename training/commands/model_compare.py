"""`secondlook model compare A B --golden FILE`: two bundles on the golden set, with the same code, side by side.

Every headline figure of `model evaluate` on each golden set (real items with trusted labels: the audited
real-photo sets and reviewer decisions), for A (the shipped bundle) and B (the candidate), each with its 95%
bootstrap interval, and B - A with its paired interval. A figure is worse when that interval lies wholly on its
worse side. Writes compare.json and compare.html; exits 1 when any figure of B is worse, 0 otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.evaluation import BATCH_SIZE

DEFAULT_GOLDEN = Path("datasets/golden.yaml")
EPILOG = """\
example:
  secondlook model compare grading/bundles/default var/bundles/default-candidate --golden datasets/golden.yaml
"""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare two bundles on the golden set with bootstrap intervals",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("a", type=Path, help="bundle A: the shipped one")
    parser.add_argument("b", type=Path, help="bundle B: the candidate")
    add_golden_arguments(parser, DEFAULT_GOLDEN, f"golden-set file (default {DEFAULT_GOLDEN})")
    parser.add_argument("--out", type=Path, help="report folder (default var/reports/compare-<A>-<B>)")
    parser.set_defaults(handler=run)


def add_golden_arguments(parser: argparse.ArgumentParser, default: Path | None, help: str) -> None:
    """--golden (and --no-progress, --batch-size), shared with `model promote`."""
    parser.add_argument("--golden", type=Path, default=default, help=help)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"photos per ONNX run ({BATCH_SIZE})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    try:
        result = comparison_of(args.a, args.b, args)
    except ComparisonFailed as failure:
        print(f"error: {failure}")
        return 2
    out = args.out or Path("var/reports") / f"compare-{args.a.name}-{args.b.name}"
    print_comparison(result, out)
    return 1 if result.worse else 0


class ComparisonFailed(RuntimeError):
    """A bundle, golden set, manifest, audit, policy or pricing file that cannot be used."""


def comparison_of(a: Path, b: Path, args: argparse.Namespace):
    """Both bundles compared on the golden set named in `args`; raises `ComparisonFailed` saying what to fix."""
    from grading.bundle import BundleError
    from grading.manifest import ManifestError
    from grading.policy import PolicyError
    from grading.pricing import PricingError
    from training.audit import AuditError, default_audit_paths, load_audits
    from training.evaluation.compare import compare_bundles
    from training.evaluation.golden import GoldenError, load_golden
    from training.evaluation.run import default_rules

    try:
        golden = load_golden(args.golden)
        audits, rules = load_audits(default_audit_paths()), default_rules()
        return compare_bundles(a, b, golden, audits, rules, not args.no_progress, args.batch_size)
    except (BundleError, GoldenError, ManifestError, AuditError, PolicyError, PricingError) as error:
        raise ComparisonFailed(str(error)) from error


def print_comparison(result, out: Path) -> None:
    """One line per figure (worse ones marked), and where the report went."""
    from training.evaluation.compare import write_comparison

    print(f"A: {result.a}\nB: {result.b}")
    for figure in result.figures:
        c = figure.comparison
        b = "n/a" if c.b.value is None else f"{c.b.value:.4f}"
        difference = f"[{c.difference.low:+.4f}, {c.difference.high:+.4f}]" if c.difference else c.why_no_interval
        print(f"  {figure.verdict:>6}  {figure.name}: {c.a.value:.4f} -> {b}  B-A {difference}")
    json_path, html_path = write_comparison(result, out)
    print(f"wrote {json_path} and {html_path}")
