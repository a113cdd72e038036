"""Manifest v1: round trip, partial labels, and errors that name the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from grading.manifest import (
    Box,
    Defect,
    GradeLabel,
    Item,
    ManifestError,
    Photo,
    Source,
    json_schema,
    read_manifest,
    resolve_photo_path,
    write_manifest,
)
from grading.vocabulary import DefectType, View

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "datasets" / "manifest.schema.json"
HASH = "a" * 64


def station_item() -> Item:
    """One item, two views, a defect on the back, a grade: the station case."""
    stain = Defect(type=DefectType.STAIN, box=Box(x0=10, y0=20, x1=40, y1=50), severity=0.3)
    return Item(
        id="jacket-1",
        photos=[
            Photo(path="jacket/front.jpg", view=View.FRONT, sha256=HASH, defects=[]),
            Photo(path="jacket/back.jpg", view=View.BACK, sha256=HASH, defects=[stain]),
        ],
        category="outwear",
        grade=GradeLabel(value="very_good"),
        source=Source(dataset="test", license="CC0-1.0"),
    )


def test_items_round_trip_through_a_file(tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    assert write_manifest([station_item(), station_item().model_copy(update={"id": "jacket-2"})], manifest) == 2
    items = read_manifest(manifest)
    assert items[0] == station_item() and items[1].id == "jacket-2"
    assert not (tmp_path / "m.jsonl.partial").exists()


def test_absent_defects_means_not_annotated_and_empty_means_clean() -> None:
    photo = Photo(path="x.jpg", sha256=HASH)
    assert photo.defects is None
    assert station_item().photos[0].defects == []


def test_a_bad_line_is_named_with_its_number_and_field(tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    write_manifest([station_item()], manifest)
    bad = station_item().model_dump_json().replace('"stain"', '"smudge"')
    manifest.write_text(manifest.read_text() + "\n" + bad + "\n")
    with pytest.raises(ManifestError) as error:
        read_manifest(manifest)
    message = str(error.value)
    assert f"{manifest}:3:" in message and "type" in message and "stain" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"grade": {"value": "mint"}}, "not on scale"),
        ({"photos": []}, "at least 1"),
        ({"colour": "red"}, "Extra inputs"),
        ({"manifest_version": 2}, "manifest_version"),
    ],
)
def test_invalid_items_are_refused(change: dict, expected: str) -> None:
    data = station_item().model_dump() | change
    with pytest.raises(ValueError, match=expected):
        Item.model_validate(data)


def test_a_defect_needs_exactly_one_geometry() -> None:
    with pytest.raises(ValueError, match="exactly one of box, polygon or mask"):
        Defect(type=DefectType.HOLE)
    with pytest.raises(ValueError, match="exactly one"):
        Defect(type=DefectType.HOLE, mask="m.png", box=Box(x0=0, y0=0, x1=1, y1=1))


def test_a_box_must_have_positive_size() -> None:
    with pytest.raises(ValueError, match="x0 < x1"):
        Box(x0=5, y0=5, x1=5, y1=9)


def test_photo_paths_resolve_against_the_manifest_folder(tmp_path: Path) -> None:
    assert resolve_photo_path(tmp_path / "m.jsonl", "a/b.jpg") == tmp_path / "a" / "b.jpg"
    assert resolve_photo_path(tmp_path / "m.jsonl", "/abs/c.jpg") == Path("/abs/c.jpg")


def test_the_committed_json_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text() == json_schema(), "regenerate datasets/manifest.schema.json from grading.manifest"
