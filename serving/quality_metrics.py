"""Photo quality per station: what each station's (or kiosk's) camera sends, so a drifting camera shows.

Labels stay bounded: `station` is the API key's name (keys are made by an admin, one per station or kiosk),
`channel` the key's channel, `check` one of `grading.photo_quality.QualityCheck`. A falling sharpness or a drifting
brightness median of one station, or its failures of one check climbing, point at its camera or its light.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram

from serving.photo_checks import PhotoCheckRecord

BRIGHTNESS_BUCKETS: tuple[float, ...] = (20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 220, 240, 255)
# Laplacian variance: the policy's threshold is 25; sharp phone photos reach hundreds to thousands.
SHARPNESS_BUCKETS: tuple[float, ...] = (5, 10, 25, 50, 100, 200, 400, 800, 1600, 3200, 6400)


class PhotoQualityMetrics:
    """Photos checked, photos that failed, failures per check, and brightness and sharpness, per station."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["station", "channel"]
        self._checked = Counter(
            "secondlook_photos_checked", "Photos checked for quality, per station.", labels, registry=registry
        )
        self._failed = Counter(
            "secondlook_photos_failed_checks",
            "Photos that failed at least one quality check, per station.",
            labels,
            registry=registry,
        )
        self._failures = Counter(
            "secondlook_photo_check_failures",
            "Failed quality checks, per station and check.",
            [*labels, "check"],
            registry=registry,
        )
        self._brightness = Histogram(
            "secondlook_photo_brightness",
            "Mean grey level (0-255) of checked photos, per station.",
            labels,
            buckets=BRIGHTNESS_BUCKETS,
            registry=registry,
        )
        self._sharpness = Histogram(
            "secondlook_photo_sharpness",
            "Sharpness (Laplacian variance) of checked photos, per station.",
            labels,
            buckets=SHARPNESS_BUCKETS,
            registry=registry,
        )

    def observe(self, station: str, channel: str, checks: Iterable[PhotoCheckRecord]) -> None:
        """Count and measure photos just checked for the key named `station` (refused ones too)."""
        for record in checks:
            self._checked.labels(station, channel).inc()
            self._brightness.labels(station, channel).observe(record.measures["brightness"])
            self._sharpness.labels(station, channel).observe(record.measures["sharpness"])
            if not record.usable:
                self._failed.labels(station, channel).inc()
            for failed in record.failed:
                self._failures.labels(station, channel, failed.check.value).inc()
