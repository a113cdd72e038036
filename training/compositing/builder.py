"""Build a composited set: for each clean photo, a re-encoded clean copy and several damaged copies.

Output folder: `photos/*.jpg`, `masks/*.png` (one binary mask per defect, 255 = defect) and
`manifest.jsonl` (manifest v1). Every output item keeps the original's category and split and takes
the original's id as its `group`, so a split never separates an original from its composites. The
clean copy is re-encoded like the composites, so JPEG re-encoding never tells the two apart.

Hard negatives: with `design_share` the clean copy of a training photo carries painted design elements
(prints, buttons, appliqué eyes, lettering, stripes, embroidery, labels, tags, marl; `design_elements`) and
stays clean, and with `design_on_damaged` a damaged copy carries them too, so "something was painted" never
means "damaged".
Validation and test clean copies stay as photographed: calibration and evaluation read real clean photos.
A photo a person audited as damaged (`datasets/audits`) keeps its copies, but none is annotated for defects
(`defects: None`, no grade): its masks would label the real wear as background, and real wear must not be
taught, or calibrated, as clean.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from grading.manifest import Defect, GradeLabel, Item, Photo, Source, read_manifest, resolve_photo_path, write_manifest
from grading.vocabulary import Split
from training.audit import AuditLabel, default_audit_paths, load_audits
from training.compositing.design_elements import decorate
from training.compositing.drawing import PaintedDefect
from training.compositing.foreground import Foreground, ForegroundError, garment_foreground
from training.compositing.grade_rule import grade_for
from training.compositing.painters import PAINTERS, draw_types
from training.compositing.severity import severity

DEFECT_COUNT_WEIGHTS = (0.55, 0.3, 0.15)  # one, two or three defects on a damaged copy


@dataclass(frozen=True)
class CompositeSettings:
    per_photo: int = 2
    seed: int = 0
    jpeg_quality: int = 92
    design_share: float = 0.6  # training clean copies decorated with design elements (still clean)
    design_on_damaged: float = 0.3  # damaged copies decorated before their defects are painted


@dataclass(frozen=True)
class CompositeReport:
    items: int
    grades: dict[str, int]
    defect_types: dict[str, int]
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Job:
    manifest: Path
    item: Item
    out: Path
    settings: CompositeSettings
    audited_damaged: bool = False  # a person saw real damage on the photo: none of its copies is annotated


def composite_set(
    manifest: Path, out: Path, settings: CompositeSettings, limit: int | None = None, workers: int = 2
) -> CompositeReport:
    """Composite every item of `manifest` (its first photo) into `out`; writes `out/manifest.jsonl`."""
    items = read_manifest(manifest)[:limit]
    for folder in ("photos", "masks"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    damaged = audited_damaged()
    jobs = [_Job(Path(manifest), item, Path(out), settings, item.photos[0].sha256 in damaged) for item in items]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(tqdm(pool.map(_composite_item, jobs, chunksize=16), total=len(jobs), desc="compositing"))
    made = [item for produced, _ in results for item in produced]
    write_manifest(made, out / "manifest.jsonl")
    return _report(made, [skip for _, skip in results if skip])


def audited_damaged() -> frozenset[str]:
    """sha256 of every photo the project's audits call damaged."""
    entries = load_audits(default_audit_paths())
    return frozenset(sha for sha, entry in entries.items() if entry.label is AuditLabel.DAMAGED)


def _report(made: list[Item], skipped: list[tuple[str, str]]) -> CompositeReport:
    grades = Counter(item.grade.value if item.grade else "ungraded (audited damaged)" for item in made)
    kinds = Counter(defect.type.value for item in made for defect in item.photos[0].defects or [])
    return CompositeReport(len(made), dict(sorted(grades.items())), dict(sorted(kinds.items())), skipped)


def _composite_item(job: _Job) -> tuple[list[Item], tuple[str, str] | None]:
    source_photo = job.item.photos[0]
    path = resolve_photo_path(job.manifest, source_photo.path)
    pixels = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    try:
        foreground = garment_foreground(pixels)
    except ForegroundError as error:
        return [], (job.item.id, str(error))
    base = pixels.astype(np.float32) / 255.0
    made = [_write_item(job, 0, _clean_copy(job, base, foreground), [], foreground)]
    for copy in range(1, job.settings.per_photo + 1):
        rng = np.random.default_rng([job.settings.seed, int(source_photo.sha256[:12], 16), copy])
        start = decorate(base, foreground, rng) if rng.random() < job.settings.design_on_damaged else base
        image, painted = _paint_defects(start, foreground, rng)
        made.append(_write_item(job, copy, image, painted, foreground))
    return made, None


def _clean_copy(job: _Job, base: np.ndarray, foreground: Foreground) -> np.ndarray:
    """The photo as it is, or (training split, `design_share` of photos) decorated with design elements."""
    if job.item.split is not Split.TRAIN:
        return base
    rng = np.random.default_rng([job.settings.seed, int(job.item.photos[0].sha256[:12], 16), 0])
    return decorate(base, foreground, rng) if rng.random() < job.settings.design_share else base


def _paint_defects(
    base: np.ndarray, foreground: Foreground, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[PaintedDefect, float]]]:
    count = 1 + int(rng.choice(len(DEFECT_COUNT_WEIGHTS), p=DEFECT_COUNT_WEIGHTS))
    image, painted = base, []
    for kind in draw_types(rng, count):
        defect = PAINTERS[kind](image, foreground, rng)
        if defect.mask.sum() >= 4:
            painted.append((defect, severity(defect, image, foreground)))
            image = defect.image
    return image, painted


def _write_item(
    job: _Job, copy: int, image: np.ndarray, painted: list[tuple[PaintedDefect, float]], foreground: Foreground
) -> Item:
    name = f"{_safe(job.item.id)}_{'clean' if copy == 0 else f'c{copy}'}"
    photo_path = job.out / "photos" / f"{name}.jpg"
    Image.fromarray((image * 255).round().astype(np.uint8)).save(photo_path, quality=job.settings.jpeg_quality)
    defects = [_write_mask(job.out, name, index, defect, value) for index, (defect, value) in enumerate(painted)]
    grade = GradeLabel(value=grade_for([(defect.type, value) for defect, value in painted]).value)
    if job.audited_damaged:
        defects, grade = None, None  # real, unlabelled damage: its masks would call that wear background
    height, width = image.shape[:2]
    photo = Photo(
        path=f"photos/{name}.jpg",
        view=job.item.photos[0].view,
        sha256=hashlib.sha256(photo_path.read_bytes()).hexdigest(),
        width=width,
        height=height,
        defects=defects,
    )
    return Item(
        id=f"{job.item.id}#{'clean' if copy == 0 else f'c{copy}'}",
        photos=[photo],
        category=job.item.category,
        grade=grade,
        split=job.item.split,
        group=job.item.id,
        source=Source(
            dataset=f"composited/{job.item.source.dataset}",
            license=job.item.source.license,
            original_path=job.item.photos[0].path,
        ),
    )


def _write_mask(out: Path, name: str, index: int, defect: PaintedDefect, value: float) -> Defect:
    mask_name = f"masks/{name}_{index}_{defect.type.value}.png"
    Image.fromarray(defect.mask.astype(np.uint8) * 255).save(out / mask_name)
    return Defect(type=defect.type, mask=mask_name, severity=value)


def _safe(identifier: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", identifier)
