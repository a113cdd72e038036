"""Item-level sections: category, condition grade and authenticity.

An item's probabilities are the mean over its readable photos. Labels are matched to the bundle's own
label lists by name; labeled items whose label the bundle does not know are counted and named in the
report, never silently dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from grading.authenticity import item_counterfeit_probability
from grading.bundle import BundleMetadata
from grading.grade_decision import median_grade
from grading.vocabulary import Authenticity
from training.evaluation.metrics import (
    Metric,
    accuracy,
    accuracy_after_abstaining,
    accuracy_among,
    auroc,
    average_precision,
    confusion_matrix,
    expected_calibration_error,
    pr_curve,
    quadratic_weighted_kappa,
    reliability,
    roc_curve,
    share,
)
from training.evaluation.plots import (
    Figure,
    LabeledCurve,
    abstain_figure,
    confusion_figure,
    histogram_figure,
    reliability_figure,
    roc_pr_figure,
)
from training.evaluation.predictions import Predictions
from training.evaluation.section import ErrorCase, Section, Table, Task, skipped

ABSTAIN_RATES = (0.0, 0.05, 0.10, 0.20, 0.30)
MAX_ERRORS = 12


class Matched(NamedTuple):
    """Labeled items whose label is in the bundle's list: item rows and label indices; plus the others."""

    rows: np.ndarray
    true: np.ndarray
    labeled: int
    unknown: Counter


class Scored(NamedTuple):
    predicted: np.ndarray
    confidence: np.ndarray
    correct: np.ndarray


def match_labels(values: list[str | None], vocabulary: list[str]) -> Matched:
    rows = [row for row, value in enumerate(values) if value in vocabulary]
    unknown = Counter(value for value in values if value is not None and value not in vocabulary)
    true = np.array([vocabulary.index(values[row]) for row in rows], dtype=np.int64)
    return Matched(np.array(rows, dtype=np.int64), true, sum(v is not None for v in values), unknown)


def unknown_note(matched: Matched, what: str) -> tuple[str, ...]:
    if not matched.unknown:
        return ()
    names = ", ".join(f"{name} ({count})" for name, count in matched.unknown.most_common())
    count = sum(matched.unknown.values())
    return (
        f"{count} of {matched.labeled} labeled items have a {what} the bundle does not know and are not scored: "
        f"{names}.",
    )


def score(probabilities: np.ndarray, true: np.ndarray) -> Scored:
    predicted = probabilities.argmax(axis=1)
    return Scored(predicted, probabilities.max(axis=1), predicted == true)


def score_grades(probabilities: np.ndarray, true: np.ndarray) -> Scored:
    """Grades are decided as the service decides them: the ordinal median (`grading.grade_decision`)."""
    predicted = median_grade(probabilities)
    confidence = np.take_along_axis(probabilities, predicted[:, None], axis=1)[:, 0]
    return Scored(predicted, confidence, predicted == true)


def worst_wrong(predictions: Predictions, rows: np.ndarray, scored: Scored, describe) -> tuple[ErrorCase, ...]:
    """The most confident wrong items, worst first; `describe(k)` captions the k-th scored item."""
    wrong = np.flatnonzero(~scored.correct)
    order = wrong[np.argsort(-scored.confidence[wrong], kind="stable")][:MAX_ERRORS]
    return tuple(
        ErrorCase(predictions.first_photo_of(int(rows[k])), float(scored.confidence[k]), describe(k)) for k in order
    )


def classification_figures(name: str, matrix: np.ndarray, labels: list[str], scored: Scored, ece: Metric) -> list:
    """Confusion matrix (only classes that occur) and reliability diagram."""
    used = np.flatnonzero(matrix.sum(axis=0) + matrix.sum(axis=1))
    confusion = confusion_figure(
        f"{name} confusion",
        matrix[np.ix_(used, used)],
        [labels[i] for i in used],
        "Rows are true labels, columns predictions; colour is the share of the row. Classes that occur in neither "
        "are left out.",
    )
    table = reliability(scored.confidence, scored.correct)
    calibration = reliability_figure(
        f"{name} reliability",
        table,
        ece.value,
        "Bars: accuracy of the items whose top probability falls in the bin; dots: their mean top probability. "
        "Bars below the diagonal mean overconfidence.",
    )
    return [confusion, calibration]


def category_section(predictions: Predictions, metadata: BundleMetadata) -> Section:
    labels = metadata.labels.categories
    matched = match_labels([item.category for item in predictions.items], labels)
    if matched.labeled == 0:
        return skipped(Task.CATEGORY, "no item in the split has a category label")
    notes = unknown_note(matched, "category")
    if len(matched.rows) == 0:
        return skipped(
            Task.CATEGORY,
            f"none of the {matched.labeled} labeled items has a category the bundle knows ({', '.join(labels)})",
            notes,
        )
    probabilities = predictions.item_mean(predictions.outputs.category_probs)[matched.rows]
    scored = score(probabilities, matched.true)
    matrix = confusion_matrix(matched.true, scored.predicted, len(labels))
    metrics = {
        "top1_accuracy": accuracy(scored.correct),
        "expected_calibration_error": expected_calibration_error(scored.confidence, scored.correct),
        "macro_recall": _macro_recall(matrix),
    }

    def describe(k: int) -> str:
        return (
            f"category: true {labels[matched.true[k]]}, predicted {labels[scored.predicted[k]]} "
            f"({scored.confidence[k]:.0%})"
        )

    return Section(
        Task.CATEGORY,
        metrics=metrics,
        headline=("top1_accuracy", "expected_calibration_error"),
        notes=notes,
        tables=(_per_class_table(matrix, labels),),
        figures=tuple(
            classification_figures("category", matrix, labels, scored, metrics["expected_calibration_error"])
        ),
        errors=worst_wrong(predictions, matched.rows, scored, describe),
        details={"labels": labels, "confusion": matrix.tolist(), "unknown_labels": dict(matched.unknown)},
    )


def _macro_recall(matrix: np.ndarray) -> Metric:
    totals = matrix.sum(axis=1)
    present = totals > 0
    if not present.any():
        return Metric(None, 0, "no examples")
    return Metric(float((np.diag(matrix)[present] / totals[present]).mean()), int(totals.sum()))


def _per_class_table(matrix: np.ndarray, labels: list[str]) -> Table:
    rows = []
    for index in np.flatnonzero(matrix.sum(axis=1)):
        total, predicted = int(matrix[index].sum()), int(matrix[:, index].sum())
        recall = matrix[index, index] / total
        precision = f"{matrix[index, index] / predicted:.1%}" if predicted else "n/a (never predicted)"
        rows.append((labels[index], str(total), f"{recall:.1%}", precision))
    return Table("per class", ("class", "n", "recall", "precision"), tuple(rows))


def grade_section(predictions: Predictions, metadata: BundleMetadata) -> Section:
    grades = metadata.labels.grades
    matched = match_labels([item.grade.value if item.grade else None for item in predictions.items], grades)
    if matched.labeled == 0:
        return skipped(Task.GRADE, "no item in the split has a grade label")
    notes = unknown_note(matched, "grade")
    if len(matched.rows) == 0:
        return skipped(
            Task.GRADE,
            f"none of the {matched.labeled} graded items has a grade on the bundle's scale ({', '.join(grades)})",
            notes,
        )
    scored = score_grades(predictions.item_mean(predictions.outputs.grade_probs)[matched.rows], matched.true)
    matrix = confusion_matrix(matched.true, scored.predicted, len(grades))
    metrics = {
        "quadratic_weighted_kappa": quadratic_weighted_kappa(matched.true, scored.predicted, len(grades)),
        "accuracy": accuracy(scored.correct),
        "within_one_accuracy": accuracy(np.abs(scored.predicted - matched.true) <= 1),
        "expected_calibration_error": expected_calibration_error(scored.confidence, scored.correct),
    }

    def describe(k: int) -> str:
        return (
            f"grade: true {grades[matched.true[k]]}, predicted {grades[scored.predicted[k]]} "
            f"({scored.confidence[k]:.0%})"
        )

    return Section(
        Task.GRADE,
        metrics=metrics,
        headline=("quadratic_weighted_kappa", "accuracy", "within_one_accuracy"),
        notes=notes,
        figures=tuple(classification_figures("grade", matrix, grades, scored, metrics["expected_calibration_error"])),
        errors=worst_wrong(predictions, matched.rows, scored, describe),
        details={"labels": grades, "confusion": matrix.tolist(), "unknown_labels": dict(matched.unknown)},
    )


def authenticity_section(predictions: Predictions, metadata: BundleMetadata) -> Section:
    """Counterfeit probability per evaluation item: manifest items joined by `group` (the photos of one pair, or
    copies of one photo joined by `data split --transformed-copies`), merged by the service's own rule
    (`grading.authenticity.item_counterfeit_probability`); photo-level AUROC beside it."""
    decided = {Authenticity.AUTHENTIC: 0, Authenticity.COUNTERFEIT: 1}
    groups, mixed = authenticity_groups(predictions, decided)
    if not groups:
        return skipped(Task.AUTHENTICITY, "no item in the split is labeled authentic or counterfeit")
    photo_rows = [row for group in groups for row in group.rows]
    photo_truth = np.array([group.truth for group in groups for _ in group.rows])
    photo_probability = predictions.outputs.counterfeit_prob[photo_rows]
    truth = np.array([group.truth for group in groups])
    probability = np.array(
        [item_counterfeit_probability(predictions.outputs.counterfeit_prob[group.rows]) for group in groups]
    )
    band = metadata.thresholds
    threshold = (band.authentic_below + band.counterfeit_above) / 2
    correct = (probability >= threshold) == truth.astype(bool)
    confidence = np.abs(probability - threshold)
    metrics = {"auroc": auroc(truth, probability), "average_precision": average_precision(truth, probability)}
    metrics["photo_auroc"] = auroc(photo_truth, photo_probability)
    metrics |= {
        f"accuracy_at_{round(r * 100)}pct_abstain": accuracy_after_abstaining(correct, confidence, r)
        for r in ABSTAIN_RATES
    }
    metrics |= _band_metrics(probability, correct, band.authentic_below, band.counterfeit_above)
    said_confidence = np.maximum(probability, 1 - probability)
    said_right = (probability >= 0.5) == truth.astype(bool)
    metrics["expected_calibration_error"] = expected_calibration_error(said_confidence, said_right)

    def describe(k: int) -> str:
        said = "counterfeit" if probability[k] >= threshold else "authentic"
        return (
            f"authenticity: labeled {'counterfeit' if truth[k] else 'authentic'}, model says {said} "
            f"(counterfeit probability {probability[k]:.2f} over {len(groups[k].rows)} photo(s))"
        )

    scored = Scored(np.zeros(len(groups)), confidence, correct)
    first_items = np.array([predictions.refs[group.rows[0]].item for group in groups])
    return Section(
        Task.AUTHENTICITY,
        metrics=metrics,
        headline=("auroc", "bundle_band_accuracy_on_decided", "bundle_band_review_share", "photo_auroc"),
        notes=(
            f"{len(groups)} items from {len(photo_rows)} photos: manifest items sharing a `group` are one item, "
            "scored with the service's merge rule (the mean of the photos' counterfeit probabilities). "
            f"{mixed} group(s) whose photos carry both labels were left out.",
            f"Decision: counterfeit when the item's probability is at least {threshold:g} (the middle of the "
            f"bundle's abstain band {band.authentic_below:g}-{band.counterfeit_above:g}); the bundle's own verdict "
            "sends the band to review.",
        ),
        figures=(
            *_authenticity_figures(truth, probability, correct, confidence, threshold, metrics),
            reliability_figure(
                "counterfeit probability reliability",
                reliability(said_confidence, said_right),
                metrics["expected_calibration_error"].value,
                "Items by the probability of the class the model leans to (counterfeit at 0.5 or more); bars "
                "below the diagonal mean overconfidence.",
            ),
        ),
        errors=worst_wrong(predictions, first_items, scored, describe),
        details={"decision_threshold": threshold, "band": [band.authentic_below, band.counterfeit_above]},
    )


@dataclass(frozen=True)
class AuthenticityGroup:
    """One evaluation item: photo rows of manifest items sharing a group, and its label (1 counterfeit)."""

    rows: list[int]
    truth: int


def authenticity_groups(predictions: Predictions, decided: dict) -> tuple[list[AuthenticityGroup], int]:
    """Evaluation items with one authenticity label, and the number of groups left out for mixed labels."""
    rows_by_group: dict[str, list[int]] = {}
    labels_by_group: dict[str, set[int]] = {}
    for row, ref in enumerate(predictions.refs):
        item = predictions.items[ref.item]
        if item.authenticity not in decided:
            continue
        key = item.group or item.id
        rows_by_group.setdefault(key, []).append(row)
        labels_by_group.setdefault(key, set()).add(decided[item.authenticity])
    single = [key for key in rows_by_group if len(labels_by_group[key]) == 1]
    groups = [AuthenticityGroup(rows_by_group[key], next(iter(labels_by_group[key]))) for key in single]
    return groups, len(rows_by_group) - len(single)


def _band_metrics(probability: np.ndarray, correct: np.ndarray, below: float, above: float) -> dict[str, Metric]:
    """What the bundle's own band does: the share it sends to review and the accuracy on what it decides."""
    decided = (probability < below) | (probability >= above)
    return {
        "bundle_band_review_share": share(~decided),
        "bundle_band_accuracy_on_decided": accuracy_among(correct, decided),
    }


def _authenticity_figures(truth, probability, correct, confidence, threshold, metrics) -> list[Figure]:
    figures = []
    roc, pr = roc_curve(truth, probability), pr_curve(truth, probability)
    if roc is not None:
        figures.append(
            roc_pr_figure(
                "counterfeit detection",
                [LabeledCurve("counterfeit prob", roc, metrics["auroc"].value)],
                [LabeledCurve("counterfeit prob", pr, metrics["average_precision"].value)],
                "Positive class: counterfeit. Score: the item's mean counterfeit probability.",
            )
        )
    rates = np.linspace(0, 0.5, 26)
    values = [accuracy_after_abstaining(correct, confidence, rate).value for rate in rates]
    accuracies = np.array([np.nan if value is None else value for value in values])
    figures.append(
        abstain_figure(
            "accuracy on decided items vs abstention",
            rates,
            accuracies,
            "Abstaining on the items whose probability is closest to the decision threshold.",
        )
    )
    figures.append(
        histogram_figure(
            "counterfeit probability by label",
            {"authentic": probability[truth == 0], "counterfeit": probability[truth == 1]},
            threshold,
            "counterfeit probability (item mean)",
        )
    )
    return figures
