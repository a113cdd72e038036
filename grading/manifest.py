"""Manifest format v1: the one description of labeled items that every importer writes and every trainer reads.

A manifest is a JSON Lines file, one item per line. An item is one physical piece (a jacket, a pair of
shoes) with one or more photos; labels that a source does not have are simply absent, so one manifest
with partial labels still trains what it can. Photo paths are relative to the manifest file's folder
unless absolute. The schema is written out as `datasets/manifest.schema.json`.

Lives in `grading` (pydantic only) because the service writes reviewer decisions back as a manifest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from grading.vocabulary import DEFAULT_GRADE_SCALE, Authenticity, DefectType, Grade, Split, View

MANIFEST_VERSION = 1
REVIEW_DATASET = "secondlook-review"  # `source.dataset` of items written back from reviewer decisions

Point = tuple[float, float]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Box(_Strict):
    """Axis-aligned box in pixels of the photo as stored (before EXIF orientation is applied)."""

    x0: float = Field(ge=0)
    y0: float = Field(ge=0)
    x1: float
    y1: float

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.x1 <= self.x0 or self.y1 <= self.y0:
            raise ValueError(f"box needs x0 < x1 and y0 < y1, got ({self.x0}, {self.y0}, {self.x1}, {self.y1})")
        return self


class Defect(_Strict):
    """One defect on one photo: its type and exactly one of box, polygon or mask."""

    type: DefectType
    box: Box | None = None
    polygon: Annotated[list[Point], Field(min_length=3)] | None = None
    mask: str | None = Field(default=None, description="path of a single-channel PNG, nonzero = defect")
    severity: float | None = Field(default=None, ge=0.0, le=1.0, description="0 = barely visible, 1 = worst")
    source_label: str | None = Field(default=None, description="the class name in the source dataset")

    @model_validator(mode="after")
    def _one_geometry(self) -> Self:
        given = [name for name in ("box", "polygon", "mask") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a defect needs exactly one of box, polygon or mask; got {given or 'none'}")
        return self


class Photo(_Strict):
    path: str
    view: View = View.UNSPECIFIED
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="content hash of the photo file")
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)
    defects: list[Defect] | None = Field(
        default=None, description="None: not annotated for defects; []: annotated and clean"
    )


class GradeLabel(_Strict):
    scale: str = DEFAULT_GRADE_SCALE
    value: str

    @model_validator(mode="after")
    def _known_on_default_scale(self) -> Self:
        known = [grade.value for grade in Grade]
        if self.scale == DEFAULT_GRADE_SCALE and self.value not in known:
            raise ValueError(f"grade '{self.value}' is not on scale {self.scale}; use one of {known}")
        return self


class Source(_Strict):
    dataset: str
    license: str
    original_path: str | None = None


class Item(_Strict):
    manifest_version: Literal[1] = MANIFEST_VERSION
    id: str = Field(min_length=1)
    photos: Annotated[list[Photo], Field(min_length=1)]
    category: str | None = None
    brand: str | None = None
    product_line: str | None = None
    grade: GradeLabel | None = None
    authenticity: Authenticity = Authenticity.UNKNOWN
    split: Split | None = None
    group: str | None = Field(default=None, description="items sharing a group always land in one split")
    source: Source


class ManifestError(ValueError):
    """A manifest line that does not parse or validate; names the file, the line and the fix."""


def read_manifest(path: Path) -> list[Item]:
    """Read and validate every line; the first bad line raises `ManifestError` with its line number."""
    return list(iter_manifest(path))


def iter_manifest(path: Path) -> Iterator[Item]:
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield parse_line(line, path, number)


def parse_line(line: str, path: Path, number: int) -> Item:
    try:
        return Item.model_validate_json(line)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in error.errors())
        raise ManifestError(f"{path}:{number}: {problems}") from error


def write_manifest(items: Iterable[Item], path: Path) -> int:
    """Write items as JSON Lines (atomically: a reader never sees half a file); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    count = 0
    with partial.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(item.model_dump_json(exclude_none=True) + "\n")
            count += 1
    partial.replace(path)
    return count


def resolve_photo_path(manifest_path: Path, photo_path: str) -> Path:
    """Photo paths in a manifest are relative to the manifest's folder unless absolute."""
    candidate = Path(photo_path)
    return candidate if candidate.is_absolute() else Path(manifest_path).parent / candidate


def json_schema() -> str:
    """The JSON Schema of one manifest line, as written to `datasets/manifest.schema.json`."""
    return json.dumps(Item.model_json_schema(), indent=2, sort_keys=True) + "\n"
