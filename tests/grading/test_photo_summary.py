"""Reading one photo's outputs with the bundle's labels and thresholds."""

from __future__ import annotations

import numpy as np

from grading.bundle import BundleMetadata, Labels, Thresholds
from grading.network_outputs import NetworkOutputs
from grading.photo_summary import summarize


def test_summary_names_the_winners_and_only_defects_over_their_threshold() -> None:
    defect_probs = np.zeros((1, 3, 4, 4), np.float32)
    defect_probs[0, 0] = 1.0
    defect_probs[0, :, 0, 0] = (0.1, 0.9, 0.0)  # stain clearly at one cell
    defect_probs[0, :, 1, 1] = (0.6, 0.0, 0.4)  # hole at 0.4, under its 0.5 threshold
    outputs = NetworkOutputs(
        defect_probs=defect_probs,
        anomaly_map=np.zeros((1, 4, 4), np.float32),
        anomaly_score=np.array([1.3], np.float32),
        category_probs=np.array([[0.2, 0.8]], np.float32),
        grade_probs=np.array([[0.1, 0.7, 0.2]], np.float32),
        embedding=np.zeros((1, 4), np.float32),
        counterfeit_prob=np.array([0.1], np.float32),
    )
    labels = Labels(
        defect_types=["stain", "hole"], categories=["pants", "shirt"], grades=["a", "b", "c"], grade_scale="s"
    )
    metadata = BundleMetadata(
        name="t", version="1", created="now", labels=labels, thresholds=Thresholds(defect_presence={"stain": 0.5})
    )
    summary = summarize(outputs, 0, metadata)
    assert (summary.category, summary.grade, summary.anomalous) == ("shirt", "b", True)
    assert [d.type for d in summary.defects] == ["stain"]
    assert summary.defects[0].area_share == 1 / 16
