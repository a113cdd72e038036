"""Report figures as PNG bytes (matplotlib, Agg backend): curves, confusion matrices, reliability, histograms.

Every function returns a `Figure` ready to embed; none keeps a matplotlib figure open.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from training.evaluation.metrics import Curve, Reliability

MAX_CURVE_POINTS = 2000
DPI = 100


@dataclass(frozen=True)
class Figure:
    title: str
    png: bytes
    caption: str = ""


@dataclass(frozen=True)
class LabeledCurve:
    """One line of a curve plot: ROC or PR points, the legend name, and the number that goes with it."""

    name: str
    curve: Curve
    value: float | None


def to_png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _thin(curve: Curve) -> Curve:
    """At most MAX_CURVE_POINTS points (pixel curves have one per distinct probability), ends kept."""
    if len(curve.x) <= MAX_CURVE_POINTS:
        return curve
    keep = np.unique(np.linspace(0, len(curve.x) - 1, MAX_CURVE_POINTS).astype(np.int64))
    return Curve(curve.x[keep], curve.y[keep])


def _legend_name(line: LabeledCurve, metric: str) -> str:
    return f"{line.name} ({metric} {line.value:.3f})" if line.value is not None else line.name


def roc_pr_figure(title: str, roc: list[LabeledCurve], pr: list[LabeledCurve], caption: str = "") -> Figure:
    """ROC curves (with AUROC) on the left, precision-recall curves (with AP) on the right."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6))
    for line in roc:
        thin = _thin(line.curve)
        left.plot(thin.x, thin.y, label=_legend_name(line, "AUROC"), linewidth=1.6)
    left.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    left.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC", xlim=(0, 1), ylim=(0, 1.01))
    for line in pr:
        thin = _thin(line.curve)
        right.step(thin.x, thin.y, where="post", label=_legend_name(line, "AP"), linewidth=1.6)
    right.set(xlabel="recall", ylabel="precision", title="precision-recall", xlim=(0, 1), ylim=(0, 1.01))
    for axis in (left, right):
        axis.grid(alpha=0.3)
        if axis.lines:
            axis.legend(fontsize=8, loc="lower right" if axis is left else "upper right")
    figure.suptitle(title)
    return Figure(title, to_png(figure), caption)


def confusion_figure(title: str, matrix: np.ndarray, labels: list[str], caption: str = "") -> Figure:
    """Rows = true, columns = predicted; colour is the share of the row, text the count."""
    size = max(4.5, 0.55 * len(labels) + 2.5)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    totals = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros(matrix.shape, dtype=np.float64), where=totals > 0)
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            colour = "white" if shares[row, column] > 0.6 else "black"
            axis.text(column, row, str(count), ha="center", va="center", fontsize=8, color=colour)
    ticks = np.arange(len(labels))
    axis.set_xticks(ticks, labels, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(ticks, [f"{name} ({int(t)})" for name, t in zip(labels, totals[:, 0], strict=True)], fontsize=8)
    axis.set(xlabel="predicted", ylabel="true (count)", title=title)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="share of the true row")
    return Figure(title, to_png(figure), caption)


def reliability_figure(title: str, table: Reliability, ece: float | None, caption: str = "") -> Figure:
    """Accuracy per confidence bin against the diagonal, with the bin counts underneath."""
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(5.5, 6), height_ratios=(3, 1), sharex=True)
    centres = (table.edges[:-1] + table.edges[1:]) / 2
    width = table.edges[1] - table.edges[0]
    filled = table.counts > 0
    top.bar(centres[filled], table.accuracy[filled], width=width * 0.9, color="tab:blue", label="accuracy in bin")
    top.plot(table.confidence[filled], table.confidence[filled], "o", color="tab:orange", label="mean confidence")
    top.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    ece_text = f"ECE {ece:.3f}" if ece is not None else "ECE undefined"
    top.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1.02), title=f"{title} ({ece_text})")
    top.legend(fontsize=8, loc="upper left")
    top.grid(alpha=0.3)
    bottom.bar(centres, table.counts, width=width * 0.9, color="grey")
    bottom.set(xlabel="confidence (probability of the predicted class)", ylabel="count")
    bottom.yaxis.set_major_locator(MaxNLocator(integer=True))
    return Figure(title, to_png(figure), caption)


def histogram_figure(
    title: str, groups: dict[str, np.ndarray], threshold: float | None, xlabel: str, caption: str = ""
) -> Figure:
    """Overlaid histograms of one score per class, with the decision threshold as a vertical line."""
    figure, axis = plt.subplots(figsize=(7, 4))
    values = np.concatenate([v for v in groups.values() if len(v)] or [np.zeros(1)])
    bins = np.histogram_bin_edges(values, bins=30)
    for name, group in groups.items():
        if len(group):
            axis.hist(group, bins=bins, alpha=0.55, label=f"{name} (n={len(group)})")
    if threshold is not None:
        axis.axvline(threshold, color="black", linestyle="--", linewidth=1.2, label=f"threshold {threshold:g}")
    axis.set(xlabel=xlabel, ylabel="count", title=title)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return Figure(title, to_png(figure), caption)


def abstain_figure(title: str, rates: np.ndarray, accuracies: np.ndarray, caption: str = "") -> Figure:
    """Accuracy on decided items as the abstained share (least confident first) grows."""
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(rates * 100, accuracies, marker="o", markersize=3)
    axis.set(xlabel="abstained (% of items, least confident first)", ylabel="accuracy on decided items", title=title)
    axis.set_ylim(max(0.0, np.nanmin(accuracies) - 0.05) if np.isfinite(accuracies).any() else 0, 1.01)
    axis.grid(alpha=0.3)
    return Figure(title, to_png(figure), caption)
