"""`secondlook data import`: turn a dataset folder into a manifest v1 file (JSON Lines), hashing every photo.

Photos are never copied: the manifest refers to them by paths relative to the manifest's own folder.
Source class names reach the project's vocabulary only through an explicit label map (YAML); a name the
map does not cover stops the import with a message naming it.

usage:
  secondlook data import LAYOUT ROOT --label-map MAP.yaml --dataset NAME --license LICENSE [--out FILE]
  secondlook data import --catalog NAME [--out FILE] [--datasets-root DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.importers import get_importer, importer_names
from training.importers.catalog import DEFAULT_CATALOG, catalog_entry, catalog_request, datasets_root
from training.importers.errors import ImporterError
from training.importers.label_map import load_label_map
from training.importers.options import split_option
from training.importers.pipeline import ImportRequest, import_dataset
from training.importers.summary import format_summary

DEFAULT_OUT_DIR = Path("var/manifests")
UNSTATED_LICENSE = "unstated"


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import a dataset folder (class folders, YOLO, image+mask, MVTec AD, COCO) into a manifest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_epilog(),
    )
    parser.add_argument("layout", nargs="?", help=f"folder layout: {', '.join(importer_names())}")
    parser.add_argument("root", nargs="?", type=Path, help="the dataset folder")
    parser.add_argument("--catalog", metavar="NAME", help="import a dataset listed in datasets/catalog.yaml")
    parser.add_argument("--catalog-file", type=Path, default=DEFAULT_CATALOG, help="another catalog file")
    parser.add_argument("--datasets-root", type=Path, help="folder of shared datasets (default ../shared/datasets)")
    parser.add_argument("--out", type=Path, help="manifest to write (default var/manifests/<dataset>.jsonl)")
    parser.add_argument("--label-map", type=Path, help="YAML mapping source names to project labels")
    parser.add_argument("--dataset", help="dataset name for item ids and source (default: ROOT's folder name)")
    parser.add_argument("--license", help="license as the source states it, e.g. CC-BY-4.0")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a layout option")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _epilog() -> str:
    layouts = "\n\n".join(get_importer(name).description for name in importer_names())
    return (
        f"layouts:\n{layouts}\n\n"
        "catalog (the shared datasets, see datasets/catalog.yaml):\n"
        "  secondlook data import --catalog clothing-small --out var/manifests/clothing-small.jsonl\n\n"
        "exit codes: 0 imported, 2 bad input (the message names the path and what to fix)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        request = _request(args)
        summary = import_dataset(request, progress=not args.no_progress)
    except ImporterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {request.out}")
    print(format_summary(summary))
    return 0


def _request(args: argparse.Namespace) -> ImportRequest:
    options = dict(split_option(text) for text in args.option)
    if args.catalog:
        if args.layout or args.root:
            raise ImporterError("give either --catalog NAME or LAYOUT ROOT, not both")
        entry = catalog_entry(args.catalog, args.catalog_file)
        request = catalog_request(entry, datasets_root(args.datasets_root), _out(args, entry.name))
        return _with_overrides(request, args, options)
    if not (args.layout and args.root):
        raise ImporterError("give LAYOUT ROOT (e.g. yolo path/to/folder) or --catalog NAME; see --help")
    get_importer(args.layout)  # fails early, listing the valid layouts
    dataset = args.dataset or Path(args.root).resolve().name
    if not args.license:
        print(f"warning: no --license given; recorded as '{UNSTATED_LICENSE}'", file=sys.stderr)
    return ImportRequest(
        layout=args.layout,
        root=args.root,
        out=_out(args, dataset),
        dataset=dataset,
        license=args.license or UNSTATED_LICENSE,
        label_map=load_label_map(args.label_map) if args.label_map else None,
        options=options,
    )


def _with_overrides(request: ImportRequest, args: argparse.Namespace, options: dict[str, str]) -> ImportRequest:
    """Command-line values win over the catalog's: label map, dataset name, license, options."""
    return ImportRequest(
        layout=request.layout,
        root=request.root,
        out=request.out,
        dataset=args.dataset or request.dataset,
        license=args.license or request.license,
        label_map=load_label_map(args.label_map) if args.label_map else request.label_map,
        options={**request.options, **options},
    )


def _out(args: argparse.Namespace, dataset: str) -> Path:
    return args.out or DEFAULT_OUT_DIR / f"{dataset}.jsonl"
