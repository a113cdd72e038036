"""Confident thresholds raised on audited clean photos: the rule on numbers, then the command on a real bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grading.bundle import MODEL_FILE, read_metadata
from tests.training.test_evaluate_command import _audit
from training.cli import main
from training.confident_refit import raised_confident

PRESENCE = np.array([0.5, 0.5, 0.9])


def test_thresholds_rise_until_the_budget_holds_and_only_rise() -> None:
    peaks = np.array(
        [
            [0.70, 0.1, 0.1],  # a tear-like false alarm
            [0.75, 0.1, 0.1],
            [0.10, 0.6, 0.1],
            [0.10, 0.1, 0.95],
            *[[0.1, 0.1, 0.1]] * 6,
        ]
    )
    confident = np.array([0.6, 0.9, 0.5])
    raised = raised_confident(peaks, PRESENCE, confident, budget=0.1)  # one of ten may stay certain
    assert raised[0] == pytest.approx(0.75, abs=1e-6) and raised[0] > 0.75  # the first type moved past both
    assert raised[1] == 0.9  # its one peak (0.6) was below its threshold already
    assert raised[2] == 0.5  # the third type's photo is the one allowed
    assert (peaks >= np.maximum(PRESENCE, raised)).any(axis=1).sum() == 1
    assert np.all(raised >= confident)


def test_nothing_moves_when_the_clean_photos_are_within_budget() -> None:
    peaks = np.full((20, 3), 0.1)
    confident = np.array([0.6, 0.7, 0.8])
    assert np.array_equal(raised_confident(peaks, PRESENCE, confident, 0.01), confident)


@pytest.mark.slow
def test_the_command_writes_a_new_bundle_with_only_its_confident_thresholds_changed(
    tiny_bundle, labelled_manifest, tmp_path, capsys
) -> None:
    audit = _audit(labelled_manifest, tmp_path, {"item1": "clean", "item3": "clean", "item5": "design"})
    out = tmp_path / "refit"
    args = ["model", "confident", "--bundle", str(tiny_bundle), "--out", str(out), "--version", "0.0.2"]
    args += ["--manifest", str(labelled_manifest), "--split", "test", "--audit", str(audit), "--budget", "0"]
    assert main(args) == 0
    assert "audited clean test photos: 3" in capsys.readouterr().out
    old, new = read_metadata(tiny_bundle), read_metadata(out)
    assert new.version == "0.0.2" and new.files[MODEL_FILE] == old.files[MODEL_FILE]
    assert new.thresholds.defect_presence == old.thresholds.defect_presence
    before = old.thresholds.defect_confident
    assert all(new.thresholds.defect_confident[t] >= before.get(t, 0) for t in old.labels.defect_types)
    assert json.loads((out / "bundle.json").read_text())["training_config"]["confident_refit"]["clean_photos"] == 3
    assert main(args) == 2  # the folder is no longer empty: refused, nothing overwritten
    assert "exists and is not empty" in capsys.readouterr().out
