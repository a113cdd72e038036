"""Training: manifests in, a checkpoint folder out (heads, memory bank, labels, resolved config).

One run: read the manifests, compute backbone features for every training photo (and its augmented
copies) and every validation photo, build the anomaly memory bank from the known-good training photos,
then train all heads together on the cached features with masked losses. Each epoch writes `last.pt`
(heads + optimiser + epoch), so `--resume` picks up where a stopped run left off.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from grading.bundle import read_metadata
from grading.manifest import read_manifest
from grading.vocabulary import DefectType, Grade, Split
from training.bundle_heads import (
    condition_heads_from_bundle,
    condition_source,
    freeze_condition_heads,
    keep_fused_norms,
)
from training.checkpoint import RunFolder
from training.config import TrainConfig, save_config
from training.feature_cache import CachedFeatures, PhotoRef, compute_features
from training.frozen_backbone import onnx_backbone
from training.losses import authenticity_losses, authenticity_rows, head_losses
from training.network import GradingHeads, Taps
from training.patch_memory import MemoryBank, build_memory_bank, patch_features

NO_CATEGORY = "unspecified"  # the one category of a model trained on data without categories


class TrainingDataError(ValueError):
    """The manifests cannot train a model as they are; the message says what to change."""


@dataclass(frozen=True)
class TrainingSet:
    refs: dict[Split, list[PhotoRef]]
    categories: list[str]
    sources: list[dict[str, object]]
    product_lines: list[str] = dataclasses.field(default_factory=list)


def load_training_set(config: TrainConfig) -> TrainingSet:
    """Every photo of every item in the train and validation splits of the configured manifests."""
    if not config.manifests:
        raise TrainingDataError("no manifests given: pass --manifest FILE.jsonl (repeatable) or set `manifests`")
    refs: dict[Split, list[PhotoRef]] = {Split.TRAIN: [], Split.VALIDATION: []}
    sources = []
    for name in config.manifests:
        path = Path(name)
        items = _sampled(read_manifest(path), config)
        _require_splits(path, items)
        rows_per_photo = int(config.manifest_weights.get(name, 1)) * (1 + config.augmented_copies)
        for item in items:
            if item.split in refs and item.product_line not in config.exclude_product_lines:
                copies = rows_per_photo - 1 if item.split is Split.TRAIN else 0
                refs[item.split] += [PhotoRef(path, item, index, copies) for index in range(len(item.photos))]
        sources.append(_describe_source(path, items))
    categories = sorted({ref.item.category for ref in refs[Split.TRAIN] if ref.item.category}) or [NO_CATEGORY]
    product_lines = sorted({ref.item.product_line for ref in refs[Split.TRAIN] if ref.item.product_line})
    return TrainingSet(refs, categories, sources, product_lines)


def _sampled(items: list, config: TrainConfig) -> list:
    if config.max_photos_per_manifest is None or len(items) <= config.max_photos_per_manifest:
        return items
    return random.Random(config.seed).sample(items, config.max_photos_per_manifest)


def _require_splits(path: Path, items: list) -> None:
    missing = [item.id for item in items if item.split is None]
    if missing:
        raise TrainingDataError(
            f"{path}: {len(missing)} items have no split (first: {missing[0]}); "
            f"run `secondlook data split {path} --out SPLIT.jsonl` first"
        )


def _describe_source(path: Path, items: list) -> dict[str, object]:
    licenses = sorted({item.source.license for item in items})
    name = path.parent.name if path.stem == "manifest" else path.stem  # var/composited/manifest.jsonl -> composited
    return {"name": name, "license": ", ".join(licenses), "items": len(items)}


def train(config: TrainConfig, resume: bool = False, progress: bool = True) -> RunFolder:
    """Run the whole training and return the folder holding the checkpoint; `progress` draws tqdm bars."""
    started = time.perf_counter()
    _seed_everything(config.seed)
    run = RunFolder(Path(config.out))
    if resume:
        _require_same_framing(run, config)
    save_config(config, run.config_path)
    data = load_training_set(config)
    base = config.condition_from or config.heads_from
    if base:
        data = built_on_bundle(data, Path(base), config)
    train_cache, validation = cache_features(data, config, progress)
    memory = build_bank(train_cache, len(data.categories), config)
    heads = condition_heads_from_bundle(Path(base)) if base else _new_heads(data)
    history = fit(heads, train_cache, validation, config, run, resume, progress)
    run.save(heads, memory, data.categories, data.sources, history, time.perf_counter() - started, data.product_lines)
    if config.condition_from:
        run.write_metadata(run.metadata() | {"condition_from": condition_source(Path(config.condition_from))})
    if config.heads_from:
        source = condition_source(Path(config.heads_from))
        run.write_metadata(run.metadata() | {"heads_from": {k: v for k, v in source.items() if k != "calibration"}})
    return run


def built_on_bundle(data: TrainingSet, folder: Path, config: TrainConfig) -> TrainingSet:
    """The training set with the bundle's categories (its category head's outputs) and its training data listed
    first; refuses data whose categories or defect types the bundle's heads do not have."""
    metadata = read_metadata(folder)
    labels = metadata.labels
    unknown = sorted(set(data.categories) - set(labels.categories) - {NO_CATEGORY})
    if unknown:
        raise TrainingDataError(
            f"{folder} has no category {', '.join(unknown)}; its category head knows {', '.join(labels.categories)}"
        )
    if metadata.input.framing != config.framing:
        raise TrainingDataError(f"{folder} was trained on framing={metadata.input.framing}; set framing to match")
    if labels.defect_types != [t.value for t in DefectType] or labels.grades != [g.value for g in Grade]:
        raise TrainingDataError(f"{folder} was trained on other defect types or grades than this code's vocabulary")
    inherited = [source.model_dump() for source in metadata.training_data]
    return dataclasses.replace(data, categories=list(labels.categories), sources=inherited + data.sources)


def _new_heads(data: TrainingSet) -> GradingHeads:
    return GradingHeads(len(DefectType), len(data.categories), len(Grade))


def _require_same_framing(run: RunFolder, config: TrainConfig) -> None:
    """Heads trained on one framing cannot go on learning from features of another."""
    framing = run.framing()
    if run.config_path.is_file() and framing != config.framing:
        raise TrainingDataError(
            f"{run.path} was trained with framing={framing}; resume with --set framing={framing} "
            "or start a new run with --out"
        )


def cache_features(
    data: TrainingSet, config: TrainConfig, progress: bool = True
) -> tuple[CachedFeatures, CachedFeatures]:
    """Training and validation features; the backbone session (and its memory arena) is gone on return."""
    backbone = onnx_backbone()
    preprocessing = config.preprocessing()
    lines = data.product_lines
    train_cache = compute_features(
        backbone,
        data.refs[Split.TRAIN],
        data.categories,
        config.seed,
        config.workers,
        "train",
        preprocessing,
        progress,
        lines,
    )
    validation = compute_features(
        backbone,
        data.refs[Split.VALIDATION],
        data.categories,
        0,
        config.workers,
        "validation",
        preprocessing,
        progress,
        lines,
    )
    return train_cache, validation


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def batch_taps(cache: CachedFeatures) -> Taps:
    return Taps(cache.stride8.float(), cache.stride16.float(), cache.stride32.float())


def select(cache: CachedFeatures, rows: torch.Tensor) -> CachedFeatures:
    return CachedFeatures(*(None if column is None else column[rows] for column in cache))


def build_bank(cache: CachedFeatures, num_categories: int, config: TrainConfig) -> MemoryBank:
    """Memory bank of known-good patches: cells of annotated training photos away from any labelled defect.

    A clean photo (`defects: []`) gives all its cells; a photo with labelled defects gives the cells at
    least one cell away from them; without any annotated photo, all unannotated ones count as good.
    Photos without a category feed only the bank shared by categories that have no good photos of their own.
    """
    rows = (cache.annotated & ~cache.augmented).nonzero().squeeze(1)
    if len(rows) == 0 and config.anomaly_bank_weight > 0:
        print(
            "warning: no training photo is annotated for defects, so the anomaly bank assumes every unannotated "
            "training photo is good; add a clean set (e.g. the composited set) for a trustworthy anomaly score"
        )
    if len(rows) == 0:
        rows = (~cache.augmented).nonzero().squeeze(1)
    generator = torch.Generator().manual_seed(config.seed)
    by_category: dict[int, list[torch.Tensor]] = {}
    for start in range(0, len(rows), 256):
        chunk = select(cache, rows[start : start + 256])
        for category, patches in _good_patches(chunk, generator):
            by_category.setdefault(category, []).append(patches)
    merged = {category: torch.cat(by_category.pop(category)) for category in sorted(by_category)}  # one copy at a time
    return build_memory_bank(merged, num_categories, config.bank_dims, config.bank_per_category, config.seed)


def _good_patches(chunk: CachedFeatures, generator: torch.Generator, per_photo: int = 96):
    """Yield (category, patches) with up to `per_photo` random defect-free cells of each photo."""
    near_defect = F.max_pool2d((chunk.defect_map > 0).float()[:, None], 3, stride=1, padding=1)[:, 0] > 0
    patches = patch_features(batch_taps(chunk))
    for photo in range(len(chunk.category)):
        cells = (~near_defect[photo]).flatten().nonzero().squeeze(1)
        cells = cells[torch.randperm(len(cells), generator=generator)[:per_photo]]
        yield int(chunk.category[photo]), patches[photo, cells]


def fit(
    heads: GradingHeads,
    train_cache: CachedFeatures,
    validation: CachedFeatures,
    config: TrainConfig,
    run: RunFolder,
    resume: bool,
    progress: bool = True,
) -> list[dict[str, float]]:
    """AdamW with warm-up and cosine decay over the cached features; returns the per-epoch losses.

    Two streams that share no parameter: the condition stream (every photo but those labelled only for
    authenticity or product line, all heads but authenticity) and the authenticity stream (the photos with such a
    label, the authenticity branch and its two outputs, at `AUTHENTICITY_LR_SCALE` of the rate). Each has its own
    optimiser, schedule and batches, so adding authenticity data leaves the condition heads' training exactly
    as it was without it (same batches, same learning rates).
    """
    streams = Streams.of(train_cache, heads, config)
    first_epoch, history = run.resume_state(heads, streams.optimiser, streams.schedule) if resume else (0, [])
    for epoch in range(first_epoch, config.epochs):
        train_loss = _train_epoch(heads, train_cache, streams, config, epoch, progress)
        history.append({"epoch": epoch + 1, **train_loss, **_validation_loss(heads, validation, config)})
        run.save_progress(heads, streams.optimiser, streams.schedule, epoch + 1, history)
        print(json.dumps(history[-1]))
    return history


def warmup_cosine(step: int, total_steps: int, warmup_share: float = 0.1) -> float:
    """Learning-rate factor: linear warm-up, then cosine to zero; recomputed from the config on resume."""
    warmup = max(1, int(total_steps * warmup_share))
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


AUTHENTICITY_LR_SCALE = 0.5  # the branch starts from ImageNet weights; the full rate unsettled it in probes


class Paired:
    """Two optimisers (or two schedules) saved and resumed as one object."""

    def __init__(self, condition, authenticity) -> None:
        self.condition, self.authenticity = condition, authenticity

    def state_dict(self) -> dict:
        return {"condition": self.condition.state_dict(), "authenticity": self.authenticity.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.condition.load_state_dict(state["condition"])
        self.authenticity.load_state_dict(state["authenticity"])


@dataclass(frozen=True)
class Streams:
    """Row indices, optimisers and schedules of the condition and authenticity streams."""

    condition_rows: torch.Tensor
    authenticity_rows: torch.Tensor
    optimiser: Paired
    schedule: Paired

    @classmethod
    def of(cls, cache: CachedFeatures, heads: GradingHeads, config: TrainConfig) -> Streams:
        labelled = authenticity_rows(cache)
        condition = ~labelled | cache.annotated | (cache.grade >= 0)  # authenticity-only photos stay out
        if config.condition_from:  # the bundle's condition heads stay exactly as shipped
            condition = torch.zeros_like(labelled)
        rows = condition.nonzero().squeeze(1), labelled.nonzero().squeeze(1)
        branch = authenticity_parameters(heads)
        in_branch = {id(parameter) for parameter in branch}
        rest = [parameter for parameter in heads.parameters() if id(parameter) not in in_branch]
        rates = (config.condition_learning_rate or config.learning_rate, config.learning_rate * AUTHENTICITY_LR_SCALE)
        optimisers = [
            torch.optim.AdamW(group, lr=rate, weight_decay=config.weight_decay)
            for group, rate in zip((rest, branch), rates, strict=True)
        ]
        schedules = [
            torch.optim.lr_scheduler.LambdaLR(optimiser, _schedule(config.epochs * _batches(len(chosen), config)))
            for optimiser, chosen in zip(optimisers, rows, strict=True)
        ]
        return cls(rows[0], rows[1], Paired(*optimisers), Paired(*schedules))


def _batches(rows: int, config: TrainConfig) -> int:
    return math.ceil(rows / config.batch_size)


def _schedule(total_steps: int):
    return lambda step: warmup_cosine(step, total_steps)


def authenticity_parameters(heads: GradingHeads) -> list[torch.nn.Parameter]:
    """The authenticity stream's parameters: the branch and the two outputs it feeds."""
    return [*heads.authenticity.parameters(), *heads.auth_embedding.parameters(), *heads.counterfeit.parameters()]


def _train_epoch(
    heads, cache, streams: Streams, config: TrainConfig, epoch: int, progress: bool = True
) -> dict[str, float]:
    heads.train()
    if config.condition_from:
        freeze_condition_heads(heads)
    if config.heads_from:
        keep_fused_norms(heads)
    generator = torch.Generator().manual_seed(config.seed + epoch)
    totals = _train_stream(heads, cache, streams, "condition", generator, config, epoch, progress)
    with torch.random.fork_rng():  # the authenticity stream's dropout leaves the condition stream's draws alone
        totals |= _train_stream(heads, cache, streams, "authenticity", generator, config, epoch, progress)
    rows = {"condition": len(streams.condition_rows), "authenticity": len(streams.authenticity_rows)}
    stream_of = {"counterfeit": "authenticity", "embedding": "authenticity"}
    return {f"train_{name}": value / max(1, rows[stream_of.get(name, "condition")]) for name, value in totals.items()}


def _train_stream(
    heads, cache, streams: Streams, stream: str, generator, config: TrainConfig, epoch: int, progress: bool
) -> dict[str, float]:
    """One epoch of one stream; returns each loss summed over rows."""
    rows = streams.condition_rows if stream == "condition" else streams.authenticity_rows
    order = rows[torch.randperm(len(rows), generator=generator)]
    optimiser, schedule = getattr(streams.optimiser, stream), getattr(streams.schedule, stream)
    totals: dict[str, float] = {}
    batches = range(0, len(order), config.batch_size)
    for start in tqdm(batches, desc=f"epoch {epoch + 1} {stream}", leave=False, disable=not progress):
        batch = select(cache, order[start : start + config.batch_size])
        if stream == "condition":
            losses = head_losses(heads(batch_taps(batch), False), batch, config.defect_background_weight)
        else:
            losses = authenticity_losses(heads.authenticity_outputs(batch.stride16.float()), batch)
        total = sum(config.loss_weights.get(name, 1.0) * value for name, value in losses.items())
        optimiser.zero_grad()
        total.backward()
        optimiser.step()
        schedule.step()
        for name, value in losses.items():
            totals[name] = totals.get(name, 0.0) + float(value.detach()) * len(batch.category)
    return totals


def _validation_loss(heads: GradingHeads, cache: CachedFeatures, config: TrainConfig) -> dict[str, float]:
    heads.eval()
    totals: dict[str, float] = {}
    with torch.inference_mode():
        for start in range(0, len(cache.category), 256):
            batch = select(cache, torch.arange(start, min(start + 256, len(cache.category))))
            losses = head_losses(heads(batch_taps(batch), False), batch, config.defect_background_weight)
            labelled = authenticity_rows(batch)
            if labelled.any():
                losses |= authenticity_losses(
                    heads.authenticity_outputs(batch.stride16[labelled].float()), select(batch, labelled)
                )
            for name, value in losses.items():
                totals[f"validation_{name}"] = totals.get(f"validation_{name}", 0.0) + float(value) * len(
                    batch.category
                )
    return {name: value / max(1, len(cache.category)) for name, value in totals.items()}
