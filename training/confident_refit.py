"""Raise a bundle's `defect_confident` thresholds until audited clean real photos rarely carry a certain defect.

A reported defect at or above its type's confident threshold is certain and lowers the grade; below it the item
goes to review with the clean offer. Calibration fits the confident level on the clean photos its run has
(clothing-small); photos of other clean goods show what it missed: on audited clean sneakers the laces of white
Air Force 1s read as tears at 0.69-0.77 against a tear threshold of 0.6876, so a clean pair was listed as `poor`.

The refit only raises thresholds and never touches `defect_presence` or the network: a defect found stays found,
only the certainty it needs to lower a grade moves. Per step, the type that makes the most audited clean photos
certain moves just above the lowest of those photos' peaks, until at most `budget` of the clean photos carry a
certain defect. Peaks are each type's maximum over the defect map, which no region of that type exceeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from grading.bundle import MODEL_FILE, read_metadata, write_metadata
from grading.inference import load_model
from grading.vocabulary import Split
from training.audit import AuditEntry
from training.audited_photos import audited_photos
from training.bundle_copy import copy_bundle_files


@dataclass(frozen=True)
class ConfidentRefit:
    clean_photos: int
    certain_before: float  # share of the clean photos with a certain defect at the bundle's thresholds
    certain_after: float
    raised: dict[str, tuple[float, float]]  # type -> (old, new) confident threshold


def raised_confident(clean_peaks: np.ndarray, presence: np.ndarray, confident: np.ndarray, budget: float) -> np.ndarray:
    """Confident thresholds (types,) raised until at most `budget` of the clean photos (photos x types peaks) carry a
    certain defect (peak at or above both thresholds of its type)."""
    allowed = int(np.floor(budget * len(clean_peaks) + 1e-9))
    thresholds = np.asarray(confident, dtype=np.float64).copy()
    while True:
        certain = clean_peaks >= np.maximum(presence, thresholds)
        flagged = certain.any(axis=1)
        if flagged.sum() <= allowed:
            return thresholds
        worst = int(np.argmax(certain[flagged].sum(axis=0)))
        lowest = clean_peaks[certain[:, worst], worst].min()
        thresholds[worst] = np.nextafter(np.float32(lowest), np.float32(np.inf))


def clean_peaks(folder: Path, manifests: Sequence[Path], split: Split, audits: dict[str, AuditEntry]) -> np.ndarray:
    """Each type's peak on every audited clean photo of the manifests' split (photos x defect types)."""
    audited = audited_photos(load_model(folder), manifests, split, audits)
    if not audited.clean.any():
        raise ValueError("no audited clean photo in the manifests' split: audit some (datasets/audits/README.md)")
    return audited.outputs.defect_probs[audited.clean][:, 1:].max(axis=(2, 3))


def refit_bundle(source: Path, out: Path, version: str, peaks: np.ndarray, budget: float) -> ConfidentRefit:
    """Write `out`: `source` with raised confident thresholds, a new version, and the refit in training_config."""
    metadata = read_metadata(source)
    types = metadata.labels.defect_types
    levels = metadata.thresholds
    presence = np.array([levels.defect_presence.get(t, 0.0) for t in types])  # as grading reads them
    old = np.array([levels.defect_confident.get(t, levels.defect_presence.get(t, 0.0)) for t in types])
    new = raised_confident(peaks, presence, old, budget)
    before, after = (float((peaks >= np.maximum(presence, level)).any(axis=1).mean()) for level in (old, new))
    raised = {t: (float(a), float(b)) for t, a, b in zip(types, old, new, strict=True) if b > a}
    note = {
        "from": f"{metadata.name} {metadata.version}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "budget": budget,
        "clean_photos": len(peaks),
        "certain_before": round(before, 4),
        "certain_after": round(after, 4),
        "raised": {t: [round(a, 4), round(b, 4)] for t, (a, b) in raised.items()},
    }
    confident = dict(zip(types, (float(v) for v in new), strict=True))
    copy_bundle_files(source, out)
    write_metadata(
        out,
        metadata.model_copy(
            update={
                "version": version,
                "thresholds": metadata.thresholds.model_copy(update={"defect_confident": confident}),
                "training_config": {**metadata.training_config, "confident_refit": note},
                "history": [],
            }
        ),
    )
    if read_metadata(out).files[MODEL_FILE] != metadata.files[MODEL_FILE]:
        raise AssertionError(f"{out / MODEL_FILE} differs from {source / MODEL_FILE}")
    return ConfidentRefit(len(peaks), before, after, raised)
