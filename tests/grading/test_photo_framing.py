"""The shipped framing network: the file its record describes, and probabilities that mean what they say."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grading.bundle import file_sha256
from grading.photo_framing import FRAMING_CLASSES, FRAMING_FOLDER, FRAMING_MODEL, framing_probabilities, read_framing


def test_the_shipped_model_is_the_one_its_record_describes() -> None:
    record = json.loads((FRAMING_FOLDER / "framing.json").read_text())
    assert record["sha256"] == file_sha256(FRAMING_MODEL)
    assert record["classes"] == list(FRAMING_CLASSES)
    assert record["held_back"]["badly_framed"]["auroc_whole_vs_its_copies"] > 0.95
    assert record["held_back"]["smeared"]["auroc_whole_vs_its_copies"] > 0.95


def test_probabilities_cover_every_class_and_the_reading_sums_the_right_ones() -> None:
    overviews = np.random.default_rng(0).integers(0, 256, (3, 56, 56, 3), dtype=np.uint8)
    probabilities = framing_probabilities(overviews)
    assert probabilities.shape == (3, len(FRAMING_CLASSES))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5) and (probabilities >= 0).all()
    reading = read_framing(overviews[1])
    assert reading.badly_framed == pytest.approx(probabilities[1, 1] + probabilities[1, 2], abs=1e-6)
    assert reading.smeared == pytest.approx(probabilities[1, 3], abs=1e-6)
