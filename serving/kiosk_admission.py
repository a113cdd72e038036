"""Kiosk admission before any decoding: refuse at once what would wait longer than the kiosk's budget.

Decoding a 12 MP photo costs about as much CPU as grading it, so a refusal decided after decoding costs as much
as a grade, and arrives seconds late. A kiosk request is admitted or refused here, from the number of its photos
and the kiosk photos already admitted (decoding, queued or running): the expected wait is those photos and its own
times the measured time per photo (a request's decode plus inference wall time over its photos; photos of one
request decode two at a time, so a one-photo request counts its decode whole: the estimate errs on the long side).
A request is always admitted when nothing is in flight, however many photos it has.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

INITIAL_SECONDS_PER_PHOTO = 0.07  # bench/service_bench.py, one 12 MP photo: about 45 ms decoding, 26 ms inference
_SMOOTHING = 0.2  # weight of the newest request in the per-photo estimate


class KioskBusy(RuntimeError):
    """Admitting the request would exceed the kiosk budget; `retry_after_seconds` says when it should fit."""

    def __init__(self, photos_ahead: int, expected_wait: float, retry_after_seconds: float) -> None:
        super().__init__(
            f"{photos_ahead} kiosk photos are ahead; this request would wait about {expected_wait:.1f} s "
            f"(retry in about {retry_after_seconds:.1f} s)"
        )
        self.photos_ahead, self.expected_wait = photos_ahead, expected_wait
        self.retry_after_seconds = retry_after_seconds


class KioskAdmission:
    """Counts the kiosk photos in flight and estimates the wait a new request would have."""

    def __init__(self, budget_seconds: float) -> None:
        if budget_seconds <= 0:
            raise ValueError(f"the kiosk wait budget must be positive, got {budget_seconds}")
        self._budget = budget_seconds
        self._seconds_per_photo = INITIAL_SECONDS_PER_PHOTO
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def seconds_per_photo(self) -> float:
        with self._lock:
            return self._seconds_per_photo

    @contextmanager
    def admit(self, photos: int) -> Iterator[None]:
        """Hold `photos` places while the request runs; raise `KioskBusy` when it would wait past the budget."""
        with self._lock:
            ahead = self._in_flight
            wait = (ahead + photos) * self._seconds_per_photo
            if ahead and wait > self._budget:
                raise KioskBusy(ahead, wait, max(wait - self._budget, self._seconds_per_photo))
            self._in_flight += photos
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= photos

    def record(self, photos: int, busy_seconds: float) -> None:
        """One finished request: its decode and inference wall time, spread over its photos."""
        if photos < 1 or busy_seconds <= 0:
            return
        per_photo = busy_seconds / photos
        with self._lock:
            self._seconds_per_photo += _SMOOTHING * (per_photo - self._seconds_per_photo)
