"""The catalog of known datasets (`datasets/catalog.yaml`): where each lives, its layout, label map and license.

Dataset folders are looked up under the shared datasets root: `--datasets-root`, else the environment
variable SECONDLOOK_SHARED_DATASETS, else `../shared/datasets` beside the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from training.importers.errors import CatalogError
from training.importers.label_map import load_label_map
from training.importers.pipeline import ImportRequest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CATALOG = REPO_ROOT / "datasets" / "catalog.yaml"
DATASETS_ROOT_ENV = "SECONDLOOK_SHARED_DATASETS"
_REQUIRED = ("folder", "layout", "license")


@dataclass(frozen=True)
class CatalogEntry:
    """One dataset. `label_map` is resolved against the catalog file's folder; `folder` against the datasets root."""

    name: str
    folder: str
    layout: str
    license: str
    label_map: Path | None = None
    options: dict[str, str] = field(default_factory=dict)
    card: Path | None = None


def datasets_root(override: Path | None = None) -> Path:
    if override is not None:
        return Path(override)
    return Path(os.environ.get(DATASETS_ROOT_ENV, REPO_ROOT.parent / "shared" / "datasets"))


def load_catalog(path: Path = DEFAULT_CATALOG) -> dict[str, CatalogEntry]:
    """Every entry of a catalog file, checked for the keys an import needs."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"catalog {path} does not exist")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = document.get("datasets") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise CatalogError(f"{path}: needs a top-level 'datasets:' mapping of name -> entry")
    return {str(name): _entry(str(name), body or {}, path) for name, body in entries.items()}


def _entry(name: str, body: dict, path: Path) -> CatalogEntry:
    missing = [key for key in _REQUIRED if not body.get(key)]
    if missing:
        raise CatalogError(f"{path}: dataset '{name}' lacks {', '.join(missing)}")
    here = path.parent
    return CatalogEntry(
        name=name,
        folder=str(body["folder"]),
        layout=str(body["layout"]),
        license=str(body["license"]),
        label_map=here / body["label_map"] if body.get("label_map") else None,
        options={str(key): str(value) for key, value in (body.get("options") or {}).items()},
        card=here / body["card"] if body.get("card") else None,
    )


def catalog_entry(name: str, path: Path = DEFAULT_CATALOG) -> CatalogEntry:
    """The entry called `name`; an unknown name raises `CatalogError` listing the known ones."""
    entries = load_catalog(path)
    if name not in entries:
        raise CatalogError(f"'{name}' is not in the catalog {path}; known datasets: {', '.join(sorted(entries))}")
    return entries[name]


def catalog_request(entry: CatalogEntry, root: Path, out: Path) -> ImportRequest:
    """The import request for a catalog entry whose folder lies under the datasets `root`."""
    return ImportRequest(
        layout=entry.layout,
        root=root / entry.folder,
        out=out,
        dataset=entry.name,
        license=entry.license,
        label_map=load_label_map(entry.label_map) if entry.label_map else None,
        options=entry.options,
    )
