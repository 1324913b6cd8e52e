"""A model directory from a training checkpoint, and/or its ONNX network (``asr export``, asr.model.commands).

    asr export exp/x/bilstm_ctc/epoch-3.pt exp/x/model-epoch3          # checkpoint -> model directory
    asr export exp/x/bilstm_ctc/epoch-3.pt exp/x/model-epoch3 --onnx   # ... plus model.onnx
    asr export exp/x/bilstm_ctc/model --onnx                           # model.onnx into an existing one

A checkpoint (``torch.save`` dict with ``model``, ``config`` and optimizer state) is read with
``weights_only=True``: tensors and plain containers only, never arbitrary pickled objects. The
model directory needs three things a checkpoint does not hold directly:

- the feature configuration: the training config's ``feature_config`` for on-the-fly features,
  else ``<train_feats>/feature_config.json`` of the store it trained on (``--feature-config``
  overrides); a relative ``train_feats`` is tried from the current directory and then from each
  directory above the checkpoint (training ran from the repository root);
- the output units: ``tokenizer_dir`` of the training config, or the built-in characters;
- CMVN: nothing to do, it is in the model state as buffers.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import torch

from asr.features.config import FeatureConfig
from asr.features.store import CONFIG_FILE as STORE_CONFIG
from asr.io import InputError, file_sha256
from asr.model.ctc_model import CTCModel
from asr.model.encoder import ModelConfig
from asr.model.layout import CONFIG_JSON, ONNX_MODEL, WEIGHTS
from asr.model.model_dir import load_model_dir, save_model_dir
from asr.model.onnx_model import WEIGHTS_DIGEST_KEY, export_onnx
from asr.text.tokenizer import build_tokenizer

log = logging.getLogger(__name__)


def _find(relative: str, checkpoint: Path, what: str) -> Path:
    """A path from the training config: as given, or relative to a directory above the checkpoint."""
    p = Path(relative)
    candidates = [p] if p.is_absolute() else [p, *(d / p for d in checkpoint.resolve().parents)]
    for c in candidates:
        if c.exists():
            return c
    raise FileNotFoundError(f"{what} {relative!r} of the training config not found (tried from the current "
                            f"directory and above {checkpoint}); give it with --feature-config / --tokenizer-dir")


def checkpoint_model(path: str | os.PathLike, feature_config: str | os.PathLike | None = None,
                     tokenizer_dir: str | os.PathLike | None = None):
    """``(CTCModel (eval, CPU), FeatureConfig, tokenizer, info dict)`` from a training checkpoint."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError, RuntimeError (zip), EOFError... depending on the damage  # noqa: BLE001
        raise InputError(f"{path}: not a loadable checkpoint ({type(e).__name__}: "
                         f"{' '.join(str(e).split())[:200]})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise ValueError(f"{path}: not a training checkpoint (needs 'model' and 'config')")
    cfg = ckpt["config"]
    if feature_config:
        meta = json.loads(Path(feature_config).read_text())
        feat_cfg = FeatureConfig(**meta.get("feature", meta))  # a store's feature_config.json, or a bare config
    elif cfg.get("features", "stored") == "on_the_fly":
        feat_cfg = FeatureConfig(**cfg["feature_config"])
    else:
        store = _find(cfg["train_feats"], path, "train_feats")
        feat_cfg = FeatureConfig(**json.loads((store / STORE_CONFIG).read_text())["feature"])
    units, tok_dir = cfg.get("units", "char"), tokenizer_dir or cfg.get("tokenizer_dir", "")
    tokenizer = build_tokenizer(units, _find(str(tok_dir), path, "tokenizer_dir") if tok_dir else "")
    model_cfg = ModelConfig(**cfg["model"])
    if model_cfg.vocab_size != len(tokenizer):
        raise ValueError(f"{path}: the model has {model_cfg.vocab_size} outputs but the units have {len(tokenizer)}")
    model = CTCModel(model_cfg)
    model.load_state_dict(ckpt["model"])
    position = ckpt.get("position", {})
    info = {"checkpoint": str(path), "epoch": ckpt.get("epoch", position.get("epoch")),
            "step": ckpt.get("step", position.get("step"))}
    return model.eval(), feat_cfg, tokenizer, info


def export(src: str | os.PathLike, out_dir: str | os.PathLike | None = None, onnx: bool = False,
           feature_config: str | None = None, tokenizer_dir: str | None = None) -> Path:
    """Checkpoint or model directory ``src`` -> model directory ``out_dir`` (default: ``src`` if a directory)."""
    src = Path(src)
    if src.is_dir():
        out = Path(out_dir) if out_dir else src
        if out.resolve() != src.resolve():
            shutil.copytree(src, out, dirs_exist_ok=True)
        if not onnx:
            log.warning("%s is already a model directory; nothing to do without --onnx", src)
        model = load_model_dir(out)[0]
    elif src.is_file():
        if out_dir is None:
            raise ValueError("exporting a checkpoint needs an output directory")
        model, feat_cfg, tokenizer, info = checkpoint_model(src, feature_config, tokenizer_dir)
        out = save_model_dir(out_dir, model, feat_cfg, tokenizer, extra={"exported_from": info})
        (out / ONNX_MODEL).unlink(missing_ok=True)  # it would belong to other weights
    else:
        raise FileNotFoundError(f"{src}: no such checkpoint or model directory")
    if onnx:
        export_onnx(model, out / ONNX_MODEL, metadata={WEIGHTS_DIGEST_KEY: file_sha256(out / WEIGHTS),
                                                       "config": (out / CONFIG_JSON).read_text()})
    return out
