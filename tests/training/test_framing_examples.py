"""Badly framed training copies: the right kinds and shapes, the item really moved, the fill from the photo's edge."""

from __future__ import annotations

import numpy as np
from PIL import Image

from training.framing_examples import COPIES, FramingLabel, framing_copies, off_centre, smeared, too_close


def floor_with_item() -> Image.Image:
    """A grey floor with a red square in the middle."""
    pixels = np.full((200, 240, 3), 120, np.uint8)
    pixels[70:130, 90:150] = (200, 30, 30)
    return Image.fromarray(pixels)


def red_centre(image: Image.Image) -> tuple[float, float]:
    pixels = np.asarray(image, np.int16)
    rows, columns = np.nonzero((pixels[..., 0] > 150) & (pixels[..., 1] < 90))
    return float(rows.mean()), float(columns.mean())


def test_every_photo_gives_its_copies_in_the_declared_order_at_its_own_size() -> None:
    copies = framing_copies(floor_with_item(), np.random.default_rng(0))
    assert [label for _, label in copies] == list(COPIES)
    assert all(image.size == (240, 200) for image, _ in copies)
    assert COPIES.count(FramingLabel.WHOLE) == 2 and copies[0][0].tobytes() == floor_with_item().tobytes()
    assert COPIES[-1] is FramingLabel.SMEARED


def test_too_close_scales_a_window_up_so_the_item_grows() -> None:
    image = floor_with_item()
    grown = [too_close(image, np.random.default_rng(seed)) for seed in range(20)]
    red_shares = [np.mean(np.asarray(copy)[..., 1] < 90) for copy in grown]
    assert max(red_shares) > 2.5 * np.mean(np.asarray(image)[..., 1] < 90)


def test_off_centre_moves_the_item_at_least_30_percent_and_fills_from_the_edge() -> None:
    image = floor_with_item()
    for seed in range(10):
        moved = off_centre(image, np.random.default_rng(seed))
        pixels = np.asarray(moved, np.float32)
        if (pixels[..., 1] < 90).sum() > 0:
            row, column = red_centre(moved)
            shift = np.hypot((row - 100) / 200, (column - 120) / 240)
            assert shift >= 0.25
        # the uncovered part continues the grey floor (flat with noise, or mirrored texture)
        assert abs(float(np.median(pixels)) - 120) < 8


def test_smeared_keeps_the_size_and_softens_edges_without_moving_the_item() -> None:
    image = floor_with_item()
    copy = smeared(image, np.random.default_rng(3))
    assert copy.size == image.size
    before, after = np.asarray(image, np.float32), np.asarray(copy, np.float32)
    assert np.abs(np.diff(after[..., 1], axis=1)).max() < np.abs(np.diff(before[..., 1], axis=1)).max()
    assert np.allclose(red_centre(copy), red_centre(image), atol=3)
