"""Class folders: `<root>/<split>/<class>/*.jpg` or `<root>/<class>/*.jpg`; the folder name is the label."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from grading.vocabulary import Authenticity, Split
from training.importers import register
from training.importers.drafts import ImportContext, ItemDraft, PhotoDraft
from training.importers.folders import key_of, list_photos, split_folders, subfolders
from training.importers.label_map import LabelField, LabelMap

DESCRIPTION = """\
class_folders  one folder per class, optionally inside split folders; one photo = one item.
    ROOT/train/dress/0001.jpg   ROOT/validation/dress/0002.jpg   (or ROOT/dress/0001.jpg)
    Split folders: train|training, validation|valid|val|dev, test|testing. The label map's 'field:'
    says what the class folder names fill: category (clothing-small), authenticity (shoes-auth-fake:
    auth -> authentic, fake -> counterfeit) or several item fields at once (`field: item`, sneakers-auth:
    fake_af1 -> shoes, counterfeit, product line af1). Photos are not annotated for defects.
    e.g. secondlook data import class_folders ../shared/datasets/clothing-small \\
             --label-map datasets/label_maps/clothing-small.yaml --license CC0-1.0 --out var/manifests/cs.jsonl"""


@register("class_folders", description=DESCRIPTION)
def import_class_folders(root: Path, context: ImportContext) -> Iterator[ItemDraft]:
    label_map = context.require_label_map("class_folders")
    label_map.require_field(LabelField.CATEGORY, LabelField.AUTHENTICITY, LabelField.ITEM)
    for split, split_root in split_folders(root):
        for class_folder in subfolders(split_root):
            yield from _class_items(root, class_folder, split, label_map)


def _class_items(root: Path, folder: Path, split: Split | None, label_map: LabelMap) -> Iterator[ItemDraft]:
    labels = label_map.item_labels(folder.name, where=str(folder))
    if labels is None:
        return
    if "authenticity" in labels:
        labels = labels | {"authenticity": Authenticity(labels["authenticity"])}
    for photo in list_photos(folder):
        yield ItemDraft(key=key_of(photo, root), photos=(PhotoDraft(path=photo),), split=split, **labels)
