"""Webhook outbox against a real HTTP receiver on loopback; time moves through an injected clock, never by sleeping."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from serving.database import make_engine, migrate, session_factory, transaction
from serving.settings import WebhookEndpoint
from serving.tables import OutboxMessage, utc_now
from serving.webhooks import (
    EVENT_TYPES,
    UnknownEventType,
    WebhookConfigError,
    WebhookDispatcher,
    enqueue_event,
    redrive,
    retry_delay,
    sign,
    verify,
)

Factory = sessionmaker[Session]  # the type of a session factory
SECRET = "s3cret-s3cret-s3cret"
PAYLOAD = {"item_id": "abc123", "grade": "very good", "decision": "list"}


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Receiver:
    """Records every POST; answers 500 to the first `failures` of them and 200 afterwards."""

    failures: int = 0
    delay_seconds: float = 0.0
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Received) -> int:
        with self._lock:
            self.requests.append(request)
            if self.failures > 0:
                self.failures -= 1
                return 500
            return 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            time.sleep(receiver.delay_seconds)
            headers = {name.lower(): value for name, value in self.headers.items()}
            self.send_response(receiver.answer(Received(headers, body)))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


class Clock:
    """A settable UTC clock, starting at the real time when made."""

    def __init__(self) -> None:
        self.current = utc_now()

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)

    def unix(self) -> int:
        return int(self.current.timestamp())


def _sessions(url: str) -> Iterator[Factory]:
    engine = make_engine(url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[Factory]:
    yield from _sessions(f"sqlite:///{tmp_path / 'service.db'}")


@pytest.fixture
def pg_sessions(postgres_url: str) -> Iterator[Factory]:
    yield from _sessions(postgres_url)


def _endpoint(url: str, events: list[str] | None = None) -> WebhookEndpoint:
    return WebhookEndpoint(url=url, secret=SECRET, events=events or sorted(EVENT_TYPES))


def _enqueue(sessions: Factory, endpoints: list[WebhookEndpoint], event_type: str = "item.graded") -> None:
    with transaction(sessions) as session:
        enqueue_event(session, endpoints, event_type, PAYLOAD)


def _rows(sessions: Factory) -> list[OutboxMessage]:
    with sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _dispatcher(sessions: Factory, url: str, clock: Clock, outcomes: list[str], **kwargs: object) -> WebhookDispatcher:
    return WebhookDispatcher(sessions, [_endpoint(url)], now=clock, on_delivery=outcomes.append, **kwargs)


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


def _assert_delivered_once_signed(receiver: Receiver, clock: Clock) -> None:
    (request,) = receiver.requests
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-secondlook-event"] == "item.graded"
    assert verify(SECRET, request.headers["x-secondlook-signature"], request.body, now=clock.unix())
    document = json.loads(request.body)
    assert document["id"] == request.headers["x-secondlook-delivery"]
    assert document["type"] == "item.graded"
    assert document["data"] == PAYLOAD
    assert datetime.fromisoformat(document["created_at"]).tzinfo is not None


def test_delivers_once_with_a_valid_signature(sessions: Factory, receiver: Receiver) -> None:
    _enqueue(sessions, [_endpoint(receiver.url)])
    clock, outcomes = Clock(), []
    dispatcher = _dispatcher(sessions, receiver.url, clock, outcomes)
    assert dispatcher.deliver_due() == 1
    assert dispatcher.deliver_due() == 0
    _assert_delivered_once_signed(receiver, clock)
    (row,) = _rows(sessions)
    assert (row.attempts, row.last_error, outcomes) == (1, None, ["delivered"])
    assert row.delivered_at is not None


def _retry_then_deliver(sessions: Factory, receiver: Receiver) -> None:
    """500, 500, 200: each retry waits its backoff step (80-100 % of 1 s, then of 2 s), delivered on the 3rd try."""
    receiver.failures = 2
    _enqueue(sessions, [_endpoint(receiver.url)])
    clock, outcomes = Clock(), []
    dispatcher = _dispatcher(sessions, receiver.url, clock, outcomes)
    start = clock.current
    assert dispatcher.deliver_due() == 1
    _assert_next_attempt_between(sessions, start + timedelta(seconds=0.8), start + timedelta(seconds=1))
    clock.advance(0.79)
    assert dispatcher.deliver_due() == 0
    clock.current = start + timedelta(seconds=1)
    assert dispatcher.deliver_due() == 1
    second = clock.current
    _assert_next_attempt_between(sessions, second + timedelta(seconds=1.6), second + timedelta(seconds=2))
    clock.advance(1.59)
    assert dispatcher.deliver_due() == 0
    clock.current = second + timedelta(seconds=2)
    assert dispatcher.deliver_due() == 1
    assert outcomes == ["retry", "retry", "delivered"]
    (row,) = _rows(sessions)
    assert (row.attempts, row.delivered_at is not None) == (3, True)
    assert row.last_error.startswith("HTTP 500")
    assert len({request.headers["x-secondlook-delivery"] for request in receiver.requests}) == 1
    assert verify(
        SECRET, receiver.requests[-1].headers["x-secondlook-signature"], receiver.requests[-1].body, now=clock.unix()
    )


def _assert_next_attempt_between(sessions: Factory, earliest: datetime, latest: datetime) -> None:
    (row,) = _rows(sessions)
    assert earliest <= _utc(row.next_attempt_at) <= latest


def test_retries_with_backoff_and_delivers_on_the_third_attempt(sessions: Factory, receiver: Receiver) -> None:
    _retry_then_deliver(sessions, receiver)


def test_retries_with_backoff_and_delivers_on_postgresql(pg_sessions: Factory, receiver: Receiver) -> None:
    _retry_then_deliver(pg_sessions, receiver)


def test_gives_up_on_an_unreachable_url_and_keeps_the_row(sessions: Factory) -> None:
    url = _closed_port_url()
    _enqueue(sessions, [_endpoint(url)])
    clock, outcomes = Clock(), []
    dispatcher = _dispatcher(sessions, url, clock, outcomes, max_attempts=3)
    for _ in range(4):
        dispatcher.deliver_due()
        clock.advance(3600)
    assert outcomes == ["retry", "retry", "gave_up"]
    (row,) = _rows(sessions)
    assert (row.attempts, row.delivered_at) == (3, None)
    assert "ConnectError" in row.last_error


def test_a_slow_receiver_times_out_and_is_retried(sessions: Factory, receiver: Receiver) -> None:
    receiver.delay_seconds = 0.5
    _enqueue(sessions, [_endpoint(receiver.url)])
    outcomes: list[str] = []
    dispatcher = _dispatcher(sessions, receiver.url, Clock(), outcomes, timeout_seconds=0.1)
    assert dispatcher.deliver_due() == 1
    (row,) = _rows(sessions)
    assert outcomes == ["retry"]
    assert "Timeout" in row.last_error


def test_a_new_dispatcher_delivers_what_an_old_one_left(sessions: Factory, receiver: Receiver) -> None:
    receiver.failures = 1
    _enqueue(sessions, [_endpoint(receiver.url)])
    clock = Clock()
    _dispatcher(sessions, receiver.url, clock, []).deliver_due()
    clock.advance(60)
    outcomes: list[str] = []
    restarted = _dispatcher(sessions, receiver.url, clock, outcomes)
    assert restarted.deliver_due() == 1
    assert outcomes == ["delivered"]
    assert _rows(sessions)[0].attempts == 2


def test_a_message_claimed_by_a_dispatcher_that_died_is_sent_after_its_lease(
    sessions: Factory, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    _enqueue(sessions, [_endpoint(receiver.url)])
    clock = Clock()

    def die(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed mid-send")

    with monkeypatch.context() as patch:
        patch.setattr(httpx.Client, "post", die)
        with pytest.raises(SystemExit):
            _dispatcher(sessions, receiver.url, clock, [], timeout_seconds=1).deliver_due()
    restarted = _dispatcher(sessions, receiver.url, clock, [], timeout_seconds=1)
    clock.advance(30)
    assert restarted.deliver_due() == 0  # still leased to the dead dispatcher
    clock.advance(3600)
    assert restarted.deliver_due() == 1
    assert len(receiver.requests) == 1


def test_the_background_thread_delivers(sessions: Factory, receiver: Receiver) -> None:
    _enqueue(sessions, [_endpoint(receiver.url)])
    delivered = threading.Event()
    dispatcher = WebhookDispatcher(
        sessions, [_endpoint(receiver.url)], poll_seconds=0.01, on_delivery=lambda outcome: delivered.set()
    )
    dispatcher.start()
    try:
        assert delivered.wait(timeout=60)  # a guard against hanging, not a speed requirement
    finally:
        dispatcher.stop()
    assert _rows(sessions)[0].delivered_at is not None


def test_only_subscribed_endpoints_get_the_event(sessions: Factory) -> None:
    graded_only = _endpoint("http://127.0.0.1:9/graded", ["item.graded"])
    everything = _endpoint("http://127.0.0.1:9/all")
    _enqueue(sessions, [graded_only, everything], "item.decided")
    (row,) = _rows(sessions)
    assert (row.endpoint_url, row.event_type, row.payload) == (everything.url, "item.decided", PAYLOAD)


def test_one_event_shares_its_id_across_endpoints(sessions: Factory) -> None:
    _enqueue(sessions, [_endpoint("http://127.0.0.1:9/a"), _endpoint("http://127.0.0.1:9/b")])
    assert len({row.event_id for row in _rows(sessions)}) == 1


def test_enqueued_rows_roll_back_with_the_callers_transaction(sessions: Factory) -> None:
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        enqueue_event(session, [_endpoint("http://127.0.0.1:9/a")], "item.graded", PAYLOAD)
        raise RuntimeError("the grading transaction failed")
    assert _rows(sessions) == []


def test_unknown_event_types_and_bad_payloads_are_refused(sessions: Factory) -> None:
    with sessions() as session:
        with pytest.raises(UnknownEventType, match=r"item\.graded"):
            enqueue_event(session, [], "item.sold", PAYLOAD)
        with pytest.raises(TypeError, match="plain JSON"):
            enqueue_event(session, [], "item.graded", {"when": datetime.now(UTC)})


def test_endpoint_lists_the_dispatcher_cannot_serve_are_refused(sessions: Factory) -> None:
    with pytest.raises(WebhookConfigError, match="twice"):
        WebhookDispatcher(sessions, [_endpoint("http://a/"), _endpoint("http://a/")])
    with pytest.raises(WebhookConfigError, match=r"item\.sold"):
        WebhookDispatcher(sessions, [_endpoint("http://a/", ["item.sold"])])


def test_verify_accepts_the_signature_and_rejects_tampering() -> None:
    body, now = b'{"id":"1"}', 1_700_000_000
    header = sign(SECRET, now, body)
    assert verify(SECRET, header, body, now=now + 299)
    assert not verify(SECRET, header, body + b" ", now=now)
    assert not verify("another-secret-entirely", header, body, now=now)
    assert not verify(SECRET, header, body, now=now + 301)
    assert not verify(SECRET, header, body, now=now - 301)


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=1,t=2,v1=00", "t=¹,v1=é"])
def test_verify_rejects_malformed_headers(header: str) -> None:
    assert not verify(SECRET, header, b"{}", now=1)


def test_verify_accepts_any_of_several_signatures_during_secret_rotation() -> None:
    body, now = b"{}", 1_700_000_000
    old = sign("the-old-secret-value", now, body).split(",")[1]
    assert verify(SECRET, f"{sign(SECRET, now, body)},{old}", body, now=now)


def test_retry_delay_doubles_and_is_capped() -> None:
    assert [retry_delay(n, rand=0).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay(3, rand=0.999).total_seconds() > 0.8 * 4
    assert retry_delay(40, rand=0).total_seconds() == 600
    assert retry_delay(10_000, rand=0.5).total_seconds() == 540


def test_dispatchers_on_postgresql_never_send_one_message_twice(pg_sessions: Factory, receiver: Receiver) -> None:
    for _ in range(30):
        _enqueue(pg_sessions, [_endpoint(receiver.url)])
    dispatchers = [_dispatcher(pg_sessions, receiver.url, Clock(), []) for _ in range(3)]
    counts: list[int] = []
    threads = [threading.Thread(target=lambda d=d: counts.append(d.deliver_due())) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deliveries = [request.headers["x-secondlook-delivery"] for request in receiver.requests]
    assert sum(counts) == len(deliveries) == len(set(deliveries)) == 30
    assert all(row.delivered_at is not None for row in _rows(pg_sessions))


def test_redrive_gives_given_up_messages_a_fresh_set_of_attempts(sessions: Factory, receiver: Receiver) -> None:
    receiver.failures = 3
    _enqueue(sessions, [_endpoint(receiver.url)])
    clock, outcomes = Clock(), []
    dispatcher = _dispatcher(sessions, receiver.url, clock, outcomes, max_attempts=3)
    for _ in range(4):
        dispatcher.deliver_due()
        clock.advance(3600)
    assert outcomes == ["retry", "retry", "gave_up"]
    with sessions.begin() as session:
        assert redrive(session, max_attempts=3, now=clock()) == 1
    dispatcher.deliver_due()
    assert outcomes[-1] == "delivered" and _rows(sessions)[0].delivered_at is not None
