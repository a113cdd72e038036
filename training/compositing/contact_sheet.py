"""A contact sheet of composited items: the damaged photo, a 2x close-up, and the masks outlined."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from grading.manifest import Item, read_manifest, resolve_photo_path

TILE = 220
TYPE_COLOURS = {
    "stain": (255, 210, 0),
    "hole": (255, 40, 40),
    "tear": (255, 0, 200),
    "scuff": (0, 220, 255),
    "pilling": (120, 255, 60),
    "fading": (255, 140, 0),
    "snag": (170, 120, 255),
}


def contact_sheet(manifest: Path, out: Path, count: int = 20, columns: int = 2) -> Path:
    """Draw `count` damaged items (varied grades), three tiles each, `columns` items per row."""
    chosen = _varied_damaged_items(read_manifest(manifest), count)
    rows = -(-len(chosen) // columns)
    sheet = Image.new("RGB", (columns * 3 * TILE, rows * (TILE + 34)), "white")
    for index, item in enumerate(chosen):
        x, y = (index % columns) * 3 * TILE, (index // columns) * (TILE + 34)
        _draw_item(sheet, manifest, item, (x, y))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)  # keeps the PNG small
    return out


def _varied_damaged_items(items: list[Item], count: int) -> list[Item]:
    damaged = [item for item in items if item.photos[0].defects]
    by_grade: dict[str, list[Item]] = {}
    for item in damaged:
        by_grade.setdefault(item.grade.value, []).append(item)
    chosen: list[Item] = []
    while len(chosen) < count and any(by_grade.values()):
        for grade in sorted(by_grade):
            if by_grade[grade] and len(chosen) < count:
                chosen.append(by_grade[grade].pop(0))
    return chosen


def _draw_item(sheet: Image.Image, manifest: Path, item: Item, origin: tuple[int, int]) -> None:
    photo = item.photos[0]
    image = Image.open(resolve_photo_path(manifest, photo.path)).convert("RGB")
    masks = [np.asarray(Image.open(resolve_photo_path(manifest, d.mask))) > 0 for d in photo.defects]
    outlined = _outline(np.asarray(image).copy(), masks, [d.type.value for d in photo.defects])
    focus = _close_up(image, masks[0])
    x, y = origin
    for offset, tile in enumerate((image, focus, Image.fromarray(outlined))):
        fitted = tile.copy()
        fitted.thumbnail((TILE, TILE))
        sheet.paste(fitted, (x + offset * TILE, y))
    label = ", ".join(f"{d.type.value} {d.severity:.2f}" for d in photo.defects)
    ImageDraw.Draw(sheet).text((x + 4, y + TILE + 4), f"{item.grade.value}: {label}", fill="black")


def _outline(pixels: np.ndarray, masks: list[np.ndarray], kinds: list[str]) -> np.ndarray:
    for mask, kind in zip(masks, kinds, strict=True):
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(pixels, contours, -1, TYPE_COLOURS.get(kind, (255, 255, 255)), 1)
    return pixels


def _close_up(image: Image.Image, mask: np.ndarray) -> Image.Image:
    ys, xs = np.nonzero(mask)
    centre_x, centre_y = int(xs.mean()), int(ys.mean())
    half = TILE // 4
    left = int(np.clip(centre_x - half, 0, max(0, image.width - 2 * half)))
    top = int(np.clip(centre_y - half, 0, max(0, image.height - 2 * half)))
    return image.crop((left, top, left + 2 * half, top + 2 * half)).resize((TILE, TILE), Image.Resampling.LANCZOS)
