"""Session-wide fixtures: where the shared real datasets live, and a skip when they do not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("SECONDLOOK_SHARED_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The folder of real datasets (../shared/datasets); tests using it are skipped when it is absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATASETS} (set SECONDLOOK_SHARED_DATASETS to their folder)")
    return SHARED_DATASETS


def shared_dataset(root: Path, name: str) -> Path:
    """One dataset folder under the shared root, or a skip naming the missing folder."""
    folder = root / name
    if not folder.is_dir():
        pytest.skip(f"real dataset {name} not found at {folder}")
    return folder
