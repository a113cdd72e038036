"""Backbone features computed once per (augmented) photo, with every label the heads can learn from.

The backbone is frozen, so training the heads needs its outputs, not the photos: each training photo is
decoded through intake, augmented `augmented_copies` times (plus once as it is), and passed through the
backbone once; validation photos once, unaugmented. Labels a photo does not have are -1 (or
`annotated=False` for defects) and the matching losses skip it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from grading.intake import Preprocessing
from grading.manifest import Item
from grading.vocabulary import Authenticity, Grade
from training.augmentation import AugmentationTask, augment, build_pipeline
from training.mask_grid import cell_classes
from training.network import Taps
from training.photo_targets import load_photo_target

MAP_STRIDE = 8


@dataclass(frozen=True)
class PhotoRef:
    """One photo of one manifest item, and how many augmented copies to make of it."""

    manifest: Path
    item: Item
    photo_index: int
    copies: int


class CachedFeatures(NamedTuple):
    stride8: torch.Tensor  # float16 (N, 40, 28, 28)
    stride16: torch.Tensor  # float16 (N, 112, 14, 14)
    stride32: torch.Tensor  # float16 (N, 320, 7, 7)
    category: torch.Tensor  # int64, -1 = unknown
    grade: torch.Tensor  # int64 rank on the default scale, -1 = unknown
    counterfeit: torch.Tensor  # int64: 1 counterfeit, 0 authentic, -1 unknown
    annotated: torch.Tensor  # bool: the photo's defects are annotated
    clean: torch.Tensor  # bool: annotated and without defects
    defect_map: torch.Tensor  # uint8 (N, 28, 28): 0 background, 1 + DefectType index
    augmented: torch.Tensor  # bool
    source: torch.Tensor  # int64 index into the list of PhotoRefs
    product_line: torch.Tensor | None = None  # int64 index into the run's product lines, -1 = unknown


class _Labels(NamedTuple):
    category: int
    grade: int
    counterfeit: int
    annotated: bool
    clean: bool
    product_line: int


def labels_of(item: Item, photo_index: int, categories: list[str], product_lines: Sequence[str] = ()) -> _Labels:
    defects = item.photos[photo_index].defects
    grade = Grade(item.grade.value).rank if item.grade and item.grade.value in set(Grade) else -1
    counterfeit = {Authenticity.AUTHENTIC: 0, Authenticity.COUNTERFEIT: 1}.get(item.authenticity, -1)
    category = categories.index(item.category) if item.category in categories else -1
    line = list(product_lines).index(item.product_line) if item.product_line in product_lines else -1
    return _Labels(category, grade, counterfeit, defects is not None, defects == [], line)


def defect_map_at_stride(mask: np.ndarray | None, stride: int = MAP_STRIDE) -> np.ndarray:
    """Class-index mask (224, 224) to the (224/stride)^2 target grid by `training.mask_grid.cell_classes`.

    A cell is a defect when at least `MIN_DEFECT_FRACTION` of it is covered, the rule evaluation scores by.
    """
    size = 224 // stride
    if mask is None:
        return np.zeros((size, size), dtype=np.uint8)
    return cell_classes(mask, size)


def _task_of(labels: _Labels) -> AugmentationTask:
    if labels.annotated:
        return AugmentationTask.DEFECTS
    return AugmentationTask.AUTHENTICITY if labels.counterfeit >= 0 else AugmentationTask.CATEGORY


class _AugmentedPhotos(Dataset):
    """Expands each PhotoRef into 1 + copies samples: (pixels, 28x28 defect map, labels, augmented, ref index)."""

    def __init__(
        self,
        refs: list[PhotoRef],
        categories: list[str],
        preprocessing: Preprocessing,
        seed: int,
        product_lines: Sequence[str] = (),
    ):
        self.samples = [(index, copy) for index, ref in enumerate(refs) for copy in range(1 + ref.copies)]
        self.refs, self.categories, self.preprocessing, self.seed = refs, categories, preprocessing, seed
        self.product_lines = product_lines

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, position: int) -> tuple:
        index, copy = self.samples[position]
        ref = self.refs[index]
        target = load_photo_target(ref.manifest, ref.item.photos[ref.photo_index], self.preprocessing)
        labels = labels_of(ref.item, ref.photo_index, self.categories, self.product_lines)
        pixels, mask = target.pixels, target.defect_mask
        if copy > 0:
            pipeline = build_pipeline(_task_of(labels), seed=self.seed * 1_000_003 + position)
            pixels, mask = augment(pipeline, pixels, mask)
        return (
            torch.from_numpy(np.ascontiguousarray(pixels)),
            torch.from_numpy(defect_map_at_stride(mask)),
            (
                torch.tensor(labels),
                copy > 0,
                index,
            ),
        )


def compute_features(
    backbone: Callable[[torch.Tensor], Taps],
    refs: list[PhotoRef],
    categories: list[str],
    seed: int,
    workers: int,
    description: str,
    preprocessing: Preprocessing,
    progress: bool = True,
    product_lines: Sequence[str] = (),
) -> CachedFeatures:
    """Run the frozen backbone (uint8 NHWC photos -> Taps) over every sample of `refs`; features kept as float16.

    `description` names the tqdm bar, drawn only with `progress`.
    """
    dataset = _AugmentedPhotos(refs, categories, preprocessing, seed, product_lines)
    loader = DataLoader(dataset, batch_size=32, num_workers=workers, persistent_workers=False)
    cache: CachedFeatures | None = None
    start = 0
    with torch.inference_mode():
        for pixels, defect_map, (labels, augmented, index) in tqdm(
            loader, desc=description, unit="batch", disable=not progress
        ):
            taps = backbone(pixels)
            columns = [t.half() for t in taps] + [*labels.T.long()[:3], labels[:, 3].bool(), labels[:, 4].bool()]
            batch = CachedFeatures(*columns, defect_map, augmented.bool(), index.long(), labels[:, 5].long())
            cache = cache or _allocate(batch, len(dataset))
            for target, column in zip(cache, batch, strict=True):
                target[start : start + len(column)] = column
            start += len(batch.category)
    return cache or _allocate_empty()


def _allocate(example: CachedFeatures, rows: int) -> CachedFeatures:
    """Filled in place batch by batch, so the cache never needs twice its size in memory."""
    return CachedFeatures(*(torch.empty((rows, *column.shape[1:]), dtype=column.dtype) for column in example))


def _allocate_empty() -> CachedFeatures:
    shapes = [(40, 28, 28), (112, 14, 14), (320, 7, 7)]
    features = [torch.empty((0, *shape), dtype=torch.float16) for shape in shapes]
    labels = [torch.empty(0, dtype=torch.int64)] * 3 + [torch.empty(0, dtype=torch.bool)] * 2
    rest = [
        torch.empty((0, 28, 28), dtype=torch.uint8),
        torch.empty(0, dtype=torch.bool),
        torch.empty(0, dtype=torch.int64),
        torch.empty(0, dtype=torch.int64),
    ]
    return CachedFeatures(*features, *labels, *rest)
