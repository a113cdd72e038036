"""Leakage-free splits on generated manifests (near-duplicates, groups, conflicts, carve, ratios) and on the
real leather sets (marked real_data)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from grading.manifest import Item, read_manifest, resolve_photo_path, write_manifest
from grading.vocabulary import Authenticity, Split
from tests.conftest import shared_dataset
from tests.fixtures.photo_sets import item, photo_entry, simple_items, write_near_copy, write_photo
from training.cli import main
from training.importers.catalog import catalog_entry, catalog_request
from training.importers.pipeline import import_dataset
from training.near_duplicates import find_duplicates, photo_refs
from training.splits import (
    ConflictPolicy,
    LeakPolicy,
    SplitMode,
    SplitOptions,
    SplitOptionsError,
    split_manifest_items,
)


def _leaky(tmp_path: Path) -> tuple[list[Item], Path]:
    """8 clean train items, 2 test items, a near-duplicate pair across train/validation, a group across
    train/test, and one photo labelled authentic in train and counterfeit in test."""
    items = simple_items(tmp_path, 8, Split.TRAIN) + simple_items(tmp_path, 2, Split.TEST, first_seed=50)
    original = write_photo(tmp_path / "dup.jpg", 7)
    near = write_near_copy(original, tmp_path / "dup_small.jpg")
    items += [item("near-train", [photo_entry(original, tmp_path)], Split.TRAIN)]
    items += [item("near-valid", [photo_entry(near, tmp_path)], Split.VALIDATION)]
    group = [write_photo(tmp_path / f"g{n}.jpg", 20 + n) for n in range(2)]
    items += [item("group-train", [photo_entry(group[0], tmp_path)], Split.TRAIN, group="jacket-1")]
    items += [item("group-test", [photo_entry(group[1], tmp_path)], Split.TEST, group="jacket-1")]
    shoe = write_photo(tmp_path / "shoe.jpg", 30)
    copy = Path(shutil.copy(shoe, tmp_path / "shoe_copy.jpg"))
    items += [item("shoe-a", [photo_entry(shoe, tmp_path)], Split.TRAIN, authenticity=Authenticity.AUTHENTIC)]
    items += [item("shoe-b", [photo_entry(copy, tmp_path)], Split.TEST, authenticity=Authenticity.COUNTERFEIT)]
    manifest = tmp_path / "m.jsonl"
    write_manifest(items, manifest)
    return items, manifest


def _splits(items: list[Item]) -> dict[str, str | None]:
    return {entry.id: entry.split for entry in items}


def test_keep_source_moves_leaking_groups_to_the_most_protected_split(tmp_path: Path) -> None:
    items, manifest = _leaky(tmp_path)
    kept, report = split_manifest_items(items, manifest, SplitOptions(), progress=False)
    splits = _splits(kept)
    assert splits["near-train"] == splits["near-valid"] == Split.VALIDATION
    assert splits["group-train"] == splits["group-test"] == Split.TEST
    assert splits["shoe-a"] == splits["shoe-b"] == Split.TEST
    assert report.leaking_groups == 3 and len(report.moved) == 3 and not report.dropped
    assert report.before == {"train": 11, "validation": 1, "test": 4}
    assert report.after == {"train": 8, "validation": 2, "test": 6}
    assert [conflict.item_ids for conflict in report.conflicts] == [("shoe-a", "shoe-b")]


def test_drop_policies(tmp_path: Path) -> None:
    items, manifest = _leaky(tmp_path)
    options = SplitOptions(on_leak=LeakPolicy.DROP, on_conflict=ConflictPolicy.DROP)
    kept, report = split_manifest_items(items, manifest, options, progress=False)
    dropped = {item_id for item_id, _ in report.dropped}
    assert dropped == {"near-train", "near-valid", "group-train", "group-test", "shoe-a", "shoe-b"}
    assert len(kept) == 10 and report.after == {"train": 8, "test": 2}


def test_ratios_are_seeded_group_aware_and_near_the_ratios(tmp_path: Path) -> None:
    items, manifest = _leaky(tmp_path)
    items += simple_items(tmp_path, 84, first_seed=100)  # 100 items in all, most without a split
    write_manifest(items, manifest)
    options = SplitOptions(mode=SplitMode.RATIOS, ratios=(0.7, 0.2, 0.1), seed=3)
    duplicates = find_duplicates(photo_refs(items, manifest), progress=False)
    first, _ = split_manifest_items(items, manifest, options, duplicates=duplicates)
    again, _ = split_manifest_items(list(reversed(items)), manifest, options, progress=False)
    assert _splits(first) == _splits(again)  # the line order does not matter, only the seed
    other, _ = split_manifest_items(items, manifest, SplitOptions(mode=SplitMode.RATIOS, seed=4), duplicates=duplicates)
    assert _splits(other) != _splits(first)
    counts = Counter(entry.split for entry in first)
    assert abs(counts[Split.TRAIN] - 70) <= 2 and abs(counts[Split.VALIDATION] - 20) <= 2
    splits = _splits(first)
    assert splits["near-train"] == splits["near-valid"] and splits["group-train"] == splits["group-test"]


def test_carve_makes_validation_from_train_only(tmp_path: Path) -> None:
    items = simple_items(tmp_path, 40, Split.TRAIN) + simple_items(tmp_path, 10, Split.TEST, first_seed=60)
    manifest = tmp_path / "m.jsonl"
    options = SplitOptions(mode=SplitMode.CARVE, validation_share=0.25)
    kept, report = split_manifest_items(items, manifest, options, progress=False)
    assert report.after == {"train": 30, "validation": 10, "test": 10}
    assert all(move.before == "train" and move.after == "validation" for move in report.moved)
    assert {entry.id for entry in kept if entry.split is Split.TEST} == {e.id for e in items if e.split is Split.TEST}


@pytest.mark.parametrize(
    "options", [{"ratios": (0.8, 0.3, 0.1)}, {"ratios": (1.2, -0.1, -0.1)}, {"validation_share": 1.0}]
)
def test_bad_options_raise(options: dict) -> None:
    with pytest.raises(SplitOptionsError, match=r"ratios|share"):
        SplitOptions(**options)


def test_split_command_writes_a_manifest_whose_paths_still_resolve(tmp_path: Path, capsys) -> None:
    _, manifest = _leaky(tmp_path)
    out = tmp_path / "elsewhere" / "split.jsonl"
    assert main(["data", "split", str(manifest), "--out", str(out), "--no-progress"]) == 0
    assert "groups spanning source splits: 3" in capsys.readouterr().out
    written = read_manifest(out)
    assert all(resolve_photo_path(out, entry.photos[0].path).is_file() for entry in written)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(["--ratios", "0.5,0.5"], "three numbers"), (["--ratios", "0.5,0.6,0.1"], "summing to 1")],
)
def test_split_command_bad_input_exits_2(tmp_path: Path, capsys, arguments: list[str], message: str) -> None:
    _, manifest = _leaky(tmp_path)
    assert main(["data", "split", str(manifest), "--out", str(tmp_path / "o.jsonl"), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert main(["data", "split", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o.jsonl")]) == 2


def _import(name: str, shared_datasets: Path, tmp_path: Path) -> Path:
    entry = catalog_entry(name)
    shared_dataset(shared_datasets, entry.folder)
    out = tmp_path / f"{name}.jsonl"
    import_dataset(catalog_request(entry, shared_datasets, out), progress=False)
    return out


@pytest.mark.real_data
def test_leather_boxes_train_valid_overlap_is_found_and_removed(shared_datasets: Path, tmp_path: Path) -> None:
    manifest = _import("leather-defects-boxes", shared_datasets, tmp_path)
    items = read_manifest(manifest)
    duplicates = find_duplicates(photo_refs(items, manifest), progress=False)
    refs = photo_refs(items, manifest)
    spanning = [g for g in duplicates.near if len({items[refs[i].item].split for i in g}) > 1]
    # README: 188 source photos in both train and valid; 157 of them within 4 bits (the rest are shifted crops).
    assert 150 <= len(spanning) <= 200
    kept, report = split_manifest_items(items, manifest, SplitOptions(), duplicates=duplicates)
    # Leaking groups also count the importer's Roboflow source-name groups (all 188 overlaps), not only pHash.
    assert report.leaking_groups >= len(spanning) and len(kept) == len(items)
    split_of = {entry.id: entry.split for entry in kept}
    for group in duplicates.near:
        assert len({split_of[items[refs[i].item].id] for i in group}) == 1
    source_groups: dict[str, set] = {}
    for entry in kept:
        if entry.group:
            source_groups.setdefault(entry.group, set()).add(entry.split)
    assert all(len(splits) == 1 for splits in source_groups.values())


@pytest.mark.real_data
def test_carve_gives_leather_masks_a_validation_split(shared_datasets: Path, tmp_path: Path) -> None:
    manifest = _import("leather-defects-masks", shared_datasets, tmp_path)
    items = read_manifest(manifest)
    kept, report = split_manifest_items(items, manifest, SplitOptions(mode=SplitMode.CARVE), progress=False)
    assert report.before == {"train": 177, "test": 34}
    assert report.after["test"] == 34 and 20 <= report.after["validation"] <= 33
    test_before = {entry.id for entry in items if entry.split is Split.TEST}
    assert {entry.id for entry in kept if entry.split is Split.TEST} == test_before


@pytest.mark.real_data
def test_transformed_copies_join_one_split_and_name_their_group(shared_datasets: Path, tmp_path: Path) -> None:
    """A rotated copy in train of a test photo (sneakers-auth's own) moves to test; both are named as one group."""
    items = simple_items(tmp_path, 4, Split.TRAIN, first_seed=60)
    shutil.copy(shared_datasets / "sneakers-auth/test/fake_af1/0249.jpg", tmp_path / "pair.jpg")
    shutil.copy(shared_datasets / "sneakers-auth/train/fake_af1/0248.jpg", tmp_path / "pair_rotated.jpg")
    items += [item("pair-test", [photo_entry(tmp_path / "pair.jpg", tmp_path)], Split.TEST)]
    items += [item("pair-train", [photo_entry(tmp_path / "pair_rotated.jpg", tmp_path)], Split.TRAIN)]
    manifest = tmp_path / "m.jsonl"
    write_manifest(items, manifest)
    without, _ = split_manifest_items(items, manifest, SplitOptions(), progress=False)
    assert _splits(without)["pair-train"] == Split.TRAIN  # pHash misses the rotated copy
    kept, report = split_manifest_items(items, manifest, SplitOptions(transformed_copies=True), progress=False)
    assert report.transformed_copy_pairs == 1
    assert _splits(kept)["pair-train"] == _splits(kept)["pair-test"] == Split.TEST
    groups = {entry.id: entry.group for entry in kept}
    assert groups["pair-train"] == groups["pair-test"] == "copies-of/pair-test"
    assert all(groups[entry.id] is None for entry in items[:4])
