"""Slows down key guessing on the sign-in form: a few failures per client address, then a wait."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class SignInThrottle:
    """At most `failures` refused sign-ins per client address within `window_seconds` (kept in memory)."""

    def __init__(self, failures: int = 10, window_seconds: float = 300.0) -> None:
        self.failures, self.window = failures, window_seconds
        self._refused: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, client: str, now: float | None = None) -> int:
        """0 when this client may try; otherwise how many seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = self._recent(client, now)
            if len(recent) < self.failures:
                return 0
            return max(1, math.ceil(recent[0] + self.window - now))

    def refused(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent(client, now).append(now)

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._refused.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times
