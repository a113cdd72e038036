"""Bundle metadata: the intake framing a bundle was trained with travels with it."""

from __future__ import annotations

import json
from pathlib import Path

from grading.bundle import METADATA_FILE, MODEL_FILE, BundleMetadata, InputSpec, Labels, read_metadata, write_metadata
from grading.intake import Framing, Preprocessing


def _metadata(**input_fields: object) -> BundleMetadata:
    labels = Labels(defect_types=["stain"], categories=["shirt"], grades=["good"], grade_scale="default")
    return BundleMetadata(
        name="t", version="0.0.1", created="2026-12-01", input=InputSpec(**input_fields), labels=labels
    )


def test_framing_round_trips_through_bundle_json(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_bytes(b"graph")  # read_metadata checks every file's hash, not the graph
    write_metadata(tmp_path, _metadata(framing=Framing.WHOLE))
    assert json.loads((tmp_path / METADATA_FILE).read_text())["input"]["framing"] == "whole"
    assert read_metadata(tmp_path).input.preprocessing() == Preprocessing(framing=Framing.WHOLE)


def test_a_bundle_json_without_framing_means_centre_crops(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_bytes(b"graph")
    write_metadata(tmp_path, _metadata())
    document = json.loads((tmp_path / METADATA_FILE).read_text())
    del document["input"]["framing"]  # as bundles written before framing was recorded
    (tmp_path / METADATA_FILE).write_text(json.dumps(document))
    assert read_metadata(tmp_path).input.preprocessing().framing is Framing.CENTRE_CROP
