"""COCO JSON: `images`, `annotations` (bbox [x, y, w, h] in pixels, polygon `segmentation`), `categories`.

Photos listed in the JSON without any annotation become clean (`defects=[]`): a COCO file lists every
photo that was labeled. Run-length (RLE) segmentations are refused: convert them to polygons or masks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grading.manifest import Box, Defect
from grading.vocabulary import Split
from training.importers import register
from training.importers.drafts import ImportContext, ItemDraft, PhotoDraft
from training.importers.errors import LayoutError
from training.importers.folders import key_of, split_of, subfolders
from training.importers.label_map import LabelField, LabelMap
from training.importers.options import parse_options

DESCRIPTION = """\
coco  COCO JSON files; file_name is relative to the JSON's folder (or --option images=DIR under ROOT).
    ROOT/train/_annotations.coco.json + ROOT/train/*.jpg (Roboflow), or ROOT/annotations.json + ROOT/images/
    --option annotations=annotations/instances_train.json picks one file. Split from the JSON's folder
    name. bbox [x, y, w, h] becomes a box; polygon segmentation becomes a polygon; RLE is refused.
    Listed photos without annotations are clean. Category names go through the label map.
    e.g. secondlook data import coco ~/my-coco-export --label-map my-map.yaml --license CC-BY-4.0"""


@dataclass(frozen=True)
class CocoOptions:
    annotations: str | None = None
    images: str | None = None


@register("coco", description=DESCRIPTION, options=CocoOptions)
def import_coco(root: Path, context: ImportContext) -> Iterator[ItemDraft]:
    options = parse_options(CocoOptions, context.options, "coco")
    label_map = context.require_label_map("coco")
    label_map.require_field(LabelField.DEFECT_TYPE)
    for json_path in _json_files(root, options):
        images_root = root / options.images if options.images else json_path.parent
        split = split_of(json_path.parent.name) if json_path.parent != root else None
        yield from _items(json_path, images_root, root, split, label_map)


def _json_files(root: Path, options: CocoOptions) -> list[Path]:
    if options.annotations:
        path = root / options.annotations
        if not path.is_file():
            raise LayoutError(f"--option annotations={options.annotations}: {path} does not exist")
        return [path]
    found = sorted(root.glob("*.json")) + [p for folder in subfolders(root) for p in sorted(folder.glob("*.json"))]
    if not found:
        raise LayoutError(f"{root}: no COCO .json in it or its subfolders; pass --option annotations=PATH")
    return found


def _items(
    json_path: Path, images_root: Path, root: Path, split: Split | None, label_map: LabelMap
) -> Iterator[ItemDraft]:
    document = _load(json_path)
    categories = {category["id"]: str(category["name"]) for category in document.get("categories", [])}
    by_image: dict[Any, list[dict]] = defaultdict(list)
    for annotation in document.get("annotations", []):
        by_image[annotation["image_id"]].append(annotation)
    for image in document["images"]:
        photo = images_root / image["file_name"]
        if not photo.is_file():
            raise LayoutError(f"{json_path}: image id {image['id']} file {photo} does not exist; fix file_name")
        where = f"{json_path} (image {image['file_name']})"
        defects = [d for a in by_image[image["id"]] for d in _defects(a, categories, label_map, where)]
        size = (int(image["width"]), int(image["height"])) if "width" in image and "height" in image else None
        yield ItemDraft(key=key_of(photo, root), photos=(PhotoDraft(photo, defects=defects, size=size),), split=split)


def _load(json_path: Path) -> dict:
    try:
        document = json.loads(json_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise LayoutError(f"{json_path}: not valid JSON ({error})") from None
    if not isinstance(document, dict) or "images" not in document:
        raise LayoutError(f"{json_path}: not a COCO file (no 'images' list)")
    return document


def _defects(annotation: dict, categories: dict[Any, str], label_map: LabelMap, where: str) -> list[Defect]:
    name = categories.get(annotation["category_id"])
    if name is None:
        raise LayoutError(
            f"{where}: annotation {annotation.get('id')} has category_id {annotation['category_id']} "
            f"which is not in 'categories' ({sorted(categories)})"
        )
    defect_type = label_map.defect_type(name, where)
    if defect_type is None:
        return []
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, dict):
        raise LayoutError(
            f"{where}: annotation {annotation.get('id')} uses RLE segmentation, which is not supported; "
            "export polygons instead, or convert the RLE to mask PNGs and use the image_masks layout"
        )
    if segmentation:
        return [_polygon_defect(part, defect_type, name, where) for part in segmentation]
    return [Defect(type=defect_type, box=_box(annotation, where), source_label=name)]


def _box(annotation: dict, where: str) -> Box:
    x, y, w, h = (float(value) for value in annotation["bbox"])
    if w <= 0 or h <= 0:
        raise LayoutError(
            f"{where}: annotation {annotation.get('id')} has an empty bbox {annotation['bbox']}; fix or drop it"
        )
    return Box(x0=max(0.0, x), y0=max(0.0, y), x1=x + w, y1=y + h)


def _polygon_defect(part: list[float], defect_type: Any, name: str, where: str) -> Defect:
    if len(part) < 6 or len(part) % 2:
        raise LayoutError(f"{where}: polygon with {len(part)} numbers; a polygon needs x, y pairs of 3+ points")
    points = [(float(x), float(y)) for x, y in zip(part[::2], part[1::2], strict=True)]
    return Defect(type=defect_type, polygon=points, source_label=name)
