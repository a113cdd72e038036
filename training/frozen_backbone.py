"""The frozen backbone for feature caching, run by ONNX Runtime: about 3-5x faster than torch eager here.

Training never updates the backbone, so its features can come from the same kind of ONNX graph the
service runs. The graph (uint8 NHWC photos in, stride-8/16/32 maps out) is
exported once into a cache folder, keyed by the weight file's hash, and checked against torch on export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from grading.inference import session_options
from training.backbone import WEIGHTS_SHA256, normalise
from training.network import BackboneTaps, Taps

CACHE_FOLDER = Path("var/cache")
TAP_NAMES = ("stride8", "stride16", "stride32")
PARITY_TOLERANCE = 1e-3


class _PhotosToTaps(nn.Module):
    def __init__(self, backbone: BackboneTaps) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, photos: torch.Tensor) -> Taps:
        return self.backbone(normalise(photos))


class OnnxBackbone:
    """Callable: uint8 NHWC torch tensor -> `Taps` (float32 torch tensors)."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        self.session = ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])

    def __call__(self, photos: torch.Tensor) -> Taps:
        outputs = self.session.run(list(TAP_NAMES), {"photos": photos.numpy()})
        return Taps(*(torch.from_numpy(output) for output in outputs))


def onnx_backbone(cache_folder: Path = CACHE_FOLDER) -> OnnxBackbone:
    """The cached ONNX backbone, exported and parity-checked on first use."""
    path = Path(cache_folder) / f"backbone-taps-{len(TAP_NAMES)}-{WEIGHTS_SHA256[:12]}.onnx"
    if not path.is_file():
        _export(path)
    return OnnxBackbone(path)


def _export(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    module = _PhotosToTaps(BackboneTaps().eval()).eval()
    example = torch.randint(0, 256, (2, 224, 224, 3), dtype=torch.uint8)
    partial = path.with_suffix(".partial")
    dynamic = {"photos": {0: "batch"}} | {name: {0: "batch"} for name in TAP_NAMES}
    with torch.inference_mode():
        torch.onnx.export(
            module,
            (example,),
            str(partial),
            input_names=["photos"],
            output_names=list(TAP_NAMES),
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
        expected = module(example)
    actual = OnnxBackbone(partial)(example)
    worst = max(float(np.abs(e.numpy() - a.numpy()).max()) for e, a in zip(expected, actual, strict=True))
    if worst > PARITY_TOLERANCE:
        raise RuntimeError(f"ONNX backbone differs from torch by {worst:.2e} (> {PARITY_TOLERANCE}); not cached")
    partial.replace(path)
