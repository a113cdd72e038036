"""Hand-built network outputs for one photo, on the default bundle's labels: tests of the item rules run no model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grading.bundle import BundleMetadata, Labels, Thresholds
from grading.intake import Photo
from grading.item_grading import PhotoEvidence
from grading.network_outputs import OUTPUT_NAMES, NetworkOutputs
from grading.photo_format import PhotoFormat
from grading.policy import GradePolicy, default_policy_path, load_policy
from grading.pricing import PricingConfig, default_pricing_path, load_pricing
from grading.vocabulary import DefectType, Grade, View

MAP_SIDE = 28
CATEGORIES = ["dress", "hat", "longsleeve", "outwear", "pants", "shirt", "shoes", "shorts", "skirt", "t-shirt"]
DEFECT_TYPES = [defect.value for defect in DefectType]

# (type, rows, columns, probability): a rectangle of cells where the type has that probability
Blob = tuple[DefectType, slice, slice, float]


def metadata(
    counterfeit_above: float = 1.0, authentic_below: float = 0.0, wear: tuple[float, float] | None = None
) -> BundleMetadata:
    """`wear`: (wear_presence, wear_confident) for a bundle with the wear head; None: without one."""
    labels = Labels(
        defect_types=DEFECT_TYPES, categories=CATEGORIES, grades=[g.value for g in Grade], grade_scale="secondlook-8"
    )
    thresholds = Thresholds(
        anomaly=1.0,
        defect_presence=dict.fromkeys(DEFECT_TYPES, 0.5),
        counterfeit_above=counterfeit_above,
        authentic_below=authentic_below,
        wear_presence=None if wear is None else wear[0],
        wear_confident=None if wear is None else wear[1],
    )
    outputs = [*OUTPUT_NAMES, *([] if wear is None else ["wear_prob"])]
    return BundleMetadata(
        name="fake", version="0.0.1", created="2026-01-01", labels=labels, thresholds=thresholds, outputs=outputs
    )


def policy() -> GradePolicy:
    return load_policy(default_policy_path())


def pricing() -> PricingConfig:
    return load_pricing(default_pricing_path())


def photo(side: int = 224) -> Photo:
    """A photo whose model crop is the whole photo, so one map cell is side / 28 pixels."""
    return Photo(
        np.zeros((224, 224, 3), np.uint8), PhotoFormat.JPEG, (side, side), (0.0, 0.0, float(side), float(side))
    )


def defect_map(blobs: list[Blob] = ()) -> np.ndarray:
    probs = np.zeros((1 + len(DEFECT_TYPES), MAP_SIDE, MAP_SIDE), np.float32)
    probs[0] = 1.0
    for defect, rows, columns, probability in blobs:
        channel = DEFECT_TYPES.index(defect) + 1
        probs[channel, rows, columns] = probability
        probs[0, rows, columns] = 1.0 - probability
    return probs


def outputs(
    blobs: list[Blob] = (),
    category: str = "shirt",
    category_probability: float = 0.95,
    grade: Grade = Grade.LIKE_NEW,
    grade_probability: float = 0.9,
    anomaly: float = 0.5,
    counterfeit: float = 0.5,
    embedding: np.ndarray | None = None,
    wear: float | None = None,
) -> NetworkOutputs:
    """One photo's outputs, batch axis removed; the rest of each probability spreads evenly."""
    return NetworkOutputs(
        defect_probs=defect_map(list(blobs)),
        anomaly_map=np.full((MAP_SIDE, MAP_SIDE), anomaly, np.float32),
        anomaly_score=np.float32(anomaly),
        category_probs=_peaked(len(CATEGORIES), CATEGORIES.index(category), category_probability),
        grade_probs=_peaked(len(Grade), grade.rank, grade_probability),
        embedding=embedding if embedding is not None else _unit(np.arange(8, dtype=np.float32) + 1),
        counterfeit_prob=np.float32(counterfeit),
        wear_prob=None if wear is None else np.float32(wear),
    )


def evidence(photo_id: str = "p1", view: View = View.FRONT, **kwargs) -> PhotoEvidence:
    return PhotoEvidence(photo_id, view, photo(), outputs(**kwargs))


def _peaked(size: int, index: int, probability: float) -> np.ndarray:
    probs = np.full(size, (1.0 - probability) / (size - 1), np.float32)
    probs[index] = probability
    return probs


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
