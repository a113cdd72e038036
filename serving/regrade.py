"""`secondlook-service regrade`: grade the archive again with another bundle, on a Ray cluster.

A brand that ships a new bundle wants to know what it would change before it loads it: this grades every graded
item (or those of one program, or created since a date) with the new bundle on a local Ray cluster it starts
(or an existing one), and keeps the results in `regraded_results`, beside the service's own, which it never
touches. Items are read from the database in pages and graded by one `ArchiveGrader` per Ray worker process; the
driver writes each result as it returns, so a killed run loses at most the results in flight: running the same
command again (same bundle, policy, pricing, window) resumes it and grades only what is left. At the end it
compares each regraded item with its newest service result (`serving.regrade_summary`) and records the summary.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from grading.authenticity import ReferenceGallery
from grading.bundle import file_sha256, read_metadata
from serving.item_grader import Rules, load_rules
from serving.item_records import item_photos, latest_result
from serving.photo_checks import quality_result, stored_record
from serving.regrade_summary import ItemChange, RegradeSummary, summarise
from serving.regrade_worker import ArchivedItem, ArchivedPhoto, ArchiveGrader, RegradeOutcome
from serving.settings import Settings
from serving.station_readiness import graded_photos
from serving.tables import Item, ItemStatus, ReferencePhoto, RegradedResult, RegradeRun, Result, utc_now

log = logging.getLogger("secondlook.regrade")
PAGE = 200  # items read from the database at a time
COMMIT_EVERY = 16  # results written per transaction: a kill loses at most these and what is in flight


class RegradeError(RuntimeError):
    """The regrade cannot start as asked; the message says what to fix."""


@dataclass(frozen=True)
class RegradeRequest:
    bundle: Path
    policy: Path
    pricing: Path
    since: datetime | None = None
    program: str | None = None
    ray_address: str | None = None  # None: start a local cluster on this machine's cores
    workers: int | None = None  # grading processes; default: one per core of the cluster
    progress: bool = True


@dataclass(frozen=True)
class RegradeReport:
    run_id: str
    resumed: bool
    graded_now: int
    summary: RegradeSummary


def regrade(settings: Settings, sessions: sessionmaker[Session], request: RegradeRequest) -> RegradeReport:
    """Grade what is left of the run for this request (starting it if new) and summarise the whole run."""
    rules = _checked_rules(request)
    with sessions.begin() as session:
        run, resumed = _find_or_start_run(session, request, rules)
        run_id = run.id
        todo = _pending_ids(session, run)
        run.items_total = len(todo) + _done_count(session, run_id)
    log.info("regrade run %s: %d items to grade%s", run_id, len(todo), " (resumed)" if resumed else "")
    if todo:
        _grade_on_ray(settings, sessions, request, run_id, todo)
    with sessions.begin() as session:
        summary = summarise(_changes(session, run_id))
        run = session.get(RegradeRun, run_id)
        run.summary, run.finished_at = summary.model_dump(mode="json"), utc_now()
    return RegradeReport(run_id, resumed, len(todo), summary)


def _checked_rules(request: RegradeRequest) -> Rules:
    if not (request.bundle / "model.onnx").is_file():
        raise RegradeError(f"{request.bundle} is not a model bundle (no model.onnx); pass the bundle's folder.")
    read_metadata(request.bundle)  # the hashes hold before any worker loads it
    return load_rules(request.policy, request.pricing)


def _find_or_start_run(session: Session, request: RegradeRequest, rules: Rules) -> tuple[RegradeRun, bool]:
    metadata = read_metadata(request.bundle)
    digest = bundle_digest(request.bundle)
    same = select(RegradeRun).where(
        RegradeRun.bundle_digest == digest,
        RegradeRun.policy_version == rules.policy.version,
        RegradeRun.pricing_version == rules.pricing.version,
        RegradeRun.finished_at.is_(None),
    )
    for run in session.scalars(same.order_by(RegradeRun.created_at.desc())):
        if _same_window(run.since, request.since) and run.program == request.program:
            return run, True
    run = RegradeRun(
        bundle_name=metadata.name,
        bundle_version=metadata.version,
        bundle_digest=digest,
        policy_version=rules.policy.version,
        pricing_version=rules.pricing.version,
        since=request.since,
        program=request.program,
    )
    session.add(run)
    session.flush()
    return run, False


def bundle_digest(bundle: Path) -> str:
    """One sha256 over the graph and its metadata: a bundle with the same graph but other thresholds is another."""
    parts = (file_sha256(bundle / name) for name in ("model.onnx", "bundle.json"))
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def _same_window(stored: datetime | None, asked: datetime | None) -> bool:
    if stored is None or asked is None:
        return stored is asked
    return stored.replace(tzinfo=None) == asked.replace(tzinfo=None)  # SQLite hands datetimes back without a zone


def _pending_ids(session: Session, run: RegradeRun) -> list[str]:
    """Graded items in the run's window not yet regraded in it, oldest first."""
    query = select(Item.id, Item.facts).where(Item.status == ItemStatus.GRADED)
    if run.since is not None:
        query = query.where(Item.created_at >= run.since)
    done = set(session.scalars(select(RegradedResult.item_id).where(RegradedResult.run_id == run.id)))
    rows = session.execute(query.order_by(Item.created_at, Item.id)).all()
    return [item_id for item_id, facts in rows if item_id not in done and _in_program(facts, run.program)]


def _in_program(facts: dict | None, program: str | None) -> bool:
    return program is None or (facts or {}).get("program") == program


def _done_count(session: Session, run_id: str) -> int:
    return len(session.scalars(select(RegradedResult.id).where(RegradedResult.run_id == run_id)).all())


def _archived(session: Session, item_id: str) -> tuple[ArchivedItem, str | None]:
    """The item as a worker grades it, and the id of its newest service result."""
    item = session.get(Item, item_id)
    photos = tuple(
        ArchivedPhoto(row.id, row.view, row.sha256, quality_result(stored_record(row)))
        for row in graded_photos(item_photos(session, item_id))
    )
    previous = latest_result(session, item_id)
    return ArchivedItem(item.id, dict(item.facts or {}), photos), previous.id if previous else None


def _pages(sessions: sessionmaker[Session], ids: list[str]) -> Iterator[tuple[ArchivedItem, str | None]]:
    for start in range(0, len(ids), PAGE):
        with sessions() as session:
            page = [_archived(session, item_id) for item_id in ids[start : start + PAGE]]
        yield from page


def _grade_on_ray(
    settings: Settings, sessions: sessionmaker[Session], request: RegradeRequest, run_id: str, todo: list[str]
) -> None:
    ray = _ray()
    _start_cluster(ray, request.ray_address)
    try:
        actor = ray.remote(num_cpus=1)(ArchiveGrader)
        count = request.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        graders = [actor.remote(settings, request.bundle, request.policy, request.pricing) for _ in range(count)]
        galleries = ray.put(_galleries(ray, sessions, graders[0]))
        writer = _ResultWriter(sessions, run_id, len(todo), request.progress)
        for outcome in _run_pool(ray, graders, galleries, _pages(sessions, todo)):
            writer.add(outcome)
        writer.flush()
    finally:
        ray.shutdown()


def _run_pool(ray, graders: list, galleries, items: Iterator[tuple[ArchivedItem, str | None]]) -> Iterator:
    """(outcome, previous result id) as the graders finish, at most two items in flight per grader."""
    idle, in_flight = list(graders) * 2, {}
    pending = iter(items)
    exhausted = False
    while in_flight or not exhausted:
        while idle and not exhausted:
            archived = next(pending, None)
            if archived is None:
                exhausted = True
                break
            grader = idle.pop()
            in_flight[grader.grade.remote(archived[0], galleries)] = (grader, archived[1])
        if not in_flight:
            break
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        grader, previous = in_flight.pop(ready[0])
        idle.append(grader)
        yield ray.get(ready[0]), previous


def _galleries(ray, sessions: sessionmaker[Session], grader) -> dict[str, ReferenceGallery]:
    """Every enrolled reference embedded by the new bundle, by product line (its embeddings differ from the
    service's bundle's, so the stored ones cannot be compared with it)."""
    with sessions() as session:
        rows = session.scalars(select(ReferencePhoto).order_by(ReferencePhoto.created_at, ReferencePhoto.id)).all()
        by_line: dict[str, dict[str, str]] = {}
        for row in rows:
            by_line.setdefault(row.product_line, {}).setdefault(row.sha256, row.id)
    galleries = {}
    for line, photos in by_line.items():
        embeddings = ray.get(grader.embed.remote(list(photos)))
        galleries[line] = ReferenceGallery({line: embeddings}, {line: list(photos.values())})
    return galleries


class _ResultWriter:
    """Writes outcomes a few at a time, and shows progress on the terminal."""

    def __init__(self, sessions: sessionmaker[Session], run_id: str, total: int, progress: bool) -> None:
        self.sessions, self.run_id, self.total = sessions, run_id, total
        self.buffer: list[tuple[RegradeOutcome, str | None]] = []
        self.done = self.failed = 0
        self.bar = _progress_bar(total) if progress else None

    def add(self, result: tuple[RegradeOutcome, str | None]) -> None:
        self.buffer.append(result)
        self.done += 1
        self.failed += result[0].error is not None
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(failed=self.failed, refresh=False)
        if len(self.buffer) >= COMMIT_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            with self.sessions.begin() as session:
                for outcome, previous in self.buffer:
                    session.add(_row(self.run_id, outcome, previous))
            self.buffer = []
        if self.bar is not None and self.done == self.total:
            self.bar.close()


def _row(run_id: str, outcome: RegradeOutcome, previous: str | None) -> RegradedResult:
    if outcome.error:
        log.warning("item %s could not be regraded: %s", outcome.item_id, outcome.error)
    return RegradedResult(
        run_id=run_id, item_id=outcome.item_id, previous_result_id=previous, body=outcome.body, error=outcome.error
    )


def _changes(session: Session, run_id: str) -> Iterator[ItemChange]:
    query = select(RegradedResult, Result.body).outerjoin(Result, Result.id == RegradedResult.previous_result_id)
    for row, before in session.execute(query.where(RegradedResult.run_id == run_id)):
        yield ItemChange(row.item_id, before, row.body, row.error)


def regrade_changes(session: Session, run_id: str) -> list[ItemChange]:
    """Every item of a run with its service result and its regraded one, for an export of what changed."""
    return list(_changes(session, run_id))


def _ray():
    try:
        import ray
    except ImportError as error:
        raise RegradeError(
            "regrading needs Ray: install the project with its 'regrade' extra (pip install -e '.[regrade]')"
        ) from error
    return ray


def _start_cluster(ray, address: str | None) -> None:
    """Join the cluster at `address`, or start a local one on this machine's cores (quiet, no dashboard)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    options = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **options)
    else:
        ray.init(num_cpus=os.cpu_count() or 1, **options)


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="item", desc="regrading", file=sys.stderr)
