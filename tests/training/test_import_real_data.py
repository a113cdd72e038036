"""The five shared datasets import with one catalog command each, with the counts their README states."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from grading.manifest import read_manifest, resolve_photo_path
from tests.conftest import shared_dataset
from training.importers.catalog import catalog_entry, catalog_request
from training.importers.pipeline import import_dataset
from training.importers.summary import ImportSummary

pytestmark = pytest.mark.real_data


def import_shared(name: str, shared_datasets: Path, tmp_path: Path) -> tuple[ImportSummary, Path]:
    entry = catalog_entry(name)
    shared_dataset(shared_datasets, entry.folder)
    out = tmp_path / f"{name}.jsonl"
    return import_dataset(catalog_request(entry, shared_datasets, out), progress=False), out


def test_clothing_small(shared_datasets: Path, tmp_path: Path) -> None:
    summary, out = import_shared("clothing-small", shared_datasets, tmp_path)
    assert summary.per_split == {"train": 3068, "validation": 341, "test": 372}
    assert len(summary.per_category) == 10 and summary.annotated == {"not annotated": 3781}
    items = read_manifest(out)
    assert all(resolve_photo_path(out, item.photos[0].path).is_file() for item in items[:50])


def test_leather_defects_boxes(shared_datasets: Path, tmp_path: Path) -> None:
    summary, _ = import_shared("leather-defects-boxes", shared_datasets, tmp_path)
    assert summary.per_split == {"train": 547, "validation": 536, "test": 12}
    # README: 1,705 boxes; 20 of them sit in test/labels files whose photos are not in test/images.
    assert summary.defects == 1685
    orphans = [note for note in summary.notes if "have no photo" in note]
    assert orphans == ["test/labels: 10 label file(s) with 20 box(es) have no photo; not imported"]
    assert summary.annotated == {"with defects": 1083, "not annotated": 12}
    assert set(summary.defects_per_type) == {"surface_flaw", "crease", "hole", "scratch"}


def test_fabric_defects_boxes(shared_datasets: Path, tmp_path: Path) -> None:
    summary, _ = import_shared("fabric-defects-boxes", shared_datasets, tmp_path)
    assert summary.items == 22 and summary.per_split == {"none": 22}
    assert summary.defects_per_type == {"hole": 12, "snag": 11, "stain": 6}


def test_leather_defects_masks(shared_datasets: Path, tmp_path: Path) -> None:
    summary, _ = import_shared("leather-defects-masks", shared_datasets, tmp_path)
    assert summary.per_split == {"train": 177, "test": 34}
    assert summary.defects_per_type == {"crease": 82, "scratch": 52, "cut": 40, "hole": 37}
    assert sum("mask is (256," in note for note in summary.notes) == 2  # hole_18, wringle_66: wrong-size masks


def test_shoes_auth_fake(shared_datasets: Path, tmp_path: Path) -> None:
    summary, out = import_shared("shoes-auth-fake", shared_datasets, tmp_path)
    assert summary.items == 431
    assert summary.per_authenticity == {"authentic": 219, "counterfeit": 212}
    splits = Counter(str(item.split) for item in read_manifest(out))
    assert splits == {"train": 329, "test": 102}


def test_sneakers_auth(shared_datasets: Path, tmp_path: Path) -> None:
    summary, out = import_shared("sneakers-auth", shared_datasets, tmp_path)
    assert summary.items == 3848
    assert summary.per_authenticity == {"authentic": 1809, "counterfeit": 2039}
    items = read_manifest(out)
    assert Counter(item.product_line for item in items) == {"af1": 2009, "aj1": 1839}
    assert {item.category for item in items} == {"shoes"}
    assert Counter(str(item.split) for item in items) == {"train": 2695, "validation": 769, "test": 384}
