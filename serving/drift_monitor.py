"""Drift monitoring of one service process: the active bundle's reference against the database's window.

The report is computed on demand (a Prometheus scrape, the admin page, the JSON route) and reused for
`refresh_seconds`, so frequent scrapes cost one computation a minute. The reference follows the active bundle: a
bundle swapped in without a restart brings its own (or none, and then nothing is judged).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from grading.bundle import BundleError
from grading.inference import GradingModel
from grading.reference_distributions import ReferenceDistributions, read_reference
from serving.drift_report import DriftReport, drift_report
from serving.drift_window import DriftConfig, read_window

log = logging.getLogger("secondlook.drift")


class DriftMonitor:
    def __init__(
        self, sessions: sessionmaker[Session], active_model: Callable[[], GradingModel], config: DriftConfig
    ) -> None:
        self.sessions = sessions
        self.active_model = active_model
        self.config = config
        self._lock = threading.Lock()
        self._report: DriftReport | None = None
        self._computed = 0.0
        self._references: dict[tuple[str, str], ReferenceDistributions | None] = {}

    def configure(self, **changes: object) -> None:
        """Change the window (tests, or an operator in a shell); the next report uses it."""
        with self._lock:
            self.config = replace(self.config, **changes)
            self._report = None

    def report(self, fresh: bool = False) -> DriftReport:
        """The current report; recomputed when older than `refresh_seconds` (or `fresh`)."""
        with self._lock:
            stale = time.monotonic() - self._computed >= self.config.refresh_seconds
            if fresh or stale or self._report is None:
                self._report = self._compute()
                self._computed = time.monotonic()
            return self._report

    def reference(self) -> ReferenceDistributions | None:
        model = self.active_model()
        key = (str(model.folder), model.metadata.files.get("model.onnx", ""))
        if key not in self._references:
            self._references[key] = _load_reference(model)
        return self._references[key]

    def _compute(self) -> DriftReport:
        model, reference = self.active_model(), self.reference()
        categories = set(model.metadata.labels.categories) | set(reference.by_category if reference else ())
        with self.sessions() as session:
            window = read_window(session, self.config, categories)
        return drift_report(window, reference, self.config, model.metadata.version, datetime.now(UTC))


def _load_reference(model: GradingModel) -> ReferenceDistributions | None:
    try:
        reference = read_reference(model.folder, model.metadata)
    except BundleError as error:
        log.error("drift monitoring is off for bundle %s: %s", model.metadata.version, error)
        return None
    if reference is None:
        log.warning(
            "bundle %s %s records no reference distributions: drift is not judged; add them with "
            "`secondlook model distributions --bundle %s --manifest M`",
            model.metadata.name,
            model.metadata.version,
            model.folder,
        )
    return reference


def get_drift(request: Request) -> DriftMonitor:
    return request.app.state.drift


DriftDep = Annotated[DriftMonitor, Depends(get_drift)]
