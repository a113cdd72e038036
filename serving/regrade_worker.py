"""Grades archived items with another bundle, away from the service: what one regrade worker process does.

`ArchiveGrader` holds one bundle's model, the rules and the photo store, and turns an `ArchivedItem` (the item's
facts and its stored photos, as `serving.regrade` reads them from the database) into an `ItemResult` exactly as the
service's job workers would with that bundle: same decoding limits, the photos a retake replaced left out, each
photo's stored checks passed on. `serving.regrade` runs one per Ray worker process (`RegradeActor`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grading.authenticity import ReferenceGallery
from grading.inference import load_model
from grading.intake import IntakeLimits, load_photo
from grading.item_grading import ItemFacts, PhotoEvidence, grade_item, split_outputs
from grading.item_result import PhotoQualityResult
from grading.vocabulary import View
from serving.item_grader import load_rules
from serving.settings import Settings
from serving.storage import open_photo_store


@dataclass(frozen=True)
class ArchivedPhoto:
    photo_id: str
    view: str
    sha256: str
    quality: PhotoQualityResult | None  # the checks it passed or failed when it arrived; None: not checked


@dataclass(frozen=True)
class ArchivedItem:
    item_id: str
    facts: dict  # grading.item_grading.ItemFacts as stored
    photos: tuple[ArchivedPhoto, ...]


@dataclass(frozen=True)
class RegradeOutcome:
    item_id: str
    body: dict  # grading.item_result.ItemResult as JSON; {} when `error` says why there is none
    error: str | None = None


class ArchiveGrader:
    def __init__(self, settings: Settings, bundle: Path, policy: Path, pricing: Path, threads: int = 1) -> None:
        self.model = load_model(bundle, threads=threads)
        self.rules = load_rules(policy, pricing)
        self.store = open_photo_store(settings)
        self.limits = IntakeLimits(max_bytes=settings.max_photo_bytes)

    def embed(self, sha256s: list[str]) -> np.ndarray:
        """Authenticity embeddings (n, d) of stored photos, for reference galleries under this bundle."""
        preprocessing = self.model.metadata.input.preprocessing()
        pixels = [load_photo(self.store.get(sha), self.limits, preprocessing).pixels for sha in sha256s]
        return np.asarray(self.model.run(np.stack(pixels)).embedding, np.float32)

    def grade(self, item: ArchivedItem, galleries: dict[str, ReferenceGallery]) -> RegradeOutcome:
        """The item graded with this bundle, or the reason it could not be (a missing photo, a broken file)."""
        try:
            facts = ItemFacts.model_validate(item.facts)
            result = grade_item(
                facts,
                self._evidence(item),
                self.model.metadata,
                self.rules.policy,
                self.rules.pricing,
                galleries.get(facts.product_line or ""),
            )
        except Exception as error:  # one bad item must not end a run over the whole archive
            return RegradeOutcome(item.item_id, {}, f"{type(error).__name__}: {error}")
        return RegradeOutcome(item.item_id, result.model_dump(mode="json"))

    def _evidence(self, item: ArchivedItem) -> list[PhotoEvidence]:
        if not item.photos:
            raise ValueError(f"item {item.item_id} has no graded photo")
        preprocessing = self.model.metadata.input.preprocessing()
        decoded = [load_photo(self.store.get(photo.sha256), self.limits, preprocessing) for photo in item.photos]
        outputs = split_outputs(self.model.run(np.stack([photo.pixels for photo in decoded])))
        return [
            PhotoEvidence(photo.photo_id, View(photo.view), pixels, output, photo.quality)
            for photo, pixels, output in zip(item.photos, decoded, outputs, strict=True)
        ]
