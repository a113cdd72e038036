"""One photo's network outputs read with its bundle's labels and thresholds: what a person wants to know."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grading.bundle import BundleMetadata
from grading.grade_decision import median_grade
from grading.network_outputs import NetworkOutputs


@dataclass(frozen=True)
class DefectFinding:
    type: str
    peak: float  # the largest probability of this type anywhere on the photo
    area_share: float  # share of the photo's cells where this type is the most likely class


@dataclass(frozen=True)
class PhotoSummary:
    category: str
    category_probability: float
    grade: str
    grade_probability: float
    anomaly_score: float
    anomalous: bool
    defects: list[DefectFinding]
    counterfeit_probability: float


def summarize(outputs: NetworkOutputs, index: int, metadata: BundleMetadata) -> PhotoSummary:
    """Photo `index` of a batch; defects are the types whose peak reaches the bundle's presence threshold."""
    labels, thresholds = metadata.labels, metadata.thresholds
    category = int(outputs.category_probs[index].argmax())
    grade = median_grade(outputs.grade_probs[index])
    score = float(outputs.anomaly_score[index])
    return PhotoSummary(
        category=labels.categories[category],
        category_probability=float(outputs.category_probs[index, category]),
        grade=labels.grades[grade],
        grade_probability=float(outputs.grade_probs[index, grade]),
        anomaly_score=score,
        anomalous=score >= thresholds.anomaly,
        defects=_findings(outputs.defect_probs[index], labels.defect_types, thresholds.defect_presence),
        counterfeit_probability=float(outputs.counterfeit_prob[index]),
    )


def _findings(defect_probs: np.ndarray, types: list[str], presence: dict[str, float]) -> list[DefectFinding]:
    winners = defect_probs.argmax(axis=0)
    findings = []
    for channel, name in enumerate(types, start=1):
        peak = float(defect_probs[channel].max())
        if peak >= presence.get(name, 0.5):
            findings.append(DefectFinding(name, peak, float((winners == channel).mean())))
    return sorted(findings, key=lambda finding: -finding.peak)
