"""Durable grading jobs for station items, worked by threads in the service process.

A job row is written in the same transaction that acknowledges the upload, so a job exists for every
acknowledged item even if the process dies right after. Workers claim a job by moving it to `running`
with a lease; a job whose lease ran out (its worker died) is claimed again. On SQLite, one process owns
the database, so on start every `running` job is a leftover of a killed process and is queued again at
once. Failures retry with backoff up to `job_max_attempts`, then the item is marked failed, kept, and
audited with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from grading.authenticity import ReferenceGallery
from grading.intake import IntakeLimits, Photo, Preprocessing, load_photo
from grading.item_grading import ItemFacts
from grading.vocabulary import View
from serving.inference_scheduler import Priority, QueueFull
from serving.item_grader import DecodedPhoto, Graded, ItemGrader
from serving.item_records import audit, item_photos, pending_jobs, record_result
from serving.photo_checks import quality_result, stored_record
from serving.references import gallery_for
from serving.settings import Settings
from serving.station_readiness import graded_photos
from serving.storage import PhotoStore
from serving.tables import Item, ItemStatus, Job, JobStatus
from serving.tables import Photo as PhotoRow  # grading.intake.Photo is the decoded one
from serving.uploads import DecodedPhotoCache

log = logging.getLogger("secondlook.jobs")


def utc_now() -> datetime:
    return datetime.now(UTC)


class LeaseLost(RuntimeError):
    """The job's lease ran out and another worker claimed it; this worker's result must not be recorded."""


def owned_job(session: Session, job_id: str, attempts: int) -> Job:
    """The job, locked, if this worker's claim (its attempt number) still holds; else `LeaseLost`."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status != JobStatus.RUNNING or job.attempts != attempts:
        raise LeaseLost(job_id)
    return job


def requeue_abandoned(session: Session) -> int:
    """Queue again every job left `running` (used at start on SQLite, where one process owns the database)."""
    result = session.execute(
        update(Job).where(Job.status == JobStatus.RUNNING).values(status=JobStatus.QUEUED, lease_until=None)
    )
    return result.rowcount or 0


class Claim(NamedTuple):
    job_id: str
    item_id: str
    attempts: int  # this claim's attempt number: the worker still owns the job while the row shows it


def claim_job(session: Session, lease_seconds: float, now: datetime) -> Claim | None:
    """Take the oldest due job (or one whose lease expired), safely against other workers."""
    due = or_(
        (Job.status == JobStatus.QUEUED) & (Job.available_at <= now),
        (Job.status == JobStatus.RUNNING) & (Job.lease_until < now),
    )
    query = select(Job).where(due).order_by(Job.available_at).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    job = session.scalars(query).first()
    if job is None:
        return None
    claim = Claim(job.id, job.item_id, job.attempts + 1)
    claimed = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.attempts == job.attempts)
        .values(status=JobStatus.RUNNING, lease_until=now + timedelta(seconds=lease_seconds), attempts=claim.attempts)
        .execution_options(synchronize_session=False)
    )
    return claim if claimed.rowcount == 1 else None


class JobWorkers:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: PhotoStore,
        grader: Callable[[], ItemGrader],
        settings: Settings,
        cache: DecodedPhotoCache,
        on_depth: Callable[[int], None] | None = None,
    ) -> None:
        self.sessions, self.store, self.grader, self.settings, self.cache = sessions, store, grader, settings, cache
        self.on_depth = on_depth or (lambda _depth: None)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self.sessions.kw["bind"].dialect.name == "sqlite":
            with self.sessions.begin() as session:
                if count := requeue_abandoned(session):
                    log.warning("queued again %d job(s) left running by a previous process", count)
        for index in range(self.settings.job_workers):
            thread = threading.Thread(target=self._loop, name=f"grading-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def notify(self) -> None:
        """A job was queued: wake a sleeping worker now instead of at its next poll."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                worked = self.work_one()
            except Exception:  # a broken database connection must not end the worker
                log.exception("grading worker failed; retrying in a second")
                worked = False
                self._stopping.wait(1.0)
            if not worked:
                self._wake.wait(0.5)
                self._wake.clear()

    def work_one(self) -> bool:
        """Claim and grade one job; False when none is due."""
        with self.sessions.begin() as session:
            claim = claim_job(session, self.settings.job_lease_seconds, utc_now())
            self.on_depth(pending_jobs(session))  # the gauge follows the queue while workers are busy too
            if claim is None:
                return False
            job_id, item_id, attempts = claim
            session.get(Item, item_id).status = ItemStatus.PROCESSING
        try:
            self._grade(job_id, item_id, attempts)
        except LeaseLost:
            log.warning("job %s was claimed again after its lease ran out; this result is not kept", job_id)
        except Exception as error:
            log.exception("grading item %s failed (attempt %d)", item_id, attempts)
            self._fail(job_id, item_id, attempts, error)
        return True

    def _grade(self, job_id: str, item_id: str, attempts: int) -> None:
        started = time.perf_counter()
        grader = self.grader()
        with self.sessions() as session:
            item = session.get(Item, item_id)
            facts = ItemFacts.model_validate(item.facts)
            rows = graded_photos(item_photos(session, item_id))  # a photo a retake replaced stays stored, ungraded
            references = gallery_for(session, facts.product_line, grader.scheduler.model.metadata.version)
        preprocessing = grader.scheduler.model.metadata.input.preprocessing()
        photos = [self._photo(row, preprocessing) for row in rows]
        decoded = time.perf_counter()
        graded = self._run(grader, facts, photos, references)
        timings = {"decode": (decoded - started) * 1e3, "inference": graded.inference_ms, "policy": graded.grading_ms}
        with self.sessions.begin() as session:
            job = owned_job(session, job_id, attempts)
            record_result(session, session.get(Item, item_id), graded, self.settings.webhooks, timings)
            job.status, job.finished_at, job.lease_until = JobStatus.DONE, utc_now(), None

    def _run(
        self, grader: ItemGrader, facts: ItemFacts, photos: list[DecodedPhoto], references: ReferenceGallery | None
    ) -> Graded:
        while True:
            try:
                return grader.grade(facts, photos, Priority.STATION, references)
            except QueueFull as full:  # the kiosk has the scheduler; wait our turn, the job is safe
                self._stopping.wait(max(0.05, full.retry_after_seconds))
                if self._stopping.is_set():
                    raise

    def _photo(self, row: PhotoRow, preprocessing: Preprocessing) -> DecodedPhoto:
        """A stored photo decoded, with the checks it passed or failed when it arrived."""
        decoded = self._decoded(row.sha256, preprocessing)
        return DecodedPhoto(row.id, View(row.view), decoded, quality_result(stored_record(row)))

    def _decoded(self, sha256: str, preprocessing: Preprocessing) -> Photo:
        limits = IntakeLimits(max_bytes=self.settings.max_photo_bytes)  # the limits the upload was accepted under
        return self.cache.take(sha256, preprocessing) or load_photo(self.store.get(sha256), limits, preprocessing)

    def _fail(self, job_id: str, item_id: str, attempts: int, error: Exception) -> None:
        final = attempts >= self.settings.job_max_attempts
        message = f"{type(error).__name__}: {error}"
        with self.sessions.begin() as session:
            try:
                job = owned_job(session, job_id, attempts)
            except LeaseLost:
                return  # another worker holds the job now; its outcome counts
            job.last_error, job.lease_until = message, None
            job.status = JobStatus.FAILED if final else JobStatus.QUEUED
            job.available_at = utc_now() + timedelta(seconds=2.0**attempts)
            item = session.get(Item, item_id)
            item.status = ItemStatus.FAILED if final else ItemStatus.QUEUED
            event = "grading.failed" if final else "grading.retry"
            audit(session, item_id, "model", event, {"attempt": attempts, "error": message})
