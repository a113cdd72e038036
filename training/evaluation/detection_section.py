"""Photo-level detection at the bundle's shipped thresholds: is a defect reported at all, and under which type.

A photo reports a defect when some type's map reaches that type's `defect_presence` threshold somewhere
(exactly when the service finds a region, `grading.defect_regions`). Recall is measured on annotated photos
with defect pixels inside the model's crop, false alarms on annotated clean photos; the type is right when
the reported type with the highest peak is the type covering the most pixels.
"""

from __future__ import annotations

import numpy as np

from grading.bundle import BundleMetadata
from grading.vocabulary import DefectType
from training.evaluation.metrics import accuracy
from training.evaluation.predictions import Predictions
from training.evaluation.section import ErrorCase, Section, Task, skipped

DEFAULT_THRESHOLD = 0.5
MAX_ERRORS = 12


def reported_peaks(predictions: Predictions, metadata: BundleMetadata) -> tuple[np.ndarray, np.ndarray]:
    """(photos, types) peak probability per type, and whether it reaches the type's threshold."""
    types = metadata.labels.defect_types
    peaks = predictions.outputs.defect_probs[:, 1:].max(axis=(2, 3))
    thresholds = np.array([metadata.thresholds.defect_presence.get(t, DEFAULT_THRESHOLD) for t in types])
    return peaks, peaks >= thresholds[None, :]


def detection_section(predictions: Predictions, metadata: BundleMetadata) -> Section:
    annotated = [row for row, mask in enumerate(predictions.masks) if mask is not None]
    if not annotated:
        return skipped(Task.DETECTION, "no photo in the split is annotated for defects (photo.defects is absent)")
    rows = np.array(annotated, dtype=np.int64)
    pixels = np.stack([np.bincount(predictions.masks[r].ravel(), minlength=1 + len(DefectType)) for r in rows])
    damaged, listed = pixels[:, 1:].sum(axis=1) > 0, np.array([_listed(predictions, r) for r in rows])
    clean = ~damaged & ~listed
    peaks, reported = reported_peaks(predictions, metadata)
    any_reported = reported[rows].any(axis=1)
    type_right = _type_right(pixels, peaks[rows], reported[rows], metadata)
    metrics = {
        "photo_recall_at_thresholds": accuracy(any_reported[damaged]),
        "photo_false_alarm_rate_at_thresholds": accuracy(any_reported[clean]),
        "reported_type_accuracy": accuracy(type_right[damaged & any_reported & (type_right >= 0)] == 1),
    }
    notes = (
        f"{int(damaged.sum())} photos with defect pixels in the crop, {int(clean.sum())} clean; thresholds: the "
        "bundle's defect_presence per type (what the service reports).",
    )
    return Section(
        Task.DETECTION,
        metrics=metrics,
        headline=tuple(name for name, metric in metrics.items() if metric.value is not None),
        notes=notes,
        errors=_missed(rows[damaged & ~any_reported], peaks),
    )


def _listed(predictions: Predictions, row: int) -> bool:
    ref = predictions.refs[row]
    return bool(predictions.items[ref.item].photos[ref.photo].defects)


def _type_right(pixels: np.ndarray, peaks: np.ndarray, reported: np.ndarray, metadata: BundleMetadata) -> np.ndarray:
    """Per photo 1 (right), 0 (wrong) or -1 (true type unknown to the bundle)."""
    names = [member.value for member in DefectType]
    true_names = [names[int(k)] for k in pixels[:, 1:].argmax(axis=1)]
    shown = np.where(reported, peaks, -1.0).argmax(axis=1)
    types = metadata.labels.defect_types
    return np.array(
        [-1 if true not in types else int(types[k] == true) for true, k in zip(true_names, shown, strict=True)]
    )


def _missed(rows: np.ndarray, peaks: np.ndarray) -> tuple[ErrorCase, ...]:
    cases = [
        ErrorCase(int(r), 1.0 - float(peaks[r].max()), "missed: no defect reported on a damaged photo") for r in rows
    ]
    return tuple(sorted(cases, key=lambda case: -case.severity)[:MAX_ERRORS])
