"""Reference distributions of a bundle: computed over a manifest split with the service's grading code, added to an
existing bundle without touching model.onnx, and recorded by every export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grading.bundle import MODEL_FILE, file_sha256, read_metadata
from grading.reference_distributions import REFERENCE_FILE, DriftMeasure, read_reference
from grading.vocabulary import Split
from tests.fixtures.drift_bundles import GARMENT_NAMES, SHIPPED_BUNDLE, bundle_with_garment_reference, garment_manifest
from training.cli import main

pytestmark = pytest.mark.slow


def test_a_bundle_gets_its_reference_and_keeps_its_model(tmp_path: Path) -> None:
    folder = bundle_with_garment_reference(tmp_path / "bundle")
    metadata = read_metadata(folder)  # every hash checks out, the reference's too
    assert metadata.files[MODEL_FILE] == file_sha256(SHIPPED_BUNDLE / MODEL_FILE)
    assert REFERENCE_FILE in metadata.files
    reference = read_reference(folder, metadata)
    assert reference is not None
    assert reference.items == reference.photos == len(GARMENT_NAMES)
    assert reference.bundle_version == metadata.version
    assert set(reference.overall) == set(DriftMeasure)
    assert sum(reference.overall[DriftMeasure.BRIGHTNESS].shares) == pytest.approx(1.0)
    assert "split validation" in reference.source


def test_the_command_adds_a_reference_and_refuses_an_empty_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bundle"
    shutil.copytree(SHIPPED_BUNDLE, folder)  # it has a reference already: the command replaces it
    manifest = garment_manifest(tmp_path / "garments.jsonl")
    command = ["model", "distributions", "--bundle", str(folder), "--manifest", str(manifest)]
    assert main([*command, "--split", "test"]) == 2
    assert "at least one" in capsys.readouterr().out
    assert main(command) == 0
    assert f"reference of {len(GARMENT_NAMES)} items" in capsys.readouterr().out
    assert json.loads((folder / "bundle.json").read_text())["files"][REFERENCE_FILE]


def test_export_records_the_reference_of_the_runs_validation_split(tmp_path: Path) -> None:
    from tests.fixtures.tiny_network import sample_photos, tiny_metadata, tiny_network
    from training.export import export_bundle

    photos = sample_photos()
    manifest = garment_manifest(tmp_path / "garments.jsonl", Split.VALIDATION)
    metadata = tiny_metadata().model_copy(update={"training_config": {"manifests": [str(manifest)]}})
    written = export_bundle(tiny_network(photos), metadata, tmp_path / "bundle", photos)
    assert REFERENCE_FILE in written.files
    reference = read_reference(tmp_path / "bundle", read_metadata(tmp_path / "bundle"))
    assert reference is not None and reference.items == len(GARMENT_NAMES)
    assert reference.bundle_version == "0.0.1"
