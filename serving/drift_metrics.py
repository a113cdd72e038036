"""Drift in Prometheus: the population stability index per group and measure, read from the drift report at scrape.

Labels stay bounded (`serving.drift_window`): `kind` is channel / station / camera / category, `group` a channel, an
API key's name, one of the most frequent cameras or a bundle category, `measure` one of
`grading.reference_distributions.DriftMeasure`. The alerting rules in deploy/prometheus/secondlook-alerts.yml read
these names (docs/drift.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from serving.drift_report import DriftReport

log = logging.getLogger("secondlook.drift")

PSI = "secondlook_drift_psi"
OBSERVATIONS = "secondlook_drift_window_observations"
FLAGGED = "secondlook_drift_flagged"
REFERENCE_LOADED = "secondlook_drift_reference_loaded"
METRIC_NAMES = (PSI, OBSERVATIONS, FLAGGED, REFERENCE_LOADED)
MEASURE_LABELS = ["kind", "group", "measure"]
GROUP_LABELS = ["kind", "group"]


class DriftCollector(Collector):
    """Reads the report when Prometheus scrapes; before a report source is attached it yields empty families."""

    def __init__(self) -> None:
        self._source: Callable[[], DriftReport] | None = None

    def attach(self, source: Callable[[], DriftReport]) -> None:
        self._source = source

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The families without samples: the registry checks names at registration without computing a report."""
        yield from _families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        psi, observations, flagged, loaded = _families()
        report = self._report()
        if report is not None:
            loaded.add_metric([], 1.0 if report.reference_source else 0.0)
            for group in report.groups:
                flagged.add_metric([group.kind.value, group.name], 1.0 if group.flagged else 0.0)
                for measure in group.measures:
                    labels = [group.kind.value, group.name, measure.measure.value]
                    observations.add_metric(labels, measure.observations)
                    if measure.psi is not None and measure.observations >= report.config.min_window:
                        psi.add_metric(labels, measure.psi)
        yield from (psi, observations, flagged, loaded)

    def _report(self) -> DriftReport | None:
        if self._source is None:
            return None
        try:
            return self._source()
        except Exception:  # a failing database must not take the other metrics down with it
            log.exception("drift report failed; /metrics leaves the drift figures out")
            return None


def _families() -> tuple[GaugeMetricFamily, ...]:
    return (
        GaugeMetricFamily(
            PSI,
            "Population stability index of the window against the bundle's reference, per group and measure "
            "(only measures with at least the minimum window of observations).",
            labels=MEASURE_LABELS,
        ),
        GaugeMetricFamily(
            OBSERVATIONS, "Observations in the drift window, per group and measure.", labels=MEASURE_LABELS
        ),
        GaugeMetricFamily(
            FLAGGED, "1 when a group's scores drift (a judged measure at or above the drift PSI).", labels=GROUP_LABELS
        ),
        GaugeMetricFamily(REFERENCE_LOADED, "1 when the active bundle records reference distributions."),
    )
