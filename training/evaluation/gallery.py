"""The worst errors, drawn: each photo with its true defect outline, the defect heatmap and the anomaly map.

Errors are taken in turn from each section's list (worst first), so one task cannot fill the gallery, and
a photo is shown once. Photos are reloaded through the same intake, so what is drawn is what the model saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest

import numpy as np
from PIL import Image

from grading.bundle import BundleMetadata
from training.evaluation.plots import plt, to_png
from training.evaluation.predictions import Predictions
from training.evaluation.section import ErrorCase, Section
from training.photo_targets import load_photo_target

GALLERY_SIZE = 12


@dataclass(frozen=True)
class GalleryEntry:
    item_id: str
    photo_path: str
    caption: str
    png: bytes


def pick_errors(sections: list[Section], size: int = GALLERY_SIZE) -> list[ErrorCase]:
    """Round-robin over the sections' error lists; each photo at most once."""
    chosen, seen = [], set()
    for round_ in zip_longest(*(section.errors for section in sections)):
        for case in round_:
            if case is not None and case.photo not in seen and len(chosen) < size:
                chosen.append(case)
                seen.add(case.photo)
    return chosen


def draw_gallery(predictions: Predictions, metadata: BundleMetadata, cases: list[ErrorCase]) -> list[GalleryEntry]:
    preprocessing = metadata.input.preprocessing()
    entries = []
    for case in cases:
        ref = predictions.refs[case.photo]
        item = predictions.items[ref.item]
        photo = item.photos[ref.photo]
        target = load_photo_target(predictions.manifest_path, photo, preprocessing)
        png = _tile(target.pixels, target.defect_mask, predictions, case.photo, metadata.thresholds.anomaly)
        entries.append(GalleryEntry(item.id, photo.path, case.caption, png))
    return entries


def _upsample(values: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(values.astype(np.float32), mode="F").resize((size, size), Image.BILINEAR))


def _tile(pixels: np.ndarray, mask: np.ndarray | None, predictions: Predictions, row: int, threshold: float) -> bytes:
    size = pixels.shape[0]
    defect_heat = _upsample(1 - predictions.outputs.defect_probs[row, 0], size)
    anomaly_heat = _upsample(predictions.outputs.anomaly_map[row], size)
    score = float(predictions.outputs.anomaly_score[row])
    anomaly_top = max(2 * threshold, float(np.percentile(anomaly_heat, 99)))  # threshold mid-scale unless exceeded
    figure, axes = plt.subplots(1, 3, figsize=(9.6, 3.4))
    panels = (
        ("photo, true defects outlined" if mask is not None else "photo (not annotated for defects)", None, None),
        ("defect probability (any type)", defect_heat, (0.0, 1.0)),
        (f"anomaly map, score {score:.2f} (threshold {threshold:g})", anomaly_heat, (0.0, anomaly_top)),
    )
    for axis, (title, heat, limits) in zip(axes, panels, strict=True):
        axis.imshow(pixels)
        if heat is not None:
            image = axis.imshow(heat, cmap="inferno", alpha=0.55, vmin=limits[0], vmax=limits[1])
            figure.colorbar(image, ax=axis, fraction=0.046, pad=0.02)
        if mask is not None and mask.any():
            axis.contour(mask > 0, levels=[0.5], colors="cyan", linewidths=1.2)
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    return to_png(figure)
