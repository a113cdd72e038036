"""Reference distributions a bundle records at export, and the drift of a window of graded items against them.

What is watched (`DriftMeasure`): per item, the final grade, whether it has a defect (the defect rate), the
category's probability and the counterfeit probability, read from the `grading.item_result.ItemResult` the service
stores; per photo, brightness, sharpness (the blur check's Laplacian variance) and the short side as uploaded (size),
read from the photo measures the quality checks keep. Reference and window are read by the same functions, so the
service and the reference computation cannot disagree on what a value means.

The reference is computed by running the bundle over a manifest split (`training.drift_reference`) and written to
`reference_distributions.json` in the bundle folder, listed with its sha256 in `bundle.json` like every file.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grading import psi as psi_math
from grading.bundle import BundleError, BundleMetadata, file_sha256

REFERENCE_FILE = "reference_distributions.json"
REFERENCE_FORMAT = 1
MIN_CATEGORY_ITEMS = 30  # a category with fewer reference items is compared with the overall reference
NO_DEFECT, DEFECT = "none", "defect"
PHOTO_DECIMALS = 4  # as serving.photo_checks stores the measures


class DriftMeasure(StrEnum):
    GRADE = "grade"
    DEFECT_RATE = "defect_rate"
    CATEGORY_CONFIDENCE = "category_confidence"
    COUNTERFEIT_PROBABILITY = "counterfeit_probability"
    BRIGHTNESS = "brightness"
    SHARPNESS = "sharpness"
    SHORT_SIDE = "short_side"


ITEM_MEASURES = (
    DriftMeasure.GRADE,
    DriftMeasure.DEFECT_RATE,
    DriftMeasure.CATEGORY_CONFIDENCE,
    DriftMeasure.COUNTERFEIT_PROBABILITY,
)
PHOTO_MEASURES = (DriftMeasure.BRIGHTNESS, DriftMeasure.SHARPNESS, DriftMeasure.SHORT_SIDE)
LABEL_MEASURES = frozenset({DriftMeasure.GRADE, DriftMeasure.DEFECT_RATE})
# Shown but never flagging: the shipped bundle's reference photos are 240 px catalogue thumbnails, so every real
# camera's size differs; what a size change does to the model shows in the other measures (docs/drift.md).
INFORMATIONAL = frozenset({DriftMeasure.SHORT_SIDE})

Value = float | str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Distribution(_Strict):
    """One measure's reference: its bins (number edges or labels) and the share of reference values in each."""

    edges: list[float] | None = Field(None, description="numbers: interior cut points; bins are (-inf, e1], …")
    labels: list[str] | None = Field(None, description="labels: one bin each, then one for any other label")
    shares: list[float]
    observations: int

    def counts(self, values: Sequence[Value]) -> list[int]:
        """The window's counts in this reference's bins."""
        if self.labels is not None:
            return psi_math.label_counts([str(v) for v in values], self.labels)
        return psi_math.number_counts([float(v) for v in values], self.edges or [])

    def bin_names(self) -> list[str]:
        if self.labels is not None:
            return [*self.labels, psi_math.OTHER]
        edges = [f"{edge:.4g}" for edge in self.edges or []]  # a label: four significant digits read at a glance
        if not edges:
            return ["all"]
        return [f"<= {edges[0]}", *(f"{a} to {b}" for a, b in itertools.pairwise(edges)), f"> {edges[-1]}"]


class ReferenceDistributions(_Strict):
    """Every measure's reference, overall and per category (categories with enough reference items)."""

    format: int = REFERENCE_FORMAT
    bundle_version: str
    source: str = Field(description="the manifest(s) and split the reference was computed on")
    created: str
    items: int
    photos: int
    overall: dict[DriftMeasure, Distribution]
    by_category: dict[str, dict[DriftMeasure, Distribution]] = Field(default_factory=dict)

    def for_category(self, category: str | None) -> dict[DriftMeasure, Distribution]:
        return self.by_category.get(category or "", self.overall)


def item_values(body: Mapping) -> dict[DriftMeasure, Value]:
    """The item measures of a stored result (`ItemResult.model_dump(mode="json")`)."""
    defects = body.get("defects") or []
    has_defect = any(d.get("counted", True) and d.get("certain", True) for d in defects)
    return {
        DriftMeasure.GRADE: str(body["grade"]["name"]),
        DriftMeasure.DEFECT_RATE: DEFECT if has_defect else NO_DEFECT,
        DriftMeasure.CATEGORY_CONFIDENCE: float(body["category"]["probability"]),
        DriftMeasure.COUNTERFEIT_PROBABILITY: float(body["authenticity"]["counterfeit_probability"]),
    }


def photo_values(measures: Mapping[str, float]) -> dict[DriftMeasure, Value]:
    """The photo measures of one photo's quality measures (`grading.photo_measures.PhotoMeasures` by name), rounded
    as the service stores them (`PHOTO_DECIMALS`)."""
    return {
        measure: round(float(measures[measure.value]), PHOTO_DECIMALS)
        for measure in PHOTO_MEASURES
        if measure.value in measures
    }


class Sample:
    """Values per measure, gathered from items and photos (a reference set or a service window)."""

    def __init__(self) -> None:
        self.values: dict[DriftMeasure, list[Value]] = {measure: [] for measure in DriftMeasure}
        self.items = 0
        self.photos = 0

    def add_item(self, values: Mapping[DriftMeasure, Value]) -> None:
        self.items += 1
        for measure, value in values.items():
            self.values[measure].append(value)

    def add_photo(self, values: Mapping[DriftMeasure, Value]) -> None:
        self.photos += 1
        for measure, value in values.items():
            self.values[measure].append(value)


def fit(measure: DriftMeasure, values: Sequence[Value], labels: Sequence[str] = ()) -> Distribution:
    """The reference of one measure: equal-mass bins for numbers, `labels` (plus any seen) for labels."""
    if measure in LABEL_MEASURES:
        known = list(labels) + sorted({str(v) for v in values} - set(labels))
        counts = psi_math.label_counts([str(v) for v in values], known)
        return Distribution(labels=known, shares=psi_math.shares(counts), observations=len(values))
    edges = psi_math.quantile_edges([float(v) for v in values])
    counts = psi_math.number_counts([float(v) for v in values], edges)
    return Distribution(edges=edges, shares=psi_math.shares(counts), observations=len(values))


def fit_sample(sample: Sample, grades: Sequence[str]) -> dict[DriftMeasure, Distribution]:
    """Every measure of the sample that has values."""
    labels = {DriftMeasure.GRADE: list(grades), DriftMeasure.DEFECT_RATE: [NO_DEFECT, DEFECT]}
    return {m: fit(m, values, labels.get(m, ())) for m, values in sample.values.items() if values}


def build_reference(
    overall: Sample, by_category: Mapping[str, Sample], metadata: BundleMetadata, source: str, created: str
) -> ReferenceDistributions:
    """The reference of a bundle from the samples its grading produced; `by_category` keys are used categories."""
    grades = metadata.labels.grades
    if overall.items == 0:
        raise ValueError(f"no item of {source} could be graded: a reference needs at least one")
    categories = {
        name: fit_sample(sample, grades) for name, sample in by_category.items() if sample.items >= MIN_CATEGORY_ITEMS
    }
    return ReferenceDistributions(
        bundle_version=metadata.version,
        source=source,
        created=created,
        items=overall.items,
        photos=overall.photos,
        overall=fit_sample(overall, grades),
        by_category=categories,
    )


def write_reference(folder: Path, reference: ReferenceDistributions) -> Path:
    """Write the file into a bundle folder; `grading.bundle.write_metadata` must then record its sha256."""
    path = Path(folder) / REFERENCE_FILE
    path.write_text(reference.model_dump_json(indent=1) + "\n", encoding="utf-8")
    return path


def read_reference(folder: Path, metadata: BundleMetadata) -> ReferenceDistributions | None:
    """The bundle's reference, None when it records none; `BundleError` when the file was altered or is invalid."""
    expected = metadata.files.get(REFERENCE_FILE)
    if expected is None:
        return None
    path = Path(folder) / REFERENCE_FILE
    if not path.is_file() or file_sha256(path) != expected:
        raise BundleError(f"{path} is missing or altered (bundle.json records sha256 {expected}); re-add it")
    try:
        return ReferenceDistributions.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValidationError, json.JSONDecodeError) as error:
        raise BundleError(f"{path} is not a valid reference distribution file: {error}") from error


def sample_of(items: Iterable[Mapping[DriftMeasure, Value]], photos: Iterable[Mapping[DriftMeasure, Value]]) -> Sample:
    sample = Sample()
    for values in items:
        sample.add_item(values)
    for values in photos:
        sample.add_photo(values)
    return sample
