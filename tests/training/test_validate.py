"""Validation finds every kind of bad input with its manifest line, item id and fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from grading.manifest import Box, Defect, write_manifest
from grading.vocabulary import Authenticity, DefectType, Split
from tests.fixtures.photo_sets import item, photo_entry, write_near_copy, write_photo
from training.cli import main
from training.validate import Check, Severity, validate_manifest


def _mask(path: Path, size: tuple[int, int], filled: bool = True) -> str:
    pixels = np.zeros((size[1], size[0]), dtype=np.uint8)
    pixels[10:20, 10:30] = 255 if filled else 0
    Image.fromarray(pixels, mode="L").save(path)
    return path.name


def _bad_manifest(folder: Path) -> Path:
    """One problem per line; the line numbers are asserted below."""
    photo = [write_photo(folder / f"p{n}.jpg", n) for n in range(12)]
    corrupt = folder / "corrupt.jpg"
    corrupt.write_bytes(photo[0].read_bytes()[:200])
    near = write_near_copy(photo[7], folder / "p7_small.jpg")
    wrong_size, empty = _mask(folder / "wrong.png", (64, 64)), _mask(folder / "empty.png", (128, 96), filled=False)
    outside = Defect(type=DefectType.HOLE, box=Box(x0=100, y0=10, x1=160, y1=40))
    polygon = Defect(type=DefectType.STAIN, polygon=[(10, 10), (200, 10), (10, 50)])
    changed = photo_entry(photo[3], folder).model_copy(update={"sha256": "0" * 64})
    items = [
        item("ok", [photo_entry(photo[1], folder)], Split.TRAIN),  # line 1
        item("corrupt", [photo_entry(corrupt, folder)], Split.TRAIN),  # 2
        item("missing", [photo_entry(photo[2], folder).model_copy(update={"path": "gone.jpg"})], Split.TRAIN),  # 3
        item("changed", [changed], Split.TRAIN),  # 4
        item("mask-size", [photo_entry(photo[4], folder, [Defect(type=DefectType.CUT, mask=wrong_size)])], Split.TRAIN),
        item("mask-empty", [photo_entry(photo[5], folder, [Defect(type=DefectType.CUT, mask=empty)])], Split.TRAIN),
        item("box-out", [photo_entry(photo[6], folder, [outside, polygon])], Split.TRAIN),  # 7
        item("near-a", [photo_entry(photo[7], folder)], Split.TRAIN),  # 8
        item("near-b", [photo_entry(near, folder)], Split.VALIDATION),  # 9
        item("group-a", [photo_entry(photo[8], folder)], Split.TRAIN, group="g"),  # 10
        item("group-b", [photo_entry(photo[9], folder)], Split.TEST, group="g"),  # 11
        item("real", [photo_entry(photo[10], folder)], Split.TRAIN, authenticity=Authenticity.AUTHENTIC),  # 12
        item(
            "fake",
            [photo_entry(Path(shutil.copy(photo[10], folder / "copy.jpg")), folder)],
            Split.TRAIN,
            authenticity=Authenticity.COUNTERFEIT,
        ),  # 13
        item("no-split", [photo_entry(photo[11], folder)]),  # 14
        item("ok", [photo_entry(photo[1], folder)], Split.TRAIN),  # 15: duplicate id (and photo)
    ]
    manifest = folder / "manifest.jsonl"
    write_manifest(items, manifest)
    bad = json.loads(manifest.read_text().splitlines()[0]) | {"id": "bad-grade", "grade": {"value": "mint"}}
    with manifest.open("a") as out:
        out.write(json.dumps(bad) + "\n")  # 16
    return manifest


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    report = validate_manifest(_bad_manifest(tmp_path), workers=1, progress=False)
    found = {(finding.check, finding.line, finding.item_id) for finding in report.findings}
    expected = {
        (Check.UNREADABLE_PHOTO, 2, "corrupt"),
        (Check.MISSING_PHOTO, 3, "missing"),
        (Check.SHA256_MISMATCH, 4, "changed"),
        (Check.MASK_SIZE, 5, "mask-size"),
        (Check.MASK_EMPTY, 6, "mask-empty"),
        (Check.BOX_OUTSIDE, 7, "box-out"),
        (Check.POLYGON_OUTSIDE, 7, "box-out"),
        (Check.LEAK_NEAR, 8, "near-a"),
        (Check.LEAK_GROUP, 10, "group-a"),
        (Check.LABEL_CONFLICT, 12, "real"),
        (Check.NO_SPLIT, 14, "no-split"),
        (Check.DUPLICATE_ID, 15, "ok"),
        (Check.PARSE, 16, "bad-grade"),
    }
    assert expected <= found
    assert all(finding.fix for finding in report.findings)
    unreadable = next(f for f in report.findings if f.check is Check.UNREADABLE_PHOTO)
    assert "damaged or incomplete" in unreadable.message  # intake's own message
    assert next(f for f in report.findings if f.check is Check.NO_SPLIT).severity is Severity.WARNING
    assert report.exit_code == 1


def test_a_clean_manifest_passes(tmp_path: Path, capsys) -> None:
    photos = [write_photo(tmp_path / f"p{n}.jpg", n) for n in range(3)]
    items = [item(f"i{n}", [photo_entry(path, tmp_path)], Split.TRAIN) for n, path in enumerate(photos)]
    write_manifest(items, tmp_path / "m.jsonl")
    assert main(["data", "validate", str(tmp_path / "m.jsonl"), "--no-progress"]) == 0
    assert "0 errors, 0 warnings" in capsys.readouterr().out


def test_validate_command_exit_codes(tmp_path: Path, capsys) -> None:
    manifest = _bad_manifest(tmp_path)
    assert main(["data", "validate", str(manifest), "--no-progress", "--limit", "100"]) == 1
    output = capsys.readouterr().out
    assert "mask_size" in output and "fix:" in output
    assert main(["data", "validate", str(tmp_path / "nope.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
