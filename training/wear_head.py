"""A wear head on the bundle's frozen backbone: does this photo show a worn pair of shoes?

Second-hand shoes show wear as toe-box creases, greyed midsoles, dirt, scuffs and yellowing. The defect heads,
trained on composited stains and holes on garments, find a defect on 3% of audited worn sneaker photos. Wear is a
look of the whole shoe rather than a spot, and the frozen ImageNet maps already separate it: a logistic
regression on their generalised-mean pools (stride 16: 112 channels, stride 32: 320) learnt from photos a person
audited as clean or worn (`datasets/audits/sneakers-auth.csv`, train split).

The head is appended to the shipped graph, not trained in torch: the backbone is frozen, so its maps are what
the ImageNet weights compute, and every other output stays byte for byte what it was. Steps:
`with_pooled_features` exposes the pools as a graph output; `fit_wear_probe` fits the regression on them;
`with_wear_head` appends standardisation, the linear layer and a sigmoid as the output `wear_prob` and drops the
pools again. Thresholds (`thresholds.wear_presence`, `wear_confident`) are fitted on the audited validation
photos under false-alarm budgets on the clean ones, as the defect thresholds are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

from grading.inference import session_options
from grading.intake import Preprocessing, load_photo
from grading.manifest import REVIEW_DATASET, Item, resolve_photo_path
from grading.manifest import Photo as ManifestPhoto
from grading.network_outputs import INPUT_NAME
from grading.vocabulary import DEFAULT_GRADE_SCALE, Grade, Split
from training.audit import AuditEntry, AuditLabel
from training.calibration import budgeted_thresholds
from training.evaluation.predictions import split_items

# The lateral convolutions of the defect decoder read the stride-16 and stride-32 maps of the frozen backbone
# (`training.network.BackboneTaps`); their inputs are the maps the head pools.
TAP_READERS = ("/heads/laterals.1/laterals.1.0/Conv", "/heads/laterals.2/laterals.2.0/Conv")
POOLED_OUTPUT = "wear_features"
WEAR_OUTPUT = "wear_prob"
GEM_POWER = 3.0
PREFIX = "/heads/wear/"


class WearHeadError(ValueError):
    """The graph cannot take a wear head; the message says why."""


@dataclass(frozen=True)
class WearProbe:
    """Logistic regression on standardised pools: p = sigmoid(((x - mean) / scale) @ weights + bias)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def probability(self, features: np.ndarray) -> np.ndarray:
        logits = ((features - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-logits))


def _tap_tensors(graph: onnx.GraphProto) -> list[str]:
    readers = {node.name: node for node in graph.node}
    missing = [name for name in TAP_READERS if name not in readers]
    if missing:
        raise WearHeadError(f"the graph has no node {missing}: not a grading network this code exported")
    return [readers[name].input[0] for name in TAP_READERS]


def with_pooled_features(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` with an extra output `wear_features` (N, 432): GeM pools of the stride-16/32 maps."""
    if any(output.name in (POOLED_OUTPUT, WEAR_OUTPUT) for output in model.graph.output):
        raise WearHeadError("the graph already has a wear head; start from a bundle without one")
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    floor = numpy_helper.from_array(np.array(1e-6, dtype=np.float32), PREFIX + "floor")
    power = numpy_helper.from_array(np.array(GEM_POWER, dtype=np.float32), PREFIX + "power")
    root = numpy_helper.from_array(np.array(1.0 / GEM_POWER, dtype=np.float32), PREFIX + "root")
    graph.initializer.extend([floor, power, root])
    pooled = []
    for index, tap in enumerate(_tap_tensors(graph)):
        name = f"{PREFIX}gem{index}/"
        graph.node.extend(
            [
                helper.make_node("Max", [tap, floor.name], [name + "floored"], name=name + "Max"),
                helper.make_node("Pow", [name + "floored", power.name], [name + "cubed"], name=name + "Pow"),
                helper.make_node(
                    "ReduceMean", [name + "cubed"], [name + "mean"], name=name + "ReduceMean", axes=[2, 3], keepdims=0
                ),
                helper.make_node("Pow", [name + "mean", root.name], [name + "pooled"], name=name + "Root"),
            ]
        )
        pooled.append(name + "pooled")
    graph.node.append(helper.make_node("Concat", pooled, [POOLED_OUTPUT], name=PREFIX + "Concat", axis=1))
    graph.output.append(helper.make_tensor_value_info(POOLED_OUTPUT, TensorProto.FLOAT, ["batch", None]))
    return model


def with_wear_head(pooled_model: onnx.ModelProto, probe: WearProbe) -> onnx.ModelProto:
    """`pooled_model` (from `with_pooled_features`) with `wear_prob` (N,) in place of its `wear_features`."""
    model = onnx.ModelProto.FromString(pooled_model.SerializeToString())
    graph = model.graph
    kept = [output for output in graph.output if output.name != POOLED_OUTPUT]
    if len(kept) == len(graph.output):
        raise WearHeadError("the graph has no pooled wear features; build it with with_pooled_features first")
    # (x - mean) / scale @ w + b  ==  x @ (w / scale) + (b - mean / scale @ w): one MatMul and one Add.
    weights = (probe.weights / probe.scale).astype(np.float32).reshape(-1, 1)
    bias = np.array([probe.bias - float((probe.mean / probe.scale) @ probe.weights)], dtype=np.float32)
    graph.initializer.extend(
        [numpy_helper.from_array(weights, PREFIX + "weights"), numpy_helper.from_array(bias, PREFIX + "bias")]
    )
    flat = numpy_helper.from_array(np.array([-1], dtype=np.int64), PREFIX + "flat")
    graph.initializer.append(flat)
    graph.node.extend(
        [
            helper.make_node(
                "MatMul", [POOLED_OUTPUT, PREFIX + "weights"], [PREFIX + "product"], name=PREFIX + "MatMul"
            ),
            helper.make_node("Add", [PREFIX + "product", PREFIX + "bias"], [PREFIX + "logit"], name=PREFIX + "Add"),
            helper.make_node("Sigmoid", [PREFIX + "logit"], [PREFIX + "column"], name=PREFIX + "Sigmoid"),
            helper.make_node("Reshape", [PREFIX + "column", flat.name], [WEAR_OUTPUT], name=PREFIX + "Reshape"),
        ]
    )
    del graph.output[:]
    graph.output.extend(kept)
    graph.output.append(helper.make_tensor_value_info(WEAR_OUTPUT, TensorProto.FLOAT, ["batch"]))
    onnx.checker.check_model(model)
    return model


def fit_wear_probe(features: np.ndarray, worn: np.ndarray, l2: float = 300.0) -> WearProbe:
    """L2-regularised logistic regression (full-batch L-BFGS) on standardised features; `l2` is the penalty on
    the sum of squared weights, against the summed log-loss (300: the best out-of-fold AUROC of 100 / 300 / 1000 on
    the audited train and validation sneakers, 0.816 / 0.820 / 0.812, 2026-12-03)."""
    worn = np.asarray(worn, dtype=bool)
    if worn.all() or not worn.any():
        raise WearHeadError("the audited photos need both clean and worn ones to fit a wear head")
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    inputs = torch.from_numpy(((features - mean) / scale).astype(np.float64))
    targets = torch.from_numpy(worn.astype(np.float64))
    weights = torch.zeros(inputs.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([weights, bias], max_iter=500, tolerance_grad=1e-9, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        logits = inputs @ weights + bias
        value = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="sum")
        value = value + 0.5 * l2 * weights.pow(2).sum()
        value.backward()
        return value

    optimiser.step(loss)
    return WearProbe(mean, scale, weights.detach().numpy(), float(bias.detach()))


@dataclass(frozen=True)
class AuditedPools:
    """Pooled features of audited photos of one category, with worn (audited damaged) or not (clean, design)."""

    features: np.ndarray
    worn: np.ndarray
    groups: np.ndarray  # per photo, its item's group (copies of one photo share one) or the item's id


def wear_label(item: Item, photo: ManifestPhoto, audits: dict[str, AuditEntry]) -> bool | None:
    """Worn (True), clean (False) or unknown (None): a person's audit of the photo, else, for an item written back
    from a reviewer's decision (`GET /v1/review/export`), the reviewer's grade: like_new or better is clean,
    very_good or worse is worn, excellent (a minor flaw) says too little either way."""
    entry = audits.get(photo.sha256)
    if entry is not None:
        return None if entry.label is AuditLabel.UNCLEAR else entry.label is AuditLabel.DAMAGED
    grade = item.grade
    if item.source.dataset != REVIEW_DATASET or grade is None or grade.scale != DEFAULT_GRADE_SCALE:
        return None
    if grade.value not in {known.value for known in Grade}:
        return None
    rank = Grade(grade.value).rank
    return None if rank == Grade.EXCELLENT.rank else rank >= Grade.VERY_GOOD.rank


def audited_pools(
    pooled_model: onnx.ModelProto,
    preprocessing: Preprocessing,
    manifests: Sequence[Path],
    split: Split,
    audits: dict[str, AuditEntry],
    category: str = "shoes",
) -> AuditedPools:
    """`wear_features` of every photo of `category` items in the manifests' split with a wear label
    (`wear_label`: audited clean, design or damaged, or graded by a reviewer); the rest are left out."""
    session = ort.InferenceSession(
        pooled_model.SerializeToString(), session_options(), providers=["CPUExecutionProvider"]
    )
    pixels, worn, groups = [], [], []
    for manifest in manifests:
        for item in split_items(manifest, split):
            if item.category != category:
                continue
            for photo in item.photos:
                label = wear_label(item, photo, audits)
                if label is None:
                    continue
                data = resolve_photo_path(manifest, photo.path).read_bytes()
                pixels.append(load_photo(data, preprocessing=preprocessing).pixels)
                worn.append(label)
                groups.append(f"{manifest}:{item.group or item.id}")
    if not pixels:
        raise WearHeadError(f"no audited {category} photo in the {split.value} split of {list(map(str, manifests))}")
    batches = [np.stack(pixels[start : start + 32]) for start in range(0, len(pixels), 32)]
    features = np.concatenate([session.run([POOLED_OUTPUT], {INPUT_NAME: batch})[0] for batch in batches])
    return AuditedPools(features.astype(np.float64), np.array(worn, dtype=bool), np.array(groups))


def wear_thresholds(probabilities: np.ndarray, worn: np.ndarray, budgets: tuple[float, float]) -> tuple[float, float]:
    """`wear_presence` and `wear_confident`: the levels that find the most worn photos while at most each budget
    of the clean photos reach them (`budgeted_thresholds` on one score); confident is never below presence."""
    clean, damaged = probabilities[~worn, None], probabilities[worn, None]
    presence, confident = (float(budgeted_thresholds(clean, damaged, budget)[0]) for budget in budgets)
    return presence, max(presence, confident)
