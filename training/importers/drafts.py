"""What a layout importer yields before hashing: photos found and labels read, but no content hash yet.

Importers only walk folders and read labels; `training.importers.pipeline` hashes every photo (with a
progress bar) and turns drafts into manifest `Item`s, so hashing and path rules live in one place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from grading.manifest import Defect
from grading.vocabulary import Authenticity, Split, View
from training.importers.errors import LayoutError
from training.importers.label_map import LabelMap


@dataclass(frozen=True)
class PhotoDraft:
    """One photo file. `defects`: None = not annotated, [] = annotated clean. `size` when already read."""

    path: Path
    defects: list[Defect] | None = None
    view: View = View.UNSPECIFIED
    size: tuple[int, int] | None = None


@dataclass(frozen=True)
class ItemDraft:
    """One item; `key` is unique within the dataset (the photo's path under the root) and becomes the id."""

    key: str
    photos: tuple[PhotoDraft, ...]
    split: Split | None = None
    category: str | None = None
    authenticity: Authenticity = Authenticity.UNKNOWN
    product_line: str | None = None
    group: str | None = None  # items sharing it always land in one split (e.g. one source photo)


@dataclass
class ImportContext:
    """What every importer receives besides the root folder.

    Attributes:
        label_map: the loaded label map, if one was given.
        options: layout options as strings (from `--option KEY=VALUE` or the catalog).
        manifest_dir: folder of the manifest being written; paths in it are relative to this folder.
        derived_dir: where an importer may write files it derives (per-class masks); created on demand.
        notes: things worth telling the user that are not errors (orphan label files, clamped boxes).
    """

    label_map: LabelMap | None
    options: Mapping[str, str]
    manifest_dir: Path
    derived_dir: Path
    notes: list[str] = field(default_factory=list)

    def require_label_map(self, layout: str) -> LabelMap:
        if self.label_map is None:
            raise LayoutError(
                f"the {layout} layout needs a label map: pass --label-map FILE.yaml (see datasets/label_maps/)"
            )
        return self.label_map

    def relative(self, path: Path) -> str:
        """`path` relative to the manifest's folder, with forward slashes (absolute if on another drive)."""
        absolute = os.path.abspath(path)
        try:
            return Path(os.path.relpath(absolute, os.path.abspath(self.manifest_dir))).as_posix()
        except ValueError:
            return Path(absolute).as_posix()

    def note(self, message: str) -> None:
        self.notes.append(message)
