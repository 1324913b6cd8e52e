"""``asr average``: average the weights of several epoch checkpoints into one model directory.

    asr average exp/synth/bilstm_ctc --last 3 exp/synth/bilstm_ctc/model_avg_last3
    asr average exp/synth/bilstm_ctc --best 3 exp/synth/bilstm_ctc/model_avg_best3

``--last N``: the N highest epochs; ``--best N``: the N epochs of lowest dev WER (as recorded in each
checkpoint). The output is a regular model directory (safetensors weights, config, tokens), made from
``<exp_dir>/model`` (the exported best model) with its weights replaced by the average, so anything
that reads model directories (decode, transcribe, export) reads it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from asr.train.checkpoint import CheckpointInfo, list_checkpoints, load_checkpoint

log = logging.getLogger(__name__)


def select_checkpoints(exp_dir: str | os.PathLike, last: int = 0, best: int = 0) -> list[CheckpointInfo]:
    """Epoch checkpoints of ``exp_dir``: the ``last`` newest, or the ``best`` of lowest dev WER (one of the two)."""
    if (last > 0) == (best > 0):
        raise ValueError("give exactly one of --last N and --best N (N > 0)")
    epochs = [c for c in list_checkpoints(exp_dir) if c.kind == "epoch"]
    if not epochs:
        raise FileNotFoundError(f"{exp_dir}: no epoch checkpoints (epoch-N.pt)")
    if last:
        chosen = sorted(epochs, key=lambda c: c.epoch)[-last:]
    else:
        scored = [c for c in epochs if c.dev_wer is not None]
        chosen = sorted(scored, key=lambda c: (c.dev_wer, -c.epoch))[:best]
    n = last or best
    if len(chosen) < n:
        log.warning("%s: asked for %d checkpoints, found %d", exp_dir, n, len(chosen))
    return sorted(chosen, key=lambda c: c.epoch)


def average_state_dicts(paths: list[Path]) -> dict[str, torch.Tensor]:
    """Element-wise mean of the ``model`` state dicts (accumulated in float64); non-float tensors from the last."""
    total: dict[str, torch.Tensor] = {}
    for p in paths:
        state = load_checkpoint(p)["model"]
        for k, v in state.items():
            if v.is_floating_point():
                total[k] = total[k] + v.double() if k in total else v.double()
            else:
                total[k] = v
    ref = load_checkpoint(paths[-1], mmap=True)["model"]
    return {k: (v / len(paths)).to(ref[k].dtype) if ref[k].is_floating_point() else v for k, v in total.items()}


def average_to_model_dir(exp_dir: str | os.PathLike, out_dir: str | os.PathLike, last: int = 0,
                         best: int = 0) -> Path:
    from asr.model.model_dir import load_model_dir, save_model_dir  # torch-only path above stays light

    chosen = select_checkpoints(exp_dir, last, best)
    model, feature_cfg, tokenizer, meta = load_model_dir(Path(exp_dir) / "model")
    model.load_state_dict(average_state_dicts([c.path for c in chosen]))
    info = {"epochs": [c.epoch for c in chosen], "dev_wer": [c.dev_wer for c in chosen],
            "selection": f"last {last}" if last else f"best {best}"}
    extra = {k: v for k, v in meta.items() if k not in ("model", "features")}
    extra["averaged"] = info
    out = save_model_dir(out_dir, model, feature_cfg, tokenizer, extra=extra)
    log.info("averaged epochs %s -> %s", info["epochs"], out)
    return out
