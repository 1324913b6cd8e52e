"""Model directories: everything needed to transcribe, and nothing that needs unpickling.

The files are listed in asr.model.layout; this module writes and reads the PyTorch side of them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from asr.features.config import FeatureConfig
from asr.io import InputError, atomic_path, atomic_write_text, read_json_object, unknown_keys_error
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


# Top-level keys of config.json besides "model" and "features": records of where the weights came from.
CONFIG_RECORDS = {"trained", "averaged", "exported_from"}


def _section(path: Path, meta: dict, key: str, cls: type):
    """``cls(**meta[key])``, every problem (missing, unknown or ill-typed keys, bad values) an InputError naming
    the file and key."""
    data = meta.get(key)
    if not isinstance(data, dict):
        raise InputError(f"{path}: needs a {key!r} object ({cls.__name__} fields), got {data!r}")
    known = {f.name for f in fields(cls)}
    if set(data) - known:
        raise unknown_keys_error(f"{path}: {key}", set(data) - known, known)
    try:
        return cls(**data)
    except (TypeError, ValueError) as e:
        raise InputError(f"{path}: {key}: {e}") from None


def read_config_json(directory: str | os.PathLike) -> tuple[dict, ModelConfig, FeatureConfig]:
    """``(config dict, ModelConfig, FeatureConfig)`` of a model directory's config.json, checked key by key."""
    path = Path(directory) / CONFIG_JSON
    if not path.is_file():
        raise FileNotFoundError(f"{Path(directory)}: not a model directory (missing {CONFIG_JSON})")
    meta = read_json_object(path)
    unknown = set(meta) - {"model", "features"} - CONFIG_RECORDS
    if unknown:
        raise unknown_keys_error(str(path), unknown, {"model", "features"} | CONFIG_RECORDS)
    return meta, _section(path, meta, "model", ModelConfig), _section(path, meta, "features", FeatureConfig)


def _load_weights(d: Path, model: CTCModel) -> None:
    try:
        state = load_file(str(d / WEIGHTS))
    except Exception as e:  # SafetensorError (a Rust exception type), OSError  # noqa: BLE001
        raise InputError(f"{d / WEIGHTS}: not readable safetensors weights ({' '.join(str(e).split())}); "
                         "re-export the model (`asr export CHECKPOINT DIR`)") from None
    missing, unexpected = model.state_dict().keys() - state.keys(), state.keys() - model.state_dict().keys()
    if missing or unexpected:
        raise InputError(f"{d / WEIGHTS}: weights do not match {CONFIG_JSON}'s model (missing "
                         f"{sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")
    try:
        model.load_state_dict(state)
    except RuntimeError as e:  # shapes: config.json and the weights describe different models
        first = next((line.strip() for line in str(e).splitlines() if "size mismatch" in line), str(e))
        raise InputError(f"{d / WEIGHTS}: weights do not match {CONFIG_JSON}'s model ({first})") from None


def load_model_dir(directory: str | os.PathLike, device: str | torch.device = "cpu"):
    """Return ``(model (eval mode), FeatureConfig, tokenizer (char or BPE), config dict)``."""
    d = Path(directory)
    for name in (CONFIG_JSON, WEIGHTS, TOKENS):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{d}: not a model directory (missing {name})")
    meta, model_cfg, feature_cfg = read_config_json(d)
    tokenizer = load_tokenizer(d)
    if model_cfg.vocab_size != len(tokenizer):
        raise InputError(f"{d / TOKENS}: {len(tokenizer)} units, but {CONFIG_JSON}'s model has "
                         f"vocab_size={model_cfg.vocab_size} outputs")
    model = CTCModel(model_cfg)
    _load_weights(d, model)
    model.to(device).eval()
    return model, feature_cfg, tokenizer, meta


def load_model_meta(directory: str | os.PathLike):
    """``(FeatureConfig, tokenizer, config dict)`` without the weights (for a runner of ``model.onnx``)."""
    meta, _, feature_cfg = read_config_json(directory)
    return feature_cfg, load_tokenizer(directory), meta
