"""Validation finds every kind of bad input with its manifest line, item id and fix."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grading.manifest import Box, Defect, Item, write_manifest
from grading.vocabulary import Authenticity, DefectType, Split
from tests.fixtures.photo_sets import SIZE, item, photo_entry, write_near_copy, write_photo
from training.cli import main
from training.commands import data_validate
from training.validate import Check, Severity, ValidationReport, format_report, validate_manifest


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


def _validate(tmp_path: Path, items: list[Item]) -> ValidationReport:
    write_manifest(items, tmp_path / "m.jsonl")
    return validate_manifest(tmp_path / "m.jsonl", workers=1, progress=False)


def _found(report: ValidationReport) -> list[tuple[int, str | None, Check]]:
    return [(finding.line, finding.item_id, finding.check) for finding in report.findings]


def _one(tmp_path: Path, name: str, seed: int, defects: list[Defect] | None = None, split: Split = Split.TRAIN) -> Item:
    return item(name, [photo_entry(write_photo(tmp_path / f"{name}.jpg", seed), tmp_path, defects)], split)


def _square_mask(path: Path, size: tuple[int, int], value: int = 255) -> str:
    pixels = np.zeros((size[1], size[0]), dtype=np.uint8)
    pixels[10:20, 10:20] = value
    Image.fromarray(pixels).save(path)
    return path.name


def test_edge_boxes_and_filled_masks_pass(tmp_path: Path) -> None:
    mask = _square_mask(tmp_path / "ok.png", SIZE)
    defects = [Defect(type=DefectType.STAIN, box=Box(x0=0, y0=0, x1=128, y1=96)), Defect(type="hole", mask=mask)]
    report = _validate(tmp_path, [_one(tmp_path, "a", 1, defects), _one(tmp_path, "b", 2, split=Split.TEST)])
    assert report.findings == () and report.exit_code == 0
    assert (report.items, report.photos) == (2, 2)


def test_mask_problems(tmp_path: Path) -> None:
    wrong = Defect(type=DefectType.HOLE, mask=_square_mask(tmp_path / "wrong.png", (64, 64)))
    empty = Defect(type=DefectType.HOLE, mask=_square_mask(tmp_path / "empty.png", SIZE, value=0))
    gone = Defect(type=DefectType.HOLE, mask="gone.png")
    report = _validate(
        tmp_path, [_one(tmp_path, "w", 1, [wrong]), _one(tmp_path, "e", 2, [empty]), _one(tmp_path, "g", 3, [gone])]
    )
    assert _found(report) == [(1, "w", Check.MASK_SIZE), (2, "e", Check.MASK_EMPTY), (3, "g", Check.MASK_MISSING)]
    assert "64x64" in report.findings[0].message and "128x96" in report.findings[0].message


def test_geometry_outside_the_photo(tmp_path: Path) -> None:
    inside_by_rounding = Defect(type=DefectType.SCUFF, box=Box(x0=0, y0=0, x1=128.5, y1=96))
    outside = Defect(type=DefectType.SCUFF, box=Box(x0=100, y0=50, x1=140, y1=90))
    polygon = Defect(type=DefectType.TEAR, polygon=[(10, 10), (200, 10), (10, 50)])
    report = _validate(
        tmp_path, [_one(tmp_path, "a", 1, [inside_by_rounding, outside]), _one(tmp_path, "b", 2, [polygon])]
    )
    assert _found(report) == [(1, "a", Check.BOX_OUTSIDE), (2, "b", Check.POLYGON_OUTSIDE)]
    assert "defect 1" in report.findings[0].message and report.findings[0].fix


def test_unknown_label_and_duplicate_id_do_not_stop_the_other_lines(tmp_path: Path) -> None:
    good = _one(tmp_path, "a", 1)
    bad = json.loads(_one(tmp_path, "b", 2).model_dump_json(exclude_none=True))
    bad["photos"][0]["defects"] = [{"type": "smudge", "box": {"x0": 1, "y0": 1, "x1": 5, "y1": 5}}]
    lines = [good.model_dump_json(), json.dumps(bad), "", "{not json", good.model_dump_json()]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    report = validate_manifest(tmp_path / "m.jsonl", workers=1, progress=False)
    assert (2, "b", Check.PARSE) in _found(report) and (4, None, Check.PARSE) in _found(report)
    assert (5, "a", Check.DUPLICATE_ID) in _found(report)
    unknown = next(finding for finding in report.findings if finding.line == 2)
    assert "given: 'smudge'" in unknown.message and "'stain'" in unknown.message  # the bad value and the known ones
    assert "m.jsonl:2" in unknown.message


def test_duplicates_and_leakage_across_splits(tmp_path: Path) -> None:
    original = write_photo(tmp_path / "o.jpg", 1)
    shutil.copy(original, tmp_path / "copy.jpg")
    write_near_copy(original, tmp_path / "near.jpg")
    items = [
        item("orig", [photo_entry(original, tmp_path)], Split.TRAIN),
        item("copy-same-split", [photo_entry(tmp_path / "copy.jpg", tmp_path)], Split.TRAIN),
        item("near-in-test", [photo_entry(tmp_path / "near.jpg", tmp_path)], Split.TEST),
        _one(tmp_path, "g1", 5).model_copy(update={"group": "jacket-7"}),
        _one(tmp_path, "g2", 6, split=Split.VALIDATION).model_copy(update={"group": "jacket-7"}),
    ]
    report = _validate(tmp_path, items)
    found = _found(report)
    assert (1, "orig", Check.DUPLICATE_PHOTO) in found and (1, "orig", Check.LEAK_NEAR) in found
    assert (4, "g1", Check.LEAK_GROUP) in found
    severities = {finding.check: finding.severity for finding in report.findings}
    assert severities[Check.DUPLICATE_PHOTO] is Severity.WARNING and severities[Check.LEAK_NEAR] is Severity.ERROR
    near = next(finding for finding in report.findings if finding.check is Check.LEAK_NEAR)
    assert "line 3 'near-in-test' (test)" in near.message


def test_exact_duplicate_across_splits_is_a_leak(tmp_path: Path) -> None:
    original = write_photo(tmp_path / "o.jpg", 1)
    shutil.copy(original, tmp_path / "copy.jpg")
    items = [
        item("a", [photo_entry(original, tmp_path)], Split.TRAIN),
        item("b", [photo_entry(tmp_path / "copy.jpg", tmp_path)], Split.VALIDATION),
    ]
    assert (1, "a", Check.LEAK_EXACT) in _found(_validate(tmp_path, items))


def test_report_table_lists_line_severity_and_fix(tmp_path: Path) -> None:
    report = _validate(tmp_path, [_one(tmp_path, "a", 1, [Defect(type="hole", mask="nope.png")])])
    text = format_report(report)
    assert "1 errors" in text and "mask_missing" in text and "fix: restore the mask" in text


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    data_validate.add_command(parser.add_subparsers())
    args = parser.parse_args(["validate", *argv])
    return args.handler(args)


def test_command_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _run(["--help"])
    assert "secondlook data validate var/" in capsys.readouterr().out


def test_reading_photos_with_a_progress_bar_returns_their_facts(tmp_path: Path) -> None:
    """Regression: `tqdm.update()` returns True when it redraws, which once replaced the facts with True."""
    from training.photo_facts import PhotoFacts, PhotoTask, inspect_photos

    paths = [tmp_path / f"p{i}.png" for i in range(3)]
    for path in paths:
        Image.new("RGB", (64, 48), "red").save(path)
    facts = inspect_photos([PhotoTask(path, ()) for path in paths], workers=1, progress=True)
    assert all(isinstance(fact, PhotoFacts) and fact.found for fact in facts)
