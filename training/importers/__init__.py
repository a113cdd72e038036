"""Importers: one per folder layout, each turning a dataset folder into manifest v1 items.

Look one up with `get_importer(name)`; add one with the `register` decorator::

    @register("my_layout", description="...", options=MyOptions)
    def import_my_layout(root: Path, context: ImportContext) -> Iterator[ItemDraft]: ...

An importer walks the folder and reads labels into `ItemDraft`s; `training.importers.pipeline` hashes the
photos and writes the manifest.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from training.importers.drafts import ImportContext, ItemDraft
from training.importers.errors import DuplicateImporterError, UnknownImporterError

ImportFunction = Callable[[Path, ImportContext], Iterator[ItemDraft]]

BUILTIN_LAYOUTS = ("class_folders", "yolo", "image_masks", "mvtec", "coco")


@dataclass(frozen=True)
class Importer:
    """A registered layout: its function, the `--help` text with an example, and its options dataclass."""

    name: str
    run: ImportFunction
    description: str
    options: type | None = None


_REGISTRY: dict[str, Importer] = {}


def register(name: str, description: str, options: type | None = None) -> Callable[[ImportFunction], ImportFunction]:
    """Register an import function under `name`; a second registration under one name raises."""

    def decorate(function: ImportFunction) -> ImportFunction:
        if name in _REGISTRY:
            raise DuplicateImporterError(
                f"an importer named '{name}' is already registered by {_REGISTRY[name].run.__module__}; "
                "pick another name"
            )
        _REGISTRY[name] = Importer(name=name, run=function, description=description, options=options)
        return function

    return decorate


def get_importer(name: str) -> Importer:
    """The importer for layout `name`; an unknown name raises `UnknownImporterError` listing the valid ones."""
    _load_builtins()
    if name not in _REGISTRY:
        raise UnknownImporterError(f"unknown layout '{name}'; valid layouts: {', '.join(importer_names())}")
    return _REGISTRY[name]


def importer_names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def _load_builtins() -> None:
    for module in BUILTIN_LAYOUTS:
        importlib.import_module(f"training.importers.{module}")
