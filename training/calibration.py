"""Calibration on the validation split: temperatures, anomaly distances per category, decision thresholds.

- Temperatures: one per head (category, defects, grade, counterfeit), minimising validation NLL over a
  log-spaced grid; folded into the exported graph.
- Anomaly (see `training.anomaly_map`): first the bank scale per category, the `anomaly_good_percentile`
  of the bank scores of its clean validation photos; then, on the mixed map, the score that becomes 1.0
  on the normalised scale: F1-optimal where the validation split has defective and clean photos of that
  category; where it has only clean ones, the `anomaly_good_percentile` of their scores (so about 1% of
  good photos go to review). A category with neither takes the median of the others. Every model's
  anomaly scores thus read alike: 1.0 is the threshold.
- Defect presence: per type, on the photo's largest probability of that type, a Neyman-Pearson operating
  point: the thresholds that find the most damaged validation photos (any type) while at most
  `false_alarm_budget` of the clean validation photos report any defect (`budgeted_thresholds`). The clean
  validation photos are real photos (composited sets decorate only training copies), so the budget holds on
  real clean garments, not on composites; damaged ones are composited and real (leather, fabric). Never below
  the type's F1-optimal threshold: types no clean garment shows (cut, scratch on leather) would otherwise be
  lowered towards zero, since the budget says nothing about them. Without clean or damaged validation photos,
  the F1-optimal threshold per type.
- Defect confidence: the budget rule at the stricter `confident_false_alarm_budget`, never below the presence
  threshold nor below `MIN_CONFIDENT`; the policy counts a defect below it as uncertain evidence (review), not
  as a reason to lower the grade.
- Grade bias: the grade head learns from composited sets where two photos in three are damaged, so on real
  clean garments it leans to worse grades. One bias, added to its ordinal logits from "worse than like_new"
  on, is the smallest shift that grades at most `grade_clean_budget` of the clean validation photos two or
  more steps below like_new (the grade the policy cannot explain without a defect).
- Authenticity: the band of counterfeit probability in which the model abstains, chosen so that decided
  items reach the target precision on each side; reports the share it sends to review.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from grading.grade_decision import median_grade
from grading.vocabulary import Grade
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
    defect_confident: dict[str, float]
    defect_rule: str
    grade_bias: float
    counterfeit_above: float
    authentic_below: float
    review_share: float | None
    validation_counts: dict[str, int]
    product_line_prototypes: dict[str, list[float]] = field(default_factory=dict)

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
    budgets: tuple[float, float] = (0.03, 0.01),
    grade_clean_budget: float | None = None,
    product_lines: list[str] | None = None,
) -> CalibrationResult:
    """Fit every calibration on the validation cache; `budgets` are the false-alarm budgets on clean photos
    for reporting a defect and for counting it as certain."""
    outputs = _Outputs(heads.eval(), memory.eval(), cache).values
    temperatures = _temperatures(outputs, cache)
    defect_probs = (outputs["defect_logits"] / temperatures["defects"]).softmax(dim=1)
    bank_scale = _bank_scales(outputs, cache, len(categories), good_percentile)
    mixed = mixed_anomaly_map(defect_probs, outputs["bank_map"], bank_scale[outputs["predicted"]], bank_weight)
    distances, rules = _anomaly_distances(anomaly_score(mixed), outputs, cache, categories, good_percentile)
    counterfeit = torch.sigmoid(outputs["counterfeit_logit"] / temperatures["counterfeit"])
    above, below, review = authenticity_band(counterfeit.numpy(), cache.counterfeit.numpy(), target_precision)
    presence, confident, defect_rule = defect_thresholds(defect_probs, cache, defect_types, budgets)
    clean_logits = outputs["grade_logits"][cache.clean] / temperatures["grade"]
    grade_bias = clean_grade_bias(clean_logits, grade_clean_budget) if grade_clean_budget is not None else 0.0
    prototypes = product_line_prototypes(outputs["embedding"], cache, product_lines or [])
    return CalibrationResult(
        temperatures=temperatures,
        anomaly_distance=distances,
        anomaly_bank_scale=bank_scale.tolist(),
        anomaly_bank_weight=bank_weight,
        anomaly_rule=rules,
        defect_presence=presence,
        defect_confident=confident,
        defect_rule=defect_rule,
        grade_bias=grade_bias,
        counterfeit_above=above,
        authentic_below=below,
        review_share=review,
        validation_counts=_counts(cache),
        product_line_prototypes=prototypes,
    )


def product_line_prototypes(
    embeddings: torch.Tensor, cache: CachedFeatures, product_lines: list[str]
) -> dict[str, list[float]]:
    """Per product line, the L2-normalised mean embedding of its authentic validation photos.

    An item's product line is the prototype its mean embedding is closest to (`grading.authenticity`); only
    authentic photos, so that the prototype is what the genuine line looks like.
    """
    if cache.product_line is None:
        return {}
    prototypes = {}
    for index, line in enumerate(product_lines):
        rows = (cache.product_line == index) & (cache.counterfeit == 0)
        if rows.any():
            prototypes[line] = F.normalize(embeddings[rows].float().mean(dim=0), dim=0).tolist()
    return prototypes


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
    """Threshold (score >= t is positive) with the best F1; midpoint between neighbouring distinct scores.

    Cuts are only made between distinct scores: `score >= t` admits a whole block of tied scores, so the
    counts at a cut inside a block would not be the counts the threshold gives.
    """
    order = np.argsort(-scores, kind="stable")
    sorted_scores, hits = scores[order], positive[order].astype(float)
    ends = _block_ends(sorted_scores)
    true_positives = np.cumsum(hits)[ends]
    f1 = 2 * true_positives / (ends + 1 + hits.sum())
    best = ends[int(np.argmax(f1))]
    below = sorted_scores[best + 1] if best + 1 < len(sorted_scores) else sorted_scores[best] - 1e-6
    return float((sorted_scores[best] + below) / 2)


def _block_ends(sorted_scores: np.ndarray) -> np.ndarray:
    """Indices of the last element of each run of equal values in a descending array."""
    return np.append(np.flatnonzero(sorted_scores[1:] != sorted_scores[:-1]), len(sorted_scores) - 1)


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


def defect_thresholds(
    probabilities: torch.Tensor, cache: CachedFeatures, defect_types: list[str], budgets: tuple[float, float]
) -> tuple[dict[str, float], dict[str, float], str]:
    """Presence and confidence thresholds per type, and how the presence thresholds were chosen."""
    f1 = _defect_presence(probabilities, cache, defect_types)
    peaks = probabilities[:, 1:].amax(dim=(2, 3)).numpy()
    clean, damaged = peaks[cache.clean.numpy()], peaks[_damaged_rows(cache)]
    if len(clean) == 0 or len(damaged) == 0:
        return f1, dict(f1), "F1-optimal per type (no clean and damaged validation photos for a false-alarm budget)"
    presence_level = np.maximum(budgeted_thresholds(clean, damaged, budgets[0]), [f1[name] for name in defect_types])
    confident_level = budgeted_thresholds(clean, damaged, budgets[1])
    presence = {name: float(presence_level[k]) for k, name in enumerate(defect_types)}
    confident = {
        name: max(presence[name], float(confident_level[k]), MIN_CONFIDENT) for k, name in enumerate(defect_types)
    }
    found = float((damaged >= presence_level).any(axis=1).mean())
    rule = (
        f"most damaged photos found ({found:.1%} of {len(damaged)}) with at most {budgets[0]:.0%} of {len(clean)} "
        "clean photos reporting any defect, never below the type's F1-optimal threshold"
    )
    return presence, confident, rule


MIN_CONFIDENT = 0.5  # a defect the model gives less than even odds never lowers a grade, whatever the budget


def _damaged_rows(cache: CachedFeatures) -> np.ndarray:
    return (cache.annotated & (cache.defect_map > 0).flatten(1).any(dim=1)).numpy()


def budgeted_thresholds(clean: np.ndarray, damaged: np.ndarray, budget: float) -> np.ndarray:
    """Per type thresholds (photos x types peaks in, types out) that find the most damaged photos while at most
    `budget` of the clean photos report any type (`peak >= threshold`).

    Greedy: from thresholds above every peak, repeatedly lower the one type's threshold that finds the most
    damaged photos not yet found per clean photo newly flagged, to the highest peak that finds one, while the
    budget holds. A type no damaged photo needs stays above every peak (it never fires on the clean ones).
    """
    allowed = int(np.floor(budget * len(clean) + 1e-9))
    thresholds = np.nextafter(np.maximum(clean.max(axis=0), damaged.max(axis=0)), np.inf)
    while True:
        move = _best_move(clean, damaged, thresholds, allowed)
        if move is None:
            return thresholds
        thresholds[move[0]] = move[1]


def _best_move(clean: np.ndarray, damaged: np.ndarray, thresholds: np.ndarray, allowed: int):
    flagged, found = (clean >= thresholds).any(axis=1), (damaged >= thresholds).any(axis=1)
    best, best_value = None, -1.0
    for kind in range(clean.shape[1]):
        waiting = damaged[~found, kind]
        waiting = waiting[waiting < thresholds[kind]]
        if len(waiting) == 0:
            continue
        level = waiting.max()
        flagged_after = flagged | (clean[:, kind] >= level)
        if flagged_after.sum() > allowed:
            continue
        gain = int(((damaged[:, kind] >= level) & ~found).sum())
        value = gain / (int(flagged_after.sum() - flagged.sum()) + 0.1)
        if value > best_value:
            best, best_value = (kind, float(level)), value
    return best


CLEAN_RANK = Grade.LIKE_NEW.rank
BIAS_STEPS = np.arange(0.0, -8.0001, -0.05)


def grade_bias_vector(bias: float, tasks: int) -> torch.Tensor:
    """The bias on each CORN logit: none on "worse than new with tags" (no data has that grade), `bias` after."""
    vector = torch.full((tasks,), float(bias))
    vector[:CLEAN_RANK] = 0.0
    return vector


def clean_grade_bias(clean_logits: torch.Tensor, budget: float) -> float:
    """The smallest shift (<= 0) grading at most `budget` of the clean photos two or more steps below like_new."""
    if len(clean_logits) == 0:
        return 0.0
    for bias in BIAS_STEPS:
        shifted = clean_logits + grade_bias_vector(float(bias), clean_logits.shape[1])
        ranks = median_grade(corn_probabilities(shifted).numpy())
        if (ranks >= CLEAN_RANK + 2).mean() <= budget:
            return float(bias)
    return float(BIAS_STEPS[-1])


def _defect_presence(probabilities: torch.Tensor, cache: CachedFeatures, defect_types: list[str]) -> dict[str, float]:
    """Per type, the F1-optimal threshold on the photos' peaks (0.5 where a type cannot be fitted)."""
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
    order = np.argsort(-scores, kind="stable")
    ends = _block_ends(scores[order])
    precision = np.cumsum(positive[order])[ends] / (ends + 1)
    meets = np.nonzero(precision >= target)[0]
    return float(scores[order][ends[meets.max()]]) if len(meets) else 1.0 + 1e-6
