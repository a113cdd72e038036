"""Reference distributions: what is read from a result and a photo, how a reference is fitted, and how a bundle
keeps it (hashed like every bundle file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grading.bundle import BundleError, BundleMetadata, Labels, write_metadata
from grading.reference_distributions import (
    DEFECT,
    MIN_CATEGORY_ITEMS,
    NO_DEFECT,
    REFERENCE_FILE,
    DriftMeasure,
    Sample,
    build_reference,
    fit,
    item_values,
    photo_values,
    read_reference,
    write_reference,
)
from grading.vocabulary import DEFAULT_GRADE_SCALE, Grade

GRADES = [grade.value for grade in Grade]


def metadata() -> BundleMetadata:
    categories = ["dress", "shoes"]
    labels = Labels(defect_types=["stain"], categories=categories, grades=GRADES, grade_scale=DEFAULT_GRADE_SCALE)
    return BundleMetadata(name="t", version="9.9.9", created="2026-12-03T00:00:00Z", labels=labels)


def body(grade: str = "excellent", defects: list[dict] | None = None, category: float = 0.9) -> dict:
    return {
        "grade": {"name": grade},
        "defects": defects or [],
        "category": {"used": "dress", "probability": category},
        "authenticity": {"counterfeit_probability": 0.12},
    }


def test_item_values_read_the_stored_result() -> None:
    values = item_values(body())
    assert values == {
        DriftMeasure.GRADE: "excellent",
        DriftMeasure.DEFECT_RATE: NO_DEFECT,
        DriftMeasure.CATEGORY_CONFIDENCE: 0.9,
        DriftMeasure.COUNTERFEIT_PROBABILITY: 0.12,
    }


def test_only_counted_certain_defects_make_an_item_defective() -> None:
    assert item_values(body(defects=[{"counted": False}]))[DriftMeasure.DEFECT_RATE] == NO_DEFECT
    assert item_values(body(defects=[{"counted": True, "certain": False}]))[DriftMeasure.DEFECT_RATE] == NO_DEFECT
    assert item_values(body(defects=[{"counted": True, "certain": True}]))[DriftMeasure.DEFECT_RATE] == DEFECT


def test_photo_values_take_brightness_sharpness_and_size_rounded_as_stored() -> None:
    measures = {"brightness": 101.123456, "sharpness": 1800.0, "short_side": 960, "shake": 0.3}
    assert photo_values(measures) == {
        DriftMeasure.BRIGHTNESS: 101.1235,
        DriftMeasure.SHARPNESS: 1800.0,
        DriftMeasure.SHORT_SIDE: 960.0,
    }
    assert photo_values({}) == {}


def test_a_label_measure_keeps_the_given_order_and_adds_unseen_labels() -> None:
    distribution = fit(DriftMeasure.GRADE, ["good", "good", "odd", "fair"], GRADES)
    assert distribution.labels == [*GRADES, "odd"]
    assert distribution.bin_names()[-1] == "other"
    assert distribution.shares[GRADES.index("good")] == 0.5
    assert distribution.counts(["good", "unknown"])[-1] == 1  # the other bin


def test_a_number_measure_gets_equal_mass_bins() -> None:
    distribution = fit(DriftMeasure.BRIGHTNESS, [float(v) for v in range(50)])
    assert len(distribution.shares) == 5
    assert distribution.shares == [0.2] * 5
    assert distribution.bin_names()[0].startswith("<= ")
    assert distribution.counts([-5.0, 100.0]) == [1, 0, 0, 0, 1]


def reference_sample(items: int, category: str = "dress") -> Sample:
    sample = Sample()
    for i in range(items):
        sample.add_item(item_values(body(grade=GRADES[i % 3], category=0.5 + i / (2 * items))))
        sample.add_photo(photo_values({"brightness": 80 + i, "sharpness": 100 + 10 * i, "short_side": 240}))
    return sample


def test_a_reference_has_overall_and_per_category_distributions() -> None:
    overall = reference_sample(MIN_CATEGORY_ITEMS + 10)
    by_category = {"dress": reference_sample(MIN_CATEGORY_ITEMS), "shoes": reference_sample(MIN_CATEGORY_ITEMS - 1)}
    reference = build_reference(overall, by_category, metadata(), "m.jsonl (split validation)", "now")
    assert reference.items == reference.photos == MIN_CATEGORY_ITEMS + 10
    assert set(reference.overall) == set(DriftMeasure)
    assert set(reference.by_category) == {"dress"}  # shoes has too few items of its own
    assert reference.for_category("shoes") is reference.overall
    assert reference.for_category("dress") is reference.by_category["dress"]
    assert reference.bundle_version == "9.9.9"


def test_a_reference_needs_items() -> None:
    with pytest.raises(ValueError, match="at least one"):
        build_reference(Sample(), {}, metadata(), "empty.jsonl", "now")


def bundle_with_reference(folder: Path) -> BundleMetadata:
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"not really a model")
    write_reference(folder, build_reference(reference_sample(40), {}, metadata(), "m.jsonl", "now"))
    return write_metadata(folder, metadata())


def test_a_bundle_keeps_its_reference_hashed(tmp_path: Path) -> None:
    written = bundle_with_reference(tmp_path / "bundle")
    assert REFERENCE_FILE in written.files
    reference = read_reference(tmp_path / "bundle", written)
    assert reference is not None and reference.items == 40
    json.loads((tmp_path / "bundle" / REFERENCE_FILE).read_text())  # plain JSON


def test_a_bundle_without_a_reference_has_none(tmp_path: Path) -> None:
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"model")
    assert read_reference(folder, write_metadata(folder, metadata())) is None


def test_an_altered_reference_is_refused(tmp_path: Path) -> None:
    written = bundle_with_reference(tmp_path / "bundle")
    path = tmp_path / "bundle" / REFERENCE_FILE
    path.write_text(path.read_text().replace('"items": 40', '"items": 41'))
    with pytest.raises(BundleError, match="altered"):
        read_reference(tmp_path / "bundle", written)
