"""Authenticity verdicts as the service gives them, with and without enrolled references.

References are enrolled from the manifest's train split (authentic photos of each product line, as an admin
would enroll known-genuine pairs) and every evaluated item goes through `grading.authenticity.assess`, the
service's own rule, with the bundle's band and the policy's similarity thresholds. Reported per product line,
so that a line the bundle's head never trained on (`Labels.product_lines`) shows what references alone do.
Product line accuracy uses the bundle's prototypes on items that do not declare their line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grading.authenticity import AuthenticityVerdict, ModelBand, ReferenceGallery, assess, nearest_product_line
from grading.bundle import BundleMetadata
from grading.policy import AuthenticityPolicy
from grading.vocabulary import Authenticity
from training.calibration import authenticity_band
from training.evaluation.item_sections import AuthenticityGroup, authenticity_groups
from training.evaluation.metrics import Metric, accuracy, accuracy_among, auroc, share
from training.evaluation.predictions import Predictions
from training.evaluation.section import Section, Table, Task, skipped

DECIDED = {Authenticity.AUTHENTIC: 0, Authenticity.COUNTERFEIT: 1}


@dataclass(frozen=True)
class _ItemVerdicts:
    line: str
    truth: int
    with_references: AuthenticityVerdict
    without_references: AuthenticityVerdict
    similarity: float | None


def enrolled_gallery(enrolled: Predictions) -> ReferenceGallery:
    """Authentic photos of each product line, by their embeddings."""
    gallery = ReferenceGallery()
    for row, ref in enumerate(enrolled.refs):
        item = enrolled.items[ref.item]
        if item.authenticity is Authenticity.AUTHENTIC and item.product_line:
            gallery.enroll(item.product_line, enrolled.outputs.embedding[row])
    return gallery


def reference_section(
    predictions: Predictions, metadata: BundleMetadata, enrolled: Predictions | None, policy: AuthenticityPolicy
) -> Section:
    """Verdicts per product line with references enrolled from `enrolled` and without any."""
    groups, _ = authenticity_groups(predictions, DECIDED)
    groups = [group for group in groups if _line(predictions, group)]
    if not groups or enrolled is None:
        return skipped(Task.REFERENCES, "needs items with a product line and authenticity, and a train split to enroll")
    gallery = enrolled_gallery(enrolled)
    band = ModelBand(
        metadata.thresholds.counterfeit_above,
        metadata.thresholds.authentic_below,
        tuple(metadata.labels.product_lines),
        metadata.calibration.product_line_prototypes,
    )
    verdicts = [_verdicts(predictions, group, gallery, band, policy) for group in groups]
    metrics: dict[str, Metric] = {}
    rows = []
    for line in sorted({v.line for v in verdicts}):
        chosen = [v for v in verdicts if v.line == line]
        line_metrics = _line_metrics(chosen)
        metrics |= {f"{line}_{name}": value for name, value in line_metrics.items()}
        head = "yes" if band.head_knows(line) else "no (references only)"
        rows.append((line, head, str(gallery.count(line)), *(_shown(line_metrics[name]) for name in _COLUMNS)))
    metrics |= _prototype_accuracy(predictions, groups, band)
    fitted = fitted_similarity_thresholds(verdicts)
    return Section(
        Task.REFERENCES,
        metrics=metrics,
        headline=tuple(name for name in metrics if name.endswith(("decided_accuracy", "review_share")))[:4],
        notes=(
            "Every item goes through grading.authenticity.assess (the service's rule) twice: with the authentic "
            "photos of the manifest's train split enrolled as references of their product line, and with none. "
            f"Policy similarity thresholds: authentic from {policy.authentic_similarity_at_least}, suspected "
            f"below {policy.suspect_similarity_below} (None: references never decide that side). "
            "reference_auroc ranks items by their best similarity to their line's references (low = counterfeit).",
        ),
        tables=(Table("verdicts by product line", ("line", "head trained", "references", *_COLUMNS), tuple(rows)),),
        details={"similarity_thresholds_fitted_here": fitted},
    )


FITTED_PRECISION = 0.97


def fitted_similarity_thresholds(verdicts: list[_ItemVerdicts]) -> dict[str, float] | None:
    """The policy similarity thresholds that would make each decided side `FITTED_PRECISION` precise on these
    items (fit them on validation, never on test): suspected below one, authentic from the other."""
    known = [v for v in verdicts if v.similarity is not None]
    if not known:
        return None
    distance = np.array([1.0 - v.similarity for v in known])
    truth = np.array([v.truth for v in known])
    above, below, review = authenticity_band(distance, truth, FITTED_PRECISION)
    return {
        "precision": FITTED_PRECISION,
        "suspect_similarity_below": round(1.0 - above, 4),
        "authentic_similarity_at_least": round(1.0 - below, 4),
        "review_share": review,
    }


_COLUMNS = (
    "decided_accuracy",
    "review_share",
    "decided_accuracy_without_references",
    "review_share_without_references",
    "reference_auroc",
)


def _line(predictions: Predictions, group: AuthenticityGroup) -> str | None:
    return predictions.items[predictions.refs[group.rows[0]].item].product_line


def _verdicts(
    predictions: Predictions,
    group: AuthenticityGroup,
    gallery: ReferenceGallery,
    band: ModelBand,
    policy: AuthenticityPolicy,
) -> _ItemVerdicts:
    line = _line(predictions, group)
    embeddings = predictions.outputs.embedding[group.rows]
    probabilities = predictions.outputs.counterfeit_prob[group.rows]
    above, below = band.counterfeit_above, band.authentic_below
    with_refs = assess(embeddings, probabilities, line, True, gallery, above, below, policy, band)
    without = assess(embeddings, probabilities, line, True, None, above, below, policy, band)
    return _ItemVerdicts(line, group.truth, with_refs.verdict, without.verdict, with_refs.reference_similarity)


def _line_metrics(verdicts: list[_ItemVerdicts]) -> dict[str, Metric]:
    truth = np.array([v.truth for v in verdicts])
    metrics = {}
    for suffix, attribute in (("", "with_references"), ("_without_references", "without_references")):
        said = [getattr(v, attribute) for v in verdicts]
        decided = np.array([s is not AuthenticityVerdict.INCONCLUSIVE for s in said])
        counterfeit = np.array([s is AuthenticityVerdict.SUSPECTED_COUNTERFEIT for s in said])
        metrics[f"decided_accuracy{suffix}"] = accuracy_among(counterfeit == truth.astype(bool), decided)
        metrics[f"review_share{suffix}"] = share(~decided)
    similarity = np.array([np.nan if v.similarity is None else v.similarity for v in verdicts])
    known = ~np.isnan(similarity)
    metrics["reference_auroc"] = (
        auroc(truth[known], -similarity[known]) if known.any() else Metric(None, 0, "no references for this line")
    )
    return metrics


def _prototype_accuracy(predictions: Predictions, groups: list[AuthenticityGroup], band: ModelBand) -> dict:
    if not band.prototypes:
        return {}
    correct = [
        nearest_product_line(predictions.outputs.embedding[group.rows], band.prototypes)[0] == _line(predictions, group)
        for group in groups
    ]
    return {"product_line_accuracy": accuracy(np.array(correct))}


def _shown(metric: Metric) -> str:
    return "n/a" if metric.value is None else f"{metric.value:.3f} (n={metric.n})"
