"""Calibration on the validation split: temperatures, anomaly distances per category, decision thresholds.

- Temperatures: one per head (category, defects, grade, counterfeit), minimising validation NLL over a
  log-spaced grid; folded into the exported graph.
- Anomaly (see `training.anomaly_map`): first the bank scale per category, the `anomaly_good_percentile`
  of the bank scores of its clean validation photos; then, on the mixed map, the score that becomes 1.0
  on the normalised scale: F1-optimal where the validation split has defective and clean photos of that
  category; where it has only clean ones, the `anomaly_good_percentile` of their scores (so about 1% of
  good photos go to review). A category with neither takes the median of the others. Every model's
  anomaly scores thus read alike: 1.0 is the threshold.
- Defect presence: per type, the F1-optimal threshold on the photo's largest probability of that type.
- Authenticity: the band of counterfeit probability in which the model abstains, chosen so that decided
  items reach the target precision on each side; reports the share it sends to review.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from training.anomaly_map import mixed_anomaly_map
from training.feature_cache import CachedFeatures
from training.network import GradingHeads, corn_probabilities
from training.patch_memory import MemoryBank, anomaly_score
from training.trainer import batch_taps, select

LOG_TEMPERATURES = np.linspace(np.log(0.25), np.log(8.0), 61)


@dataclass(frozen=True)
class CalibrationResult:
    temperatures: dict[str, float]
    anomaly_distance: list[float]  # per category index
    anomaly_bank_scale: list[float]  # per category index
    anomaly_bank_weight: float
    anomaly_rule: dict[str, str]  # per category name: how its distance was chosen
    defect_presence: dict[str, float]
    counterfeit_above: float
    authentic_below: float
    review_share: float | None
    validation_counts: dict[str, int]

    def to_json(self) -> dict:
        return asdict(self)


class _Outputs:
    """Raw head outputs and memory-bank distance maps of the whole validation cache."""

    def __init__(self, heads: GradingHeads, memory: MemoryBank, cache: CachedFeatures) -> None:
        parts: dict[str, list[torch.Tensor]] = {}
        with torch.inference_mode():
            for start in range(0, len(cache.category), 128):
                batch = select(cache, torch.arange(start, min(start + 128, len(cache.category))))
                taps = batch_taps(batch)
                logits = heads(taps)
                category = logits.category_logits.argmax(dim=1)
                values = logits._asdict() | {"bank_map": memory(taps, category), "predicted": category}
                for name, value in values.items():
                    parts.setdefault(name, []).append(value)
        self.values = {name: torch.cat(chunks) for name, chunks in parts.items()}


def calibrate(
    heads: GradingHeads,
    memory: MemoryBank,
    cache: CachedFeatures,
    categories: list[str],
    defect_types: list[str],
    good_percentile: float,
    target_precision: float,
    bank_weight: float = 0.25,
) -> CalibrationResult:
    outputs = _Outputs(heads.eval(), memory.eval(), cache).values
    temperatures = _temperatures(outputs, cache)
    defect_probs = (outputs["defect_logits"] / temperatures["defects"]).softmax(dim=1)
    bank_scale = _bank_scales(outputs, cache, len(categories), good_percentile)
    mixed = mixed_anomaly_map(defect_probs, outputs["bank_map"], bank_scale[outputs["predicted"]], bank_weight)
    distances, rules = _anomaly_distances(anomaly_score(mixed), outputs, cache, categories, good_percentile)
    counterfeit = torch.sigmoid(outputs["counterfeit_logit"] / temperatures["counterfeit"])
    above, below, review = authenticity_band(counterfeit.numpy(), cache.counterfeit.numpy(), target_precision)
    return CalibrationResult(
        temperatures=temperatures,
        anomaly_distance=distances,
        anomaly_bank_scale=bank_scale.tolist(),
        anomaly_bank_weight=bank_weight,
        anomaly_rule=rules,
        defect_presence=_defect_presence(defect_probs, cache, defect_types),
        counterfeit_above=above,
        authentic_below=below,
        review_share=review,
        validation_counts=_counts(cache),
    )


def _counts(cache: CachedFeatures) -> dict[str, int]:
    return {
        "photos": len(cache.category),
        "with_category": int((cache.category >= 0).sum()),
        "with_grade": int((cache.grade >= 0).sum()),
        "with_authenticity": int((cache.counterfeit >= 0).sum()),
        "annotated_defects": int(cache.annotated.sum()),
        "clean": int(cache.clean.sum()),
    }


def best_temperature(nll_at: callable) -> float:
    """The temperature on the grid with the lowest validation NLL (1.0 when there is nothing to fit)."""
    losses = [float(nll_at(float(np.exp(log_t)))) for log_t in LOG_TEMPERATURES]
    if not all(np.isfinite(losses)):
        return 1.0
    return float(np.exp(LOG_TEMPERATURES[int(np.argmin(losses))]))


def _temperatures(outputs: dict[str, torch.Tensor], cache: CachedFeatures) -> dict[str, float]:
    fits = {"category": 1.0, "defects": 1.0, "grade": 1.0, "counterfeit": 1.0}
    rows = cache.category >= 0
    if rows.any():
        logits, target = outputs["category_logits"][rows], cache.category[rows]
        fits["category"] = best_temperature(lambda t: F.cross_entropy(logits / t, target))
    rows = cache.grade >= 0
    if rows.any():
        logits, target = outputs["grade_logits"][rows], cache.grade[rows]
        fits["grade"] = best_temperature(lambda t: _grade_nll(logits / t, target))
    rows = cache.counterfeit >= 0
    if rows.any():
        logits, target = outputs["counterfeit_logit"][rows], cache.counterfeit[rows].float()
        fits["counterfeit"] = best_temperature(lambda t: F.binary_cross_entropy_with_logits(logits / t, target))
    if cache.annotated.any():
        logits, target = outputs["defect_logits"][cache.annotated], cache.defect_map[cache.annotated].long()
        fits["defects"] = best_temperature(lambda t: F.cross_entropy(logits / t, target))
    return fits


def _grade_nll(logits: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
    probabilities = corn_probabilities(logits).clamp(min=1e-7)
    return -probabilities.gather(1, ranks[:, None]).log().mean()


def f1_optimal_threshold(scores: np.ndarray, positive: np.ndarray) -> float:
    """Threshold (score >= t is positive) with the best F1; midpoint between neighbouring scores."""
    order = np.argsort(-scores)
    sorted_scores, hits = scores[order], positive[order].astype(float)
    true_positives = np.cumsum(hits)
    f1 = 2 * true_positives / (np.arange(1, len(hits) + 1) + hits.sum())
    best = int(np.argmax(f1))
    below = sorted_scores[best + 1] if best + 1 < len(sorted_scores) else sorted_scores[best] - 1e-6
    return float((sorted_scores[best] + below) / 2)


def _bank_scales(
    outputs: dict[str, torch.Tensor], cache: CachedFeatures, num_categories: int, good_percentile: float
) -> torch.Tensor:
    """Per category, the `good_percentile` of the bank scores of its clean validation photos.

    A category without clean validation photos takes the value of all clean photos; without any, 1.0.
    """
    scores, predicted = anomaly_score(outputs["bank_map"]), outputs["predicted"]
    clean = scores[cache.clean]
    fallback = float(np.percentile(clean.numpy(), good_percentile)) if len(clean) else 1.0
    scales = []
    for category in range(num_categories):
        rows = cache.clean & (predicted == category)
        scales.append(float(np.percentile(scores[rows].numpy(), good_percentile)) if rows.any() else fallback)
    return torch.tensor(scales).clamp(min=1e-6)


def _anomaly_distances(
    anomaly: torch.Tensor,
    outputs: dict[str, torch.Tensor],
    cache: CachedFeatures,
    categories: list[str],
    good_percentile: float,
) -> tuple[list[float], dict[str, str]]:
    scores, predicted = anomaly.numpy(), outputs["predicted"].numpy()
    clean, defective = cache.clean.numpy(), (cache.annotated & ~cache.clean).numpy()
    distances: list[float | None] = []
    rules: dict[str, str] = {}
    for index, name in enumerate(categories):
        rows = predicted == index
        distance, rules[name] = _category_distance(scores[rows], clean[rows], defective[rows], good_percentile)
        distances.append(distance)
    known = [d for d in distances if d is not None]
    fallback = float(np.median(known)) if known else 1.0
    for index, name in enumerate(categories):
        if distances[index] is None:
            distances[index], rules[name] = fallback, "no validation photos: median of the other categories"
    return [float(d) for d in distances], rules


def _category_distance(scores, clean, defective, good_percentile: float) -> tuple[float | None, str]:
    labelled = clean | defective
    if clean.any() and defective.any():
        threshold = f1_optimal_threshold(scores[labelled], defective[labelled])
        return max(threshold, 1e-6), f"F1-optimal on {int(clean.sum())} clean / {int(defective.sum())} defective"
    if clean.any():
        value = float(np.percentile(scores[clean], good_percentile))
        return max(value, 1e-6), f"{good_percentile:g}th percentile of {int(clean.sum())} clean photos"
    return None, ""


def _defect_presence(probabilities: torch.Tensor, cache: CachedFeatures, defect_types: list[str]) -> dict[str, float]:
    rows = cache.annotated
    thresholds = {name: 0.5 for name in defect_types}
    if not rows.any():
        return thresholds
    peaks = probabilities[rows][:, 1:].amax(dim=(2, 3)).numpy()
    present = np.stack(
        [(cache.defect_map[rows] == index + 1).flatten(1).any(dim=1).numpy() for index in range(len(defect_types))],
        axis=1,
    )
    for index, name in enumerate(defect_types):
        if present[:, index].any() and (~present[:, index]).any():
            thresholds[name] = f1_optimal_threshold(peaks[:, index], present[:, index])
    return thresholds


def authenticity_band(
    probabilities: np.ndarray, counterfeit: np.ndarray, target_precision: float
) -> tuple[float, float, float | None]:
    """(counterfeit_above, authentic_below, share abstained) reaching `target_precision` on each decided side.

    Without labelled validation photos the band is the whole range: every item goes to review.
    """
    rows = counterfeit >= 0
    if not rows.any():
        return 1.0, 0.0, None
    scores, truth = probabilities[rows], counterfeit[rows] == 1
    above = _lowest_precise_threshold(scores, truth, target_precision)
    below = 1.0 - _lowest_precise_threshold(1.0 - scores, ~truth, target_precision)
    undecided = (scores < above) & (scores > below)
    return above, below, float(undecided.mean())


def _lowest_precise_threshold(scores: np.ndarray, positive: np.ndarray, target: float) -> float:
    """Smallest t such that items with score >= t are positive with at least `target` precision (1.0 if none)."""
    order = np.argsort(-scores)
    precision = np.cumsum(positive[order]) / np.arange(1, len(order) + 1)
    meets = np.nonzero(precision >= target)[0]
    return float(scores[order][meets.max()]) if len(meets) else 1.0 + 1e-6
