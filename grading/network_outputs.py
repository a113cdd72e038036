"""The flat output contract of the grading network: one field per ONNX output, in this order.

Training, evaluation, export and the service all speak this one type; the field names are the ONNX
graph's output names. Every probability is already calibrated (temperatures are folded into the graph).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

INPUT_NAME = "photos"  # uint8, (batch, height, width, 3), RGB, as `grading.intake.load_photo` returns


class NetworkOutputs(NamedTuple):
    """Per-photo outputs of one network pass.

    Attributes:
        defect_probs: (N, 1 + defect types, H/8, W/8), softmax over background (channel 0) and each defect type.
        anomaly_map: (N, H/8, W/8), distance of each patch to the nearest known-good patch of the predicted
            category, divided by the calibrated threshold distance (1.0 = on the threshold).
        anomaly_score: (N,), the largest value of the smoothed anomaly map, on the same scale.
        category_probs: (N, categories).
        grade_probs: (N, grades), probability of each grade on the bundle's scale, best grade first.
        embedding: (N, D), L2-normalised; compared by cosine with enrolled authentic references.
        counterfeit_prob: (N,), supervised probability that the photo shows a counterfeit.
        wear_prob: (N,), probability that the photo shows a worn pair of shoes (creases, dirt, scuffs, yellowing);
            None for a bundle without the wear head (before 0.5.0, see `training.wear_head`).
    """

    defect_probs: np.ndarray
    anomaly_map: np.ndarray
    anomaly_score: np.ndarray
    category_probs: np.ndarray
    grade_probs: np.ndarray
    embedding: np.ndarray
    counterfeit_prob: np.ndarray
    wear_prob: np.ndarray | None = None


OPTIONAL_OUTPUTS: tuple[str, ...] = ("wear_prob",)  # outputs a bundle may lack; they are None then
OUTPUT_NAMES: tuple[str, ...] = tuple(name for name in NetworkOutputs._fields if name not in OPTIONAL_OUTPUTS)


def map_outputs(outputs: NetworkOutputs, function: Callable[[np.ndarray], np.ndarray]) -> NetworkOutputs:
    """`function` applied to every output the bundle has; missing optional outputs stay None."""
    return NetworkOutputs(*(None if array is None else function(array) for array in outputs))


def concatenate_outputs(parts: Sequence[NetworkOutputs]) -> NetworkOutputs:
    """Batches of one bundle's outputs joined along the batch axis."""
    fields = zip(*parts, strict=True)
    return NetworkOutputs(*(None if arrays[0] is None else np.concatenate(arrays) for arrays in fields))
