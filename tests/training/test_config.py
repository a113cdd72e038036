"""Configuration: defaults < file < overrides, typed, written out."""

from __future__ import annotations

from pathlib import Path

import pytest

from grading.intake import Framing, Preprocessing
from training.config import ConfigError, TrainConfig, load_config, save_config


def test_file_overrides_defaults_and_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("epochs: 7\nlearning_rate: 0.01\nmanifests: [a.jsonl]\n")
    config = load_config(path, ["epochs=9", "max_photos_per_manifest=50"])
    assert (config.epochs, config.learning_rate, config.manifests) == (9, 0.01, ("a.jsonl",))
    assert config.max_photos_per_manifest == 50
    assert config.batch_size == TrainConfig().batch_size


def test_framing_is_checked_and_reaches_intake() -> None:
    assert load_config(None, ["framing=whole"]).preprocessing() == Preprocessing(framing=Framing.WHOLE)
    assert TrainConfig().preprocessing().framing is Framing.CENTRE_CROP
    with pytest.raises(ConfigError, match=r"framing.*whole"):
        load_config(None, ["framing=letterbox"])


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    config = load_config(None, ["epochs=3", "manifests=[x.jsonl, y.jsonl]"])
    save_config(config, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == config


@pytest.mark.parametrize(
    ("override", "message"),
    [("epoch=3", "valid keys"), ("epochs=many", "needs int"), ("epochs", "key=value"), ("loss_weights=3", "mapping")],
)
def test_bad_overrides_say_what_is_wrong(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["manifests=[a.jsonl]", "manifest_weights={b.jsonl: 2}"], "not in manifests"),
        (["manifests=[a.jsonl]", "manifest_weights={a.jsonl: 1.5}"], "whole number"),
        (["manifests=[a.jsonl]", "manifest_weights={a.jsonl: 0}"], "whole number"),
        (["condition_from=b", "heads_from=b"], "not both"),
    ],
)
def test_weights_and_bundles_to_build_on_are_checked(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)
