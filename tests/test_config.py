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


def test_flags_come_from_the_dataclass():
    import argparse
    from dataclasses import dataclass

    from asr.config import add_config_arguments, config_from_args, option

    @dataclass
    class Stage:
        beam: int = option(50, help="beam width")
        grid: list[float] = option(default_factory=lambda: [0.5, 1.0], help="alpha grid")
        span: tuple[int, int] = option((130, 230), help="range", metavar="LO,HI")
        copy: bool = option(True, help="copy it")
        unit: str = option("word", help="unit", choices=("word", "char"))
        alpha: float = option(1.0, help="LM weight", flags=("--lm-weight",))

    p = argparse.ArgumentParser()
    add_config_arguments(p, Stage, unset=["alpha"])
    assert config_from_args(Stage, p.parse_args([])) == Stage()
    got = config_from_args(Stage, p.parse_args(["--grid", "2,3", "--span", "1,2", "--no-copy", "--unit", "char",
                                                "--lm-weight", "2.5", "--beam", "7"]))
    assert got == Stage(beam=7, grid=[2.0, 3.0], span=(1, 2), copy=False, unit="char", alpha=2.5)
    assert p.parse_args([]).alpha is None  # unset: the caller decides
    for bad in (["--span", "1,2,3"], ["--grid", "x"], ["--unit", "phone"], ["--beam", "1.5"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)
    with pytest.raises(ValueError, match="no field"):
        add_config_arguments(argparse.ArgumentParser(), Stage, only=["nope"])
