"""The shipped framing network: the file its record describes, and probabilities that mean what they say."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grading.bundle import file_sha256
from grading.photo_framing import FRAMING_CLASSES, FRAMING_FOLDER, FRAMING_MODEL, badly_framed, framing_probabilities


def test_the_shipped_model_is_the_one_its_record_describes() -> None:
    record = json.loads((FRAMING_FOLDER / "framing.json").read_text())
    assert record["sha256"] == file_sha256(FRAMING_MODEL)
    assert record["classes"] == list(FRAMING_CLASSES)
    assert record["held_back"]["auroc_whole_vs_badly_framed"] > 0.95


def test_probabilities_cover_the_three_classes_and_badly_framed_is_one_minus_whole() -> None:
    overviews = np.random.default_rng(0).integers(0, 256, (3, 56, 56, 3), dtype=np.uint8)
    probabilities = framing_probabilities(overviews)
    assert probabilities.shape == (3, len(FRAMING_CLASSES))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5) and (probabilities >= 0).all()
    assert badly_framed(overviews[1]) == pytest.approx(1.0 - probabilities[1, 0], abs=1e-6)
