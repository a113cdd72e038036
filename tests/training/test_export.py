"""Export: one ONNX graph with preprocessing inside, named outputs, parity with torch, hash-checked bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from grading.bundle import BundleError, read_metadata
from grading.inference import load_model
from grading.network_outputs import OUTPUT_NAMES
from tests.fixtures.tiny_network import sample_photos, tiny_metadata, tiny_network
from training import export
from training.export import PARITY_TOLERANCE, ExportParityError, check_parity, export_bundle

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    photos = sample_photos()
    folder = tmp_path_factory.mktemp("bundle")
    export_bundle(tiny_network(photos), tiny_metadata(), folder, photos)
    return folder, photos


def test_bundle_records_parity_and_hashes(exported: tuple[Path, np.ndarray]) -> None:
    folder, _ = exported
    metadata = read_metadata(folder)
    assert set(metadata.parity) == set(OUTPUT_NAMES)
    assert max(metadata.parity.values()) <= PARITY_TOLERANCE
    assert set(metadata.files) == {"model.onnx"}


def test_onnx_graph_takes_uint8_photos_and_names_every_output(exported: tuple[Path, np.ndarray]) -> None:
    folder, photos = exported
    model = load_model(folder)
    assert [i.name for i in model.session.get_inputs()] == ["photos"]
    assert [o.name for o in model.session.get_outputs()] == list(OUTPUT_NAMES)
    outputs = model.run(photos[:3])
    assert outputs.defect_probs.shape[:2] == (3, 13)
    np.testing.assert_allclose(outputs.grade_probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(outputs.category_probs.sum(axis=1), 1.0, atol=1e-5)


def test_photos_in_the_memory_bank_score_lower_than_unseen_ones(exported: tuple[Path, np.ndarray]) -> None:
    folder, photos = exported
    flipped = np.ascontiguousarray(photos[:, ::-1, :, :])  # upside-down photos were never in the bank
    model = load_model(folder)
    assert model.run(photos).anomaly_score.mean() < model.run(flipped).anomaly_score.mean()


def test_parity_check_fails_loudly_when_the_graph_differs(exported: tuple[Path, np.ndarray]) -> None:
    folder, photos = exported
    network = tiny_network(photos)
    network.temperatures[0] = 0.1  # torch side now computes different category probabilities
    with pytest.raises(ExportParityError, match="category_probs"):
        check_parity(network, folder, photos, read_metadata(folder))


def test_an_altered_model_file_is_refused(exported: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    folder, _ = exported
    copy = tmp_path / "bundle"
    copy.mkdir()
    for path in folder.iterdir():
        copy.joinpath(path.name).write_bytes(path.read_bytes())
    with copy.joinpath("model.onnx").open("ab") as model_file:
        model_file.write(b"\0")
    with pytest.raises(BundleError, match="altered"):
        load_model(copy)


def test_a_bundle_without_metadata_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"bundle\.json is missing"):
        read_metadata(tmp_path)


def test_bundle_json_is_plain_readable_json(exported: tuple[Path, np.ndarray]) -> None:
    folder, _ = exported
    document = json.loads((folder / "bundle.json").read_text())
    assert document["labels"]["categories"] == ["cat-like", "cup-like", "rocket-like"]
    assert document["input"]["dtype"] == "uint8"


def _failing_parity(*_: object) -> dict[str, float]:
    raise ExportParityError("torch and ONNX Runtime differ (forced by the test)")


def test_a_failed_parity_check_leaves_no_loadable_bundle(
    exported: tuple[Path, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, photos = exported
    monkeypatch.setattr(export, "check_parity", _failing_parity)
    target = tmp_path / "bundle"
    with pytest.raises(ExportParityError):
        export_bundle(tiny_network(photos), tiny_metadata(), target, photos)
    with pytest.raises(BundleError):
        read_metadata(target)
    assert list(tmp_path.iterdir()) == []  # no half-written bundle, no staging folder left beside it


def test_a_failed_export_keeps_the_previous_bundle(
    exported: tuple[Path, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, photos = exported
    target = shutil.copytree(folder, tmp_path / "bundle")
    before = {path.name: path.read_bytes() for path in target.iterdir()}
    monkeypatch.setattr(export, "check_parity", _failing_parity)
    network = tiny_network(photos)
    network.temperatures[0] = 0.1  # a different model: its files would differ from the previous bundle's
    with pytest.raises(ExportParityError):
        export_bundle(network, tiny_metadata().model_copy(update={"version": "0.0.2"}), target, photos)
    assert {path.name: path.read_bytes() for path in target.iterdir()} == before
    assert read_metadata(target).version == "0.0.1" and sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_export_replaces_a_previous_bundle(exported: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    folder, photos = exported
    target = shutil.copytree(folder, tmp_path / "bundle")
    export_bundle(tiny_network(photos), tiny_metadata().model_copy(update={"version": "0.0.2"}), target, photos)
    assert read_metadata(target).version == "0.0.2" and sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
    load_model(target)


def test_export_refuses_a_folder_that_holds_something_else(exported: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    _, photos = exported
    tmp_path.joinpath("notes.txt").write_text("not a bundle")
    with pytest.raises(ValueError, match="not a model bundle"):
        export_bundle(tiny_network(photos), tiny_metadata(), tmp_path, photos)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_grade_bias_and_a_bank_weight_of_zero_are_folded_into_the_graph(
    exported: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    """The calibrated grade bias shifts the exported grade probabilities; weight 0 leaves the bank out."""
    import torch

    from training.calibration import grade_bias_vector
    from training.network import corn_probabilities

    photos = sample_photos()
    plain = tiny_network(photos)
    shifted = export.GradingNetwork(
        plain.backbone,
        plain.heads,
        plain.memory,
        {"category": 1.5},
        plain.anomaly_distance,
        None,
        0.0,
        grade_bias_vector(-1.0, 7),
    ).eval()
    export_bundle(shifted, tiny_metadata(), tmp_path / "bundle", photos)
    outputs = load_model(tmp_path / "bundle").run(photos)
    with torch.inference_mode():
        logits = plain.heads(plain.backbone(export.normalise(torch.from_numpy(photos)))).grade_logits
    expected = corn_probabilities(logits + grade_bias_vector(-1.0, 7)).numpy()
    assert np.abs(outputs.grade_probs - expected).max() < 1e-4
    import onnx

    def bank_tensors(folder: Path) -> list[str]:
        names = [tensor.name for tensor in onnx.load(folder / "model.onnx").graph.initializer]
        return [name for name in names if name.startswith("memory.")]

    assert bank_tensors(exported[0]) and not bank_tensors(tmp_path / "bundle")
