"""Defect compositing on generated garment photos: masks, placement, severity, grades, determinism."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from grading.manifest import Item, Photo, Source, read_manifest, resolve_photo_path, write_manifest
from grading.vocabulary import DefectType, Grade
from training.cli import main
from training.compositing.design_elements import ELEMENTS
from training.compositing.foreground import ForegroundError, garment_foreground
from training.compositing.grade_rule import grade_for
from training.compositing.painters import PAINTERS
from training.compositing.severity import severity


def garment_photo(seed: int = 0) -> np.ndarray:
    """A blue shirt-like shape on a noisy wooden-floor-like background, 240x320."""
    rng = np.random.default_rng(seed)
    floor = (np.array([150, 110, 70]) + rng.normal(0, 12, (240, 320, 3))).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(floor)
    draw = ImageDraw.Draw(image)
    draw.polygon(
        [(110, 40), (210, 40), (260, 90), (230, 110), (220, 210), (100, 210), (90, 110), (60, 90)], (40, 70, 160)
    )
    return np.asarray(image)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return garment_photo()


def test_foreground_finds_the_garment_not_the_floor(photo: np.ndarray) -> None:
    foreground = garment_foreground(photo)
    assert foreground.mask[120, 160] and not foreground.mask[10, 10]
    assert 0.2 < foreground.mask.mean() < 0.5
    assert (foreground.placeable <= foreground.mask).all() and foreground.placeable.sum() < foreground.area


def test_an_empty_photo_has_no_usable_garment() -> None:
    with pytest.raises(ForegroundError, match="covers"):
        garment_foreground(np.full((120, 160, 3), 128, np.uint8))


@pytest.mark.parametrize("kind", list(PAINTERS))
def test_each_defect_changes_pixels_only_on_the_garment(photo: np.ndarray, kind: DefectType) -> None:
    foreground = garment_foreground(photo)
    before = photo.astype(np.float32) / 255
    defect = PAINTERS[kind](before, foreground, np.random.default_rng(1))
    assert defect.type is kind and defect.mask.sum() > 4
    assert (defect.mask <= foreground.mask).all()
    changed = np.abs(defect.image - before).max(axis=2) > 2 / 255
    assert changed[~foreground.mask].sum() == 0
    assert 0.0 <= severity(defect, before, foreground) <= 1.0


@pytest.mark.parametrize("painter", ELEMENTS, ids=lambda painter: painter.__name__)
def test_each_design_element_paints_only_on_the_garment(photo: np.ndarray, painter) -> None:
    foreground = garment_foreground(photo)
    before = photo.astype(np.float32) / 255
    after = painter(before, foreground, np.random.default_rng(3))
    changed = np.abs(after - before).max(axis=2) > 2 / 255
    assert changed.sum() > 4 and changed[~foreground.mask].sum() == 0
    assert after.dtype == np.float32 and after.min() >= 0 and after.max() <= 1


def test_severity_grows_with_size(photo: np.ndarray) -> None:
    foreground = garment_foreground(photo)
    before = photo.astype(np.float32) / 255
    stains = [PAINTERS[DefectType.STAIN](before, foreground, np.random.default_rng(seed)) for seed in range(12)]
    ordered = sorted(stains, key=lambda s: s.mask.sum())
    small, large = ordered[:3], ordered[-3:]
    assert np.mean([severity(s, before, foreground) for s in small]) < np.mean(
        [severity(s, before, foreground) for s in large]
    )


@pytest.mark.parametrize(
    ("defects", "grade"),
    [
        ([], Grade.LIKE_NEW),
        ([(DefectType.STAIN, 0.1)], Grade.EXCELLENT),
        ([(DefectType.STAIN, 0.2)], Grade.VERY_GOOD),
        ([(DefectType.STAIN, 0.2), (DefectType.PILLING, 0.1)], Grade.GOOD),
        ([(DefectType.FADING, 0.55)], Grade.FAIR),
        ([(DefectType.STAIN, 0.6), (DefectType.SCUFF, 0.7)], Grade.POOR),
        ([(DefectType.HOLE, 0.5)], Grade.FAIR),
        ([(DefectType.HOLE, 0.5), (DefectType.TEAR, 0.5)], Grade.POOR),
        ([(DefectType.TEAR, 0.9)], Grade.REJECT),
    ],
)
def test_grade_rule_table(defects: list, grade: Grade) -> None:
    assert grade_for(defects) is grade


def clean_manifest(folder: Path, count: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for index in range(count):
        Image.fromarray(garment_photo(index)).save(folder / f"shirt{index}.jpg", quality=95)
        digest = hashlib.sha256((folder / f"shirt{index}.jpg").read_bytes()).hexdigest()
        photo = Photo(path=f"shirt{index}.jpg", sha256=digest)
        items.append(
            Item(
                id=f"shirt{index}",
                photos=[photo],
                category="shirt",
                split="train",
                source=Source(dataset="generated", license="CC0-1.0"),
            )
        )
    write_manifest(items, folder / "clean.jsonl")
    return folder / "clean.jsonl"


@pytest.mark.slow
def test_builder_writes_a_manifest_with_masks_and_grades(tmp_path: Path) -> None:
    manifest = clean_manifest(tmp_path / "clean")
    out = tmp_path / "composited"
    arguments = ["data", "composite", "--manifest", str(manifest), "--out", str(out), "--workers", "1"]
    assert main([*arguments, "--contact-sheet", str(tmp_path / "sheet.png")]) == 0
    items = read_manifest(out / "manifest.jsonl")
    assert len(items) == 12 and {item.group for item in items} == {f"shirt{i}" for i in range(4)}
    clean = [item for item in items if item.id.endswith("#clean")]
    assert all(item.photos[0].defects == [] and item.grade.value == "like_new" for item in clean)
    decorated = [_differs_from_source(manifest, out, item) for item in clean]
    assert any(decorated) and not all(decorated)  # training clean copies: design_share of them decorated, still clean
    for item in items:
        for defect in item.photos[0].defects:
            assert resolve_photo_path(out / "manifest.jsonl", defect.mask).is_file() and defect.severity is not None
    assert (tmp_path / "sheet.png").stat().st_size > 0


def _differs_from_source(manifest: Path, out: Path, item: Item) -> bool:
    source = np.asarray(Image.open(resolve_photo_path(manifest, item.source.original_path)).convert("RGB"), np.float32)
    copy = np.asarray(Image.open(out / item.photos[0].path).convert("RGB"), np.float32)
    return bool((np.abs(copy - source).max(axis=2) > 40).sum() > 10)  # beyond JPEG re-encoding noise


@pytest.mark.slow
def test_validation_and_test_clean_copies_are_never_decorated(tmp_path: Path) -> None:
    manifest = clean_manifest(tmp_path / "clean")
    items = [item.model_copy(update={"split": "validation"}) for item in read_manifest(manifest)]
    write_manifest(items, manifest)
    out = tmp_path / "composited"
    assert main(["data", "composite", "--manifest", str(manifest), "--out", str(out), "--workers", "1"]) == 0
    clean = [item for item in read_manifest(out / "manifest.jsonl") if item.id.endswith("#clean")]
    assert len(clean) == 4 and not any(_differs_from_source(manifest, out, item) for item in clean)


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    manifest = clean_manifest(tmp_path / "clean", count=1)
    outputs = []
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        main(["data", "composite", "--manifest", str(manifest), "--out", str(tmp_path / name), "--seed", seed])
        outputs.append((tmp_path / name / "photos" / "shirt0_c1.jpg").read_bytes())
    assert outputs[0] == outputs[1] != outputs[2]


def test_missing_manifest_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "composite", "--manifest", str(tmp_path / "none.jsonl")]) == 2
    assert "data import" in capsys.readouterr().err


@pytest.mark.real_data
@pytest.mark.slow
def test_real_clothing_photos_composite(shared_datasets: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean.jsonl"
    assert (
        main(
            [
                "data",
                "import",
                "--catalog",
                "clothing-small",
                "--out",
                str(clean),
                "--datasets-root",
                str(shared_datasets),
            ]
        )
        == 0
    )
    assert main(["data", "composite", "--manifest", str(clean), "--out", str(tmp_path / "c"), "--limit", "8"]) == 0
    items = read_manifest(tmp_path / "c" / "manifest.jsonl")
    assert len(items) >= 16 and any(item.photos[0].defects for item in items)


@pytest.mark.slow
def test_a_photo_audited_as_damaged_gives_no_annotated_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from training.compositing import builder

    manifest = clean_manifest(tmp_path / "clean", count=2)
    worn = read_manifest(manifest)[0].photos[0].sha256
    monkeypatch.setattr(builder, "audited_damaged", lambda: frozenset({worn}))
    out = tmp_path / "composited"
    assert main(["data", "composite", "--manifest", str(manifest), "--out", str(out), "--workers", "1"]) == 0
    items = read_manifest(out / "manifest.jsonl")
    worn_copies = [item for item in items if item.group == "shirt0"]
    assert len(worn_copies) == 3 and all(i.photos[0].defects is None and i.grade is None for i in worn_copies)
    clean = {item.group: item for item in items if item.id.endswith("#clean")}
    assert clean["shirt1"].photos[0].defects == [] and clean["shirt1"].grade.value == "like_new"


def test_the_shipped_audit_marks_real_damage_for_compositing() -> None:
    from training.compositing.builder import audited_damaged

    # clothing-small (42 test and validation, 110 train shoes) and sneakers-auth (335 + 554 train); only clothing-small
    # is composited, and its audited-damaged train photos never become clean copies
    assert len(audited_damaged()) == 42 + 110 + 335 + 554
