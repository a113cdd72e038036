"""What the counterfeit score looks at: occlusion sensitivity on a few decisions.

A grey square (`PATCH` px, moved by `STRIDE` px) covers one place of the model input at a time and the bundle runs
again; the map is how much the photo's counterfeit probability moves towards the other class when that place
is hidden. Cheap, model-agnostic (the ONNX graph as shipped) and honest about shortcuts: a map that lights up
the background, a watermark or a black rotation corner instead of the shoe says the score comes from the photo,
not the pair.
"""

from __future__ import annotations

import numpy as np

from grading.authenticity import item_counterfeit_probability
from grading.inference import GradingModel
from grading.vocabulary import Authenticity
from training.evaluation.item_sections import authenticity_groups
from training.evaluation.plots import Figure, plt, to_png
from training.evaluation.predictions import Predictions
from training.photo_targets import load_photo_target

PATCH = 48
STRIDE = 24
GREY = 124
SHOWN = 4


def occlusion_map(model: GradingModel, pixels: np.ndarray) -> tuple[float, np.ndarray]:
    """The photo's counterfeit probability and, per patch position, the probability with that patch greyed."""
    size = pixels.shape[0]
    starts = list(range(0, size - PATCH + 1, STRIDE))
    covered = []
    for top in starts:
        for left in starts:
            copy = pixels.copy()
            copy[top : top + PATCH, left : left + PATCH] = GREY
            covered.append(copy)
    outputs = model.run(np.stack([pixels, *covered]))
    probabilities = outputs.counterfeit_prob
    return float(probabilities[0]), probabilities[1:].reshape(len(starts), len(starts))


def occlusion_figure(model: GradingModel, predictions: Predictions, rows: list[int], captions: list[str]) -> Figure:
    """One panel per photo row: the photo with the occlusion map over it."""
    preprocessing = model.metadata.input.preprocessing()
    figure, axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows), 3.6), squeeze=False)
    for axis, row, caption in zip(axes[0], rows, captions, strict=True):
        ref = predictions.refs[row]
        photo = predictions.items[ref.item].photos[ref.photo]
        pixels = load_photo_target(predictions.manifest_path, photo, preprocessing).pixels
        probability, covered = occlusion_map(model, pixels)
        towards_other_class = np.abs(covered - probability)
        size = pixels.shape[0]
        axis.imshow(pixels)
        extent = (0, size, size, 0)
        axis.imshow(towards_other_class, cmap="inferno", alpha=0.55, extent=extent, interpolation="bilinear")
        moved = float(towards_other_class.max())
        axis.set_title(f"{caption}\np(counterfeit) {probability:.2f}, moves up to {moved:.2f}", fontsize=8)
        axis.axis("off")
    return Figure(
        "what the counterfeit score looks at (occlusion)",
        to_png(figure),
        f"Bright where greying a {PATCH} px square moves the counterfeit probability most. Photos: the most "
        "confident right and wrong decisions of each class. Bright background, watermarks or black corners would "
        "mean the score reads the photo, not the shoe.",
    )


def authenticity_occlusion(model: GradingModel, predictions: Predictions) -> Figure | None:
    """The occlusion figure for the split's evaluation items (None without authenticity labels)."""
    groups, _ = authenticity_groups(predictions, {Authenticity.AUTHENTIC: 0, Authenticity.COUNTERFEIT: 1})
    if not groups:
        return None
    truth = np.array([group.truth for group in groups])
    probability = np.array(
        [item_counterfeit_probability(predictions.outputs.counterfeit_prob[group.rows]) for group in groups]
    )
    rows, captions = occlusion_rows(truth, probability, np.array([group.rows[0] for group in groups]))
    return occlusion_figure(model, predictions, rows, captions) if rows else None


def occlusion_rows(truth: np.ndarray, probability: np.ndarray, first_rows: np.ndarray) -> tuple[list[int], list[str]]:
    """Rows and captions of up to `SHOWN` decisions: the most confident right and wrong one of each class."""
    chosen, captions = [], []
    for label, name in ((1, "counterfeit"), (0, "authentic")):
        said_counterfeit = probability >= 0.5
        for right in (True, False):
            candidates = np.flatnonzero((truth == label) & ((said_counterfeit == bool(label)) == right))
            if len(candidates):
                confidence = np.abs(probability[candidates] - 0.5)
                best = candidates[int(confidence.argmax())]
                chosen.append(int(first_rows[best]))
                captions.append(f"{name}, {'right' if right else 'wrong'}")
    return chosen[:SHOWN], captions[:SHOWN]
