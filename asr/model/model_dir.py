"""Model directories: everything needed to transcribe, and nothing that needs unpickling.

The files are listed in asr.model.layout; this module writes and reads the PyTorch side of them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from asr.features.config import FeatureConfig
from asr.io import atomic_path, atomic_write_text
from asr.model.ctc_model import CTCModel
from asr.model.encoder import ModelConfig
from asr.model.layout import CONFIG_JSON, TOKENS, WEIGHTS
from asr.text.bpe import BPE_MODEL
from asr.text.tokenizer import Tokenizer, load_tokenizer

__all__ = ["CONFIG_JSON", "TOKENS", "WEIGHTS", "save_model_dir", "load_model_dir", "load_model_meta"]


def save_model_dir(directory: str | os.PathLike, model: CTCModel, feature_cfg: FeatureConfig,
                   tokenizer: Tokenizer, extra: dict | None = None) -> Path:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(d / WEIGHTS) as tmp:
        save_file(state, str(tmp))
    (d / BPE_MODEL).unlink(missing_ok=True)  # a stale one would turn a char model into BPE on load
    tokenizer.save(d / TOKENS)
    meta = {"model": asdict(model.cfg), "features": asdict(feature_cfg), **(extra or {})}
    atomic_write_text(d / CONFIG_JSON, json.dumps(meta, indent=2) + "\n")
    return d


def load_model_dir(directory: str | os.PathLike, device: str | torch.device = "cpu"):
    """Return ``(model (eval mode), FeatureConfig, tokenizer (char or BPE), config dict)``."""
    d = Path(directory)
    for name in (CONFIG_JSON, WEIGHTS, TOKENS):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{d}: not a model directory (missing {name})")
    meta = json.loads((d / CONFIG_JSON).read_text())
    model = CTCModel(ModelConfig(**meta["model"]))
    model.load_state_dict(load_file(str(d / WEIGHTS)))
    model.to(device).eval()
    return model, FeatureConfig(**meta["features"]), load_tokenizer(d), meta


def load_model_meta(directory: str | os.PathLike):
    """``(FeatureConfig, tokenizer, config dict)`` without the weights (for a runner of ``model.onnx``)."""
    d = Path(directory)
    if not (d / CONFIG_JSON).is_file():
        raise FileNotFoundError(f"{d}: not a model directory (missing {CONFIG_JSON})")
    meta = json.loads((d / CONFIG_JSON).read_text())
    return FeatureConfig(**meta["features"]), load_tokenizer(d), meta
