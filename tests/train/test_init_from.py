"""``init_from``: training starts from a model directory's weights (how the streaming model is made)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from asr.model.encoder import ModelConfig
from asr.train.trainer import TrainConfig, Trainer


def _cfg(overfit_run, tmp_path, **model) -> TrainConfig:
    data = overfit_run["data"]
    return TrainConfig(exp_dir=str(tmp_path / "exp"), train_data=str(data), train_feats=str(data.parent / "feats"),
                       dev_data=str(data), dev_feats=str(data.parent / "feats"),
                       init_from=str(overfit_run["model_dir"]), epochs=1, plots=False, tensorboard=False,
                       model=ModelConfig(hidden_size=128, num_layers=2, dropout=0.0, **model))


def test_the_weights_are_the_model_directorys(overfit_run, tmp_path):
    trainer = Trainer(_cfg(overfit_run, tmp_path, chunk_size=4, right_context=2))
    source = load_file(str(overfit_run["model_dir"] / "model.safetensors"))
    for name, value in trainer.model.state_dict().items():
        assert torch.equal(value, source[name].float()), name


def test_a_different_shape_is_refused_by_name(overfit_run, tmp_path):
    with pytest.raises(ValueError, match=r"init_from .*does not match.*weight_ih_l0"):
        Trainer(TrainConfig(**{**_cfg(overfit_run, tmp_path).__dict__,
                               "model": ModelConfig(hidden_size=64, num_layers=2, dropout=0.0)}))
    with pytest.raises(FileNotFoundError, match="init_from"):
        Trainer(TrainConfig(**{**_cfg(overfit_run, tmp_path).__dict__, "init_from": str(tmp_path)}))
