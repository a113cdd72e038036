"""The result of evaluating one task: metrics, tables, figures, worst errors, or the reason it was skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from training.evaluation.metrics import Metric
from training.evaluation.plots import Figure


class Task(StrEnum):
    """The report's sections, in report order."""

    CATEGORY = "category"
    DEFECTS = "defects"
    DETECTION = "detection"
    ANOMALY = "anomaly"
    GRADE = "grade"
    AUTHENTICITY = "authenticity"
    REFERENCES = "references"
    REAL_PHOTOS = "real_photos"


@dataclass(frozen=True)
class Table:
    """A small table for the report; cells are already formatted."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ErrorCase:
    """A wrong prediction worth showing: the photo row, how bad it is (higher = worse), and what went wrong."""

    photo: int
    severity: float
    caption: str


@dataclass(frozen=True)
class Section:
    """One task's evaluation. `headline` names the metrics that go into the report's first table."""

    task: Task
    metrics: dict[str, Metric] = field(default_factory=dict)
    headline: tuple[str, ...] = ()
    skipped: str | None = None
    notes: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()
    errors: tuple[ErrorCase, ...] = ()
    details: dict = field(default_factory=dict)


def skipped(task: Task, reason: str, notes: tuple[str, ...] = ()) -> Section:
    return Section(task, skipped=reason, notes=notes)


def fmt(metric: Metric, percent: bool = False) -> str:
    """A metric's value for a table cell; an undefined one shows its reason."""
    if metric.value is None:
        return f"n/a ({metric.reason})"
    return f"{metric.value:.1%}" if percent else f"{metric.value:.3f}"
