"""Image + mask folders: `<split>/images/<name>` with `<split>/masks/<same name>`.

Binary masks (0 = background, nonzero = defect) take the defect type from the file name: the part the
`name_pattern` regex captures as `label` (default: everything before the last `_<number>`, so
`cut_12.png` -> `cut`). Class-index masks take it from the pixel values (label map keys are the
values, 0 = background). A mask with one class is referenced as is; a mask with several classes is split
into one binary mask per class, written beside the manifest (photos are never copied).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from grading.manifest import Defect
from grading.vocabulary import Split
from training.importers import register
from training.importers.drafts import ImportContext, ItemDraft, PhotoDraft
from training.importers.errors import LayoutError
from training.importers.folders import PHOTO_SUFFIXES, key_of, list_photos, split_folders
from training.importers.label_map import LabelField, LabelMap
from training.importers.mask_files import mask_size, read_mask, write_binary_mask
from training.importers.options import parse_options
from training.importers.photo_files import header_size

DESCRIPTION = """\
image_masks  photos and masks of the same name in sibling folders, optionally inside split folders:
    ROOT/train/images/cut_12.png  ROOT/train/masks/cut_12.png   (or ROOT/images + ROOT/masks)
    --option masks=binary (default): 0 = background, nonzero = defect; the type comes from the file name
        (--option name_pattern='^(?P<label>.+?)_\\d+$' is the default: cut_12.png -> cut).
    --option masks=class_index: pixel value = class; the label map's keys are the values (1: hole).
    Every photo needs a mask (an all-zero mask marks a clean photo); the mask may be .png for a .jpg.
    e.g. secondlook data import image_masks ../shared/datasets/leather-defects-masks \\
             --label-map datasets/label_maps/leather-defects-masks.yaml --license unstated"""


class MaskKind(StrEnum):
    BINARY = "binary"
    CLASS_INDEX = "class_index"


@dataclass(frozen=True)
class MaskOptions:
    masks: MaskKind = MaskKind.BINARY
    name_pattern: str = r"^(?P<label>.+?)_\d+$"
    images_dir: str = "images"
    masks_dir: str = "masks"


@register("image_masks", description=DESCRIPTION, options=MaskOptions)
def import_image_masks(root: Path, context: ImportContext) -> Iterator[ItemDraft]:
    options = parse_options(MaskOptions, context.options, "image_masks")
    label_map = context.require_label_map("image_masks")
    label_map.require_field(LabelField.DEFECT_TYPE)
    pattern = _compile(options.name_pattern)
    for split, folder in _pair_folders(root, options):
        masks_folder = folder / options.masks_dir
        _note_orphan_masks(folder / options.images_dir, masks_folder, root, context)
        for photo in list_photos(folder / options.images_dir):
            mask = find_mask(photo, masks_folder)
            draft = _photo_draft(photo, mask, root, label_map, options, pattern, context)
            yield ItemDraft(key=key_of(photo, root), photos=(draft,), split=split)


def _compile(name_pattern: str) -> re.Pattern[str]:
    try:
        pattern = re.compile(name_pattern)
    except re.error as error:
        raise LayoutError(f"--option name_pattern={name_pattern!r} is not a valid regex: {error}") from None
    if "label" not in pattern.groupindex:
        raise LayoutError(f"--option name_pattern={name_pattern!r} needs a named group (?P<label>...)")
    return pattern


def _pair_folders(root: Path, options: MaskOptions) -> list[tuple[Split | None, Path]]:
    folders = [(split, folder) for split, folder in split_folders(root) if (folder / options.images_dir).is_dir()]
    if not folders:
        raise LayoutError(
            f"{root}: no '{options.images_dir}/' folder (nor <split>/{options.images_dir}/); "
            "the image_masks layout needs images/ and masks/ folders side by side"
        )
    return folders


def find_mask(photo: Path, masks_folder: Path) -> Path:
    """The mask for `photo`: same file name, else same stem with any photo suffix; raises if there is none."""
    same_name = masks_folder / photo.name
    if same_name.is_file():
        return same_name
    candidates = sorted(p for p in masks_folder.glob(f"{photo.stem}.*") if p.suffix.lower() in PHOTO_SUFFIXES)
    if candidates:
        return candidates[0]
    raise LayoutError(
        f"{photo} has no mask: expected {same_name}. Add the mask (all zeros if the photo is clean) "
        "or move the photo out of the dataset"
    )


def _note_orphan_masks(images: Path, masks: Path, root: Path, context: ImportContext) -> None:
    if not masks.is_dir():
        return
    stems = {photo.stem for photo in list_photos(images)}
    orphans = [mask for mask in list_photos(masks) if mask.stem not in stems]
    if orphans:
        context.note(f"{key_of(masks, root)}: {len(orphans)} mask(s) have no photo, e.g. {orphans[0].name}")


def _photo_draft(
    photo: Path,
    mask: Path,
    root: Path,
    label_map: LabelMap,
    options: MaskOptions,
    pattern: re.Pattern[str],
    context: ImportContext,
) -> PhotoDraft:
    size = header_size(photo)
    if size is not None and mask_size(mask) != size:
        context.note(f"{key_of(mask, root)}: mask is {mask_size(mask)} but the photo is {size}; fix or drop it")
    pixels = read_mask(mask)
    if options.masks is MaskKind.BINARY:
        defects = _binary_defects(photo, mask, pixels, label_map, pattern, context)
    else:
        defects = _class_index_defects(mask, pixels, root, label_map, context)
    return PhotoDraft(path=photo, defects=defects, size=size)


def _binary_defects(
    photo: Path, mask: Path, pixels: np.ndarray, label_map: LabelMap, pattern: re.Pattern[str], context: ImportContext
) -> list[Defect]:
    if not pixels.any():
        return []
    match = pattern.match(photo.stem)
    if match is None:
        raise LayoutError(
            f"{photo}: file name does not match name_pattern {pattern.pattern!r}, so the defect type is unknown; "
            "rename the file or pass --option name_pattern=... with a (?P<label>...) group"
        )
    name = match.group("label")
    defect_type = label_map.defect_type(name, where=str(photo))
    return [] if defect_type is None else [Defect(type=defect_type, mask=context.relative(mask), source_label=name)]


def _class_index_defects(
    mask: Path, pixels: np.ndarray, root: Path, label_map: LabelMap, context: ImportContext
) -> list[Defect]:
    values = [int(value) for value in np.unique(pixels) if value != 0]
    typed = [(value, label_map.defect_type(str(value), where=f"{mask} (pixel value {value})")) for value in values]
    typed = [(value, defect_type) for value, defect_type in typed if defect_type is not None]
    if len(values) == 1 and typed:
        return [Defect(type=typed[0][1], mask=context.relative(mask), source_label=str(values[0]))]
    defects = []
    for value, defect_type in typed:
        derived = context.derived_dir / "masks" / f"{key_of(mask, root)}.class{value}.png"
        write_binary_mask(pixels, value, derived)
        defects.append(Defect(type=defect_type, mask=context.relative(derived), source_label=str(value)))
    return defects
