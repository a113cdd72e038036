"""`secondlook photos check`: run photos through intake, the ImageNet backbone and the grading bundle.

It is the quickest end-to-end proof that a machine is set up: the same intake the service uses, the
offline backbone weights (hash-checked) with the ImageNet top-3 for each photo, and, when a model bundle
is there (by default the shipped `grading/bundles/default`), its category, grade, anomaly score and
defects on ONNX Runtime. A photo that intake refuses prints the message a kiosk would show, and the
command exits 1.
"""

from __future__ import annotations

import argparse
import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grading.intake import Framing, IntakeError, Photo, Preprocessing, load_photo

SAMPLE_PHOTOS = ("chelsea", "coffee", "rocket")  # photos that ship inside scikit-image
IMAGENET_FRAMING = Preprocessing(framing=Framing.CENTRE_CROP)  # how the ImageNet classifier was trained to look
DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "grading" / "bundles" / "default"


@dataclass(frozen=True)
class CheckedPhoto:
    name: str
    photo: Photo | None
    intake_ms: float
    error: str | None = None
    data: bytes = b""


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="run photos through intake and the ImageNet backbone",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  secondlook photos check front.jpg back.png\n  secondlook photos check --samples",
    )
    parser.add_argument("paths", nargs="*", type=Path, help="photo files (JPEG, PNG, WebP, HEIC)")
    parser.add_argument("--samples", action="store_true", help="use sample photos shipped inside scikit-image")
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE, help="model bundle folder (default: shipped)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.samples and not args.paths:
        print("Give photo paths, or --samples to use the photos that ship inside scikit-image.")
        return 2
    checked = [_check_intake(name, data) for name, data in _sample_photos()] if args.samples else []
    checked += [_check_file(path) for path in args.paths]
    decoded = [item for item in checked if item.photo is not None]
    _print_predictions(decoded)
    if decoded and (args.bundle / "bundle.json").is_file():
        _print_grading(decoded, args.bundle)
    for item in checked:
        if item.error:
            print(f"{item.name}: refused: {item.error}")
    return 1 if any(item.error for item in checked) else 0


def _check_file(path: Path) -> CheckedPhoto:
    if not path.is_file():
        return CheckedPhoto(str(path), None, 0.0, "no such file; check the path")
    return _check_intake(str(path), path.read_bytes())


def _sample_photos() -> list[tuple[str, bytes]]:
    from PIL import Image
    from skimage import data

    samples = []
    for name in SAMPLE_PHOTOS:
        buffer = io.BytesIO()
        Image.fromarray(getattr(data, name)()).save(buffer, "JPEG", quality=92)
        samples.append((f"scikit-image:{name}", buffer.getvalue()))
    return samples


def _check_intake(name: str, data: bytes) -> CheckedPhoto:
    start = time.perf_counter()
    try:
        photo = load_photo(data, preprocessing=IMAGENET_FRAMING)
    except IntakeError as error:
        return CheckedPhoto(name, None, 0.0, f"[{error.failure}] {error.message}")
    return CheckedPhoto(name, photo, (time.perf_counter() - start) * 1000, data=data)


def _print_predictions(checked: list[CheckedPhoto]) -> None:
    if not checked:
        return
    import torch
    from timm.data import ImageNetInfo

    from training.backbone import create_backbone, normalise

    model = create_backbone()
    batch = torch.from_numpy(np.stack([item.photo.pixels for item in checked]))
    with torch.inference_mode():
        probabilities = model(normalise(batch)).softmax(dim=1)
    labels = ImageNetInfo()
    for item, row in zip(checked, probabilities, strict=True):
        top = row.topk(3)
        guesses = ", ".join(
            f"{labels.index_to_description(int(i))} {p:.0%}" for p, i in zip(top.values, top.indices, strict=True)
        )
        width, height = item.photo.source_size
        print(f"{item.name}: {item.photo.source_format} {width}x{height}, intake {item.intake_ms:.1f} ms; {guesses}")


def _framed(item: CheckedPhoto, preprocessing: Preprocessing) -> np.ndarray:
    """The photo as the bundle frames it; decoded again only when that differs from the ImageNet framing."""
    if preprocessing == IMAGENET_FRAMING:
        return item.photo.pixels
    return load_photo(item.data, preprocessing=preprocessing).pixels


def _print_grading(checked: list[CheckedPhoto], bundle: Path) -> None:
    from grading.inference import load_model
    from grading.photo_summary import summarize

    model = load_model(bundle)
    preprocessing = model.metadata.input.preprocessing()
    outputs = model.run(np.stack([_framed(item, preprocessing) for item in checked]))
    print(f"grading bundle {model.metadata.name} {model.metadata.version} ({bundle}):")
    for index, item in enumerate(checked):
        summary = summarize(outputs, index, model.metadata)
        defects = ", ".join(f"{d.type} {d.peak:.0%}" for d in summary.defects) or "none found"
        print(
            f"  {item.name}: {summary.category} {summary.category_probability:.0%}, grade {summary.grade} "
            f"{summary.grade_probability:.0%}, anomaly {summary.anomaly_score:.2f}"
            f"{' (anomalous)' if summary.anomalous else ''}, defects: {defects}"
        )
