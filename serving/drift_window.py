"""The sliding window of drift monitoring, read from the database: the newest photos and their items' results.

Read from the database, not kept in each process's memory, so several API processes on one database see the same
window and report the same figures, a restart loses nothing, and station uploads graded by any process's workers
count. The window is the photos stored in the last `window_hours` (newest `scan_limit` at most; `photos.created_at`
is indexed) and the latest result of each of their items. Every photo counts, also one whose checks failed (a dark
camera shows even when its photos are refused); kiosk photos refused before anything was stored do not.

Groups (`GroupKind`): the item's channel (kiosk or station; it stands in for the program until programs exist), the
station (the API key's name), the camera (EXIF make and model, where the photo has them) and the category (the
result's used category; before grading, the declared one). Label sets stay bounded: stations are keys an admin
made, categories are those of the bundle or its reference, and only the `max_cameras` cameras with most photos get
a group (the others are counted in `left_out`).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from grading import psi
from grading.reference_distributions import Sample, Value, item_values, photo_values
from serving.tables import ApiKey, Item, Photo, Result

ENV_PREFIX = "SECONDLOOK_DRIFT_"
ID_CHUNK = 500  # item ids per IN (...) query


class GroupKind(StrEnum):
    CHANNEL = "channel"
    STATION = "station"
    CAMERA = "camera"
    CATEGORY = "category"


@dataclass(frozen=True)
class DriftConfig:
    """The window and when a drift counts; each from `SECONDLOOK_DRIFT_<NAME>` (e.g. SECONDLOOK_DRIFT_MIN_WINDOW)."""

    window_hours: float = 7 * 24.0
    max_window: int = 500  # newest observations per group and measure
    min_window: int = psi.MIN_WINDOW  # fewer observations: not judged
    max_cameras: int = 20
    scan_limit: int = 20_000  # newest photos read per refresh
    refresh_seconds: float = 60.0  # a report is reused this long (scrapes, the page and the JSON route share it)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> DriftConfig:
        values = {}
        for name, default in cls().__dict__.items():
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is not None:
                try:
                    values[name] = type(default)(raw)
                except ValueError as error:
                    raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a {type(default).__name__}") from error
        return cls(**values)


@dataclass
class Window:
    """What the window holds, per group: values per measure, newest first."""

    samples: dict[tuple[GroupKind, str], Sample] = field(default_factory=lambda: defaultdict(Sample))
    left_out: Counter = field(default_factory=Counter)  # photos or items of groups not watched, per kind
    since: datetime | None = None

    def add_item(self, groups: Iterable[tuple[GroupKind, str]], values: Mapping) -> None:
        for group in groups:
            self.samples[group].add_item(values)

    def add_photo(self, groups: Iterable[tuple[GroupKind, str]], values: Mapping) -> None:
        for group in groups:
            self.samples[group].add_photo(values)


@dataclass(frozen=True)
class PhotoRow:
    item_id: str
    camera: str | None
    measures: Mapping[str, float]
    channel: str
    station: str
    category: str | None


def read_window(session: Session, config: DriftConfig, categories: set[str]) -> Window:
    """The window's values per group; `categories` are the ones that may become groups."""
    since = datetime.now(UTC) - timedelta(hours=config.window_hours)
    rows = _photo_rows(session, since, config.scan_limit)
    cameras = _watched_cameras(rows, config.max_cameras)
    window = Window(since=since)
    by_item: dict[str, list[PhotoRow]] = defaultdict(list)
    for row in rows:
        by_item[row.item_id].append(row)
        groups = _groups(window, row.channel, row.station, row.camera, row.category, cameras, categories)
        window.add_photo(groups, photo_values(row.measures))
    for item_id, body in _latest_results(session, list(by_item)).items():
        try:
            values = item_values(body)
        except (KeyError, TypeError, ValueError):  # a result stored in a shape this code does not read
            window.left_out["unreadable_result"] += 1
            continue
        photos = by_item[item_id]
        category = (body.get("category") or {}).get("used")
        camera = _item_camera(photos)
        groups = _groups(window, photos[0].channel, photos[0].station, camera, category, cameras, categories)
        window.add_item(groups, values)
    return window


def _photo_rows(session: Session, since: datetime, limit: int) -> list[PhotoRow]:
    query = (
        select(Photo.item_id, Photo.camera, Photo.quality, Item.channel, ApiKey.name, Item.category)
        .join(Item, Photo.item_id == Item.id)
        .join(ApiKey, Item.created_by == ApiKey.id)
        .where(Photo.created_at >= since)
        .order_by(Photo.created_at.desc(), Photo.id.desc())
        .limit(limit)
    )
    return [
        PhotoRow(item_id, camera, (quality or {}).get("measures") or {}, channel, station, category)
        for item_id, camera, quality, channel, station, category in session.execute(query)
    ]


def _latest_results(session: Session, item_ids: list[str]) -> dict[str, dict]:
    """The newest result body of each item that has one (a regraded item counts once)."""
    latest: dict[str, tuple[datetime, str, dict]] = {}
    for start in range(0, len(item_ids), ID_CHUNK):
        chunk = item_ids[start : start + ID_CHUNK]
        query = select(Result.item_id, Result.created_at, Result.id, Result.body).where(Result.item_id.in_(chunk))
        for item_id, created_at, result_id, body in session.execute(query):
            if item_id not in latest or (created_at, result_id) > latest[item_id][:2]:
                latest[item_id] = (created_at, result_id, body)
    order = {item_id: i for i, item_id in enumerate(item_ids)}  # newest photo first, so newest item first
    return {item_id: latest[item_id][2] for item_id in sorted(latest, key=order.__getitem__)}


def _watched_cameras(rows: list[PhotoRow], most: int) -> set[str]:
    counts = Counter(row.camera for row in rows if row.camera)
    return {camera for camera, _ in counts.most_common(most)}


def _item_camera(photos: list[PhotoRow]) -> str | None:
    """The camera of most of the item's photos."""
    counts = Counter(row.camera for row in photos if row.camera)
    return counts.most_common(1)[0][0] if counts else None


def _groups(
    window: Window,
    channel: str,
    station: str,
    camera: str | None,
    category: str | None,
    cameras: set[str],
    categories: set[str],
) -> list[tuple[GroupKind, str]]:
    groups = [(GroupKind.CHANNEL, channel), (GroupKind.STATION, station)]
    if camera in cameras:
        groups.append((GroupKind.CAMERA, camera))
    elif camera:
        window.left_out[GroupKind.CAMERA.value] += 1
    if category in categories:
        groups.append((GroupKind.CATEGORY, category))
    elif category:
        window.left_out[GroupKind.CATEGORY.value] += 1
    return groups


def newest(values: list[Value], most: int) -> list[Value]:
    """The window of one measure: its newest `most` values (values are gathered newest first)."""
    return values[:most]
