"""Is the whole item in the photo, and is it sharp? A small network that knows what an item photo looks like.

Colour alone cannot tell a garment filling the frame with a strip of floor at its edge from floor filling the
frame with the edge of a garment (`grading.photo_measures`). This network reads the intake's overview of the
whole photo (56 x 56, `grading.intake.whole_overview`; the model's centre crop would cut the ends of every long
garment) and gives the probability of each `FRAMING_CLASSES`: the whole item in view, the camera too close (the
item runs out of the frame on every side), the item pushed off centre and partly out of the frame, or the whole
photo smeared by a camera that moved (which the shake measure misses where a print is smeared along itself). It was
trained on clothing-small's real train photos and badly framed copies of them (`training.framing_examples`,
`secondlook photos framing`); `framing/framing.json` records how. About 7 million multiply-adds, 0.23 ms on one
core (docs/photo_quality.md), so it runs with the other photo checks before any grading.

The ONNX graph takes uint8 RGB (N, 56, 56, 3) and returns softmax probabilities (N, 4).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnxruntime as ort

FRAMING_CLASSES = ("whole", "too_close", "off_centre", "smeared")
FRAMING_FOLDER = Path(__file__).resolve().parent / "framing"
FRAMING_MODEL = FRAMING_FOLDER / "framing.onnx"
INPUT_NAME = "overviews"
OUTPUT_NAME = "framing"


class FramingReading(NamedTuple):
    """What the network reads from one photo."""

    badly_framed: float  # P(too close) + P(off centre): the item not wholly in view
    smeared: float  # P(smeared)


def read_framing(overview: np.ndarray, model: Path = FRAMING_MODEL) -> FramingReading:
    """The network's reading of one (56, 56, 3) uint8 overview."""
    probabilities = framing_probabilities(overview[None], model)[0]
    return FramingReading(float(probabilities[1] + probabilities[2]), float(probabilities[3]))


def framing_probabilities(overviews: np.ndarray, model: Path = FRAMING_MODEL) -> np.ndarray:
    """(N, 4) probabilities of `FRAMING_CLASSES` for (N, 56, 56, 3) uint8 overviews."""
    return _session(model).run([OUTPUT_NAME], {INPUT_NAME: overviews})[0]


@cache
def _session(model: Path) -> ort.InferenceSession:
    """One single-threaded session per model file and process (the grading model has the cores)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
