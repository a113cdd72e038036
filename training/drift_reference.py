"""A bundle's reference distributions: the bundle run over a manifest split through the service's grading code.

Each item of the split goes through `grading.intake.load_photo` with the bundle's framing, the photo measures the
quality checks read (`grading.photo_measures`), one ONNX Runtime pass and `grading.item_grading.grade_item` with the
default grade policy and pricing, the way the service grades a station item that declares its category. The item and
photo values (`grading.reference_distributions`) of every graded item make the reference, overall and per category.
A photo that cannot be read is skipped (an item with none is skipped too) and counted.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from grading.bundle import MODEL_FILE, BundleMetadata, read_metadata, write_metadata
from grading.inference import GradingModel, load_model
from grading.intake import IntakeError, load_photo
from grading.item_grading import Channel, ItemFacts, PhotoEvidence, grade_item, split_outputs
from grading.manifest import Item, read_manifest, resolve_photo_path
from grading.photo_measures import measure_photo
from grading.policy import GradePolicy, default_policy_path, load_policy
from grading.pricing import PricingConfig, default_pricing_path, load_pricing
from grading.reference_distributions import (
    ReferenceDistributions,
    Sample,
    build_reference,
    item_values,
    photo_values,
    write_reference,
)
from grading.vocabulary import Split


@dataclass(frozen=True)
class ReferenceRun:
    reference: ReferenceDistributions
    skipped_photos: int
    skipped_items: int


def reference_from_manifests(
    model: GradingModel,
    manifests: Sequence[Path],
    split: Split = Split.VALIDATION,
    policy: GradePolicy | None = None,
    pricing: PricingConfig | None = None,
) -> ReferenceRun:
    """Grade every item of `split` in `manifests` with `model` and fit the reference of what came out."""
    policy = policy or load_policy(default_policy_path())
    pricing = pricing or load_pricing(default_pricing_path())
    overall, by_category = Sample(), defaultdict(Sample)
    skipped_photos = skipped_items = 0
    for manifest in map(Path, manifests):
        for item in read_manifest(manifest):
            if item.split is not split:
                continue
            evidence, measures, unreadable = _evidence(model, manifest, item)
            skipped_photos += unreadable
            if not evidence:
                skipped_items += 1
                continue
            facts = ItemFacts(channel=Channel.STATION, category=item.category, product_line=item.product_line)
            body = grade_item(facts, evidence, model.metadata, policy, pricing).model_dump(mode="json")
            for sample in (overall, by_category[body["category"]["used"]]):
                sample.add_item(item_values(body))
                for photo in measures:
                    sample.add_photo(photo_values(photo))
    source = f"{', '.join(str(m) for m in manifests)} (split {split.value})"
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    reference = build_reference(overall, by_category, model.metadata, source, created)
    return ReferenceRun(reference, skipped_photos, skipped_items)


def default_policy_fits(metadata: BundleMetadata) -> bool:
    """The default grade policy grades on this bundle's scale (a reference is graded with it)."""
    return load_policy(default_policy_path()).grades == metadata.labels.grades


def _evidence(model: GradingModel, manifest: Path, item: Item) -> tuple[list[PhotoEvidence], list[dict], int]:
    """The item's readable photos with their network outputs, their measures, and how many were unreadable."""
    preprocessing = model.metadata.input.preprocessing()
    photos, views, unreadable = [], [], 0
    for photo in item.photos:
        try:
            data = resolve_photo_path(manifest, photo.path).read_bytes()
            photos.append(load_photo(data, preprocessing=preprocessing))
            views.append(photo.view)
        except (IntakeError, OSError):
            unreadable += 1
    if not photos:
        return [], [], unreadable
    outputs = split_outputs(model.run(np.stack([photo.pixels for photo in photos])))
    evidence = [
        PhotoEvidence(f"{item.id}/{i}", view, photo, output)
        for i, (view, photo, output) in enumerate(zip(views, photos, outputs, strict=True))
    ]
    measures = [{k: v for k, v in asdict(measure_photo(photo)).items() if k != "phash"} for photo in photos]
    return evidence, measures, unreadable


def add_reference(folder: Path, manifests: Sequence[Path], split: Split = Split.VALIDATION) -> ReferenceRun:
    """Compute the bundle's reference and add it to the bundle: model.onnx is read, never written."""
    folder = Path(folder)
    metadata = read_metadata(folder)  # refuses an altered bundle before anything is written
    run = reference_from_manifests(load_model(folder, threads=2), manifests, split)
    write_reference(folder, run.reference)
    written = write_metadata(folder, metadata)
    if written.files[MODEL_FILE] != metadata.files[MODEL_FILE]:  # write_metadata hashed the file again
        raise AssertionError(f"{folder / MODEL_FILE} changed while adding the reference")
    return run
