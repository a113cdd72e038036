"""Fit and measure the photo quality thresholds on real photos and on clearly unusable copies of them.

Real photos go through intake (the bundle's framing) and `grading.photo_measures.measure_photo`. Thresholds are
fitted on the train split: each check may refuse its own share of real photos (`DEFAULT_SHARES`), so the
threshold is that quantile of the train photos' measure. The thresholds a policy file holds (started from the
fit, moved by eye) are then measured on the held-out photos (every other split): the share of real photos refused, and
the share of degraded copies (`training.photo_degradations`) caught, by any check and by the checks meant for
that kind of damage. Perceptual hashes are measured on the same photo sent again (`resend`) and on second shots
of the same view (`retake`), against pairs of different garments of one category.

Every copy is made from its photo with its own seeded generator, so a run, and its contact sheet, repeats
exactly.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from grading.intake import Photo, Preprocessing, load_photo
from grading.manifest import Item, resolve_photo_path
from grading.photo_measures import PhotoMeasures, hash_distance, measure_photo
from grading.photo_quality import RULES, CheckResult, PhotoQualityPolicy, QualityCheck, applies_to, assess_photo
from grading.vocabulary import Split
from training.photo_degradations import Degradation, degrade, jpeg_bytes, resend, retake

REAL = "real"
RETAKE = "retake"
RESENT = "resent"
# Copies that should read as the same photo: (make the copy, JPEG quality).
SAME_VIEW = {RESENT: (resend, 75), RETAKE: (retake, 85)}
# Share of real train photos each check alone may refuse: 0.25% each, so the eight together refuse at most 2%.
# The policy file's thresholds start from these and move only where the contact sheet showed a refused photo that
# looks fine (docs/photo_quality.md says which and why).
DEFAULT_SHARES: dict[QualityCheck, float] = {rule.check: 0.0025 for rule in RULES} | {QualityCheck.TOO_SMALL: 0.0}
# The checks written for each kind of damage; a copy caught only by another check is counted apart.
MEANT_FOR: dict[Degradation, frozenset[QualityCheck]] = {
    Degradation.BLUR: frozenset({QualityCheck.SHARPNESS, QualityCheck.SHAKE, QualityCheck.SMEARED}),
    Degradation.MOTION_BLUR: frozenset({QualityCheck.SHARPNESS, QualityCheck.SHAKE, QualityCheck.SMEARED}),
    Degradation.DARK: frozenset({QualityCheck.TOO_DARK, QualityCheck.CLIPPED_SHADOWS}),
    Degradation.OVER_EXPOSED: frozenset({QualityCheck.TOO_BRIGHT, QualityCheck.CLIPPED_HIGHLIGHTS}),
    Degradation.CROP: frozenset({QualityCheck.ITEM_COVERAGE, QualityCheck.CUT_OFF, QualityCheck.FRAMING}),
    Degradation.OFF_CENTRE: frozenset({QualityCheck.ITEM_COVERAGE, QualityCheck.CUT_OFF, QualityCheck.FRAMING}),
    Degradation.DOWNSCALED: frozenset({QualityCheck.TOO_SMALL}),
}


@dataclass(frozen=True)
class PhotoSource:
    path: Path
    split: str
    category: str


@dataclass(frozen=True)
class Sample:
    """One measured photo: a real one (`kind` REAL) or a copy of the real photo `source`."""

    source: PhotoSource
    kind: str
    measures: PhotoMeasures


def photo_sources(items: Iterable[Item], manifest: Path) -> list[PhotoSource]:
    """Every photo of the manifest with its split ("none" where the item has none: held out) and category."""
    return [
        PhotoSource(
            resolve_photo_path(manifest, photo.path), item.split.value if item.split else "none", item.category or ""
        )
        for item in items
        for photo in item.photos
    ]


def copy_seed(path: Path, kind: str, seed: int) -> np.random.Generator:
    """The generator for one copy: depends on the photo's file name, the kind and the run's seed only."""
    return np.random.default_rng([seed, zlib.crc32(path.name.encode()), zlib.crc32(kind.encode())])


def photo_bytes(source: PhotoSource, kind: str, seed: int) -> bytes:
    """The real photo's bytes, or those of one copy (a `Degradation` value or a `SAME_VIEW` kind) as uploaded."""
    if kind == REAL:
        return source.path.read_bytes()
    with Image.open(source.path) as image:
        rgb, generator = image.convert("RGB"), copy_seed(source.path, kind, seed)
    if kind in SAME_VIEW:
        copy, quality = SAME_VIEW[kind]
        return jpeg_bytes(copy(rgb, generator), quality=quality)
    return jpeg_bytes(degrade(rgb, Degradation(kind), generator))


def intake(source: PhotoSource, kind: str, seed: int, preprocessing: Preprocessing) -> Photo:
    """The intake photo of a source or of one of its copies, framed as the bundle frames it."""
    return load_photo(photo_bytes(source, kind, seed), preprocessing=preprocessing)


def measure_sources(
    sources: Iterable[PhotoSource], kinds: Sequence[str], preprocessing: Preprocessing, seed: int
) -> Iterator[Sample]:
    """Each source measured as each of `kinds` (REAL, a `SAME_VIEW` kind or a `Degradation` value)."""
    for source in sources:
        for kind in kinds:
            measures = measure_photo(intake(source, kind, seed, preprocessing))
            yield Sample(source, kind, measures)


def fit_thresholds(
    measures: Sequence[PhotoMeasures], shares: dict[QualityCheck, float], policy: PhotoQualityPolicy
) -> dict[str, float]:
    """Per check, the threshold that refuses `shares[check]` of these (real) photos: a quantile of the measure
    over the photos the check applies to (`policy` supplies the conditions of conditional checks)."""
    fitted = {}
    for rule in RULES:
        applies = [m for m in measures if applies_to(rule, m, policy)]
        values = np.array([getattr(m, rule.measure) for m in applies], np.float64)
        share = min(1.0, shares.get(rule.check, 0.0) * len(measures) / max(1, len(applies)))
        fitted[rule.threshold] = (
            float(np.quantile(values, share if rule.at_least else 1 - share)) if len(values) else 0.0
        )
    return fitted


def failed_checks(samples: Sequence[Sample], policy: PhotoQualityPolicy) -> list[tuple[CheckResult, ...]]:
    """Per sample, the photo checks it fails (near duplicates are measured apart, on pairs)."""
    return [tuple(r for r in assess_photo(s.measures, policy) if not r.passed) for s in samples]


@dataclass(frozen=True)
class CatchRate:
    kind: str
    count: int
    caught: float  # by any check
    caught_as_meant: float  # by a check written for this kind of damage
    by_check: dict[QualityCheck, float]


def catch_rate(kind: str, failures: Sequence[tuple[CheckResult, ...]]) -> CatchRate:
    """How many samples fail any check, a check meant for `kind`, and each check."""
    meant = MEANT_FOR.get(Degradation(kind), frozenset()) if kind != REAL else frozenset()
    count = max(1, len(failures))
    by_check = {rule.check: sum(any(r.check is rule.check for r in f) for f in failures) / count for rule in RULES}
    return CatchRate(
        kind,
        len(failures),
        caught=sum(bool(f) for f in failures) / count,
        caught_as_meant=sum(any(r.check in meant for r in f) for f in failures) / count,
        by_check=by_check,
    )


def same_view_distances(originals: Sequence[Sample], copies: Sequence[Sample]) -> np.ndarray:
    """Bits between each real photo and its copy (matched by source)."""
    by_source = {sample.source.path: sample for sample in originals}
    return np.array([hash_distance(by_source[c.source.path].measures.phash, c.measures.phash) for c in copies])


def different_garment_distances(originals: Sequence[Sample]) -> np.ndarray:
    """Bits between each photo and the next photo of another garment of its category (same kind of scene)."""
    by_category: dict[str, list[Sample]] = {}
    for sample in originals:
        by_category.setdefault(sample.source.category, []).append(sample)
    return np.array(
        [
            hash_distance(first.measures.phash, second.measures.phash)
            for group in by_category.values()
            for first, second in itertools.pairwise(group)
        ]
    )


def held_out(sample: Sample) -> bool:
    return sample.source.split != Split.TRAIN.value
