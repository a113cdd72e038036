"""The wear head: the pools it reads, the regression it fits, its thresholds, and the command on a real bundle."""

from __future__ import annotations

import csv
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from grading.bundle import MODEL_FILE, read_metadata
from grading.inference import load_model
from grading.manifest import REVIEW_DATASET, GradeLabel, Item, Photo, Source, read_manifest
from grading.network_outputs import INPUT_NAME, OUTPUT_NAMES
from tests.fixtures.labelled_items import write_labelled_manifest
from training.audit import AuditEntry, AuditLabel
from training.backbone import BackboneVariant, create_backbone, normalise
from training.cli import main
from training.wear_head import (
    POOLED_OUTPUT,
    WearHeadError,
    fit_wear_probe,
    wear_label,
    wear_thresholds,
    with_pooled_features,
    with_wear_head,
)
from training.wear_refit import auroc


def test_the_probe_separates_what_it_was_fitted_on_and_refuses_one_class() -> None:
    rng = np.random.default_rng(0)
    worn = np.arange(200) % 2 == 1
    features = rng.normal(size=(200, 5)) * [1, 1, 1, 1, 50] + 100
    features[:, 0] += 2.0 * worn  # one informative column among noise, on another scale
    probe = fit_wear_probe(features, worn, l2=1.0)
    assert auroc(probe.probability(features), worn) > 0.8
    assert abs(probe.weights[0]) > 5 * np.abs(probe.weights[1:]).max()
    with pytest.raises(WearHeadError, match="both clean and worn"):
        fit_wear_probe(features, np.zeros(200, dtype=bool))


def test_thresholds_keep_to_their_false_alarm_budgets() -> None:
    clean = np.linspace(0.0, 0.5, 100)
    worn_scores = np.linspace(0.3, 1.0, 50)
    scores, worn = np.concatenate([clean, worn_scores]), np.r_[np.zeros(100, bool), np.ones(50, bool)]
    presence, confident = wear_thresholds(scores, worn, (0.10, 0.01))
    assert (clean >= presence).mean() <= 0.10 and (clean >= confident).mean() <= 0.01
    assert presence <= confident
    assert auroc(np.array([0.1, 0.9, 0.5, 0.5]), np.array([False, True, False, True])) == 0.875


@pytest.mark.slow
def test_the_pools_are_the_frozen_imagenet_maps_and_the_head_is_the_fitted_regression(tiny_bundle) -> None:
    pooled = with_pooled_features(onnx.load(str(tiny_bundle / MODEL_FILE)))
    session = ort.InferenceSession(pooled.SerializeToString(), providers=["CPUExecutionProvider"])
    photos = np.random.default_rng(1).integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    features = session.run([POOLED_OUTPUT], {INPUT_NAME: photos})[0]
    with torch.inference_mode():
        maps = create_backbone(BackboneVariant.FEATURES)(normalise(torch.from_numpy(photos)))[2:]
        expected = torch.cat([m.clamp(min=1e-6).pow(3).mean((2, 3)).pow(1 / 3) for m in maps], dim=1).numpy()
    assert features.shape == (3, 112 + 320)
    np.testing.assert_allclose(features, expected, rtol=1e-3, atol=1e-4)

    probe = fit_wear_probe(features.astype(np.float64), np.array([True, False, True]), l2=10.0)
    head = ort.InferenceSession(with_wear_head(pooled, probe).SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = [output.name for output in head.get_outputs()]
    assert outputs == [*OUTPUT_NAMES, "wear_prob"]
    np.testing.assert_allclose(head.run(["wear_prob"], {INPUT_NAME: photos})[0], probe.probability(features), atol=1e-5)
    with pytest.raises(WearHeadError, match="already has a wear head"):
        with_pooled_features(with_wear_head(pooled, probe))


def _shoe_audit(manifest, folder):
    """Every shoes photo audited: stained ones as worn, the rest clean."""
    path = folder / "audit.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["sha256", "split", "category", "file", "label", "damage", "reason"])
        for item in read_manifest(manifest):
            if item.category == "shoes":
                worn = bool(item.photos[0].defects)
                label, damage = ("damaged", "dirt") if worn else ("clean", "")
                writer.writerow([item.photos[0].sha256, item.split.value, "shoes", item.id, label, damage, "looked"])
    return path


@pytest.mark.slow
def test_the_command_appends_the_head_and_leaves_every_other_output_alone(tiny_bundle, tmp_path, capsys) -> None:
    manifest = write_labelled_manifest(tmp_path / "photos")
    audit = _shoe_audit(manifest, tmp_path)
    out = tmp_path / "worn"
    args = ["model", "wear", "--bundle", str(tiny_bundle), "--out", str(out), "--version", "0.0.3"]
    args += ["--manifest", str(manifest), "--audit", str(audit)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "fitted on 9 audited train and validation photos of shoes (4 worn)" in printed
    assert "out of fold (5 folds by group): AUROC" in printed
    new, old = read_metadata(out), read_metadata(tiny_bundle)
    assert new.version == "0.0.3" and new.outputs == [*old.outputs, "wear_prob"]
    assert 0 < new.thresholds.wear_presence <= new.thresholds.wear_confident < 1
    note = json.loads((out / "bundle.json").read_text())["training_config"]["wear_head"]
    assert (note["photos"], note["worn"], note["budgets"]) == (9, 4, [0.03, 0.01])
    photos = np.random.default_rng(2).integers(0, 256, (2, 224, 224, 3), dtype=np.uint8)
    before, after = load_model(tiny_bundle).run(photos), load_model(out).run(photos)
    assert before.wear_prob is None and after.wear_prob.shape == (2,)
    assert all(np.array_equal(getattr(before, name), getattr(after, name)) for name in OUTPUT_NAMES)

    assert main(args) == 2  # the folder is no longer empty: refused, nothing overwritten
    assert "exists and is not empty" in capsys.readouterr().out
    again = [*args[:3], str(out), "--out", str(tmp_path / "twice"), *args[6:]]
    assert main(again) == 2
    assert "already has a wear head" in capsys.readouterr().out


def _item(dataset: str, grade: str | None, sha: str, scale: str = "secondlook-8") -> tuple[Item, Photo]:
    photo = Photo(path="a.jpg", sha256=sha)
    label = None if grade is None else GradeLabel(scale=scale, value=grade)
    return Item(
        id="i", photos=[photo], category="shoes", grade=label, source=Source(dataset=dataset, license="x")
    ), photo


def test_a_wear_label_comes_from_the_audit_or_else_from_a_reviewers_grade() -> None:
    audits = {
        "a" * 64: AuditEntry("a" * 64, AuditLabel.DAMAGED, ("crease",), "creased"),
        "b" * 64: AuditEntry("b" * 64, AuditLabel.UNCLEAR, (), "dark"),
    }
    assert wear_label(*_item("sneakers-auth", None, "a" * 64), audits) is True
    assert wear_label(*_item(REVIEW_DATASET, "like_new", "b" * 64), audits) is None  # the audit wins: unclear
    reviewed = {
        grade: wear_label(*_item(REVIEW_DATASET, grade, "c" * 64), audits)
        for grade in ("like_new", "excellent", "good")
    }
    assert reviewed == {"like_new": False, "excellent": None, "good": True}
    assert wear_label(*_item("composited", "good", "c" * 64), audits) is None  # only a reviewer's grade counts
    assert wear_label(*_item(REVIEW_DATASET, "good", "c" * 64, scale="a-b-c"), audits) is None
