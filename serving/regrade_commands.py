"""`secondlook-service regrade --bundle DIR [--since DATE] [--program P] [--ray-address A] [--changes CSV]`.

Exit 0 when the run finished (items that could not be regraded are counted in its summary and logged), 2 when it
could not start (no such bundle, a broken policy, Ray not installed or unreachable). Run it again after a kill
or a crash: it resumes the unfinished run of the same bundle, policy, pricing and window.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path

from grading.bundle import BundleError
from grading.policy import PolicyError
from grading.pricing import PricingError
from serving.database import make_engine, migrate, session_factory
from serving.regrade import RegradeError, RegradeReport, RegradeRequest, regrade, regrade_changes
from serving.settings import Settings

NOT_STARTED = (RegradeError, BundleError, PolicyError, PricingError, FileNotFoundError, ConnectionError)


def add_regrade_command(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "regrade",
        help="grade the archive again with another bundle on Ray; results kept beside the service's, resumable",
    )
    command.add_argument("--bundle", type=Path, required=True, help="the bundle to grade with (its folder)")
    command.add_argument("--policy", type=Path, help="grade policy (default: the service's)")
    command.add_argument("--pricing", type=Path, help="pricing (default: the service's)")
    command.add_argument("--since", type=_date, help="only items created at or after this date (ISO 8601)")
    command.add_argument("--program", help="only items declared of this program (facts.program)")
    command.add_argument("--ray-address", help="an existing Ray cluster (default: start one on this machine)")
    command.add_argument("--workers", type=_positive, help="grading processes (default: one per core)")
    command.add_argument("--changes", type=Path, help="write every item whose grade or decision changed (CSV)")
    command.add_argument("--no-progress", action="store_true", help="no progress bar")
    command.set_defaults(command=regrade_command)


def regrade_command(settings: Settings, args: argparse.Namespace) -> int:
    request = RegradeRequest(
        bundle=args.bundle,
        policy=args.policy or settings.policy,
        pricing=args.pricing or settings.pricing,
        since=args.since,
        program=args.program,
        ray_address=args.ray_address,
        workers=args.workers,
        progress=not args.no_progress,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    sessions = session_factory(engine)
    try:
        report = regrade(settings, sessions, request)
    except NOT_STARTED as error:
        print(f"secondlook-service: regrade not started: {error}", file=sys.stderr)
        return 2
    _print_report(report)
    if args.changes:
        with sessions() as session:
            written = _write_changes(args.changes, regrade_changes(session, report.run_id))
        print(f"{written} changed items written to {args.changes}")
    return 0


def _print_report(report: RegradeReport) -> None:
    state = "resumed" if report.resumed else "new"
    print(f"regrade run {report.run_id} ({state}): {report.graded_now} items graded now")
    for line in report.summary.lines():
        print(line)


def _write_changes(path: Path, changes: list) -> int:
    columns = ["item_id", "grade_before", "grade_after", "decision_before", "decision_after", "error"]
    written = 0
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for change in changes:
            before, after = change.before or {}, change.after
            row = [
                change.item_id,
                (before.get("grade") or {}).get("name"),
                (after.get("grade") or {}).get("name"),
                before.get("decision"),
                after.get("decision"),
                change.error,
            ]
            if change.error or row[1] != row[2] or row[3] != row[4]:
                writer.writerow(row)
                written += 1
    return written


def _date(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date, e.g. 2026-11-01") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)
