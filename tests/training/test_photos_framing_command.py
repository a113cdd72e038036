"""`secondlook photos framing` trains, exports and records the framing network; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from grading.manifest import write_manifest
from grading.photo_framing import FRAMING_CLASSES, framing_probabilities
from grading.vocabulary import Split
from tests.fixtures.photo_sets import simple_items
from training.cli import main


def write_items(folder: Path, split: Split, count: int) -> Path:
    manifest = folder / "manifest.jsonl"
    write_manifest(simple_items(folder, count, split), manifest)
    return manifest


def test_a_short_run_writes_a_working_model_and_its_record(tmp_path: Path, capsys) -> None:
    manifest = write_items(tmp_path, Split.TRAIN, 12)
    out = tmp_path / "framing"
    assert main(["photos", "framing", str(manifest), "--out", str(out), "--epochs", "1"]) == 0
    record = json.loads((out / "framing.json").read_text())
    assert record["classes"] == list(FRAMING_CLASSES) and record["trained_on"]["photos"] == 12
    assert record["parity_max_abs"] < 1e-4
    for measure in ("badly_framed", "smeared"):
        assert set(record["held_back"][measure]["threshold_refusing"]) == {"0.5%", "1.0%", "2.0%"}
    probabilities = framing_probabilities(np.zeros((2, 56, 56, 3), np.uint8), out / "framing.onnx")
    assert probabilities.shape == (2, 4) and np.allclose(probabilities.sum(1), 1, atol=1e-5)
    printed = capsys.readouterr().out
    assert "badly_framed: AUROC whole vs its copies" in printed and "smeared_at_most" in printed


def test_a_manifest_without_train_photos_exits_2_saying_to_split_it(tmp_path: Path, capsys) -> None:
    manifest = write_items(tmp_path, Split.TEST, 3)
    assert main(["photos", "framing", str(manifest), "--out", str(tmp_path / "out")]) == 2
    assert "split it first" in capsys.readouterr().out
