"""The ONNX Runtime session of a model bundle: uint8 photos in, `NetworkOutputs` out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from grading.bundle import MODEL_FILE, BundleMetadata, read_metadata
from grading.network_outputs import INPUT_NAME, NetworkOutputs


def session_options(threads: int = 2) -> ort.SessionOptions:
    """Intra-op threads as given, one inter-op thread, no spinning (idle threads would steal the other core)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


@dataclass(frozen=True)
class GradingModel:
    """A verified bundle and its inference session; share one per process."""

    folder: Path
    metadata: BundleMetadata
    session: ort.InferenceSession

    def run(self, pixels: np.ndarray) -> NetworkOutputs:
        """Run a batch of photos (N, crop, crop, 3) uint8, as `grading.intake.load_photo` makes them."""
        if pixels.dtype != np.uint8 or pixels.ndim != 4 or pixels.shape[-1] != 3:
            raise ValueError(f"expected uint8 photos of shape (N, H, W, 3), got {pixels.dtype} {pixels.shape}")
        names = [name for name in NetworkOutputs._fields if name in self.metadata.outputs]
        arrays = dict(zip(names, self.session.run(names, {INPUT_NAME: pixels}), strict=True))
        return NetworkOutputs(**arrays)


def load_model(folder: Path, threads: int = 2) -> GradingModel:
    """Verify the bundle's hashes, then open its ONNX graph on the CPU."""
    metadata = read_metadata(folder)
    session = ort.InferenceSession(
        str(Path(folder) / MODEL_FILE), session_options(threads), providers=["CPUExecutionProvider"]
    )
    return GradingModel(folder=Path(folder), metadata=metadata, session=session)
