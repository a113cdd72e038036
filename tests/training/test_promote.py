"""Promotion gate: a bundle is replaced only when no recorded metric gets worse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grading.bundle import BundleMetadata, Labels, write_metadata
from training.cli import main
from training.commands.model_promote import metric_regressions


def fake_bundle(folder: Path, version: str, metrics: dict[str, float | None]) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(version.encode())
    labels = Labels(defect_types=["stain"], categories=["shirt"], grades=["good"], grade_scale="s")
    write_metadata(folder, BundleMetadata(name="b", version=version, created="now", labels=labels, metrics=metrics))
    return folder


def test_regressions_respect_direction_and_missing_metrics() -> None:
    current = {"a.top1": 0.9, "a.expected_calibration_error": 0.05, "b.kappa": 0.8, "c.gone": 0.5, "d.none": None}
    candidate = {"a.top1": 0.897, "a.expected_calibration_error": 0.08, "b.kappa": 0.85}
    assert metric_regressions(current, candidate) == [
        "a.expected_calibration_error: 0.0500 -> 0.0800",
        "c.gone: 0.5000 -> missing",
    ]


def test_fewer_false_alarms_at_the_threshold_is_no_regression() -> None:
    current = {"anomaly.false_alarm_rate_at_threshold": 0.99}
    assert metric_regressions(current, {"anomaly.false_alarm_rate_at_threshold": 0.58}) == []
    assert metric_regressions(current | {"x": 0.1}, {"anomaly.false_alarm_rate_at_threshold": 0.999, "x": 0.1}) == [
        "anomaly.false_alarm_rate_at_threshold: 0.9900 -> 0.9990"
    ]


def test_a_worse_candidate_is_refused_and_a_better_one_replaces(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = fake_bundle(tmp_path / "shipped", "1", {"x.top1": 0.9})
    worse = fake_bundle(tmp_path / "worse", "2", {"x.top1": 0.8})
    better = fake_bundle(tmp_path / "better", "3", {"x.top1": 0.95})
    assert main(["model", "promote", "--candidate", str(worse), "--target", str(target)]) == 1
    assert "x.top1: 0.9000 -> 0.8000" in capsys.readouterr().out
    assert main(["model", "promote", "--candidate", str(better), "--target", str(target)]) == 0
    assert json.loads((target / "bundle.json").read_text())["version"] == "3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["better", "shipped", "worse"]


@pytest.mark.parametrize(
    "name",
    [
        "clothing.real_photos.clean_false_alarm_rate",
        "clothing.real_photos.clean_below_very_good_listed_rate",
        "clothing.real_photos.clean_review_rate",
        "clothing.real_photos.clean_underpaid_rate",
        "clothing.real_photos.clean_counted_defect_rate",
    ],
)
def test_more_wrong_decisions_on_clean_real_photos_is_a_regression(name: str) -> None:
    assert metric_regressions({name: 0.10}, {name: 0.20}) == [f"{name}: 0.1000 -> 0.2000"]
    assert metric_regressions({name: 0.20}, {name: 0.10}) == []
