"""YOLO boxes (and YOLO polygons): `data.yaml` with class names, label `.txt` files beside or under the photos.

Two shapes are found by looking at the folders, not at the paths inside data.yaml (Roboflow writes
paths like `../train/images` that are relative to nothing in particular):

- split: `ROOT/<split>/images/x.jpg` + `ROOT/<split>/labels/x.txt` (or `ROOT/images` + `ROOT/labels`);
- flat: `ROOT/x.jpg` + `ROOT/x.txt` side by side.

Empty vs missing label files: in the YOLO format an empty label file marks a background photo that was
looked at and holds nothing, so it becomes `defects=[]`. A missing label file usually means the photo was
never labeled (leather-defects-boxes/test), so it becomes `defects=None` unless `missing_labels=clean`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from grading.manifest import Box, Defect
from grading.vocabulary import Split
from training.importers import register
from training.importers.drafts import ImportContext, ItemDraft, PhotoDraft
from training.importers.errors import LayoutError
from training.importers.folders import key_of, list_photos, split_folders
from training.importers.label_map import LabelMap
from training.importers.options import parse_options
from training.importers.photo_files import header_size

DESCRIPTION = """\
yolo  data.yaml (names: [...]) + one label .txt per photo, lines 'class cx cy w h' normalised to 0-1
    (or 'class x1 y1 x2 y2 ...' polygons). Either split folders or everything side by side:
    ROOT/data.yaml  ROOT/train/images/a.jpg  ROOT/train/labels/a.txt  ROOT/valid/images/...
    ROOT/data.yaml  ROOT/a.jpg  ROOT/a.txt                                   (flat)
    An empty label file = a clean photo; a missing one = not annotated (--option missing_labels=clean
    to treat it as clean). The label map turns class names into defect types.
    e.g. secondlook data import yolo ../shared/datasets/leather-defects-boxes \\
             --label-map datasets/label_maps/leather-defects-boxes.yaml --license CC-BY-4.0"""


class MissingLabels(StrEnum):
    UNANNOTATED = "unannotated"
    CLEAN = "clean"


@dataclass(frozen=True)
class YoloOptions:
    missing_labels: MissingLabels = MissingLabels.UNANNOTATED


@dataclass(frozen=True)
class _Folder:
    split: Split | None
    images: Path
    labels: Path


@register("yolo", description=DESCRIPTION, options=YoloOptions)
def import_yolo(root: Path, context: ImportContext) -> Iterator[ItemDraft]:
    options = parse_options(YoloOptions, context.options, "yolo")
    label_map = context.require_label_map("yolo")
    names = read_class_names(root / "data.yaml")
    for folder in _label_folders(root):
        photos = list_photos(folder.images)
        _note_orphan_labels(folder, photos, root, context)
        for photo in photos:
            draft = _photo_draft(photo, folder.labels / f"{photo.stem}.txt", names, label_map, options, context)
            group = roboflow_source_name(photo)
            yield ItemDraft(key=key_of(photo, root), photos=(draft,), split=folder.split, group=group)


ROBOFLOW_EXPORT_NAME = re.compile(r"(?P<source>.+)_(?:jpe?g|png|webp|bmp)\.rf\.[0-9a-f]{32}", re.IGNORECASE)


def roboflow_source_name(photo: Path) -> str | None:
    """The original file name inside a Roboflow export name (`<name>_jpg.rf.<hash>.jpg`), or None.

    Roboflow exports every augmented or re-split copy of one source photo under that photo's name, so
    the name groups copies that a perceptual hash misses (crops, pasted patches).
    """
    match = ROBOFLOW_EXPORT_NAME.fullmatch(photo.stem)
    return match["source"] if match else None


def read_class_names(data_yaml: Path) -> list[str]:
    """Class names by index from data.yaml (`names:` as a list or as an index -> name mapping)."""
    if not data_yaml.is_file():
        raise LayoutError(
            f"{data_yaml} not found; the yolo layout needs a data.yaml with the class names, e.g. names: [Hole, Stain]"
        )
    document = yaml.safe_load(data_yaml.read_text(encoding="utf-8")) or {}
    names = document.get("names") if isinstance(document, dict) else None
    if isinstance(names, dict):
        names = [names[index] for index in sorted(names)]
    if not isinstance(names, list) or not names:
        raise LayoutError(f"{data_yaml}: no 'names:' list of class names; add e.g. names: [Hole, Stain]")
    return [str(name) for name in names]


def _label_folders(root: Path) -> list[_Folder]:
    found = []
    for split, folder in split_folders(root):
        if (folder / "images").is_dir():
            found.append(_Folder(split, folder / "images", folder / "labels"))
        elif list_photos(folder):
            found.append(_Folder(split, folder, folder))
    if not found:
        raise LayoutError(f"{root}: found no photos in images/ folders or beside data.yaml; see --help for the layout")
    return found


def _note_orphan_labels(folder: _Folder, photos: list[Path], root: Path, context: ImportContext) -> None:
    if not folder.labels.is_dir():
        return
    stems = {photo.stem for photo in photos}
    orphans = [path for path in folder.labels.glob("*.txt") if path.stem not in stems and not _is_readme(path)]
    if orphans:
        boxes = sum(len(_label_lines(path)) for path in orphans)
        where = key_of(folder.labels, root) if folder.labels != root else "."
        context.note(f"{where}: {len(orphans)} label file(s) with {boxes} box(es) have no photo; not imported")


def _is_readme(path: Path) -> bool:
    return path.name.lower().startswith("readme")


def _photo_draft(
    photo: Path, label_file: Path, names: list[str], label_map: LabelMap, options: YoloOptions, context: ImportContext
) -> PhotoDraft:
    size = header_size(photo)
    if not label_file.is_file():
        defects = [] if options.missing_labels is MissingLabels.CLEAN else None
        return PhotoDraft(path=photo, defects=defects, size=size)
    if size is None:
        raise LayoutError(f"{photo}: cannot read the photo's size to convert its boxes; replace the damaged file")
    defects = []
    for number, line in _label_lines(label_file):
        defect = _parse_line(line, f"{label_file}:{number}", size, names, label_map, context)
        if defect is not None:
            defects.append(defect)
    return PhotoDraft(path=photo, defects=defects, size=size)


def _label_lines(label_file: Path) -> list[tuple[int, str]]:
    lines = label_file.read_text(encoding="utf-8").splitlines()
    return [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]


def _parse_line(
    line: str, where: str, size: tuple[int, int], names: list[str], label_map: LabelMap, context: ImportContext
) -> Defect | None:
    fields = line.split()
    class_index, values = _numbers(fields, where)
    if not 0 <= class_index < len(names):
        raise LayoutError(f"{where}: class {class_index} is not in data.yaml names (0-{len(names) - 1}): {names}")
    name = names[class_index]
    defect_type = label_map.defect_type(name, where)
    if defect_type is None:
        return None
    if len(values) == 4:
        box = _pixel_box(values, size, where, context)
        return None if box is None else Defect(type=defect_type, box=box, source_label=name)
    points = [(x * size[0], y * size[1]) for x, y in zip(values[::2], values[1::2], strict=True)]
    return Defect(type=defect_type, polygon=points, source_label=name)


def _numbers(fields: list[str], where: str) -> tuple[int, list[float]]:
    if len(fields) != 5 and (len(fields) < 7 or len(fields) % 2 == 0):
        raise LayoutError(f"{where}: expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...', got {fields}")
    try:
        return int(fields[0]), [float(value) for value in fields[1:]]
    except ValueError:
        raise LayoutError(f"{where}: not numbers: {' '.join(fields)}") from None


def _pixel_box(values: list[float], size: tuple[int, int], where: str, context: ImportContext) -> Box | None:
    """Normalised centre box to pixels, clamped to the photo (with a note when clamping moved it)."""
    cx, cy, w, h = values
    width, height = size
    raw = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
    x0, y0 = max(0.0, raw[0]), max(0.0, raw[1])
    x1, y1 = min(float(width), raw[2]), min(float(height), raw[3])
    if max(abs(a - b) for a, b in zip(raw, (x0, y0, x1, y1), strict=True)) > 1.0:
        context.note(f"{where}: box reached outside the photo by more than 1 px; clamped to the photo")
    if x1 <= x0 or y1 <= y0:
        context.note(f"{where}: box has no area inside the photo; skipped")
        return None
    return Box(x0=x0, y0=y0, x1=x1, y1=y1)
