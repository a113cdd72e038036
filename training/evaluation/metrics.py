"""Evaluation metrics in plain numpy: each returns a `Metric` (value, count, and why it is undefined).

A metric that cannot be computed from its inputs (one class only, nothing to count, a degenerate kappa)
returns `value=None` with a reason instead of raising, so a report can say what is missing and why.
Binary inputs are `labels` (1 = positive) and `scores` (higher = more positive); ties in scores are one
threshold, as in the usual rank-based definitions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.stats import rankdata


class Recompute(NamedTuple):
    """How to compute a metric again on resampled rows (`training.evaluation.bootstrap`).

    `rows` are per-example arrays of one length (photos or items, as the metric counts them); `statistic` turns
    any selection of those rows into the metric's value, or None where it is undefined.
    """

    rows: tuple[np.ndarray, ...]
    statistic: Callable[..., float | None]


class Metric(NamedTuple):
    """One number with the count it rests on; `value` is None when it is undefined, and `reason` says why.

    `recompute`, when set, lets a comparison draw bootstrap intervals for it (never written to metrics.json).
    """

    value: float | None
    n: int
    reason: str | None = None
    recompute: Recompute | None = None

    def as_json(self) -> dict[str, float | int | str | None]:
        return {"value": self.value, "n": self.n, "reason": self.reason}


def _value_of(metric_function: Callable[..., Metric], **fixed) -> Callable[..., float | None]:
    return lambda *rows: metric_function(*rows, **fixed).value


def _recomputable(metric: Metric, metric_function: Callable[..., Metric], rows: tuple, **fixed) -> Metric:
    """`metric` with what a bootstrap needs to compute it again on resampled `rows`."""
    return metric._replace(recompute=Recompute(tuple(np.asarray(r) for r in rows), _value_of(metric_function, **fixed)))


class Curve(NamedTuple):
    """Points of a ROC (x = false positive rate, y = true positive rate) or PR (x = recall, y = precision) curve."""

    x: np.ndarray
    y: np.ndarray


class Reliability(NamedTuple):
    """Equal-width confidence bins on [0, 1]: count, mean confidence and accuracy of each (NaN when empty)."""

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


def _binary(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Flattened bool labels and float scores, and the reason a ranking metric is undefined (or None)."""
    labels = np.asarray(labels).astype(bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"labels and scores differ in size: {labels.shape} vs {scores.shape}")
    positives = int(labels.sum())
    if len(labels) == 0:
        return labels, scores, "no examples"
    if positives == 0:
        return labels, scores, f"no positive examples among {len(labels)}"
    if positives == len(labels):
        return labels, scores, f"no negative examples among {len(labels)}"
    return labels, scores, None


def auroc(labels: np.ndarray, scores: np.ndarray) -> Metric:
    """Area under the ROC curve from ranks (Mann-Whitney U); tied scores count one half."""
    rows = (labels, scores)  # per photo (or item) along the first axis; a photo's pixels are resampled together
    labels, scores, reason = _binary(labels, scores)
    if reason:
        return _recomputable(Metric(None, len(labels), reason), auroc, rows)
    ranks = rankdata(scores)  # average ranks for ties
    positives = int(labels.sum())
    negatives = len(labels) - positives
    u = ranks[labels].sum() - positives * (positives + 1) / 2
    return _recomputable(Metric(float(u / (positives * negatives)), len(labels)), auroc, rows)


def _threshold_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true and false positives when predicting positive at each distinct score, highest first."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    true_positives = np.cumsum(sorted_labels)[last_of_tie]
    false_positives = (last_of_tie + 1) - true_positives
    return true_positives.astype(np.float64), false_positives.astype(np.float64)


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> Curve | None:
    """ROC points from (0, 0) to (1, 1), one per distinct score; None when only one class is present."""
    labels, scores, reason = _binary(labels, scores)
    if reason:
        return None
    tp, fp = _threshold_counts(labels, scores)
    return Curve(np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]])


def pr_curve(labels: np.ndarray, scores: np.ndarray) -> Curve | None:
    """Precision-recall points, one per distinct score (recall increasing); None without positives."""
    labels, scores, reason = _binary(labels, scores)
    if reason and not labels.any():
        return None
    tp, fp = _threshold_counts(labels, scores)
    return Curve(tp / labels.sum(), tp / (tp + fp))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> Metric:
    """Sum over distinct thresholds of (recall gain) x precision; the area under the step PR curve."""
    rows = (labels, scores)
    labels, scores, reason = _binary(labels, scores)
    if not labels.any():
        return _recomputable(Metric(None, len(labels), reason), average_precision, rows)
    curve = pr_curve(labels, scores)
    recall_gain = np.diff(np.r_[0.0, curve.x])
    return _recomputable(Metric(float((recall_gain * curve.y).sum()), len(labels)), average_precision, rows)


def accuracy(correct: np.ndarray) -> Metric:
    correct = np.asarray(correct, dtype=bool).ravel()
    if len(correct) == 0:
        return Metric(None, 0, "no examples")
    return _recomputable(Metric(float(correct.mean()), len(correct)), accuracy, (correct,))


def accuracy_among(correct: np.ndarray, kept: np.ndarray) -> Metric:
    """Accuracy on the `kept` examples (the decided ones, say); a bootstrap resamples every example, kept or not."""
    correct, kept = np.asarray(correct, dtype=bool).ravel(), np.asarray(kept, dtype=bool).ravel()
    if not kept.any():
        return _recomputable(Metric(None, 0, "no examples kept"), accuracy_among, (correct, kept))
    return _recomputable(Metric(float(correct[kept].mean()), int(kept.sum())), accuracy_among, (correct, kept))


def share(flags: np.ndarray) -> Metric:
    """The share of examples flagged (sent to review, say): `accuracy` of the flags, named for what it means."""
    return accuracy(flags)


def mean_of(values: np.ndarray) -> Metric:
    """The mean of per-example values (an average offer share, say)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if len(values) == 0:
        return Metric(None, 0, "no examples")
    return _recomputable(Metric(float(values.mean()), len(values)), mean_of, (values,))


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return matrix


def quadratic_weighted_kappa(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> Metric:
    """Cohen's kappa with weights (i - j)^2 / (K - 1)^2 on ordinal classes 0..K-1.

    1 is perfect agreement, 0 is what chance with the same marginals gives. Undefined when chance
    disagreement is zero (for example, every true and predicted label is the same one class).
    """
    true, predicted = np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    n = len(true)
    if n == 0:
        return Metric(None, 0, "no examples")
    if num_classes < 2:
        return Metric(None, n, "needs at least two ordinal classes")
    observed = confusion_matrix(true, predicted, num_classes).astype(np.float64)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    index = np.arange(num_classes)
    weights = (index[:, None] - index[None, :]) ** 2 / (num_classes - 1) ** 2
    chance = (weights * expected).sum()
    if chance == 0:
        return Metric(None, n, "undefined: true and predicted labels leave no room for chance disagreement")
    metric = Metric(float(1 - (weights * observed).sum() / chance), n)
    return _recomputable(metric, quadratic_weighted_kappa, (true, predicted), num_classes=num_classes)


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> Reliability:
    """Bin predictions by confidence (a confidence of exactly 1 falls in the last bin)."""
    confidence = np.asarray(confidence, dtype=np.float64).ravel()
    correct = np.asarray(correct, dtype=np.float64).ravel()
    index = np.clip((confidence * bins).astype(np.int64), 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, confidence, minlength=bins) / counts
        bin_accuracy = np.bincount(index, correct, minlength=bins) / counts
    return Reliability(np.linspace(0, 1, bins + 1), counts, mean_confidence, bin_accuracy)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> Metric:
    """Sum over equal-width bins of (share of predictions) x |accuracy - mean confidence|."""
    table = reliability(confidence, correct, bins)
    n = int(table.counts.sum())
    if n == 0:
        return Metric(None, 0, "no examples")
    filled = table.counts > 0
    gaps = np.abs(table.accuracy[filled] - table.confidence[filled])
    metric = Metric(float((table.counts[filled] / n * gaps).sum()), n)
    return _recomputable(metric, expected_calibration_error, (confidence, correct), bins=bins)


def intersection_over_union(predicted: np.ndarray, true: np.ndarray) -> Metric:
    """|predicted AND true| / |predicted OR true| over all pixels given; n is the count of true pixels."""
    predicted, true = np.asarray(predicted, dtype=bool).ravel(), np.asarray(true, dtype=bool).ravel()
    union = int((predicted | true).sum())
    if union == 0:
        return Metric(None, 0, "neither true nor predicted pixels")
    return Metric(int((predicted & true).sum()) / union, int(true.sum()))


def accuracy_after_abstaining(correct: np.ndarray, confidence: np.ndarray, rate: float) -> Metric:
    """Accuracy on the decided examples after abstaining on the `rate` share with the lowest confidence.

    floor(rate x n) examples are set aside; among equal confidences, the earlier ones go first. n is the
    count of decided examples.
    """
    correct = np.asarray(correct, dtype=bool).ravel()
    if not 0 <= rate < 1:
        raise ValueError(f"abstain rate must be in [0, 1), got {rate}")
    abstained = int(np.floor(rate * len(correct) + 1e-9))
    kept = np.argsort(np.asarray(confidence, dtype=np.float64).ravel(), kind="stable")[abstained:]
    if len(kept) == 0:
        return Metric(None, 0, "no examples left to decide")
    return Metric(float(correct[kept].mean()), len(kept))
