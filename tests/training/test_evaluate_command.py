"""`secondlook model evaluate` end to end on a real (untrained-heads) bundle and a generated manifest.

The fixtures `tiny_bundle` and `labelled_manifest` (tests/training/conftest.py) are made from `labelled_items`.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grading.inference import load_model
from grading.manifest import Defect, GradeLabel, Item, Photo, Source, read_manifest, write_manifest
from grading.vocabulary import Authenticity, DefectType, Grade, Split
from training.cli import main
from training.photo_targets import load_photo_target

SIZE = 256
COLOURS = {"cat-like": (150, 110, 80), "cup-like": (90, 120, 160), "rocket-like": (120, 150, 90), "hat": (60, 60, 60)}
SOURCE = Source(dataset="generated", license="CC0")


def _save_photo(folder: Path, name: str, colour: tuple[int, int, int], defect: tuple[int, int, int, int] | None):
    """A noisy textured photo; a defect is a dark patch at (x0, y0, x1, y1), returned with its mask file."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    pixels = np.clip(np.array(colour) + rng.normal(0, 18, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    mask_name = None
    if defect is not None:
        x0, y0, x1, y1 = defect
        pixels[y0:y1, x0:x1] = (25, 20, 15)
        mask = np.zeros((SIZE, SIZE), dtype=np.uint8)
        mask[y0:y1, x0:x1] = 255
        mask_name = f"{name}-mask.png"
        Image.fromarray(mask).save(folder / mask_name)
    Image.fromarray(pixels).save(folder / f"{name}.png")
    return f"{name}.png", mask_name


def _photo(folder: Path, name: str, colour, defect=None, defect_type=DefectType.STAIN, annotated=True) -> Photo:
    path, mask = _save_photo(folder, name, colour, defect)
    defects = [Defect(type=defect_type, mask=mask)] if mask else []
    return Photo(
        path=path,
        sha256=hashlib.sha256((folder / path).read_bytes()).hexdigest(),
        defects=defects if annotated else None,
    )


def labelled_items(folder: Path) -> list[Item]:
    """Ten test items with every kind of label, an unknown category, a two-photo item; one train item."""
    categories = ["cat-like", "cup-like", "rocket-like"] * 3 + ["hat"]
    grades = list(Grade)
    items = []
    for index, category in enumerate(categories):
        defect = (60 + 5 * index, 70, 150 + 5 * index, 170) if index % 2 == 0 else None
        kind = DefectType.STAIN if index % 4 == 0 else DefectType.HOLE
        photos = [_photo(folder, f"item{index}", COLOURS[category], defect, kind, annotated=index != 9)]
        if index == 3:
            photos.append(_photo(folder, "item3-back", COLOURS[category], (40, 40, 120, 200), DefectType.TEAR))
        items.append(
            Item(
                id=f"item{index}",
                photos=photos,
                category=category,
                grade=GradeLabel(value=grades[index % 5].value),
                authenticity=Authenticity.COUNTERFEIT if index % 3 == 0 else Authenticity.AUTHENTIC,
                product_line="af1" if index % 2 == 0 else "aj1",
                split=Split.TEST,
                source=SOURCE,
            )
        )
    train_photo = _photo(folder, "train0", COLOURS["cup-like"])
    items.append(
        Item(
            id="train0",
            photos=[train_photo],
            category="cup-like",
            authenticity=Authenticity.AUTHENTIC,
            product_line="af1",
            split=Split.TRAIN,
            source=SOURCE,
        )
    )
    return items


def _evaluate(bundle: Path, manifest: Path, out: Path, *extra: str) -> dict:
    code = main(["model", "evaluate", "--bundle", str(bundle), "--manifest", str(manifest), "--out", str(out), *extra])
    assert code == 0
    return json.loads((out / "metrics.json").read_text())


def _value(metrics: dict, section: str, name: str) -> dict:
    return metrics["sections"][section]["metrics"][name]


def _audit(manifest: Path, folder: Path, labels: dict[str, str]) -> Path:
    """An audit CSV for the named items' first photos (label 'damaged' names a stain)."""
    rows = ["sha256,split,category,file,label,damage,reason"]
    for item in read_manifest(manifest):
        if item.id in labels:
            damage = "stain" if labels[item.id] == "damaged" else ""
            rows.append(f"{item.photos[0].sha256},test,{item.category},{item.id},{labels[item.id]},{damage},looked")
    path = folder / "audit.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


AUDITED = {"item0": "damaged", "item1": "clean", "item3": "clean", "item5": "design", "item7": "unclear"}


@pytest.mark.slow
def test_evaluate_computes_every_section_and_writes_a_self_contained_report(tiny_bundle, labelled_manifest, tmp_path):
    audit = _audit(labelled_manifest, tmp_path, AUDITED)
    metrics = _evaluate(tiny_bundle, labelled_manifest, tmp_path / "out", "--audit", str(audit))
    tmp_path = tmp_path / "out"

    assert metrics["run"]["items"] == 10 and metrics["run"]["photos"] == 11  # the train item is not evaluated
    assert all(section["computed"] for section in metrics["sections"].values())
    assert _value(metrics, "category", "top1_accuracy")["n"] == 9  # the 'hat' item is counted, not scored
    assert metrics["sections"]["category"]["details"]["unknown_labels"] == {"hat": 1}
    assert any("hat (1)" in note for note in metrics["sections"]["category"]["notes"])
    assert _value(metrics, "defects", "pixel_auroc_any_defect")["n"] == 10 * 28 * 28  # item9's photo not annotated
    assert 0 <= _value(metrics, "defects", "pixel_auroc_any_defect")["value"] <= 1
    assert _value(metrics, "defects", "defect_type_accuracy")["n"] == 6
    assert metrics["sections"]["anomaly"]["details"] == {"threshold": 1.0, "defective": 6, "clean": 4}
    assert 0 <= _value(metrics, "anomaly", "image_auroc")["value"] <= 1
    assert _value(metrics, "grade", "quadratic_weighted_kappa")["n"] == 10
    assert 0 <= _value(metrics, "grade", "within_one_accuracy")["value"] <= 1
    assert _value(metrics, "authenticity", "auroc")["n"] == 10
    assert _value(metrics, "authenticity", "accuracy_at_10pct_abstain")["n"] == 9
    assert _value(metrics, "authenticity", "accuracy_at_30pct_abstain")["n"] == 7
    assert _value(metrics, "authenticity", "photo_auroc")["n"] == 11
    assert _value(metrics, "references", "af1_review_share")["n"] == 5  # train0 enrolled as af1's reference
    assert _value(metrics, "references", "af1_reference_auroc")["n"] == 5
    assert _value(metrics, "references", "aj1_reference_auroc")["value"] is None  # aj1 has no reference
    assert _value(metrics, "real_photos", "clean_false_alarm_rate")["n"] == 3  # unclear item7 left out
    assert _value(metrics, "real_photos", "design_false_alarm_rate")["n"] == 1
    assert _value(metrics, "real_photos", "damaged_found_rate")["n"] == 1
    assert _value(metrics, "detection", "photo_recall_at_thresholds")["n"] == 6
    assert _value(metrics, "detection", "photo_false_alarm_rate_at_thresholds")["n"] == 4

    report = (tmp_path / "report.html").read_text()
    assert report.count("src='data:image/png;base64,") >= 10
    assert "Headline" in report and "Worst errors" in report and "Skipped sections" not in report
    assert "what the counterfeit score looks at (occlusion)" in report
    assert "http://" not in report and "https://" not in report


@pytest.mark.slow
def test_category_accuracy_matches_running_the_bundle_directly(tiny_bundle, labelled_manifest, tmp_path):
    metrics = _evaluate(tiny_bundle, labelled_manifest, tmp_path)
    model = load_model(tiny_bundle)
    categories = model.metadata.labels.categories
    correct = []
    for item in _read_test_items(labelled_manifest):
        if item.category not in categories:
            continue
        pixels = np.stack(
            [load_photo_target(labelled_manifest, p, model.metadata.input.preprocessing()).pixels for p in item.photos]
        )
        mean = model.run(pixels).category_probs.mean(axis=0)
        correct.append(categories[int(mean.argmax())] == item.category)
    assert _value(metrics, "category", "top1_accuracy")["value"] == pytest.approx(np.mean(correct))


@pytest.mark.slow
def test_real_photo_section_matches_the_kiosk_grading_of_each_audited_photo(tiny_bundle, labelled_manifest, tmp_path):
    from grading.intake import load_photo
    from grading.item_grading import Channel, ItemFacts, PhotoEvidence, grade_item, split_outputs
    from grading.policy import default_policy_path, load_policy
    from grading.pricing import default_pricing_path, load_pricing
    from grading.vocabulary import View
    from training.evaluation.real_photo_section import PRICING_DATE

    audit = _audit(labelled_manifest, tmp_path, AUDITED)
    metrics = _evaluate(tiny_bundle, labelled_manifest, tmp_path / "out", "--audit", str(audit))
    model, policy, pricing = (
        load_model(tiny_bundle),
        load_policy(default_policy_path()),
        load_pricing(default_pricing_path()),
    )
    by_item = {row["item"]: row for row in metrics["sections"]["real_photos"]["details"]["photos"]}
    assert set(by_item) == {"item0", "item1", "item3", "item5"}
    for item in _read_test_items(labelled_manifest):
        if item.id not in by_item:
            continue
        data = (labelled_manifest.parent / item.photos[0].path).read_bytes()
        photo = load_photo(data, preprocessing=model.metadata.input.preprocessing())
        outputs = split_outputs(model.run(photo.pixels[None]))[0]
        facts = ItemFacts(channel=Channel.KIOSK, category=item.category)
        evidence = [PhotoEvidence("photo-1", View.UNSPECIFIED, photo, outputs)]
        result = grade_item(facts, evidence, model.metadata, policy, pricing, when=PRICING_DATE)
        assert (by_item[item.id]["grade"], by_item[item.id]["decision"]) == (result.grade.name, result.decision.value)


def test_a_bad_audit_file_exits_2_naming_the_line(tiny_bundle, labelled_manifest, tmp_path, capsys):
    audit = tmp_path / "bad.csv"
    audit.write_text("sha256,split,category,file,label,damage,reason\n" + "ab" * 32 + ",test,hat,x,dirty,,\n")
    code = main(
        ["model", "evaluate", "--bundle", str(tiny_bundle), "--manifest", str(labelled_manifest), "--audit", str(audit)]
    )
    assert code == 2
    assert f"{audit}:2: label 'dirty' is not one of clean, design, damaged, unclear" in capsys.readouterr().out


def _read_test_items(manifest: Path) -> list[Item]:
    return [item for item in read_manifest(manifest) if item.split == Split.TEST]


@pytest.mark.slow
def test_a_manifest_with_only_categories_skips_the_other_sections_with_reasons(tiny_bundle, tmp_path):
    photos = [_photo(tmp_path, f"p{i}", COLOURS["cup-like"], annotated=False) for i in range(3)]
    items = [
        Item(id=f"i{i}", photos=[p], category="cup-like", split=Split.TEST, source=SOURCE) for i, p in enumerate(photos)
    ]
    manifest = tmp_path / "categories.jsonl"
    write_manifest(items, manifest)
    metrics = _evaluate(tiny_bundle, manifest, tmp_path / "out", "--limit", "2")

    sections = metrics["sections"]
    assert sections["category"]["computed"] and _value(metrics, "category", "top1_accuracy")["n"] == 2
    for name in ("defects", "detection", "anomaly", "grade", "authenticity", "real_photos"):
        assert not sections[name]["computed"] and sections[name]["skipped_reason"]
    assert "Skipped sections" in (tmp_path / "out" / "report.html").read_text()


def _small_manifest(folder: Path, split: Split = Split.TEST) -> Path:
    photo = _photo(folder, "one", COLOURS["cup-like"])
    path = folder / "small.jsonl"
    write_manifest([Item(id="one", photos=[photo], split=split, source=SOURCE)], path)
    return path


def test_missing_bundle_exits_2_with_a_clear_message(tmp_path, capsys):
    manifest = _small_manifest(tmp_path)
    code = main(["model", "evaluate", "--bundle", str(tmp_path / "nowhere"), "--manifest", str(manifest)])
    assert code == 2
    output = capsys.readouterr()
    assert "not a model bundle" in output.out and "Traceback" not in output.out + output.err


def test_manifest_without_the_split_exits_2_naming_the_splits_it_has(tmp_path, capsys):
    manifest = _small_manifest(tmp_path, Split.TRAIN)
    code = main(["model", "evaluate", "--bundle", str(tmp_path), "--manifest", str(manifest), "--split", "validation"])
    assert code == 2
    assert "no items in split 'validation' (it has: train (1))" in capsys.readouterr().out


def test_missing_manifest_exits_2(tmp_path, capsys):
    code = main(["model", "evaluate", "--bundle", str(tmp_path), "--manifest", str(tmp_path / "none.jsonl")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().out
