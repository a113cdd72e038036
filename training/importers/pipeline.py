"""Run an importer end to end: walk the folder, hash every photo (with a progress bar), write the manifest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from grading.manifest import Item, Photo, Source, write_manifest
from training.importers import get_importer
from training.importers.drafts import ImportContext, ItemDraft, PhotoDraft
from training.importers.errors import LayoutError
from training.importers.folders import key_of
from training.importers.label_map import LabelMap
from training.importers.photo_files import header_size, sha256_of
from training.importers.summary import ImportSummary, summarise


@dataclass(frozen=True)
class ImportRequest:
    """Everything one import needs; `options` are the layout's `KEY=VALUE` options."""

    layout: str
    root: Path
    out: Path
    dataset: str
    license: str
    label_map: LabelMap | None = None
    options: Mapping[str, str] = field(default_factory=dict)


def import_dataset(request: ImportRequest, progress: bool = True) -> ImportSummary:
    """Import `request.root` into the manifest `request.out`; raises `ImporterError` subclasses on bad input."""
    importer = get_importer(request.layout)
    root = Path(request.root)
    if not root.is_dir():
        raise LayoutError(f"dataset folder {root} does not exist; check the path (or --datasets-root)")
    out = Path(request.out)
    context = ImportContext(
        label_map=request.label_map,
        options=dict(request.options),
        manifest_dir=out.parent,
        derived_dir=out.with_name(out.stem + ".derived"),
    )
    drafts = list(importer.run(root, context))
    if not drafts:
        raise LayoutError(f"{root}: found no photos for the {request.layout} layout; see `secondlook data import -h`")
    items = build_items(drafts, root, request, context, progress)
    write_manifest(items, out)
    return summarise(items, context.notes)


def build_items(
    drafts: Iterable[ItemDraft], root: Path, request: ImportRequest, context: ImportContext, progress: bool
) -> list[Item]:
    """Hash the photos of every draft and turn it into a manifest item with id `<dataset>/<key>`."""
    drafts = list(drafts)
    total = sum(len(draft.photos) for draft in drafts)
    items = []
    with tqdm(total=total, unit="photo", desc="hashing", disable=not progress, leave=False) as bar:
        for draft in drafts:
            photos = [_photo(photo, context, root) for photo in draft.photos]
            bar.update(len(photos))
            items.append(_item(draft, photos, root, request))
    _check_unique_ids(items)
    return items


def _photo(draft: PhotoDraft, context: ImportContext, root: Path) -> Photo:
    size = draft.size or header_size(draft.path)
    if size is None:
        context.note(f"{key_of(draft.path, root)}: no decoder recognises this photo; width/height left out")
    return Photo(
        path=context.relative(draft.path),
        view=draft.view,
        sha256=sha256_of(draft.path),
        width=size[0] if size else None,
        height=size[1] if size else None,
        defects=draft.defects,
    )


def _item(draft: ItemDraft, photos: list[Photo], root: Path, request: ImportRequest) -> Item:
    original = key_of(draft.photos[0].path, root) if len(draft.photos) == 1 else draft.key
    return Item(
        id=f"{request.dataset}/{draft.key}",
        photos=photos,
        category=draft.category,
        authenticity=draft.authenticity,
        product_line=draft.product_line,
        split=draft.split,
        group=f"{request.dataset}/{draft.group}" if draft.group else None,
        source=Source(dataset=request.dataset, license=request.license, original_path=original),
    )


def _check_unique_ids(items: list[Item]) -> None:
    seen: set[str] = set()
    for item in items:
        assert item.id not in seen, f"importer produced the item id {item.id} twice"
        seen.add(item.id)
