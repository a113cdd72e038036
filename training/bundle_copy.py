"""A new bundle folder from a shipped one, for the steps that change a bundle without retraining it
(`model confident`, `model wear`): its files copied, bundle.json left for the step to write."""

from __future__ import annotations

import shutil
from pathlib import Path

from grading.bundle import METADATA_FILE


def copy_bundle_files(source: Path, out: Path, leave_out: tuple[str, ...] = ()) -> None:
    """Copy every file of `source` but bundle.json and `leave_out` into `out`, which must be new or empty."""
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not empty; choose a new folder for the new bundle")
    out.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file() and path.name != METADATA_FILE and path.name not in leave_out:
            shutil.copy2(path, out / path.name)
