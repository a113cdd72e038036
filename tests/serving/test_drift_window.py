"""The drift window read from the database: groups, bounded cameras and categories, the latest result per item, the
time limit, and the report built on it (no model: rows are written directly)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from grading.bundle import BundleMetadata, Labels
from grading.psi import DriftLevel
from grading.reference_distributions import DriftMeasure, Sample, build_reference, item_values, photo_values
from grading.vocabulary import DEFAULT_GRADE_SCALE, Grade
from serving.database import make_engine, migrate, session_factory
from serving.drift_report import drift_report
from serving.drift_window import DriftConfig, GroupKind, read_window
from serving.tables import ApiKey, Item, Photo, Result

NOW = datetime.now(UTC)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'drift.db'}")
    migrate(engine)
    with session_factory(engine).begin() as session:
        yield session
    engine.dispose()


def body(grade: str = "excellent", category: str = "dress") -> dict:
    return {
        "grade": {"name": grade},
        "defects": [],
        "category": {"used": category, "probability": 0.9},
        "authenticity": {"counterfeit_probability": 0.2},
    }


def add_item(
    session: Session,
    station: ApiKey,
    cameras: list[str | None],
    results: list[dict],
    brightness: float = 100.0,
    age: timedelta = timedelta(0),
    category: str = "dress",
) -> Item:
    item = Item(channel="station", facts={}, created_by=station.id, category=category)
    session.add(item)
    session.flush()
    for position, camera in enumerate(cameras):
        measures = {"brightness": brightness, "sharpness": 500.0, "short_side": 960}
        session.add(
            Photo(
                item_id=item.id,
                position=position,
                view="front",
                sha256=f"{item.id}{position}".ljust(64, "0"),
                source_format="jpeg",
                width=1280,
                height=960,
                byte_size=1000,
                quality={"measures": measures},
                camera=camera,
                created_at=NOW - age,
            )
        )
    for i, result in enumerate(results):  # later in the list = graded later
        created = NOW - age + timedelta(seconds=i)
        versions = {"model_version": "m", "policy_version": "p", "pricing_version": "q"}
        session.add(Result(item_id=item.id, body=result, created_at=created, **versions))
    session.flush()
    return item


def key(session: Session, name: str) -> ApiKey:
    row = ApiKey(name=name, role="station", prefix=name[:16], key_hash="0" * 64)
    session.add(row)
    session.flush()
    return row


def test_every_photo_and_the_latest_result_count_in_their_groups(session: Session) -> None:
    station = key(session, "station-1")
    add_item(session, station, ["Cam A", "Cam A", None], [body("poor"), body("excellent")])  # regraded
    add_item(session, station, ["Cam B"], [])  # not graded yet: its photo counts, no item values
    add_item(session, station, ["Cam B"], [{"grade": "?"}])  # a result this code cannot read: left out, counted
    window = read_window(session, DriftConfig(), {"dress"})
    at_station = window.samples[GroupKind.STATION, "station-1"]
    assert at_station.photos == 5 and at_station.items == 1
    assert window.samples[GroupKind.CHANNEL, "station"].photos == 5
    assert window.left_out["unreadable_result"] == 1
    assert window.samples[GroupKind.CAMERA, "Cam A"].items == 1  # the camera of most of its photos
    assert window.samples[GroupKind.CAMERA, "Cam B"].photos == 2
    assert window.samples[GroupKind.CATEGORY, "dress"].items == 1
    assert at_station.values[DriftMeasure.GRADE] == ["excellent"]


def test_old_photos_fall_out_of_the_window(session: Session) -> None:
    station = key(session, "station-1")
    add_item(session, station, ["Cam A"], [body()], age=timedelta(hours=3))
    add_item(session, station, ["Cam A"], [body()])
    window = read_window(session, DriftConfig(window_hours=1), {"dress"})
    assert window.samples[GroupKind.STATION, "station-1"].photos == 1


def test_cameras_and_categories_stay_bounded(session: Session) -> None:
    station = key(session, "station-1")
    for camera, count in (("Cam A", 3), ("Cam B", 2), ("Cam C", 1)):
        for _ in range(count):
            add_item(session, station, [camera], [body(category="spaceship")], category="spaceship")
    window = read_window(session, DriftConfig(max_cameras=2), {"dress"})
    cameras = {name for kind, name in window.samples if kind is GroupKind.CAMERA}
    assert cameras == {"Cam A", "Cam B"}
    assert window.left_out["camera"] == 2  # Cam C's photo and its item
    assert not any(kind is GroupKind.CATEGORY for kind, _ in window.samples)  # "spaceship" is no bundle category
    assert window.left_out["category"] == 12  # 6 photos and their 6 items


def test_the_report_flags_the_dark_station_only(session: Session) -> None:
    normal, dark = key(session, "normal"), key(session, "dark")
    reference = Sample()
    for i in range(40):
        reference.add_item(item_values(body(["excellent", "good"][i % 2])))
        reference.add_photo(photo_values({"brightness": 80.0 + i, "sharpness": 500.0, "short_side": 240}))
    grades = [g.value for g in Grade]
    labels = Labels(defect_types=["stain"], categories=["dress"], grades=grades, grade_scale=DEFAULT_GRADE_SCALE)
    metadata = BundleMetadata(name="t", version="1.0.0", created="now", labels=labels)
    distributions = build_reference(reference, {}, metadata, "test", "now")
    for i in range(20):
        add_item(session, normal, ["Cam N"], [body(["excellent", "good"][i % 2])], brightness=80.0 + 2 * i)
        add_item(session, dark, ["Cam D"], [body(["excellent", "good"][i % 2])], brightness=30.0 + i)
    config = DriftConfig(min_window=20)
    report = drift_report(read_window(session, config, {"dress"}), distributions, config, "1.0.0", NOW)
    flagged = {(group.kind, group.name) for group in report.flagged}
    assert (GroupKind.STATION, "dark") in flagged and (GroupKind.CAMERA, "Cam D") in flagged
    assert (GroupKind.STATION, "normal") not in flagged
    dark_group = next(g for g in report.groups if g.name == "dark")
    assert dark_group.drifting[0] is DriftMeasure.BRIGHTNESS
    short_side = next(m for m in dark_group.measures if m.measure is DriftMeasure.SHORT_SIDE)
    assert short_side.informational and short_side.level is DriftLevel.DRIFT  # 960 px vs 240: shown, never flags
    assert next(g for g in report.groups if g.name == "normal").level is DriftLevel.STABLE
    unjudged = drift_report(read_window(session, config, {"dress"}), distributions, DriftConfig(), "1.0.0", NOW)
    assert all(g.level is DriftLevel.TOO_FEW for g in unjudged.groups if g.kind is GroupKind.STATION)
    assert drift_report(read_window(session, config, {"dress"}), None, config, "1.0.0", NOW).flagged == []


def test_the_window_is_configured_from_the_environment() -> None:
    config = DriftConfig.from_environment({"SECONDLOOK_DRIFT_MIN_WINDOW": "30", "SECONDLOOK_DRIFT_WINDOW_HOURS": "2.5"})
    assert config.min_window == 30 and config.window_hours == 2.5 and config.max_window == DriftConfig().max_window
    with pytest.raises(ValueError, match="SECONDLOOK_DRIFT_MIN_WINDOW='many' is not a int"):
        DriftConfig.from_environment({"SECONDLOOK_DRIFT_MIN_WINDOW": "many"})
