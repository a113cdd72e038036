"""The drift report: every watched group's window against the active bundle's reference, measure by measure.

A category is compared with its own reference where the bundle has one, every other group with the overall one.
A measure is judged (`grading.psi.level`) only with at least `min_window` observations; a group's level is the worst
of its judged measures, leaving out the informational ones (`grading.reference_distributions.INFORMATIONAL`). A group
at `drift` is flagged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from grading import psi
from grading.psi import DriftLevel
from grading.reference_distributions import INFORMATIONAL, DriftMeasure, ReferenceDistributions, Sample
from serving.drift_window import DriftConfig, GroupKind, Window, newest

DECIMALS = 4


@dataclass(frozen=True)
class MeasureDrift:
    measure: DriftMeasure
    psi: float | None  # None: no observation in the window
    observations: int
    level: DriftLevel
    informational: bool
    bins: list[str]
    reference_shares: list[float]
    window_shares: list[float]


@dataclass(frozen=True)
class GroupDrift:
    kind: GroupKind
    name: str
    items: int
    photos: int
    level: DriftLevel
    measures: list[MeasureDrift]

    @property
    def flagged(self) -> bool:
        return self.level is DriftLevel.DRIFT

    @property
    def drifting(self) -> list[DriftMeasure]:
        """The flagging measures at watch or drift, worst first."""
        moved = (DriftLevel.WATCH, DriftLevel.DRIFT)
        judged = [m for m in self.measures if m.level in moved and not m.informational]
        return [m.measure for m in sorted(judged, key=lambda m: -(m.psi or 0.0))]


@dataclass(frozen=True)
class DriftReport:
    computed_at: datetime
    bundle_version: str
    reference_source: str | None  # None: the active bundle records no reference, nothing is judged
    config: DriftConfig
    since: datetime | None
    groups: list[GroupDrift]
    left_out: dict[str, int]

    @property
    def flagged(self) -> list[GroupDrift]:
        return [group for group in self.groups if group.flagged]

    def document(self) -> dict:
        """The report as JSON for the admin route."""
        return {
            "computed_at": self.computed_at.isoformat(),
            "bundle_version": self.bundle_version,
            "reference": self.reference_source,
            "window": asdict(self.config) | {"since": self.since.isoformat() if self.since else None},
            "thresholds": {"watch": psi.WATCH, "drift": psi.DRIFT, "min_window": self.config.min_window},
            "flagged": [{"kind": g.kind.value, "name": g.name, "measures": g.drifting} for g in self.flagged],
            "groups": [_group_document(group) for group in self.groups],
            "left_out": self.left_out,
        }


def _group_document(group: GroupDrift) -> dict:
    return {
        "kind": group.kind.value,
        "name": group.name,
        "items": group.items,
        "photos": group.photos,
        "level": group.level.value,
        "flagged": group.flagged,
        "measures": [asdict(measure) for measure in group.measures],
    }


def drift_report(
    window: Window,
    reference: ReferenceDistributions | None,
    config: DriftConfig,
    bundle_version: str,
    computed_at: datetime,
) -> DriftReport:
    kinds = list(GroupKind)
    keys = sorted(window.samples, key=lambda key: (kinds.index(key[0]), key[1]))
    groups = [_group(kind, name, window.samples[kind, name], reference, config) for kind, name in keys]
    return DriftReport(
        computed_at=computed_at,
        bundle_version=bundle_version,
        reference_source=reference.source if reference else None,
        config=config,
        since=window.since,
        groups=groups,
        left_out=dict(window.left_out),
    )


def _group(
    kind: GroupKind, name: str, sample: Sample, reference: ReferenceDistributions | None, config: DriftConfig
) -> GroupDrift:
    distributions = {} if reference is None else reference.for_category(name if kind is GroupKind.CATEGORY else None)
    measures = [
        _measure(measure, distribution, newest(sample.values[measure], config.max_window), config.min_window)
        for measure, distribution in distributions.items()
    ]
    flagging = [m.level for m in measures if not m.informational]
    return GroupDrift(kind, name, sample.items, sample.photos, psi.worst(flagging), measures)


def _measure(measure: DriftMeasure, distribution, values: list, min_window: int) -> MeasureDrift:
    window_shares = psi.shares(distribution.counts(values))
    value = round(psi.psi(distribution.shares, window_shares), DECIMALS) if values else None
    return MeasureDrift(
        measure=measure,
        psi=value,
        observations=len(values),
        level=psi.level(value or 0.0, len(values), min_window),
        informational=measure in INFORMATIONAL,
        bins=distribution.bin_names(),
        reference_shares=[round(share, DECIMALS) for share in distribution.shares],
        window_shares=[round(share, DECIMALS) for share in window_shares],
    )
