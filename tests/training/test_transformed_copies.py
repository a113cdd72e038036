"""Rotated, mirrored and cropped copies of one photo are found; different photos of similar scenes are not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from training.transformed_copies import candidate_pairs, transformed_copy_pairs, verified_copies


def scene(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Shapes in random places and colours: plenty of corners for ORB, different for every seed."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.integers(0, size[0]), rng.integers(0, size[1])
        w, h = rng.integers(8, 60, 2)
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)([x, y, x + w, y + h], fill=colour)
    return image


def roboflow_copy(image: Image.Image) -> Image.Image:
    """What an augmented export does: rotate with black corners, mirror, crop a little."""
    turned = ImageOps.mirror(image.rotate(12, expand=True, fillcolor=(0, 0, 0)))
    width, height = turned.size
    return turned.crop((10, 8, width - 12, height - 6))


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / f"{name}.jpg" for name in ("original", "copy", "other", "other-too")]
    images = [scene(1), roboflow_copy(scene(1)), scene(2), scene(3)]
    for path, image in zip(paths, images, strict=True):
        image.save(path, quality=85)
    return paths


ALL_PAIRS = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]


def test_keypoints_confirm_a_rotated_mirrored_cropped_copy_and_reject_different_photos(photos: list[Path]) -> None:
    assert verified_copies(photos, ALL_PAIRS, progress=False) == [(0, 1)]


def test_an_unreadable_photo_is_a_copy_of_nothing(photos: list[Path]) -> None:
    photos[2].write_bytes(b"not a photo")
    assert verified_copies(photos, ALL_PAIRS, progress=False) == [(0, 1)]


@pytest.mark.real_data
def test_roboflow_copies_in_sneakers_auth_are_found(shared_datasets: Path) -> None:
    """test/fake_af1/0249 is train/fake_af1/0248 rotated; 0083 and 0273 are other pairs."""
    names = ["test/fake_af1/0249.jpg", "train/fake_af1/0248.jpg", "test/fake_af1/0083.jpg", "test/fake_af1/0273.jpg"]
    paths = [shared_datasets / "sneakers-auth" / name for name in names]
    assert transformed_copy_pairs(paths, progress=False) == [(0, 1)]


def test_candidates_are_mirror_invariant_nearest_neighbours_above_the_cosine_floor() -> None:
    embeddings = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    mirrored = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # photo 1 is photo 0 mirrored
    assert candidate_pairs(embeddings, mirrored) == [(0, 1)]
