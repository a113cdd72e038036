"""MVTec AD layout: defect-free training photos, test photos sorted by defect, one mask per defective photo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from grading.manifest import Defect
from grading.vocabulary import Split
from training.importers import register
from training.importers.drafts import ImportContext, ItemDraft, PhotoDraft
from training.importers.errors import LayoutError
from training.importers.folders import key_of, list_photos, subfolders
from training.importers.label_map import LabelField, LabelMap

DESCRIPTION = """\
mvtec  MVTec AD: ROOT/<category>/train/good/*.png (clean), ROOT/<category>/test/<defect>/*.png and
    ROOT/<category>/ground_truth/<defect>/<name>_mask.png. ROOT may also be one category folder.
    'good' photos get defects=[]; every other test folder name goes through the label map
    (e.g. cut: cut, poke: hole, color: stain). The category folder name becomes the item category.
    e.g. secondlook data import mvtec ~/mvtec_anomaly_detection --label-map my-mvtec.yaml --license CC-BY-NC-SA-4.0"""

GOOD = "good"


@register("mvtec", description=DESCRIPTION)
def import_mvtec(root: Path, context: ImportContext) -> Iterator[ItemDraft]:
    label_map = context.require_label_map("mvtec")
    label_map.require_field(LabelField.DEFECT_TYPE)
    for category in _categories(root):
        yield from _good(root, category, "train", Split.TRAIN)
        yield from _good(root, category, "test", Split.TEST)
        yield from _defective(root, category, label_map, context)


def _categories(root: Path) -> list[Path]:
    if (root / "train").is_dir() or (root / "test").is_dir():
        return [root]
    categories = [folder for folder in subfolders(root) if (folder / "train").is_dir() or (folder / "test").is_dir()]
    if not categories:
        raise LayoutError(f"{root}: neither a category folder (train/, test/) nor a folder of categories; see --help")
    return categories


def _good(root: Path, category: Path, split_name: str, split: Split) -> Iterator[ItemDraft]:
    folder = category / split_name / GOOD
    if folder.is_dir():
        for photo in list_photos(folder):
            yield ItemDraft(key_of(photo, root), (PhotoDraft(photo, defects=[]),), split, category=category.name)


def _defective(root: Path, category: Path, label_map: LabelMap, context: ImportContext) -> Iterator[ItemDraft]:
    test = category / "test"
    if not test.is_dir():
        return
    for folder in subfolders(test):
        if folder.name == GOOD:
            continue
        defect_type = label_map.defect_type(folder.name, where=str(folder))
        for photo in list_photos(folder):
            defects = None
            if defect_type is not None:
                mask = _mask_of(photo, category)
                defects = [Defect(type=defect_type, mask=context.relative(mask), source_label=folder.name)]
            yield ItemDraft(key_of(photo, root), (PhotoDraft(photo, defects=defects),), Split.TEST, category.name)


def _mask_of(photo: Path, category: Path) -> Path:
    mask = category / "ground_truth" / photo.parent.name / f"{photo.stem}_mask.png"
    if not mask.is_file():
        raise LayoutError(f"{photo} has no mask: expected {mask}. Add the mask or remove the photo")
    return mask
