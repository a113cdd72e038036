"""Albumentations pipelines per task; masks are transformed with their photo so they stay aligned.

Photometric changes stay mild everywhere: a strong colour shift looks like fading or a stain, and the
authenticity pipeline has none at all, since colour and print are what tells a counterfeit.
"""

from __future__ import annotations

from enum import StrEnum

import albumentations as A
import cv2
import numpy as np


class AugmentationTask(StrEnum):
    CATEGORY = "category"
    DEFECTS = "defects"
    AUTHENTICITY = "authenticity"


def _geometry(rotate: float) -> list[A.BasicTransform]:
    return [
        A.HorizontalFlip(p=0.5),
        A.Affine(
            scale=(0.9, 1.1), rotate=(-rotate, rotate), translate_percent=(-0.05, 0.05), border_mode=cv2.BORDER_REFLECT
        ),
    ]


def build_pipeline(task: AugmentationTask, seed: int) -> A.Compose:
    photometric = {
        AugmentationTask.CATEGORY: [A.RandomBrightnessContrast(0.15, 0.15), A.HueSaturationValue(5, 10, 5)],
        AugmentationTask.DEFECTS: [A.RandomBrightnessContrast(0.1, 0.1)],
        AugmentationTask.AUTHENTICITY: [],
    }[task]
    rotate = 5.0 if task is AugmentationTask.AUTHENTICITY else 10.0
    return A.Compose(_geometry(rotate) + photometric, seed=seed)


def augment(pipeline: A.Compose, pixels: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """One random draw of the pipeline on a photo and, when given, its class mask."""
    if mask is None:
        return pipeline(image=pixels)["image"], None
    result = pipeline(image=pixels, mask=mask)
    return result["image"], result["mask"]
