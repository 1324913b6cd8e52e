"""What the bad-input catalogue shares: a tiny model directory, spoken audio, and a builder of bad inputs.

The model is untrained (2 seconds to make, 30 kB): the catalogue checks messages, exit statuses and
outputs, not transcripts. Where a transcript must be compared (NaN samples repaired), the model
shipped in the package decodes, greedily.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from bad_inputs import SENTENCE, SR, Bench


@pytest.fixture(scope="session")
def assets(tmp_path_factory) -> dict[str, Path]:
    """``speech`` (a spoken sentence, 16 kHz float wav), ``model`` (a tiny untrained model directory),
    ``checkpoint`` (a training checkpoint of that model, for export)."""
    import torch

    from asr.data.synth import speak_to_file
    from asr.features.config import FeatureConfig
    from asr.model.ctc_model import CTCModel
    from asr.model.encoder import ModelConfig
    from asr.model.model_dir import save_model_dir
    from asr.text.units import CharTokenizer

    root = tmp_path_factory.mktemp("robustness_assets")
    speak_to_file(SENTENCE, root / "spoken.wav", voice="en-us+m3")
    wave, sr = sf.read(root / "spoken.wav", dtype="float32")
    assert sr == SR
    sf.write(root / "speech.wav", wave, SR, subtype="FLOAT")  # float: the format that can hold NaN
    torch.manual_seed(0)
    tokenizer = CharTokenizer()
    cfg = ModelConfig(hidden_size=16, num_layers=1, dropout=0.0, vocab_size=len(tokenizer))
    model = CTCModel(cfg)
    model.set_cmvn(np.zeros(80, np.float32), np.ones(80, np.float32))
    save_model_dir(root / "model", model, FeatureConfig(), tokenizer)
    config = {"model": json.loads((root / "model" / "config.json").read_text())["model"], "units": "char",
              "features": "on_the_fly", "feature_config": json.loads((root / "model" / "config.json").read_text())[
                  "features"]}
    torch.save({"model": model.state_dict(), "config": config, "position": {"epoch": 1, "step": 1}},
               root / "epoch-1.pt")
    return {"speech": root / "speech.wav", "model": root / "model", "checkpoint": root / "epoch-1.pt"}


@pytest.fixture
def bench(tmp_path, assets) -> Bench:
    return Bench(tmp_path, assets)
