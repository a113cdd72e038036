"""The offline ImageNet backbone recognises photos that ship inside scikit-image; a random one does not."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from grading.intake import load_photo
from training.backbone import (
    EMBEDDING_DIM,
    FEATURE_CHANNELS,
    FEATURE_STRIDES,
    WEIGHTS_SHA256,
    BackboneVariant,
    WeightFileError,
    create_backbone,
    load_imagenet_state_dict,
    normalise,
    weights_path,
)

# ImageNet classes a person would accept for each photo.
EXPECTED_CLASSES = {
    "chelsea": {281, 282, 283, 284, 285},  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    "coffee": {967, 968, 504},  # espresso, cup, coffee mug
    "rocket": {657, 744, 812},  # missile, projectile, space shuttle
}


@pytest.fixture(scope="module")
def sample_batch() -> torch.Tensor:
    from skimage import data

    pixels = []
    for name in EXPECTED_CLASSES:
        buffer = io.BytesIO()
        Image.fromarray(getattr(data, name)()).save(buffer, "JPEG", quality=92)
        pixels.append(load_photo(buffer.getvalue()).pixels)
    return normalise(torch.from_numpy(np.stack(pixels)))


def top5_hits(model: torch.nn.Module, batch: torch.Tensor) -> list[bool]:
    with torch.inference_mode():
        top5 = model(batch).topk(5, dim=1).indices
    return [bool(set(row.tolist()) & expected) for row, expected in zip(top5, EXPECTED_CLASSES.values(), strict=True)]


@pytest.mark.slow
def test_imagenet_weights_put_the_right_class_in_the_top5(sample_batch: torch.Tensor) -> None:
    assert top5_hits(create_backbone(), sample_batch) == [True, True, True]


@pytest.mark.slow
def test_a_randomly_initialised_net_fails_the_same_check(sample_batch: torch.Tensor) -> None:
    torch.manual_seed(0)
    assert sum(top5_hits(create_backbone(pretrained=False), sample_batch)) == 0


@pytest.mark.slow
def test_feature_variant_gives_four_strides_with_the_documented_channels() -> None:
    features = create_backbone(BackboneVariant.FEATURES)(torch.zeros(1, 3, 224, 224))
    assert [f.shape[1] for f in features] == list(FEATURE_CHANNELS)
    assert [224 // f.shape[-1] for f in features] == list(FEATURE_STRIDES)


@pytest.mark.slow
def test_embedding_is_the_pooled_classifier_input(sample_batch: torch.Tensor) -> None:
    classifier, embedder = create_backbone(), create_backbone(BackboneVariant.EMBEDDING)
    with torch.inference_mode():
        embedding = embedder(sample_batch)
        logits = classifier.classifier(embedding)
        assert embedding.shape == (3, EMBEDDING_DIM)
        torch.testing.assert_close(logits, classifier(sample_batch), rtol=1e-4, atol=1e-4)


def test_every_source_key_is_renamed_onto_the_timm_model() -> None:
    import timm

    renamed = load_imagenet_state_dict()
    expected = timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict()
    assert set(renamed) == set(expected)
    assert all(renamed[key].shape == expected[key].shape for key in expected)


def test_an_altered_weight_file_is_refused_with_both_hashes(tmp_path: Path) -> None:
    altered = tmp_path / "weights.pth"
    shutil.copyfile(weights_path(), altered)
    with altered.open("r+b") as file:
        file.seek(1000)
        byte = file.read(1)
        file.seek(1000)
        file.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(WeightFileError) as refused:
        load_imagenet_state_dict(altered)
    assert str(altered) in str(refused.value) and WEIGHTS_SHA256 in str(refused.value)
    assert "has sha256 " in str(refused.value)


def test_a_missing_weight_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(WeightFileError, match="missing"):
        load_imagenet_state_dict(tmp_path / "absent.pth")
