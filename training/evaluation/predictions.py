"""Run a bundle over a manifest split and keep, per photo, the network's outputs beside the labels.

Photos go through the same intake the service uses (`training.photo_targets`, which also draws each
annotated photo's defect mask on the model-input crop) and through ONNX Runtime in batches. A photo that
cannot be read is recorded with its reason, not fatal. Item-level labels (category, grade, authenticity)
are compared with item-level probabilities: the mean over the item's photos.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from grading.inference import GradingModel
from grading.intake import IntakeError
from grading.manifest import Item, read_manifest
from grading.network_outputs import NetworkOutputs, concatenate_outputs
from grading.vocabulary import Split
from training.evaluation import BATCH_SIZE
from training.photo_targets import PhotoTarget, load_photo_target


class EvaluationInputError(ValueError):
    """The manifest or split cannot be evaluated; the message says what to pass instead."""


@dataclass(frozen=True)
class PhotoRef:
    """Where a photo comes from: its item (index into `Predictions.items`) and its place in that item."""

    item: int
    photo: int


@dataclass(frozen=True)
class UnreadablePhoto:
    item_id: str
    path: str
    reason: str


@dataclass(frozen=True)
class Predictions:
    """Outputs for every readable photo of the evaluated items, in photo order.

    Attributes:
        items: the evaluated items (each has at least one readable photo).
        refs: one `PhotoRef` per photo; row i of every output array belongs to refs[i].
        outputs: `NetworkOutputs` stacked over photos.
        masks: per photo, the class-index defect mask on the model input (crop x crop), None if not annotated.
        unreadable: photos that were skipped, with the reason.
    """

    manifest_path: Path
    items: list[Item]
    refs: list[PhotoRef]
    outputs: NetworkOutputs
    masks: list[np.ndarray | None]
    unreadable: list[UnreadablePhoto]

    @property
    def photo_item(self) -> np.ndarray:
        return np.array([ref.item for ref in self.refs], dtype=np.int64)

    def item_mean(self, values: np.ndarray) -> np.ndarray:
        """Average per-photo rows (photos, ...) into per-item rows (items, ...)."""
        index = self.photo_item
        sums = np.zeros((len(self.items), *values.shape[1:]), dtype=np.float64)
        np.add.at(sums, index, values)
        counts = np.bincount(index, minlength=len(self.items)).reshape(-1, *([1] * (values.ndim - 1)))
        return sums / counts

    def first_photo_of(self, item: int) -> int:
        """Row of the item's first readable photo."""
        return next(row for row, ref in enumerate(self.refs) if ref.item == item)


def split_items(manifest_path: Path, split: Split, limit: int | None = None) -> list[Item]:
    """The manifest's items in `split` (the first `limit` of them); raises when there are none."""
    if not Path(manifest_path).is_file():
        raise EvaluationInputError(f"manifest {manifest_path} does not exist; make one with 'secondlook data import'.")
    items = read_manifest(manifest_path)
    chosen = [item for item in items if item.split == split]
    if not chosen:
        present = Counter(str(item.split) for item in items if item.split is not None)
        if not present:
            raise EvaluationInputError(
                f"manifest {manifest_path} assigns no split to any of its {len(items)} items; assign splits "
                "(secondlook data split) or re-import it, then evaluate its test split."
            )
        listing = ", ".join(f"{name} ({count})" for name, count in sorted(present.items()))
        raise EvaluationInputError(
            f"manifest {manifest_path} has no items in split '{split}' (it has: {listing}); pass --split with one "
            "of those."
        )
    return chosen[:limit] if limit else chosen


def collect_predictions(
    model: GradingModel, manifest_path: Path, items: list[Item], batch_size: int = BATCH_SIZE, progress: bool = True
) -> Predictions:
    """Run every photo of `items` through the model, a batch at a time; items with no readable photo are left out."""
    batch, refs, masks, parts, unreadable = [], [], [], [], []
    for ref, target in _readable_photos(manifest_path, items, model, unreadable, progress):
        batch.append(target.pixels)
        refs.append(ref)
        masks.append(target.defect_mask)
        if len(batch) == batch_size:
            parts.append(_run(model, batch))
            batch = []
    if batch:
        parts.append(_run(model, batch))
    if not refs:
        raise EvaluationInputError(f"none of the {len(items)} items in {manifest_path} has a readable photo.")
    outputs = concatenate_outputs(parts)
    return _keep_items_with_photos(manifest_path, items, refs, masks, outputs, unreadable)


def _readable_photos(
    manifest_path: Path, items: list[Item], model: GradingModel, unreadable: list[UnreadablePhoto], progress: bool
) -> Iterator[tuple[PhotoRef, PhotoTarget]]:
    """Yield each photo that intake accepts; append the others to `unreadable`."""
    preprocessing = model.metadata.input.preprocessing()
    for index, item in enumerate(tqdm(items, desc="evaluating", unit="item", disable=not progress)):
        for place, photo in enumerate(item.photos):
            try:
                target = load_photo_target(manifest_path, photo, preprocessing)
            except (IntakeError, OSError, ValueError) as error:
                unreadable.append(UnreadablePhoto(item.id, photo.path, str(error)))
                continue
            yield PhotoRef(index, place), target


def _run(model: GradingModel, pixels: list[np.ndarray]) -> NetworkOutputs:
    """One batch; every output is kept (the real-photo section grades photos as the service does)."""
    return model.run(np.stack(pixels))


def _keep_items_with_photos(
    manifest_path: Path,
    items: list[Item],
    refs: list[PhotoRef],
    masks: list[np.ndarray | None],
    outputs: NetworkOutputs,
    unreadable: list[UnreadablePhoto],
) -> Predictions:
    """Renumber items so that every kept item has at least one photo row."""
    kept = sorted({ref.item for ref in refs})
    new_index = {old: new for new, old in enumerate(kept)}
    return Predictions(
        manifest_path=Path(manifest_path),
        items=[items[old] for old in kept],
        refs=[PhotoRef(new_index[ref.item], ref.photo) for ref in refs],
        outputs=outputs,
        masks=masks,
        unreadable=unreadable,
    )
