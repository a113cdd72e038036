"""Exact and near-duplicate grouping on generated photos: re-encoded copies, byte copies, corrupt files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import tqdm

from grading.manifest import Item, Photo, Source, read_manifest, write_manifest
from grading.vocabulary import Split
from tests.conftest import shared_dataset
from tests.fixtures.photo_sets import item, photo_entry, write_near_copy, write_photo
from training import near_duplicates
from training.near_duplicates import PhotoRef, find_duplicates, hash_photos, near_pairs, photo_refs
from training.union_find import UnionFind
from training.validate import Check, validate_manifest


def _manifest(tmp_path: Path) -> Path:
    original = write_photo(tmp_path / "a.jpg", 1)
    near = write_near_copy(original, tmp_path / "a_small.jpg")
    byte_copy = shutil.copy(original, tmp_path / "a_copy.jpg")
    other = write_photo(tmp_path / "b.jpg", 2)
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(original.read_bytes()[:40])
    paths = [original, near, Path(byte_copy), other, corrupt]
    items = [item(f"i{n}", [photo_entry(path, tmp_path)]) for n, path in enumerate(paths)]
    write_manifest(items, tmp_path / "m.jsonl")
    return tmp_path / "m.jsonl"


def test_groups_exact_and_near_duplicates(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    refs = photo_refs(read_manifest(manifest), manifest)
    groups = find_duplicates(refs, max_distance=4, progress=False)
    assert groups.exact == ((0, 2),)  # the byte copy; the re-encode has other bytes
    assert groups.near == ((0, 1, 2),)  # the re-encoded, resized copy joins by pHash
    assert groups.hashed.tolist() == [True, True, True, True, False]  # the truncated JPEG is not hashed


def test_distance_zero_finds_only_identical_hashes(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    refs = photo_refs(read_manifest(manifest), manifest)
    hashes = hash_photos([ref.path for ref in refs], progress=False)
    assert 3 not in {index for group in find_duplicates(refs, 0, hashes).near for index in group}


@pytest.mark.parametrize("workers", [1, 2])
def test_hashes_every_photo_when_the_progress_bar_redraws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """tqdm's `update` returns True when it redraws; a hash must still be computed for that photo."""
    drawn = tqdm.tqdm.update
    monkeypatch.setattr(near_duplicates, "_PARALLEL_FROM", 1)  # the process pool path too, on four photos

    def redrawing_update(self: tqdm.tqdm, n: float = 1) -> bool:
        drawn(self, n)
        return True

    monkeypatch.setattr(tqdm.tqdm, "update", redrawing_update)
    paths = [write_photo(tmp_path / f"p{seed}.jpg", seed) for seed in range(1, 5)]
    hashes, hashed = hash_photos(paths, workers, progress=True)
    assert hashed.all() and len(set(hashes.tolist())) == 4  # four distinct pictures, four hashes
    refs = [PhotoRef(n, 0, path, f"sha{n}") for n, path in enumerate(paths)]
    assert find_duplicates(refs, workers=workers, progress=True).near == ()  # distinct photos are not merged


def test_near_pairs_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, size=700, dtype=np.uint64)
    hashes[5] = hashes[600] ^ np.uint64(0b1011)  # 3 bits apart, across the 512-row block boundary
    pairs = {tuple(pair) for pair in near_pairs(hashes, 3).tolist()}
    expected = {
        (i, j) for i in range(700) for j in range(i + 1, 700) if bin(int(hashes[i]) ^ int(hashes[j])).count("1") <= 3
    }
    assert pairs == expected and (5, 600) in pairs


def test_union_find_is_transitive() -> None:
    sets = UnionFind(6)
    sets.union(0, 3)
    sets.union(3, 5)
    sets.union_all([1, 4])
    assert sets.groups() == [(0, 3, 5), (1, 4), (2,)]


ROBOFLOW_SPLITS = {"train": Split.TRAIN, "valid": Split.VALIDATION, "test": Split.TEST}


def _leather_items(root: Path) -> list[Item]:
    """One item per photo of leather-defects-boxes, in its folder split (no labels: only photos matter here)."""
    return [
        Item(
            id=f"{folder}/{path.name}",
            photos=[Photo(path=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest())],
            split=split,
            source=Source(dataset="leather-defects-boxes", license="CC-BY-4.0"),
        )
        for folder, split in ROBOFLOW_SPLITS.items()
        for path in sorted((root / folder / "images").iterdir())
    ]


def _stem(item_id: str) -> str:
    """Roboflow names an export `<original>_jpg.rf.<hash>.jpg`; the original part names the source photo."""
    return item_id.split("/", 1)[1].split(".rf.")[0]


@pytest.mark.real_data
def test_finds_the_train_valid_re_exports_of_leather_defects_boxes(shared_datasets: Path, tmp_path: Path) -> None:
    items = _leather_items(shared_dataset(shared_datasets, "leather-defects-boxes"))
    refs = photo_refs(items, tmp_path / "m.jsonl")
    groups = find_duplicates(refs, progress=False)
    shared = {_stem(i.id) for i in items if i.split is Split.TRAIN} & {
        _stem(i.id) for i in items if i.split is Split.VALIDATION
    }
    caught = set()
    for group in groups.near:
        by_split = {(items[refs[photo].item].split, _stem(items[refs[photo].item].id)) for photo in group}
        caught |= {stem for split, stem in by_split if split is Split.TRAIN and (Split.VALIDATION, stem) in by_split}
    assert len(shared) == 188 and groups.exact == ()  # re-exports: no byte-identical pair
    assert len(caught) >= 150, f"only {len(caught)} of 188 re-exported photos found"  # 157 measured at 4 bits


@pytest.mark.real_data
def test_validate_reports_the_leather_leak(shared_datasets: Path, tmp_path: Path) -> None:
    items = _leather_items(shared_dataset(shared_datasets, "leather-defects-boxes"))
    write_manifest(items, tmp_path / "m.jsonl")
    report = validate_manifest(tmp_path / "m.jsonl", progress=False)
    assert {finding.check for finding in report.findings} == {Check.LEAK_NEAR}
    assert len(report.errors) >= 100 and report.exit_code == 1
