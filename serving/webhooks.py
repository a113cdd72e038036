"""Webhook delivery through the outbox: at-least-once, retried with capped exponential backoff, HMAC-signed.

`enqueue_event` adds one `OutboxMessage` per subscribed endpoint inside the caller's transaction, so an event is
queued exactly when what it announces is committed. `WebhookDispatcher` sends due messages and records every
attempt on the row. Rows are never deleted: a message that used up its attempts keeps `last_error` for an operator.

Claiming: a pass selects due rows with `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL), moves their
`next_attempt_at` forward by a lease and commits before any request is sent, so several dispatcher threads or
processes never send one message at the same time. A dispatcher that dies mid-send leaves the lease to expire and
the message is sent again; receivers deduplicate on `X-Secondlook-Delivery`. SQLite has no row locks (SQLAlchemy
leaves out FOR UPDATE there): run one dispatcher per SQLite database, as the service does.

Receivers check `X-Secondlook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>` with `verify`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import httpx
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from serving.database import transaction
from serving.settings import WebhookEndpoint
from serving.tables import OutboxMessage, new_id, utc_now

logger = logging.getLogger(__name__)


class EventType(StrEnum):
    ITEM_GRADED = "item.graded"
    ITEM_DECIDED = "item.decided"


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GAVE_UP = "gave_up"


EVENT_TYPES: frozenset[str] = frozenset(EventType)
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 600.0
JITTER = 0.2  # a retry waits 80-100 % of its backoff step, so endpoints that failed together do not retry together
CLAIM_BATCH = 10
LEASE_MARGIN_SECONDS = 60.0
MAX_ERROR_CHARS = 2000


class UnknownEventType(ValueError):
    """An event type outside `EVENT_TYPES`."""


class WebhookConfigError(ValueError):
    """Endpoints the dispatcher cannot serve: a URL listed twice or a subscription to an unknown event."""


def enqueue_event(session: Session, endpoints: list[WebhookEndpoint], event_type: str, payload: dict) -> None:
    """Queue `payload` for every endpoint subscribed to `event_type`; the caller's transaction commits it.

    All rows of one event share its event id (the delivery id receivers deduplicate on) and creation time.
    """
    _check_event_type(event_type)
    data = _json_copy(payload)
    event_id, created_at = new_id(), utc_now()
    for endpoint in endpoints:
        if event_type in endpoint.events:
            session.add(
                OutboxMessage(
                    event_id=event_id,
                    event_type=event_type,
                    endpoint_url=endpoint.url,
                    payload=data,
                    created_at=created_at,
                    next_attempt_at=created_at,
                )
            )


def _check_event_type(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise UnknownEventType(f"unknown webhook event type {event_type!r}; valid types: {sorted(EVENT_TYPES)}")


def _json_copy(payload: dict) -> dict:
    """The payload exactly as receivers will see it; fails here, in the caller, rather than in the dispatcher."""
    try:
        return json.loads(json.dumps(payload, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"webhook payload must be plain JSON (str, numbers, bool, None, lists, dicts): {error}"
        ) from None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Secondlook-Signature` header value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_hmac_hex(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, tolerance_seconds: int = 300, now: int | None = None) -> bool:
    """Whether `header` signs `body` with `secret` within `tolerance_seconds` of `now` (default: the clock).

    Several `v1=` values are accepted (any may match), so a sender can sign with an old and a new secret while
    the secret is rotated. Malformed headers are rejected, not raised on.
    """
    parsed = _parse_signature(header)
    if parsed is None:
        return False
    timestamp, candidates = parsed
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = _hmac_hex(secret, timestamp, body).encode()
    matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in candidates]
    return any(matches)


def _hmac_hex(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _parse_signature(header: str) -> tuple[int, list[str]] | None:
    fields = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in fields if key == "t"]
    signatures = [value for key, _, value in fields if key == "v1"]
    if len(stamps) != 1 or not signatures or not (stamps[0].isascii() and stamps[0].isdigit()):
        return None
    return int(stamps[0]), signatures


def retry_delay(attempts: int, rand: float | None = None) -> timedelta:
    """The wait after `attempts` failed attempts: 1 s, 2 s, 4 s ... capped at 10 min, less up to 20 % jitter.

    Args:
        attempts: failed attempts so far (1 after the first failure).
        rand: a number in [0, 1) choosing the jitter; random when not given.
    """
    step = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** min(attempts - 1, 30))
    fraction = random.random() if rand is None else rand
    return timedelta(seconds=step * (1 - JITTER * fraction))


def event_body(event_id: str, event_type: str, created_at: datetime, data: dict) -> bytes:
    """The JSON document POSTed to an endpoint (the bytes that are signed)."""
    document = {"id": event_id, "type": event_type, "created_at": _as_utc(created_at).isoformat(), "data": data}
    return json.dumps(document, separators=(",", ":")).encode()


def _as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Claimed:
    id: int
    event_id: str
    event_type: str
    url: str
    body: bytes


class WebhookDispatcher:
    """Sends due outbox messages to the configured endpoints, from a background thread or pass by pass.

    2xx is delivered; any other status (redirects are not followed), a timeout or a connection error is retried
    after `retry_delay` until `max_attempts` attempts, then the row is left with its `last_error`. Rows for a URL
    no longer configured are left waiting, since there is no secret to sign them with.

    Args:
        sessions: the service's session factory.
        endpoints: the configured endpoints; each URL once, events from `EVENT_TYPES`.
        poll_seconds: pause between passes of the background thread.
        max_attempts: attempts per message before giving up.
        timeout_seconds: httpx timeout of each request (per connect, read and write, not in total).
        on_delivery: called with each attempt's `DeliveryOutcome` ("delivered", "retry", "gave_up").
        now: the clock (aware UTC); tests pass a fake one to move through backoff without sleeping.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        endpoints: list[WebhookEndpoint],
        *,
        poll_seconds: float = 0.5,
        max_attempts: int = 12,
        timeout_seconds: float = 5.0,
        on_delivery: Callable[[str], None] | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._secrets = _secrets_by_url(endpoints)
        self._sessions = sessions
        self._poll_seconds = poll_seconds
        self._max_attempts = max_attempts
        self._timeout = httpx.Timeout(timeout_seconds)
        self._lease = timedelta(seconds=CLAIM_BATCH * timeout_seconds + LEASE_MARGIN_SECONDS)
        self._on_delivery = on_delivery
        self._now = now
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Deliver from one background (daemon) thread until `stop`."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the webhook dispatcher is already running; call stop() before starting it again")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the message in flight; messages claimed but not sent become due again when their lease ends."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def deliver_due(self) -> int:
        """One pass: attempt every message due now, oldest first; returns how many were attempted."""
        return self._pass(keep_going=lambda: True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._pass(keep_going=lambda: not self._stopping.is_set())
            except Exception:  # a database hiccup must not end delivery for good
                logger.exception("webhook delivery pass failed; trying again in %s s", self._poll_seconds)
            self._stopping.wait(self._poll_seconds)

    def _pass(self, keep_going: Callable[[], bool]) -> int:
        due_by, attempted = self._now(), 0
        batch = self._claim(due_by, after_id=0)
        if not batch:
            return 0
        with httpx.Client(timeout=self._timeout) as client:
            while batch:
                for message in batch:
                    self._attempt(client, message)
                attempted += len(batch)
                batch = self._claim(due_by, after_id=batch[-1].id) if keep_going() else []
        return attempted

    def _claim(self, due_by: datetime, after_id: int) -> list[_Claimed]:
        """Lease the next batch of due messages (ids above `after_id`, so a pass ends) to this dispatcher."""
        with transaction(self._sessions) as session:
            rows = session.scalars(self._due_query(due_by, after_id)).all()
            lease_until = self._now() + self._lease
            for row in rows:
                row.next_attempt_at = lease_until
            return [_claimed(row) for row in rows]

    def _due_query(self, due_by: datetime, after_id: int) -> Select[tuple[OutboxMessage]]:
        return (
            select(OutboxMessage)
            .where(
                OutboxMessage.delivered_at.is_(None),
                OutboxMessage.next_attempt_at <= due_by,
                OutboxMessage.attempts < self._max_attempts,
                OutboxMessage.endpoint_url.in_(list(self._secrets)),
                OutboxMessage.id > after_id,
            )
            .order_by(OutboxMessage.id)
            .limit(CLAIM_BATCH)
            .with_for_update(skip_locked=True)
        )

    def _attempt(self, client: httpx.Client, message: _Claimed) -> None:
        error = self._send(client, message)
        outcome = self._record(message, error)
        if self._on_delivery is not None:
            self._on_delivery(outcome)

    def _send(self, client: httpx.Client, message: _Claimed) -> str | None:
        """POST one message; None when the endpoint answered 2xx, else what went wrong."""
        headers = _headers(message, sign(self._secrets[message.url], int(self._now().timestamp()), message.body))
        try:
            response = client.post(message.url, content=message.body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
        if response.is_success:
            return None
        return f"HTTP {response.status_code}: {response.text}"[:MAX_ERROR_CHARS]

    def _record(self, message: _Claimed, error: str | None) -> DeliveryOutcome:
        with transaction(self._sessions) as session:
            row = session.get_one(OutboxMessage, message.id)
            outcome = self._apply(row, error)
        _log(outcome, message, error)
        return outcome

    def _apply(self, row: OutboxMessage, error: str | None) -> DeliveryOutcome:
        now = self._now()
        row.attempts += 1
        if error is None:
            row.delivered_at = now
            return DeliveryOutcome.DELIVERED
        row.last_error = error
        if row.attempts >= self._max_attempts:
            return DeliveryOutcome.GAVE_UP
        row.next_attempt_at = now + retry_delay(row.attempts)
        return DeliveryOutcome.RETRY


def _secrets_by_url(endpoints: list[WebhookEndpoint]) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for endpoint in endpoints:
        _check_endpoint(endpoint, seen=secrets)
        secrets[endpoint.url] = endpoint.secret
    return secrets


def _check_endpoint(endpoint: WebhookEndpoint, seen: dict[str, str]) -> None:
    if endpoint.url in seen:
        raise WebhookConfigError(f"webhook endpoint {endpoint.url} is listed twice; list it once with all its events")
    unknown = sorted(set(endpoint.events) - EVENT_TYPES)
    if unknown:
        raise WebhookConfigError(
            f"webhook endpoint {endpoint.url} subscribes to unknown events {unknown}; valid: {sorted(EVENT_TYPES)}"
        )


def _claimed(row: OutboxMessage) -> _Claimed:
    body = event_body(row.event_id, row.event_type, row.created_at, row.payload)
    return _Claimed(id=row.id, event_id=row.event_id, event_type=row.event_type, url=row.endpoint_url, body=body)


def _headers(message: _Claimed, signature: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "secondlook-webhooks/1",
        "X-Secondlook-Event": message.event_type,
        "X-Secondlook-Delivery": message.event_id,
        "X-Secondlook-Signature": signature,
    }


def _log(outcome: DeliveryOutcome, message: _Claimed, error: str | None) -> None:
    if outcome is DeliveryOutcome.GAVE_UP:
        logger.warning("webhook %s to %s given up: %s", message.event_id, message.url, error)
    elif outcome is DeliveryOutcome.RETRY:
        logger.info("webhook %s to %s will be retried: %s", message.event_id, message.url, error)


def undelivered_count(session: Session) -> int:
    """Messages not delivered yet, whether still retrying or given up (for the backlog metric)."""
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.delivered_at.is_(None))
    return session.scalar(query) or 0


def redrive(session: Session, max_attempts: int, now: datetime | None = None) -> int:
    """Give every message that ran out of attempts a fresh set, due now (after a receiver's long outage)."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.attempts >= max_attempts)
        .values(attempts=0, next_attempt_at=now or utc_now())
    )
    return result.rowcount or 0
