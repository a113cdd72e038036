"""Manifest statistics: count tables per split and the histogram PNG."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from grading.manifest import Box, Defect, GradeLabel, write_manifest
from grading.vocabulary import Authenticity, DefectType, Split
from tests.fixtures.photo_sets import item, photo_entry, write_photo
from training.cli import main
from training.stats import format_stats, manifest_stats


def _items(folder: Path) -> list:
    stain = Defect(type=DefectType.STAIN, box=Box(x0=1, y0=1, x1=9, y1=9))
    photos = [photo_entry(write_photo(folder / f"p{n}.jpg", n), folder) for n in range(5)]
    stained = photos[0].model_copy(update={"defects": [stain, stain]})
    return [
        item("a", [stained, photos[1]], Split.TRAIN, authenticity=Authenticity.AUTHENTIC),
        item("b", [photos[2]], Split.TRAIN, category="pants").model_copy(update={"grade": GradeLabel(value="good")}),
        item("c", [photos[3]], Split.TEST, authenticity=Authenticity.COUNTERFEIT),
        item("d", [photos[4]], None, category=None),
    ]


def test_counts_per_split(tmp_path: Path) -> None:
    stats = manifest_stats(_items(tmp_path))
    tables = {table.title: table for table in stats.tables}
    assert (stats.items, stats.photos) == (4, 5)
    assert tables["split"].counts == {"train": {"train": 2}, "test": {"test": 1}, "(none)": {"(none)": 1}}
    assert tables["category"].counts["shirt"] == {"train": 1, "test": 1}
    assert tables["defect type"].counts == {"stain": {"train": 2}}
    assert tables["grade"].counts["good"] == {"train": 1}
    assert tables["photos per item"].counts["2"] == {"train": 1}
    assert tables["authenticity"].counts["counterfeit"] == {"test": 1}
    text = format_stats(stats)
    assert "defects by defect type" in text and "items by grade" in text


def test_stats_command_writes_a_histogram(tmp_path: Path, capsys) -> None:
    write_manifest(_items(tmp_path), tmp_path / "m.jsonl")
    png = tmp_path / "out" / "hist.png"
    assert main(["data", "stats", str(tmp_path / "m.jsonl"), "--histogram", str(png)]) == 0
    assert "items by category" in capsys.readouterr().out
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size[1] > 400
    assert main(["data", "stats", str(tmp_path / "missing.jsonl")]) == 2
