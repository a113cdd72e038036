"""Which photos a run trains on, and how often: manifest weights."""

from __future__ import annotations

from pathlib import Path

from grading.vocabulary import Split
from tests.fixtures.labelled_items import write_labelled_manifest
from training.config import load_config
from training.trainer import load_training_set


def test_a_weighted_manifest_gives_each_training_photo_weight_times_the_rows(tmp_path: Path) -> None:
    plain = write_labelled_manifest(tmp_path / "plain", items_per_category=9)
    corrections = write_labelled_manifest(tmp_path / "corrections", items_per_category=9, seed=1)
    manifests = f"manifests=[{plain}, {corrections}]"
    config = load_config(None, [manifests, "augmented_copies=1", f"manifest_weights={{{corrections}: 3}}"])
    refs = load_training_set(config).refs
    train = refs[Split.TRAIN]
    rows = {path: [1 + ref.copies for ref in train if ref.manifest == path] for path in (plain, corrections)}
    assert set(rows[plain]) == {2} and set(rows[corrections]) == {6}  # 1 x (1 + 1) and 3 x (1 + 1)
    assert {ref.copies for ref in refs[Split.VALIDATION]} == {0}  # validation photos are never repeated
