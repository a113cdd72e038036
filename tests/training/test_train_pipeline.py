"""train -> calibrate -> export -> load, end to end on a tiny generated manifest with every kind of label."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tqdm import tqdm

from grading.inference import load_model
from grading.intake import Framing, load_photo
from grading.manifest import read_manifest, resolve_photo_path
from tests.fixtures.labelled_items import write_labelled_manifest
from training import feature_cache, trainer
from training.cli import build_parser, main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("pipeline")
    manifest = write_labelled_manifest(root / "data")
    run = root / "run"
    settings = ["epochs=3", "augmented_copies=1", "workers=0", "bank_per_category=64", "bank_dims=16", "framing=whole"]
    arguments = ["model", "train", "--manifest", str(manifest), "--out", str(run)]
    assert main(arguments + [f"--set={s}" for s in settings]) == 0
    return manifest, run


def test_training_writes_a_checkpoint_with_its_resolved_config(trained_run: tuple[Path, Path]) -> None:
    _, run = trained_run
    assert {"config.yaml", "heads.pt", "memory_bank.pt", "checkpoint.json", "last.pt"} <= {
        p.name for p in run.iterdir()
    }
    metadata = json.loads((run / "checkpoint.json").read_text())
    assert metadata["labels"]["categories"] == ["pants", "shirt", "shoes"]
    assert len(metadata["history"]) == 3 and "train_defects" in metadata["history"][0]
    assert "epochs: 3" in (run / "config.yaml").read_text()


def test_resume_continues_from_the_last_epoch(trained_run: tuple[Path, Path], capsys: pytest.CaptureFixture) -> None:
    manifest, run = trained_run
    arguments = ["model", "train", "--manifest", str(manifest), "--out", str(run), "--resume"]
    assert (
        main([*arguments, "--set=epochs=4", "--set=augmented_copies=1", "--set=workers=0", "--set=bank_dims=16"]) == 2
    )
    assert "framing=whole" in capsys.readouterr().out  # heads trained on whole photos never see centre crops
    settings = ["--set=epochs=4", "--set=augmented_copies=1", "--set=workers=0", "--set=bank_dims=16"]
    assert main([*arguments, *settings, "--set=framing=whole"]) == 0
    history = json.loads((run / "checkpoint.json").read_text())["history"]
    assert [entry["epoch"] for entry in history] == [1, 2, 3, 4]


def test_export_before_calibration_says_what_to_run(trained_run: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    _, run = trained_run
    checkpoint = json.loads((run / "checkpoint.json").read_text())
    if "calibration" in checkpoint:
        pytest.skip("already calibrated by an earlier test in this module")
    assert main(["model", "export", "--run", str(run), "--out", str(tmp_path / "b")]) == 2
    assert "model calibrate" in capsys.readouterr().out


def test_calibrate_then_export_gives_a_bundle_the_grading_library_runs(
    trained_run: tuple[Path, Path], tmp_path: Path
) -> None:
    manifest, run = trained_run
    assert main(["model", "calibrate", "--run", str(run)]) == 0
    calibration = json.loads((run / "checkpoint.json").read_text())["calibration"]
    assert set(calibration["temperatures"]) == {"category", "defects", "grade", "counterfeit"}
    assert len(calibration["anomaly_distance"]) == len(calibration["anomaly_bank_scale"]) == 3
    assert all(scale > 0 for scale in calibration["anomaly_bank_scale"]) and calibration["anomaly_bank_weight"] == 0.25
    bundle = tmp_path / "bundle"
    assert main(["model", "export", "--run", str(run), "--out", str(bundle), "--version", "0.0.1"]) == 0
    model = load_model(bundle)
    items = [item for item in read_manifest(manifest) if item.split == "test"]
    photos = np.stack([load_photo(resolve_photo_path(manifest, i.photos[0].path).read_bytes()).pixels for i in items])
    outputs = model.run(photos)
    assert outputs.category_probs.shape == (len(items), 3)
    assert model.metadata.version == "0.0.1" and model.metadata.training_data[0].license == "CC0-1.0"
    assert model.metadata.calibration.anomaly_bank_weight == 0.25
    assert model.metadata.input.framing is Framing.WHOLE  # the run's framing (not the default), so service frames alike
    assert len(model.metadata.calibration.anomaly_bank_scale_per_category) == 3


def test_missing_splits_are_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    manifest = write_labelled_manifest(tmp_path / "data", items_per_category=2)
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    manifest.write_text("".join(json.dumps({k: v for k, v in line.items() if k != "split"}) + "\n" for line in lines))
    assert main(["model", "train", "--manifest", str(manifest), "--out", str(tmp_path / "run")]) == 2
    assert "data split" in capsys.readouterr().out


def test_unknown_config_key_lists_the_valid_ones(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["model", "train", "--set", "epoch=3", "--out", str(tmp_path)]) == 2
    assert "valid keys" in capsys.readouterr().out


def test_no_progress_silences_the_feature_caching_and_epoch_bars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    assert build_parser().parse_args(["model", "train"]).no_progress is False  # bars stay on by default
    disabled: list[bool] = []

    def recording_tqdm(*args: object, **kwargs: object) -> tqdm:
        disabled.append(bool(kwargs.get("disable", False)))
        return tqdm(*args, **kwargs)

    monkeypatch.setattr(feature_cache, "tqdm", recording_tqdm)
    monkeypatch.setattr(trainer, "tqdm", recording_tqdm)
    manifest = write_labelled_manifest(tmp_path / "data", items_per_category=7)
    settings = ["epochs=1", "augmented_copies=0", "workers=0", "bank_per_category=16", "bank_dims=8"]
    arguments = ["model", "train", "--no-progress", "--manifest", str(manifest), "--out", str(tmp_path / "run")]
    assert main(arguments + [f"--set={s}" for s in settings]) == 0
    assert disabled == [True] * 4  # train features, validation features, the epoch's two streams
    assert "%|" not in capsys.readouterr().err  # no bar drawn


def test_product_lines_are_learned_from_train_and_an_excluded_line_is_left_out(tmp_path: Path) -> None:
    from grading.manifest import read_manifest, write_manifest
    from training.config import load_config
    from training.trainer import load_training_set

    manifest = write_labelled_manifest(tmp_path / "data", items_per_category=6)
    items = read_manifest(manifest)
    lined = [item.model_copy(update={"product_line": ("af1", "aj1")[n % 2]}) for n, item in enumerate(items)]
    write_manifest(lined, manifest)
    everything = load_training_set(load_config(overrides=[f"manifests=[{manifest}]"]))
    assert everything.product_lines == ["af1", "aj1"]
    held_out = load_training_set(load_config(overrides=[f"manifests=[{manifest}]", "exclude_product_lines=[aj1]"]))
    assert held_out.product_lines == ["af1"]
    kept = [ref.item.product_line for refs in held_out.refs.values() for ref in refs]
    assert kept and set(kept) == {"af1"}


def test_authenticity_only_photos_leave_the_condition_stream_as_it_was(tmp_path: Path) -> None:
    """Adding photos labelled only for authenticity changes neither the condition stream's rows nor its order."""
    import torch

    from grading.vocabulary import DefectType, Grade
    from training.config import load_config
    from training.feature_cache import CachedFeatures
    from training.network import GradingHeads
    from training.trainer import Streams

    def cache(extra: int) -> CachedFeatures:
        count = 6 + extra
        labelled = torch.tensor([-1] * 6 + [1] * extra)
        empty = torch.zeros(count)
        annotated = torch.tensor([True] * 6 + [False] * extra)
        grade = torch.tensor([2] * 6 + [-1] * extra)
        return CachedFeatures(*[empty] * 4, grade, labelled, annotated, *[empty] * 4, labelled.clamp(max=0))

    heads = GradingHeads(len(DefectType), num_categories=2, num_grades=len(Grade), pretrained=False)
    config = load_config()
    without, with_sneakers = Streams.of(cache(0), heads, config), Streams.of(cache(5), heads, config)
    assert with_sneakers.condition_rows.tolist() == without.condition_rows.tolist() == list(range(6))
    assert with_sneakers.authenticity_rows.tolist() == [6, 7, 8, 9, 10]
