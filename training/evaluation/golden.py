"""The golden set: real items with trusted labels that every bundle is compared on (`model compare`, `promote`).

A YAML file names manifests and the split of each to read: the audited real-photo sets and reviewer decisions
exported from the service (`GET /v1/review/export`, whose items carry no split: `split: all`).
Paths are relative to the directory the command runs in, as every other manifest argument.

    sets:
      clothing: {manifest: var/manifests/clothing-small.jsonl, split: test}
      reviewed: {manifest: var/exports/review.jsonl, split: all}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grading.manifest import Item, read_manifest
from grading.vocabulary import Split

ALL = "all"


class GoldenError(ValueError):
    """A golden-set file that cannot be used, with what to fix."""


class GoldenSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    manifest: Path
    split: Split | Literal["all"] = Split.TEST

    def items(self) -> list[Item]:
        """The set's items; raises `GoldenError` when the manifest is missing or the split is empty."""
        if not self.manifest.is_file():
            raise GoldenError(f"golden manifest {self.manifest} does not exist; make it with 'secondlook data import'.")
        items = read_manifest(self.manifest)
        chosen = items if self.split == ALL else [item for item in items if item.split == self.split]
        if not chosen:
            raise GoldenError(f"golden manifest {self.manifest} has no items in split '{self.split}'.")
        return chosen


class GoldenSets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sets: dict[str, GoldenSet] = Field(min_length=1)


def load_golden(path: Path) -> dict[str, GoldenSet]:
    """The named sets of a golden-set file; raises `GoldenError` naming the file and the field to fix."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise GoldenError(f"cannot read golden-set file {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise GoldenError(f"golden-set file {path} is not valid YAML: {error}") from error
    try:
        return GoldenSets.model_validate(raw).sets
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in error.errors())
        raise GoldenError(f"golden-set file {path}: {problems}") from error
