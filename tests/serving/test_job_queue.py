"""Durable jobs: claims, expired leases, and a worker that lost its lease not recording a second result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from serving.database import make_engine, migrate, session_factory
from serving.job_queue import LeaseLost, claim_job, owned_job, requeue_abandoned
from serving.tables import ApiKey, Item, Job, JobStatus


@pytest.fixture
def now(sessions) -> datetime:
    """A moment just after the fixture's job was queued."""
    return datetime.now(UTC) + timedelta(minutes=1)


@pytest.fixture
def sessions(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        session.add(ApiKey(id="k", name="k", role="station", prefix="p", key_hash="h"))
        session.add(Item(id="item", channel="station", created_by="k"))
        session.add(Job(id="job", item_id="item"))
    yield factory
    engine.dispose()


def test_a_claimed_job_is_not_claimed_again_while_its_lease_holds(sessions, now) -> None:
    with sessions.begin() as session:
        claim = claim_job(session, 60, now)
    assert claim is not None and claim.attempts == 1
    with sessions.begin() as session:
        assert claim_job(session, 60, now + timedelta(seconds=30)) is None
        assert owned_job(session, "job", claim.attempts).status == JobStatus.RUNNING


def test_a_worker_whose_lease_ran_out_loses_the_job(sessions, now) -> None:
    with sessions.begin() as session:
        first = claim_job(session, 60, now)
    with sessions.begin() as session:
        second = claim_job(session, 60, now + timedelta(seconds=61))
    assert second is not None and second.attempts == 2
    with sessions.begin() as session, pytest.raises(LeaseLost):
        owned_job(session, "job", first.attempts)
    with sessions.begin() as session:
        assert owned_job(session, "job", second.attempts).attempts == 2


def test_jobs_left_running_by_a_killed_process_are_queued_again(sessions, now) -> None:
    with sessions.begin() as session:
        claim_job(session, 600, now)
    with sessions.begin() as session:
        assert requeue_abandoned(session) == 1
    with sessions.begin() as session:
        assert claim_job(session, 600, now).attempts == 2


def test_an_open_read_does_not_block_a_write(sessions) -> None:
    reader = sessions()
    reader.get(Item, "item")  # a read transaction stays open, like a slow export
    with sessions.begin() as session:
        session.add(Job(id="job-2", item_id="item"))
    reader.close()
    with sessions() as session:
        assert session.get(Job, "job-2") is not None
