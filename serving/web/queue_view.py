"""The queue page's filters (reason, category, age), sorting and rows, on top of `review_records`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from grading.policy import ReviewReason
from serving.review_records import QueueSort, queue_counts, queue_query, review_queue
from serving.tables import Item, ReviewState

PAGE_SIZE = 50


class AgeFilter(StrEnum):
    ANY = ""
    UNDER_HOUR = "lt1h"
    OVER_HOUR = "gt1h"
    OVER_DAY = "gt1d"
    OVER_WEEK = "gt7d"


AGE_LABELS = {
    AgeFilter.ANY: "Any age",
    AgeFilter.UNDER_HOUR: "Newer than 1 hour",
    AgeFilter.OVER_HOUR: "Waiting over 1 hour",
    AgeFilter.OVER_DAY: "Waiting over 1 day",
    AgeFilter.OVER_WEEK: "Waiting over 7 days",
}
_AGE_LIMITS = {
    AgeFilter.UNDER_HOUR: timedelta(hours=1),
    AgeFilter.OVER_HOUR: timedelta(hours=1),
    AgeFilter.OVER_DAY: timedelta(days=1),
    AgeFilter.OVER_WEEK: timedelta(days=7),
}


@dataclass(frozen=True)
class QueueFilters:
    """What the reviewer filtered and sorted by; travels from the queue to an item page and back."""

    reason: str = ""
    category: str = ""
    age: AgeFilter = AgeFilter.ANY
    sort: QueueSort = QueueSort.SCORE

    def query_string(self, **extra: object) -> str:
        values = {"reason": self.reason, "category": self.category, "age": self.age.value, "sort": self.sort.value}
        values |= {name: str(value) for name, value in extra.items()}
        return urlencode({name: value for name, value in values.items() if value and value != "0"})

    def select(self) -> Select:
        query = queue_query(self.category or None, None, self.sort)
        if self.age is AgeFilter.ANY:
            return query
        cutoff = datetime.now(UTC) - _AGE_LIMITS[self.age]
        return query.where(Item.created_at > cutoff if self.age is AgeFilter.UNDER_HOUR else Item.created_at <= cutoff)


def filters_from(values: dict[str, str]) -> QueueFilters:
    """Filters from query or form values; an unknown age or sort is a ValueError naming the choices."""
    age, sort = values.get("age") or "", values.get("sort") or QueueSort.SCORE.value
    if age not in AgeFilter._value2member_map_:
        raise ValueError(f"unknown age filter '{age}'; use one of: {', '.join(a.value for a in AgeFilter if a.value)}")
    if sort not in QueueSort._value2member_map_:
        raise ValueError(f"unknown sort '{sort}'; use one of: {', '.join(s.value for s in QueueSort)}")
    return QueueFilters(values.get("reason") or "", values.get("category") or "", AgeFilter(age), QueueSort(sort))


@dataclass(frozen=True)
class QueueRow:
    item_id: str
    channel: str
    category: str | None
    grade: str | None
    reasons: list[str]
    score: float | None
    waiting: str


def queue_rows(db: Session, filters: QueueFilters, offset: int = 0, limit: int = PAGE_SIZE) -> list[QueueRow]:
    items = review_queue(db, filters.select(), filters.reason or None, limit, offset)
    now = datetime.now(UTC)
    return [_row(item, now) for item in items]


def _row(item: Item, now: datetime) -> QueueRow:
    reasons = item.review_reasons or []
    waiting = waited(item.created_at, now)
    return QueueRow(item.id, item.channel, item.category, item.grade, reasons, item.review_score, waiting)


def next_item_id(db: Session, filters: QueueFilters, skip: str) -> str | None:
    """The pending item after `skip` in queue order under the same filters (wrapping round), never `skip` itself.

    An item left inconclusive stays in the queue; going on from its place reaches the others instead of
    bouncing between the top two.
    """
    ids = [item.id for item in review_queue(db, filters.select(), filters.reason or None, NEXT_ITEM_WINDOW, 0)]
    if skip in ids:
        place = ids.index(skip)
        ids = ids[place + 1 :] + ids[:place]
    return next((item_id for item_id in ids if item_id != skip), None)


NEXT_ITEM_WINDOW = 1000


def reason_choices(db: Session) -> list[tuple[str, int]]:
    """Every review reason with its pending count (reasons outside the vocabulary too)."""
    counts = queue_counts(db)
    known = [reason.value for reason in ReviewReason]
    return [(code, counts.get(code, 0)) for code in known + sorted(set(counts) - set(known))]


def category_choices(db: Session) -> list[str]:
    query = select(Item.category).distinct().where(Item.review_state == ReviewState.PENDING, Item.category.is_not(None))
    return sorted(db.scalars(query))


def waited(created_at: datetime, now: datetime) -> str:
    """'3 min', '5 h', '2 d': how long an item has waited (naive times are UTC, as SQLite returns them)."""
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    seconds = max(0, int((now - created_at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "just now"
