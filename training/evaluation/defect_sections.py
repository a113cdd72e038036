"""Photo-level sections: defects by type and place (pixel metrics) and the anomaly score.

Pixel metrics are computed on the network's own grid (stride 8: 28 x 28 cells for a 224 crop). The true
224 x 224 class mask is downsampled by `training.mask_grid.cell_classes`, the rule the training targets are
made by: a cell is positive for "any defect" when at least `MIN_DEFECT_FRACTION` (1/8: 8 of its 64 pixels)
carry some defect, and positive for the one type that covers most of it. Defects smaller than that in every
cell (a few stray pixels) vanish under this rule; the report counts the photos where that happens.
Only photos annotated for defects (`photo.defects` is a list, possibly empty) take part.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import numpy as np

from grading.bundle import BundleMetadata
from grading.vocabulary import DefectType
from training.evaluation.metrics import (
    Metric,
    accuracy,
    auroc,
    average_precision,
    confusion_matrix,
    intersection_over_union,
    pr_curve,
    roc_curve,
)
from training.evaluation.plots import Figure, LabeledCurve, confusion_figure, histogram_figure, roc_pr_figure
from training.evaluation.predictions import Predictions
from training.evaluation.section import ErrorCase, Section, Table, Task, fmt, skipped
from training.mask_grid import MASK_CLASSES, MIN_DEFECT_FRACTION, cell_classes

DEFAULT_PIXEL_THRESHOLD = 0.5
MAX_ERRORS = 12


class GridTruth(NamedTuple):
    """Annotated photos on the network's grid.

    Attributes:
        rows: photo rows (into `Predictions`) of the annotated photos.
        cells: (A, MASK_CLASSES, g, g) bool, the cell's class by `cell_classes` (one class per cell).
        any_defect: (A, g, g) bool, at least `MIN_DEFECT_FRACTION` of the cell is some defect.
        defect_pixels: (A, MASK_CLASSES) pixel count of each class in the 224 mask.
    """

    rows: np.ndarray
    cells: np.ndarray
    any_defect: np.ndarray
    defect_pixels: np.ndarray


def grid_truth(predictions: Predictions) -> GridTruth:
    """The annotated photos' masks on the output grid, by the training targets' rule (`cell_classes`)."""
    rows = np.array([row for row, mask in enumerate(predictions.masks) if mask is not None], dtype=np.int64)
    grid = predictions.outputs.defect_probs.shape[-1]
    if not len(rows):
        empty = np.zeros((0, MASK_CLASSES, grid, grid), dtype=bool)
        return GridTruth(rows, empty, empty[:, 0], np.zeros((0, MASK_CLASSES), dtype=np.int64))
    classes = np.stack([cell_classes(predictions.masks[row], grid) for row in rows])
    cells = classes[:, None] == np.arange(MASK_CLASSES)[None, :, None, None]
    counts = np.stack([np.bincount(predictions.masks[row].ravel(), minlength=MASK_CLASSES) for row in rows])
    return GridTruth(rows, cells, classes > 0, counts)


def mask_classes(type_names: list[str]) -> list[int | None]:
    """Mask class index of each bundle defect type (None for a name that is not a `DefectType`)."""
    known = [member.value for member in DefectType]
    return [1 + known.index(name) if name in known else None for name in type_names]


class TypeScores(NamedTuple):
    name: str
    auroc: Metric
    average_precision: Metric
    iou: Metric
    threshold: float
    positive_cells: int


def defect_section(predictions: Predictions, metadata: BundleMetadata) -> Section:
    truth = grid_truth(predictions)
    if len(truth.rows) == 0:
        return skipped(
            Task.DEFECTS, "no photo in the split is annotated for defects: photo.defects is absent on every photo"
        )
    if truth.defect_pixels[:, 1:].sum() == 0:
        return skipped(
            Task.DEFECTS,
            f"all {len(truth.rows)} annotated photos are clean; pixel metrics need defect "
            "pixels (see the anomaly section for clean photos)",
        )
    probs = predictions.outputs.defect_probs[truth.rows]
    types = _type_scores(probs, truth, metadata)
    type_accuracy, type_matrix, type_errors = _dominant_type(predictions, probs, truth, metadata)
    any_scores = 1 - probs[:, 0]
    metrics = {
        "pixel_auroc_any_defect": auroc(truth.any_defect, any_scores),
        "pixel_ap_any_defect": average_precision(truth.any_defect, any_scores),
        "defect_type_accuracy": type_accuracy,
        "mean_type_pixel_auroc": _mean([t.auroc for t in types]),
        "mean_type_iou": _mean([t.iou for t in types]),
    }
    names = metadata.labels.defect_types
    return Section(
        Task.DEFECTS,
        metrics=metrics,
        headline=("pixel_auroc_any_defect", "defect_type_accuracy", "mean_type_pixel_auroc", "mean_type_iou"),
        notes=_defect_notes(predictions, truth, metadata),
        tables=(_type_table(types),),
        figures=tuple(_defect_figures(truth, probs, types, metrics, type_matrix, names)),
        errors=tuple(sorted(_most_missed(truth, probs) + type_errors, key=lambda case: -case.severity)),
        details={
            "per_type": {t.name: _type_json(t) for t in types},
            "type_confusion": type_matrix.tolist(),
            "type_labels": names,
            "area_fraction_rule": MIN_DEFECT_FRACTION,
        },
    )


def _mean(values: list[Metric]) -> Metric:
    defined = [m for m in values if m.value is not None]
    if not defined:
        return Metric(None, 0, "no defect type with a defined value")
    return Metric(float(np.mean([m.value for m in defined])), len(defined))


def _type_scores(probs: np.ndarray, truth: GridTruth, metadata: BundleMetadata) -> list[TypeScores]:
    """Per bundle type present in the masks or predicted: AUROC, AP, and IoU at the type's threshold."""
    scores = []
    for index, (name, mask_class) in enumerate(
        zip(metadata.labels.defect_types, mask_classes(metadata.labels.defect_types), strict=True)
    ):
        labels = truth.cells[:, mask_class] if mask_class is not None else np.zeros(probs[:, 0].shape, dtype=bool)
        threshold = metadata.thresholds.defect_presence.get(name, DEFAULT_PIXEL_THRESHOLD)
        type_probs = probs[:, 1 + index]
        if not labels.any():
            continue
        scores.append(
            TypeScores(
                name,
                auroc(labels, type_probs),
                average_precision(labels, type_probs),
                intersection_over_union(type_probs >= threshold, labels),
                threshold,
                int(labels.sum()),
            )
        )
    return scores


def _type_json(scores: TypeScores) -> dict:
    return {
        "auroc": scores.auroc.as_json(),
        "average_precision": scores.average_precision.as_json(),
        "iou": scores.iou.as_json(),
        "threshold": scores.threshold,
        "positive_cells": scores.positive_cells,
    }


def _type_table(types: list[TypeScores]) -> Table:
    rows = tuple(
        (t.name, str(t.positive_cells), fmt(t.auroc), fmt(t.average_precision), fmt(t.iou), f"{t.threshold:g}")
        for t in types
    )
    return Table(
        "per defect type (types with true cells in the split)",
        ("type", "true cells", "pixel AUROC", "pixel AP", "IoU", "threshold"),
        rows,
    )


def _dominant_type(
    predictions: Predictions, probs: np.ndarray, truth: GridTruth, metadata: BundleMetadata
) -> tuple[Metric, np.ndarray, tuple[ErrorCase, ...]]:
    """Per photo with defects: true type = largest area in the 224 mask; predicted = type with the highest peak."""
    names = metadata.labels.defect_types
    classes = mask_classes(metadata.labels.defect_types)
    with_defects = np.flatnonzero(truth.defect_pixels[:, 1:].sum(axis=1) > 0)
    true_class = 1 + truth.defect_pixels[with_defects, 1:].argmax(axis=1)
    scorable = np.array([c in classes for c in true_class], dtype=bool)
    local, true = with_defects[scorable], np.array([classes.index(c) for c in true_class[scorable]], dtype=np.int64)
    peaks = probs[local, 1:].max(axis=(2, 3))
    predicted = peaks.argmax(axis=1) if len(local) else np.zeros(0, dtype=np.int64)
    matrix = confusion_matrix(true, predicted, len(names))
    wrong = np.flatnonzero(predicted != true)
    wrong = wrong[np.argsort(-peaks[wrong, predicted[wrong]], kind="stable")][: MAX_ERRORS // 2]
    errors = tuple(
        ErrorCase(
            int(truth.rows[local[k]]),
            float(peaks[k, predicted[k]]),
            f"defect type: true {names[true[k]]}, predicted {names[predicted[k]]} (peak {peaks[k].max():.0%})",
        )
        for k in wrong
    )
    return accuracy(predicted == true), matrix, errors


def _most_missed(truth: GridTruth, probs: np.ndarray) -> tuple[ErrorCase, ...]:
    """Photos whose true defect cells mostly fall below 0.5 'any defect' probability, least found first."""
    cases = []
    for local in np.flatnonzero(truth.any_defect.any(axis=(1, 2))):
        inside = float((1 - probs[local, 0])[truth.any_defect[local]].mean())
        if inside < DEFAULT_PIXEL_THRESHOLD:
            caption = (
                f"missed defect: {_largest_type(truth.defect_pixels[local])}, mean defect probability inside the "
                f"true mask {inside:.0%}"
            )
            cases.append(ErrorCase(int(truth.rows[local]), 1 - inside, caption))
    return tuple(sorted(cases, key=lambda case: -case.severity)[:MAX_ERRORS])


def _largest_type(pixels: np.ndarray) -> str:
    return list(DefectType)[int(pixels[1:].argmax())].value


def _defect_notes(predictions: Predictions, truth: GridTruth, metadata: BundleMetadata) -> tuple[str, ...]:
    notes = [
        f"{len(truth.rows)} annotated photos; pixel metrics on the {truth.cells.shape[-1]}x"
        f"{truth.cells.shape[-1]} output grid, a cell being a defect when at least {MIN_DEFECT_FRACTION:.1%} of it "
        "is covered, and then of the type covering most of it (the training targets' rule). IoU thresholds: "
        f"the bundle's per-type defect_presence threshold, else {DEFAULT_PIXEL_THRESHOLD}."
    ]
    vanished = int(((truth.defect_pixels[:, 1:].sum(axis=1) > 0) & ~truth.any_defect.any(axis=(1, 2))).sum())
    if vanished:
        notes.append(
            f"{vanished} photos have defect pixels but no cell covered at least {MIN_DEFECT_FRACTION:.1%}: they "
            "count as clean in the pixel metrics (tiny defects)."
        )
    present = {list(DefectType)[c - 1].value for c in np.flatnonzero(truth.defect_pixels[:, 1:].sum(axis=0)) + 1}
    missing = sorted(present - set(metadata.labels.defect_types))
    if missing:
        notes.append(f"Defect types in the masks that the bundle does not predict (not scored): {', '.join(missing)}.")
    geometry = Counter(_geometry(d) for row in truth.rows for d in _photo(predictions, row).defects or [])
    if geometry.get("box"):
        notes.append(
            f"{geometry['box']} of {sum(geometry.values())} defects are boxes drawn as filled rectangles: "
            "pixel metrics against them understate precision and IoU."
        )
    return tuple(notes)


def _photo(predictions: Predictions, row: int):
    ref = predictions.refs[row]
    return predictions.items[ref.item].photos[ref.photo]


def _geometry(defect) -> str:
    return "box" if defect.box is not None else "polygon" if defect.polygon is not None else "mask"


def _defect_figures(truth, probs, types, metrics, type_matrix, names) -> list[Figure]:
    any_scores = 1 - probs[:, 0]
    roc = [LabeledCurve("any defect", roc_curve(truth.any_defect, any_scores), metrics["pixel_auroc_any_defect"].value)]
    pr = [LabeledCurve("any defect", pr_curve(truth.any_defect, any_scores), metrics["pixel_ap_any_defect"].value)]
    classes = dict(zip(names, mask_classes(names), strict=True))
    for t in types:
        index, labels = names.index(t.name), truth.cells[:, classes[t.name]]
        if t.auroc.value is not None:
            roc.append(LabeledCurve(t.name, roc_curve(labels, probs[:, 1 + index]), t.auroc.value))
            pr.append(LabeledCurve(t.name, pr_curve(labels, probs[:, 1 + index]), t.average_precision.value))
    roc, pr = [line for line in roc if line.curve is not None], [line for line in pr if line.curve is not None]
    figures = [
        roc_pr_figure(
            "defect pixels",
            roc,
            pr,
            "Every output-grid cell of every annotated photo is one "
            "example; 'any defect' scores 1 - background probability.",
        )
    ]
    if type_matrix.sum():
        used = np.flatnonzero(type_matrix.sum(axis=0) + type_matrix.sum(axis=1))
        figures.append(
            confusion_figure(
                "dominant defect type per photo",
                type_matrix[np.ix_(used, used)],
                [names[i] for i in used],
                "True: the type with the largest area; predicted: the type with the highest peak probability.",
            )
        )
    return figures


def anomaly_section(predictions: Predictions, metadata: BundleMetadata) -> Section:
    """Image-level: clean photos (defects == [], nothing in the crop) against photos with defect pixels in the crop."""
    truth = grid_truth(predictions)
    if len(truth.rows) == 0:
        return skipped(
            Task.ANOMALY,
            "no photo in the split is annotated for defects, so clean and defective photos cannot be told apart",
        )
    listed = np.array([bool(_photo(predictions, row).defects) for row in truth.rows])
    in_crop = truth.defect_pixels[:, 1:].sum(axis=1) > 0
    usable = in_crop | ~listed
    labels, scores = in_crop[usable], predictions.outputs.anomaly_score[truth.rows[usable]]
    threshold = metadata.thresholds.anomaly
    flagged = scores >= threshold
    metrics = {
        "image_auroc": auroc(labels, scores),
        "image_average_precision": average_precision(labels, scores),
        "accuracy_at_threshold": accuracy(flagged == labels),
        "recall_at_threshold": accuracy(flagged[labels]),
        "false_alarm_rate_at_threshold": accuracy(flagged[~labels]),
        "pixel_auroc_anomaly_map": auroc(truth.any_defect, predictions.outputs.anomaly_map[truth.rows]),
    }
    notes = [
        f"{int(labels.sum())} defective and {int((~labels).sum())} clean photos; anomalous means "
        f"anomaly_score >= {threshold:g} (the bundle threshold; scores are normalised so 1.0 is the calibrated "
        "threshold)."
    ]
    if (~usable).sum():
        notes.append(
            f"{int((~usable).sum())} photos list defects that all fall outside the model's centre crop; left out."
        )
    return Section(
        Task.ANOMALY,
        metrics=metrics,
        headline=("image_auroc", "accuracy_at_threshold"),
        notes=tuple(notes),
        figures=tuple(_anomaly_figures(labels, scores, threshold, metrics)),
        errors=_anomaly_errors(truth.rows[usable], labels, scores, threshold),
        details={"threshold": threshold, "defective": int(labels.sum()), "clean": int((~labels).sum())},
    )


def _anomaly_figures(labels: np.ndarray, scores: np.ndarray, threshold: float, metrics: dict) -> list[Figure]:
    figures = []
    roc, pr = roc_curve(labels, scores), pr_curve(labels, scores)
    if roc is not None:
        figures.append(
            roc_pr_figure(
                "anomaly score: defective vs clean photos",
                [LabeledCurve("anomaly score", roc, metrics["image_auroc"].value)],
                [LabeledCurve("anomaly score", pr, metrics["image_average_precision"].value)],
                "Positive class: defective.",
            )
        )
    figures.append(
        histogram_figure(
            "anomaly score by class",
            {"clean": scores[~labels], "defective": scores[labels]},
            threshold,
            "anomaly score (1.0 = calibrated threshold)",
        )
    )
    return figures


def _anomaly_errors(rows: np.ndarray, labels: np.ndarray, scores: np.ndarray, threshold: float) -> tuple:
    """False alarms and misses, worst (furthest on the wrong side, in log ratio) first."""
    ratio = np.log(np.maximum(scores, 1e-6) / threshold)
    wrong = np.flatnonzero((scores >= threshold) != labels)
    cases = [
        ErrorCase(
            int(rows[k]),
            float(abs(ratio[k])),
            f"anomaly: {'missed defective photo' if labels[k] else 'false alarm on a clean photo'}, "
            f"score {scores[k]:.2f}",
        )
        for k in wrong
    ]
    return tuple(sorted(cases, key=lambda case: -case.severity)[:MAX_ERRORS])
