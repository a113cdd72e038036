"""Reviewer decisions exported as manifest v1: labels, newest decision wins, `since`, and every line validates."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from grading import manifest
from grading.vocabulary import Authenticity, View
from serving.database import make_engine, migrate, session_factory, transaction
from serving.review_export import REVIEW_DATASET, StoredPhotos, export_decisions
from serving.storage import LocalPhotoStore
from serving.tables import ApiKey, Item, Photo, Result, ReviewDecision, ReviewState

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    pixels = np.random.default_rng(width * height).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


class Fixture:
    """A migrated SQLite database, a photo store and helpers that insert rows by hand."""

    def __init__(self, root: Path, url: str) -> None:
        engine = make_engine(url)
        migrate(engine)
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.store = LocalPhotoStore(root / "photos")
        with transaction(self.sessions) as session:
            session.add(ApiKey(id="station", name="station", role="station", prefix="p1", key_hash="0" * 64))
            session.add(ApiKey(id="alice", name="alice", role="reviewer", prefix="p2", key_hash="1" * 64))

    def photo_path(self, sha256: str) -> Path:
        return (self.store.root / sha256[:2] / sha256).resolve()

    def item(self, item_id: str, facts: dict, photos: list[tuple[View, bytes, tuple[int, int]]]) -> None:
        with transaction(self.sessions) as session:
            session.add(Item(id=item_id, channel="station", facts=facts, created_by="station", created_at=at(0)))
            session.flush()
            for position, (view, data, (width, height)) in enumerate(photos):
                session.add(_photo_row(item_id, position, view, self.store.put(data), width, height, len(data)))

    def result(self, item_id: str, grade: str, minutes: int, result_id: str) -> None:
        body = {"grade": {"name": grade, "rank": 0, "confidence": 0.6, "model_grade": grade, "floor": None}}
        with transaction(self.sessions) as session:
            session.add(
                Result(
                    id=result_id,
                    item_id=item_id,
                    model_version="m1",
                    policy_version="p1",
                    pricing_version="r1",
                    body=body,
                    created_at=at(minutes),
                )
            )

    def decide(self, item_id: str, minutes: int, decision_id: str, **fields: str) -> None:
        fields = {"action": "approve", "reason_code": "looks_right"} | fields
        with transaction(self.sessions) as session:
            session.add(
                ReviewDecision(id=decision_id, item_id=item_id, reviewer="alice", created_at=at(minutes), **fields)
            )
            session.get(Item, item_id).review_state = ReviewState.DECIDED

    def export(self, since: datetime | None = None) -> dict[str, manifest.Item]:
        with self.sessions() as session:
            lines = list(export_decisions(session, StoredPhotos(self.photo_path), since))
        items = [manifest.parse_line(line, Path("export.jsonl"), number) for number, line in enumerate(lines, 1)]
        return {item.id.removeprefix(f"{REVIEW_DATASET}/"): item for item in items}


def _photo_row(item_id: str, position: int, view: View, sha: str, width: int, height: int, size: int) -> Photo:
    return Photo(
        item_id=item_id,
        position=position,
        view=view.value,
        sha256=sha,
        source_format="jpeg",
        width=width,
        height=height,
        byte_size=size,
        crop_box=[0, 0, min(width, height), min(width, height)],
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Fixture:
    """SQLite always; PostgreSQL when a server answers (see tests/serving/conftest.py), else skipped."""
    url = f"sqlite:///{tmp_path}/t.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    return Fixture(tmp_path, url)


FACTS = {"channel": "station", "category": "shoes", "brand": "Acme", "product_line": "Runner 2", "tags": []}


def add_graded_item(db: Fixture, item_id: str, grade: str = "very_good") -> None:
    db.item(item_id, FACTS, [(View.FRONT, jpeg(64, 48), (64, 48)), (View.SOLE, jpeg(40, 30), (40, 30))])
    db.result(item_id, grade, minutes=5, result_id=f"{item_id}-r1")


def test_an_approval_exports_facts_photos_and_the_model_grade(db: Fixture) -> None:
    add_graded_item(db, "a")
    db.decide("a", 10, "d1")
    item = db.export()["a"]
    assert (item.category, item.brand, item.product_line) == ("shoes", "Acme", "Runner 2")
    assert item.grade == manifest.GradeLabel(value="very_good")
    assert item.authenticity is Authenticity.UNKNOWN
    assert [photo.view for photo in item.photos] == [View.FRONT, View.SOLE]
    assert [(photo.width, photo.height) for photo in item.photos] == [(64, 48), (40, 30)]
    assert all(photo.defects is None for photo in item.photos)  # no reviewed defects: the photos stay unannotated
    for photo in item.photos:
        assert Path(photo.path).is_absolute()
        assert db.store.get(photo.sha256) == Path(photo.path).read_bytes()
    assert item.group == "a"


def test_provenance_names_the_decision_reviewer_and_reason(db: Fixture) -> None:
    add_graded_item(db, "a")
    db.decide("a", 10, "d1", reason_code="grade_confident")
    source = db.export()["a"].source
    assert source.dataset == REVIEW_DATASET
    where = urlsplit(source.original_path)
    assert where.path == "review_decisions/d1"
    query = parse_qs(where.query)
    assert query["reviewer"] == ["alice"]
    assert query["reason"] == ["grade_confident"]
    assert query["result"] == ["a-r1"]


def test_an_override_grade_wins_over_the_model(db: Fixture) -> None:
    add_graded_item(db, "a")
    db.decide("a", 10, "d1", action="override", grade="fair", reason_code="missed_stain")
    assert db.export()["a"].grade.value == "fair"


def test_the_newest_decision_wins_and_the_grade_is_from_the_result_the_reviewer_saw(db: Fixture) -> None:
    add_graded_item(db, "a", grade="good")
    db.decide("a", 10, "d1", action="override", grade="poor")
    db.decide("a", 20, "d2")  # a second look approves the model's grade after all
    db.result("a", "excellent", minutes=30, result_id="a-r2")  # a regrade after the decision
    exported = db.export()
    assert list(exported) == ["a"]
    assert exported["a"].grade.value == "good"
    assert urlsplit(exported["a"].source.original_path).path == "review_decisions/d2"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"action": "confirm_counterfeit"}, Authenticity.COUNTERFEIT),
        ({"action": "override", "authenticity": "counterfeit"}, Authenticity.COUNTERFEIT),
        ({"action": "override", "authenticity": "authentic"}, Authenticity.AUTHENTIC),
        ({"action": "approve", "authenticity": "inconclusive"}, Authenticity.UNKNOWN),
    ],
)
def test_authenticity_is_labelled_only_when_the_reviewer_said_so(
    db: Fixture, fields: dict, expected: Authenticity
) -> None:
    add_graded_item(db, "a")
    db.decide("a", 10, "d1", **fields)
    assert db.export()["a"].authenticity is expected


def test_since_keeps_items_whose_newest_decision_is_recent(db: Fixture) -> None:
    for item_id in ("old", "redecided", "new"):
        add_graded_item(db, item_id)
    db.decide("old", 10, "d-old")
    db.decide("redecided", 11, "d-first")
    db.decide("redecided", 40, "d-second", grade="good")
    db.decide("new", 41, "d-new")
    exported = db.export(since=at(30))
    assert sorted(exported) == ["new", "redecided"]
    assert exported["redecided"].grade.value == "good"
    naive = at(30).replace(tzinfo=None)  # naive means UTC
    assert sorted(db.export(since=naive)) == ["new", "redecided"]


def test_undecided_items_are_not_exported(db: Fixture) -> None:
    add_graded_item(db, "pending")
    assert db.export() == {}


def test_stored_size_is_written_for_an_exif_rotated_photo(db: Fixture) -> None:
    """The database keeps oriented sizes; the manifest wants the pixels as stored."""
    db.item("turned", {"channel": "station"}, [(View.FRONT, jpeg(64, 48, orientation=6), (48, 64))])
    db.decide("turned", 10, "d1", grade="good")
    item = db.export()["turned"]
    assert (item.photos[0].width, item.photos[0].height) == (64, 48)
    assert item.category is None and item.grade.value == "good"


def test_an_unknown_grade_goes_on_the_policy_scale_instead_of_failing(db: Fixture) -> None:
    add_graded_item(db, "a", grade="mint")
    db.decide("a", 10, "d1")
    assert db.export()["a"].grade == manifest.GradeLabel(scale="policy:p1", value="mint")


def test_the_export_reads_back_as_a_manifest_file(db: Fixture, tmp_path: Path) -> None:
    add_graded_item(db, "a")
    add_graded_item(db, "b")
    db.decide("a", 10, "d1")
    db.decide("b", 12, "d2", action="confirm_counterfeit", reason_code="logo_wrong")
    path = tmp_path / "review.jsonl"
    with db.sessions() as session:
        path.write_text("".join(line + "\n" for line in export_decisions(session, StoredPhotos(db.photo_path))))
    items = manifest.read_manifest(path)
    assert [item.id for item in items] == [f"{REVIEW_DATASET}/a", f"{REVIEW_DATASET}/b"]
    assert all(manifest.resolve_photo_path(path, photo.path).is_file() for item in items for photo in item.photos)


def _photo_ids(db: Fixture, item_id: str) -> list[str]:
    with db.sessions() as session:
        rows = session.query(Photo).filter(Photo.item_id == item_id).order_by(Photo.position)
        return [row.id for row in rows]


def test_reviewed_defects_become_boxes_and_the_other_photos_are_annotated_clean(db: Fixture) -> None:
    add_graded_item(db, "a")
    front, _sole = _photo_ids(db, "a")
    reviewed = [{"photo_id": front, "type": "stain", "box": [10.0, 5.0, 30.0, 20.0]}]
    db.decide("a", 10, "d1", action="override", grade="good", reason_code="missed_defect", defects=reviewed)
    photos = db.export()["a"].photos
    assert [(d.type.value, d.box.x0, d.box.y0, d.box.x1, d.box.y1) for d in photos[0].defects] == [
        ("stain", 10.0, 5.0, 30.0, 20.0)
    ]
    assert photos[0].defects[0].source_label == "reviewer"
    assert photos[1].defects == []  # looked at by the reviewer, nothing on it


def test_reviewed_boxes_on_a_turned_photo_are_written_in_stored_pixels(db: Fixture) -> None:
    """Orientation 6: stored 64 x 48, shown 48 x 64; the upright top-left corner is stored at the bottom left."""
    db.item("turned", {"channel": "station"}, [(View.FRONT, jpeg(64, 48, orientation=6), (48, 64))])
    (photo_id,) = _photo_ids(db, "turned")
    reviewed = [{"photo_id": photo_id, "type": "hole", "box": [0.0, 0.0, 10.0, 20.0]}]
    db.decide("turned", 10, "d1", grade="good", defects=reviewed)
    (defect,) = db.export()["turned"].photos[0].defects
    assert (defect.box.x0, defect.box.y0, defect.box.x1, defect.box.y1) == (0.0, 38.0, 20.0, 48.0)


def test_a_photo_behind_a_uri_is_read_for_its_orientation_only_when_it_has_reviewed_defects(db: Fixture) -> None:
    db.item("remote", {"channel": "station"}, [(View.FRONT, jpeg(64, 48, orientation=6), (48, 64))])
    db.item("plain", {"channel": "station"}, [(View.FRONT, jpeg(40, 30), (40, 30))])
    (photo_id,) = _photo_ids(db, "remote")
    db.decide("remote", 10, "d1", defects=[{"photo_id": photo_id, "type": "hole", "box": [0.0, 0.0, 10.0, 20.0]}])
    db.decide("plain", 11, "d2", defects=[])
    read: list[str] = []

    def get(sha256: str) -> bytes:
        read.append(sha256)
        return db.store.get(sha256)

    stored = StoredPhotos(path=lambda sha256: f"s3://bucket/photos/{sha256}", read=get)
    with db.sessions() as session:
        lines = list(export_decisions(session, stored))
    items = {item.id: item for item in (manifest.parse_line(line, Path("x.jsonl"), 1) for line in lines)}
    remote, plain = items[f"{REVIEW_DATASET}/remote"].photos[0], items[f"{REVIEW_DATASET}/plain"].photos[0]
    assert read == [remote.sha256]  # the clean photo needs no orientation: nothing downloaded for it
    assert (remote.defects[0].box.y0, remote.defects[0].box.y1) == (38.0, 48.0)
    assert plain.defects == [] and plain.width is None
