"""A run built on a bundle: condition heads read back from its ONNX graph, authenticity trained beside them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from grading.bundle import read_metadata
from grading.inference import load_model
from grading.intake import load_photo
from grading.manifest import read_manifest, resolve_photo_path, write_manifest
from tests.fixtures.labelled_items import write_labelled_manifest
from training.bundle_heads import BundleHeadsError, condition_calibration, condition_heads_from_bundle
from training.calibration import grade_bias_vector
from training.checkpoint import RunFolder
from training.cli import main
from training.export import GradingNetwork
from training.network import BackboneTaps

pytestmark = pytest.mark.slow

SETTINGS = ["augmented_copies=1", "workers=0", "bank_per_category=64", "bank_dims=16", "framing=whole"]
CONDITION_OUTPUTS = ("defect_probs", "anomaly_map", "category_probs", "grade_probs")


def _bundle(manifest: Path, root: Path, name: str, settings: list[str]) -> Path:
    run, bundle = root / f"{name}-run", root / name
    arguments = ["model", "train", "--no-progress", "--manifest", str(manifest), "--out", str(run)]
    assert main(arguments + [f"--set={s}" for s in SETTINGS + settings]) == 0
    assert main(["model", "calibrate", "--run", str(run)]) == 0
    assert main(["model", "export", "--run", str(run), "--out", str(bundle), "--name", name]) == 0
    return bundle


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("built-on")
    manifest = write_labelled_manifest(root / "data")
    shipped = _bundle(manifest, root, "shipped", ["epochs=2", "anomaly_bank_weight=0"])
    built_on = _bundle(manifest, root, "built-on", ["epochs=2", f"condition_from={shipped}"])
    return manifest, shipped, built_on


def _test_photos(manifest: Path) -> np.ndarray:
    items = [item for item in read_manifest(manifest) if item.split == "test"]
    data = [resolve_photo_path(manifest, item.photos[0].path).read_bytes() for item in items]
    return np.stack([load_photo(photo).pixels for photo in data])


def test_heads_read_back_from_the_graph_compute_what_the_bundle_computes(bundles) -> None:
    manifest, shipped, _ = bundles
    metadata = read_metadata(shipped)
    calibration = condition_calibration(metadata)
    network = GradingNetwork(
        BackboneTaps(pretrained=False),
        condition_heads_from_bundle(shipped).eval(),
        None,
        calibration["temperatures"],
        torch.tensor(calibration["anomaly_distance"]),
        torch.tensor(calibration["anomaly_bank_scale"]),
        0.0,
        grade_bias_vector(calibration["grade_bias"], len(metadata.labels.grades) - 1),
    ).eval()
    network.backbone.load_state_dict(BackboneTaps().state_dict())
    photos = _test_photos(manifest)
    expected = load_model(shipped).run(photos)
    with torch.inference_mode():
        actual = network(torch.from_numpy(photos))
    for name in CONDITION_OUTPUTS:
        assert np.abs(getattr(actual, name).numpy() - getattr(expected, name)).max() < 1e-4, name


def test_a_run_built_on_a_bundle_changes_no_condition_output_and_keeps_its_calibration(bundles) -> None:
    manifest, shipped, built_on = bundles
    photos = _test_photos(manifest)
    before, after = load_model(shipped), load_model(built_on)
    old, new = before.run(photos), after.run(photos)
    for name in CONDITION_OUTPUTS:
        assert np.abs(getattr(new, name) - getattr(old, name)).max() < 1e-4, name
    assert np.abs(new.counterfeit_prob - old.counterfeit_prob).max() > 1e-3  # the authenticity branch trained
    assert after.metadata.thresholds.defect_presence == before.metadata.thresholds.defect_presence
    assert after.metadata.calibration.grade_bias == before.metadata.calibration.grade_bias
    kept = {k: v for k, v in before.metadata.calibration.temperatures.items() if k != "counterfeit"}
    assert kept.items() <= after.metadata.calibration.temperatures.items()
    assert [source.name for source in after.metadata.training_data] == ["data", "data"]  # inherited first


def test_the_run_records_which_bundle_it_was_built_on(bundles) -> None:
    _, shipped, built_on = bundles
    run = built_on.parent / "built-on-run"
    source = json.loads((run / "checkpoint.json").read_text())["condition_from"]
    assert source["version"] == read_metadata(shipped).version
    assert source["model_sha256"] == read_metadata(shipped).files["model.onnx"]


def test_a_bundle_with_a_memory_bank_in_its_graph_cannot_be_built_on(tmp_path: Path) -> None:
    manifest = write_labelled_manifest(tmp_path / "data")
    banked = _bundle(manifest, tmp_path, "banked", ["epochs=1"])  # anomaly_bank_weight 0.25 by default
    with pytest.raises(BundleHeadsError, match="retrain from the manifests"):
        condition_heads_from_bundle(banked)


def test_data_with_a_category_the_bundle_lacks_is_refused(bundles, tmp_path: Path, capsys) -> None:
    _, shipped, _ = bundles
    manifest = write_labelled_manifest(tmp_path / "data", items_per_category=4)
    items = [item.model_copy(update={"category": "dress"}) for item in read_manifest(manifest)]
    write_manifest(items, manifest)
    arguments = ["model", "train", "--no-progress", "--manifest", str(manifest), "--out", str(tmp_path / "run")]
    assert main([*arguments, f"--set=condition_from={shipped}", "--set=workers=0", "--set=framing=whole"]) == 2
    assert "has no category dress" in capsys.readouterr().out


def test_calibrating_without_validation_photos_says_how_to_get_them(tmp_path: Path, capsys) -> None:
    manifest = write_labelled_manifest(tmp_path / "data", items_per_category=6)
    assert all(item.split != "validation" for item in read_manifest(manifest))
    arguments = ["model", "train", "--no-progress", "--manifest", str(manifest), "--out", str(tmp_path / "run")]
    assert main(arguments + [f"--set={s}" for s in SETTINGS] + ["--set=epochs=1"]) == 0
    assert main(["model", "calibrate", "--run", str(tmp_path / "run")]) == 2
    assert "no validation photos to calibrate on" in capsys.readouterr().out


def _condition_state(heads) -> dict[str, torch.Tensor]:
    return {k: v for k, v in heads.state_dict().items() if not k.startswith(("authenticity", "auth_", "counterfeit"))}


def test_heads_from_starts_from_the_bundle_and_keeps_its_fused_norms(bundles, tmp_path: Path) -> None:
    """At learning rate 0 nothing may move: a BatchNorm left in training mode would replace the fused identity
    with batch statistics (its running mean and variance would change) and undo what the bundle learnt."""
    manifest, shipped, _ = bundles
    run = tmp_path / "still"
    arguments = ["model", "train", "--no-progress", "--manifest", str(manifest), "--out", str(run)]
    settings = [*SETTINGS, "epochs=1", f"heads_from={shipped}", "learning_rate=0"]
    assert main(arguments + [f"--set={s}" for s in settings]) == 0
    trained = _condition_state(RunFolder(run).load_heads())
    for name, value in _condition_state(condition_heads_from_bundle(shipped)).items():
        assert torch.equal(trained[name], value), name
    source = json.loads((run / "checkpoint.json").read_text())["heads_from"]
    assert source["version"] == read_metadata(shipped).version and "calibration" not in source


def test_heads_from_goes_on_learning_and_calibrates_anew(bundles, tmp_path: Path) -> None:
    manifest, shipped, _ = bundles
    run, bundle = tmp_path / "run", tmp_path / "next"
    arguments = ["model", "train", "--no-progress", "--manifest", str(manifest), "--out", str(run)]
    assert main(arguments + [f"--set={s}" for s in [*SETTINGS, "epochs=1", f"heads_from={shipped}"]]) == 0
    trained = _condition_state(RunFolder(run).load_heads())
    start = _condition_state(condition_heads_from_bundle(shipped))
    assert any(not torch.equal(trained[name], value) for name, value in start.items() if value.is_floating_point())
    assert main(["model", "calibrate", "--run", str(run)]) == 0
    assert main(["model", "export", "--run", str(run), "--out", str(bundle), "--name", "next"]) == 0
    calibration = json.loads((run / "checkpoint.json").read_text())["calibration"]
    assert "kept from bundle" not in calibration["defect_rule"]  # fitted on this run's validation photos
    assert read_metadata(bundle).training_config["heads_from"] == str(shipped)
