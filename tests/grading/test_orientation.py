"""A box drawn on the upright photo, moved to stored pixels, lands where training's orientation puts it back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from grading.orientation import stored_box
from training.photo_targets import _ORIENTATION_TRANSPOSE

STORED_SIZE = (64, 40)


def _mask(size: tuple[int, int], box: tuple[float, float, float, float]) -> np.ndarray:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle(box, fill=1)
    return np.array(mask)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_stored_box_is_the_inverse_of_the_orientation_training_applies(orientation: int) -> None:
    transpose = _ORIENTATION_TRANSPOSE.get(orientation)
    upright_size = STORED_SIZE[::-1] if orientation >= 5 else STORED_SIZE
    upright_box = (3.0, 7.0, 20.0, 15.0)
    box = stored_box(upright_box, orientation, STORED_SIZE)
    stored = Image.fromarray(_mask(STORED_SIZE, box))
    oriented = np.array(stored.transpose(transpose) if transpose is not None else stored)
    assert oriented.shape == upright_size[::-1]
    expected = _mask(upright_size, upright_box)
    # PIL's rectangle covers both corner pixels; after a flip the covered block shifts by at most one pixel
    assert abs(int(oriented.sum()) - int(expected.sum())) <= 2 * (upright_box[2] - upright_box[0] + 1) + 2 * (
        upright_box[3] - upright_box[1] + 1
    )
    centre = np.argwhere(oriented).mean(axis=0)
    assert np.allclose(centre, np.argwhere(expected).mean(axis=0), atol=1.0)


def test_an_unknown_orientation_leaves_the_box_as_it_is() -> None:
    assert stored_box((1.0, 2.0, 3.0, 4.0), 0, STORED_SIZE) == (1.0, 2.0, 3.0, 4.0)
