"""Stage configs: YAML file, then key=value overrides, with YAML 1.1's surprises handled."""

import pytest

from asr.config import ConfigError, load_config
from asr.train.trainer import TrainConfig


def test_overrides_update_yaml_and_nested_sections(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("epochs: 3\nlr: 3e-3\nmodel:\n  hidden_size: 64\n")
    cfg = load_config(TrainConfig, path, ["model.num_layers=2", "epochs=5"])
    assert (cfg.epochs, cfg.lr, cfg.model.hidden_size, cfg.model.num_layers) == (5, 3e-3, 64, 2)


def test_off_is_a_string_for_string_fields():
    # YAML 1.1 reads a bare `off` as False; amp=off must still mean full precision.
    assert load_config(TrainConfig, None, ["amp=off"]).amp == "off"


def test_bad_values_name_the_key():
    with pytest.raises(ConfigError, match="epochs must be a number"):
        load_config(TrainConfig, None, ["epochs=two"])
    with pytest.raises(ConfigError, match="max_frames must be an integer"):
        load_config(TrainConfig, None, ["max_frames=2.5"])
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(TrainConfig, None, ["epoch=2"])
