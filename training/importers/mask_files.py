"""Reading segmentation masks: binary (any nonzero pixel is defect) or class-index (pixel value = class)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from training.importers.errors import LayoutError

_SINGLE_CHANNEL = {"1", "L", "P", "I", "I;16", "I;16L", "I;16B"}


def read_mask(path: Path) -> np.ndarray:
    """The mask as a 2-D integer array. Grey RGB(A) masks (R = G = B, common in exports) use one channel."""
    with Image.open(path) as image:
        if image.mode in _SINGLE_CHANNEL:
            return np.asarray(image).astype(np.int64)
        if image.mode == "LA":
            return np.asarray(image)[..., 0].astype(np.int64)
        pixels = np.asarray(image.convert("RGB"))
    if not ((pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()):
        raise LayoutError(
            f"{path}: a colour mask (R, G, B differ); save it as a single-channel PNG with 0 = background"
        )
    return pixels[..., 0].astype(np.int64)


def mask_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def write_binary_mask(mask: np.ndarray, value: int, path: Path) -> None:
    """Write the pixels equal to `value` as a 0/255 single-channel PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.where(mask == value, 255, 0).astype(np.uint8), mode="L").save(path)
