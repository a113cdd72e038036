"""Train the framing network (`grading.photo_framing`) on real photos and badly framed copies of them.

Each train photo gives the copies of `training.framing_examples`, each sent through JPEG and the service's
intake, which keeps the 56 px overview of the whole photo the check reads. A tenth of the photos (by photo, so
no copy of them is trained on) is held back to report how well the network separates whole items from badly
framed or smeared ones, and where to set the thresholds on real photos it never saw
(`FramingFit.threshold_refusing`).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from grading.intake import OVERVIEW_SIDE, Preprocessing, load_photo
from grading.photo_framing import FRAMING_CLASSES, INPUT_NAME, OUTPUT_NAME
from training.evaluation.metrics import auroc
from training.framing_examples import COPIES, FramingLabel, framing_copies
from training.photo_degradations import jpeg_bytes

OPSET = 17
HELD_BACK_SHARE = 0.1


@dataclass(frozen=True)
class FramingExamples:
    """Overviews (N, 56, 56, 3) uint8, their labels (N,) and the index of the photo each was made from (N,)."""

    overviews: np.ndarray
    labels: np.ndarray
    photos: np.ndarray


def overview(data: bytes, preprocessing: Preprocessing) -> np.ndarray:
    """An upload's overview of the whole photo, as the service's intake makes it."""
    photo = load_photo(data, preprocessing=preprocessing)
    assert photo.overview is not None  # intake always makes one
    return photo.overview


def photo_examples(path: Path, preprocessing: Preprocessing, seed: int) -> np.ndarray:
    """The overviews of one photo's `COPIES`, in that order (the first one is the photo as uploaded)."""
    generator = np.random.default_rng([seed, zlib.crc32(path.name.encode())])
    with Image.open(path) as image:
        copies = framing_copies(image.convert("RGB"), generator)
    uploads = [path.read_bytes()] + [jpeg_bytes(copy, int(generator.integers(75, 93))) for copy, _ in copies[1:]]
    return np.stack([overview(data, preprocessing) for data in uploads])


def build_examples(
    paths: Sequence[Path], preprocessing: Preprocessing, seed: int = 0, workers: int = 2
) -> FramingExamples:
    """Every photo's copies as overviews, made in `workers` processes."""
    arguments = [(path, preprocessing, seed) for path in paths]
    with get_context("spawn").Pool(workers) as pool:
        per_photo = pool.starmap(photo_examples, arguments, chunksize=16)
    labels = np.tile(np.array([int(label) for label in COPIES]), len(paths))
    photos = np.repeat(np.arange(len(paths)), len(COPIES))
    return FramingExamples(np.concatenate(per_photo), labels, photos)


def _conv(inputs: int, outputs: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True)
    )


class FramingNet(nn.Module):
    """Four 3x3 convolutions over the overview and two position channels, then a map of where things are
    (7 x 7 x 8) beside the average and the maximum of each feature: where the item lies matters as much as
    what it is."""

    def __init__(self) -> None:
        super().__init__()
        grid = torch.linspace(-1.0, 1.0, OVERVIEW_SIDE)
        self.register_buffer("position", torch.stack(torch.meshgrid(grid, grid, indexing="ij"))[None])
        self.body = nn.Sequential(_conv(5, 24, 2), _conv(24, 48, 2), _conv(48, 64, 2), _conv(64, 96, 1))
        self.layout = nn.Conv2d(96, 8, 1)
        self.head = nn.Linear(8 * 7 * 7 + 2 * 96, len(FRAMING_CLASSES))

    def logits(self, overviews: torch.Tensor) -> torch.Tensor:
        """(N, 3) class scores for (N, 56, 56, 3) uint8 overviews."""
        pixels = overviews.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        features = self.body(torch.cat([pixels, self.position.expand(pixels.shape[0], -1, -1, -1)], 1))
        layout = torch.relu(self.layout(features)).flatten(1)
        return self.head(torch.cat([layout, features.mean((2, 3)), features.amax((2, 3))], 1))

    def forward(self, overviews: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(overviews), 1)


def _augmented(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror left-right and up-down, turn by a quarter and change brightness by up to 15%, each at random:
    none of them changes whether the item is in the frame."""
    if torch.rand(1, generator=generator) < 0.5:
        batch = batch.flip(2)
    if torch.rand(1, generator=generator) < 0.5:
        batch = batch.flip(1)
    if torch.rand(1, generator=generator) < 0.5:
        batch = batch.transpose(1, 2)
    gain = 1.0 + (torch.rand(len(batch), 1, 1, 1, generator=generator) - 0.5) * 0.3
    return (batch.float() * gain).clamp(0, 255).round().to(torch.uint8)


MEASURES = ("badly_framed", "smeared")  # what the checks read from the probabilities (grading.photo_framing)


@dataclass(frozen=True)
class FramingFit:
    """The trained network and how it did on the held-back photos' copies.

    `held_back_auroc[m]` separates whole photos from the copies measure m is for; `held_back_real[:, m]` is measure
    m of each held-back photo as uploaded: where to set its threshold.
    """

    network: FramingNet
    held_back_photos: int
    held_back_accuracy: float
    held_back_auroc: dict[str, float]
    held_back_real: np.ndarray
    epochs: int
    train_loss: float

    def threshold_refusing(self, measure: str, share: float) -> float:
        """The value of `measure` above which `share` of the held-back real photos lie."""
        return float(np.quantile(self.held_back_real[:, MEASURES.index(measure)], 1.0 - share))


def train_framing(examples: FramingExamples, epochs: int = 20, seed: int = 0, batch_size: int = 128) -> FramingFit:
    """Train on nine tenths of the photos' copies; measure on the rest."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    photo_count = int(examples.photos.max()) + 1
    held_back = np.random.default_rng(seed).permutation(photo_count)[: round(HELD_BACK_SHARE * photo_count)]
    is_held = np.isin(examples.photos, held_back)
    overviews, labels = torch.from_numpy(examples.overviews), torch.from_numpy(examples.labels).long()
    train_index = torch.from_numpy(np.flatnonzero(~is_held))
    network = FramingNet()
    # whole copies are fewer than bad ones: weigh each class by the inverse of its count, so both sides count alike
    counts = np.bincount(examples.labels, minlength=len(FRAMING_CLASSES))
    weights = torch.tensor(counts.max() / np.maximum(counts, 1), dtype=torch.float32)
    loss_function = nn.CrossEntropyLoss(weight=weights, label_smoothing=0.05)
    optimiser = torch.optim.AdamW(network.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * -(-len(train_index) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=steps)
    loss = torch.tensor(0.0)
    for _ in range(epochs):
        network.train()
        for batch in train_index[torch.randperm(len(train_index), generator=generator)].split(batch_size):
            loss = loss_function(network.logits(_augmented(overviews[batch], generator)), labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    accuracy, separation, real = _held_back_figures(network, examples, is_held)
    return FramingFit(network.eval(), len(held_back), accuracy, separation, real, epochs, float(loss.detach()))


def _held_back_figures(
    network: FramingNet, examples: FramingExamples, is_held: np.ndarray
) -> tuple[float, dict[str, float], np.ndarray]:
    """Accuracy over the classes, each measure's AUROC of whole photos against the copies it is for, and the
    measures of the real photos (each photo's first copy is the photo itself)."""
    network.eval()
    with torch.no_grad():
        probabilities = network(torch.from_numpy(examples.overviews[is_held])).numpy()
    labels = examples.labels[is_held]
    measures = np.stack([probabilities[:, 1] + probabilities[:, 2], probabilities[:, 3]], axis=1)
    targets = {
        "badly_framed": (FramingLabel.TOO_CLOSE, FramingLabel.OFF_CENTRE),
        "smeared": (FramingLabel.SMEARED,),
    }
    separation = {}
    for index, name in enumerate(MEASURES):
        kept = (labels == FramingLabel.WHOLE) | np.isin(labels, targets[name])
        separation[name] = float(auroc(labels[kept] != FramingLabel.WHOLE, measures[kept, index]).value or 0.0)
    first_copy = np.r_[True, np.diff(examples.photos[is_held]) != 0]
    return float((probabilities.argmax(1) == labels).mean()), separation, measures[first_copy]


def export_framing(network: FramingNet, path: Path) -> float:
    """Write the network as ONNX (uint8 overviews in, probabilities out); returns max |torch - ONNX Runtime|."""
    import onnxruntime as ort

    network.eval()
    example = torch.randint(0, 256, (4, OVERVIEW_SIDE, OVERVIEW_SIDE, 3), dtype=torch.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        network,
        (example,),
        str(path),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "photos"}, OUTPUT_NAME: {0: "photos"}},
        opset_version=OPSET,
        dynamo=False,
    )
    with torch.no_grad():
        expected = network(example).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return float(np.abs(session.run([OUTPUT_NAME], {INPUT_NAME: example.numpy()})[0] - expected).max())
