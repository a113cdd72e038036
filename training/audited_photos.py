"""The network's outputs on the audited photos of manifests' split, each beside its audit label.

What fits a policy or threshold on real photos a person audited starts here (`model grade-caution`,
`model confident`); unaudited and `unclear` photos are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grading.inference import GradingModel
from grading.network_outputs import NetworkOutputs, concatenate_outputs, map_outputs
from grading.vocabulary import Split
from training.audit import AuditEntry, AuditLabel
from training.evaluation.predictions import collect_predictions, split_items


@dataclass(frozen=True)
class AuditedPhotos:
    outputs: NetworkOutputs  # stacked over the audited photos
    labels: list[AuditLabel]  # one per row

    @property
    def clean(self) -> np.ndarray:
        return np.array([label.is_clean for label in self.labels], dtype=bool)

    @property
    def damaged(self) -> np.ndarray:
        return np.array([label is AuditLabel.DAMAGED for label in self.labels], dtype=bool)


def audited_photos(
    model: GradingModel, manifests: Sequence[Path], split: Split, audits: dict[str, AuditEntry]
) -> AuditedPhotos:
    """Run the model over each manifest's split and keep the rows of photos audited clean, design or damaged."""
    parts, labels = [], []
    for manifest in manifests:
        predictions = collect_predictions(model, manifest, split_items(manifest, split), progress=False)
        entries = [audits.get(predictions.items[ref.item].photos[ref.photo].sha256) for ref in predictions.refs]
        rows = [row for row, entry in enumerate(entries) if entry is not None and entry.label is not AuditLabel.UNCLEAR]
        parts.append(map_outputs(predictions.outputs, lambda field, kept=rows: field[kept]))
        labels += [entries[row].label for row in rows]
    if not labels:
        raise ValueError("no audited photo in the manifests' split: audit some (datasets/audits/README.md)")
    return AuditedPhotos(concatenate_outputs(parts), labels)
