"""Grades one item in the service: decoded photos → shared inference scheduler → `grading.item_grading`.

Holds what a grading needs and what an admin may swap without a restart: the scheduler (and its model),
the grade policy and the pricing. A swap is one attribute assignment, so a grading in flight finishes
with the configuration it started with.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grading.authenticity import ReferenceGallery
from grading.inference import GradingModel
from grading.intake import Photo
from grading.item_grading import ItemFacts, PhotoEvidence, grade_item, split_outputs
from grading.item_result import ItemResult, PhotoQualityResult
from grading.network_outputs import NetworkOutputs
from grading.policy import GradePolicy, load_policy
from grading.pricing import PricingConfig, check_pricing_against_policy, load_pricing
from grading.vocabulary import View
from serving.inference_scheduler import InferenceScheduler, Priority


@dataclass(frozen=True)
class DecodedPhoto:
    photo_id: str
    view: View
    photo: Photo
    quality: PhotoQualityResult | None = None  # its photo checks; None: not checked


@dataclass(frozen=True)
class Rules:
    policy: GradePolicy
    pricing: PricingConfig
    policy_path: Path
    pricing_path: Path


@dataclass(frozen=True)
class Graded:
    result: ItemResult
    maps: dict[str, bytes]  # photo id -> npz with the defect and anomaly maps, for reviewer overlays
    embeddings: dict[str, np.ndarray]
    inference_ms: float
    grading_ms: float


def load_rules(policy_path: Path, pricing_path: Path) -> Rules:
    """Both files validated, and against each other; raises `PolicyError` / `PricingError` with the field to fix."""
    policy, pricing = load_policy(policy_path), load_pricing(pricing_path)
    check_pricing_against_policy(pricing, policy)
    return Rules(policy, pricing, Path(policy_path), Path(pricing_path))


class ItemGrader:
    def __init__(self, scheduler: InferenceScheduler, rules: Rules) -> None:
        self.scheduler = scheduler
        self.rules = rules

    def grade(
        self,
        facts: ItemFacts,
        photos: list[DecodedPhoto],
        priority: Priority,
        references: ReferenceGallery | None = None,
    ) -> Graded:
        started = time.perf_counter()
        model, outputs = self._infer(np.stack([p.photo.pixels for p in photos]), priority)
        inferred = time.perf_counter()
        rules = self.rules
        per_photo = split_outputs(outputs)
        evidence = [
            PhotoEvidence(p.photo_id, p.view, p.photo, o, p.quality) for p, o in zip(photos, per_photo, strict=True)
        ]
        result = grade_item(facts, evidence, model.metadata, rules.policy, rules.pricing, references)
        maps = {p.photo_id: encode_maps(o) for p, o in zip(photos, per_photo, strict=True)}
        embeddings = {p.photo_id: np.asarray(o.embedding, np.float32) for p, o in zip(photos, per_photo, strict=True)}
        finished = time.perf_counter()
        return Graded(result, maps, embeddings, (inferred - started) * 1e3, (finished - inferred) * 1e3)

    def _infer(self, pixels: np.ndarray, priority: Priority) -> tuple[GradingModel, NetworkOutputs]:
        """Outputs and the model that made them: a bundle swapped mid-request means running again, so one
        bundle's outputs are never read with another bundle's labels and thresholds."""
        while True:
            model = self.scheduler.model
            outputs = self.scheduler.run(pixels, priority)
            if self.scheduler.model is model:
                return model, outputs

    def embed(self, photos: list[Photo]) -> np.ndarray:
        """Embeddings (n, d) for enrolling authentic references."""
        outputs = self.scheduler.run(np.stack([p.pixels for p in photos]), Priority.STATION)
        return np.asarray(outputs.embedding, np.float32)


def encode_maps(outputs: NetworkOutputs) -> bytes:
    buffer = io.BytesIO()  # uncompressed: about 21 KB a photo, and no zlib time on the grading path
    np.savez(
        buffer,
        defect_probs=np.asarray(outputs.defect_probs, np.float16),
        anomaly_map=np.asarray(outputs.anomaly_map, np.float16),
    )
    return buffer.getvalue()


def decode_maps(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(defect_probs (1+T, h, w), anomaly_map (h, w)) as float32."""
    with np.load(io.BytesIO(data), allow_pickle=False) as maps:
        return maps["defect_probs"].astype(np.float32), maps["anomaly_map"].astype(np.float32)
