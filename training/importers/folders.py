"""Folder conventions shared by the layouts: which files are photos, which folder names are splits."""

from __future__ import annotations

from pathlib import Path

from grading.vocabulary import Split
from training.importers.errors import LayoutError

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif"})

SPLIT_ALIASES: dict[str, Split] = {
    "train": Split.TRAIN,
    "training": Split.TRAIN,
    "validation": Split.VALIDATION,
    "valid": Split.VALIDATION,
    "val": Split.VALIDATION,
    "dev": Split.VALIDATION,
    "test": Split.TEST,
    "testing": Split.TEST,
}


def split_of(folder_name: str) -> Split | None:
    """The split a folder name stands for (`valid`, `val` -> validation), or None if it names no split."""
    return SPLIT_ALIASES.get(folder_name.lower())


def list_photos(folder: Path) -> list[Path]:
    """Photo files directly in `folder`, sorted by name; hidden files (.DS_Store, ._x.jpg) are skipped."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES and not path.name.startswith(".")
    )


def subfolders(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))


def split_folders(root: Path) -> list[tuple[Split | None, Path]]:
    """The split folders under `root`, or `[(None, root)]` when none of its folders names a split."""
    found = [(split_of(folder.name), folder) for folder in subfolders(root)]
    splits = [(split, folder) for split, folder in found if split is not None]
    return splits or [(None, root)]


def require_dir(path: Path, what: str) -> Path:
    """`path` if it is a folder, else a `LayoutError` saying what the folder should hold."""
    if not path.is_dir():
        raise LayoutError(f"{path} is not a folder; {what}")
    return path


def key_of(path: Path, root: Path) -> str:
    """The path of a file under the dataset root, with forward slashes: an item key and `original_path`."""
    return path.relative_to(root).as_posix()
