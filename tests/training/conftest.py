"""Fixtures shared by the evaluation and comparison tests: a real tiny bundle and a generated labelled manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from grading.manifest import write_manifest
from tests.training.test_evaluate_command import labelled_items


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """A real bundle: ImageNet backbone, untrained heads, small memory bank (as in tests/fixtures/tiny_network)."""
    from tests.fixtures.tiny_network import sample_photos, tiny_metadata, tiny_network
    from training.export import export_bundle

    photos = sample_photos()
    folder = tmp_path_factory.mktemp("bundle")
    export_bundle(tiny_network(photos), tiny_metadata(), folder, photos)
    return folder


@pytest.fixture(scope="session")
def labelled_manifest(tmp_path_factory) -> Path:
    """Ten test items with every kind of label and one train item (`labelled_items`)."""
    folder = tmp_path_factory.mktemp("manifest")
    path = folder / "generated.jsonl"
    write_manifest(labelled_items(folder), path)
    return path
