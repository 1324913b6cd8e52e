"""``asr average``: average the weights of several epoch checkpoints into one model directory.

    asr average exp/synth/bilstm_ctc --last 3 exp/synth/bilstm_ctc/model_avg_last3
    asr average exp/synth/bilstm_ctc --best 3 exp/synth/bilstm_ctc/model_avg_best3

``--last N``: the N highest epochs; ``--best N``: the N epochs of lowest dev WER (as recorded in each
checkpoint); ``--last-checkpoints N``: the N newest checkpoints, step ones (``checkpoint_every_steps``)
included, one per step: the end of a long run's cosine decay, as icefall averages by iteration.
The output is a regular model directory (safetensors weights, config, tokens), made from
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


def select_checkpoints(exp_dir: str | os.PathLike, last: int = 0, best: int = 0,
                       last_checkpoints: int = 0) -> list[CheckpointInfo]:
    """Checkpoints of ``exp_dir``: the ``last`` newest epochs, the ``best`` epochs of lowest dev WER, or the
    ``last_checkpoints`` newest of any kind (exactly one of the three)."""
    if sum(n > 0 for n in (last, best, last_checkpoints)) != 1:
        raise ValueError("give exactly one of --last N, --best N and --last-checkpoints N (N > 0)")
    if last_checkpoints:
        by_step: dict[int, CheckpointInfo] = {}
        for c in list_checkpoints(exp_dir):  # oldest first; an epoch one after a step one of the same step
            by_step[c.step] = c
        if not by_step:
            raise FileNotFoundError(f"{exp_dir}: no checkpoints (epoch-N.pt, step-N.pt)")
        chosen = list(by_step.values())[-last_checkpoints:]
        if len(chosen) < last_checkpoints:
            log.warning("%s: asked for %d checkpoints, found %d", exp_dir, last_checkpoints, len(chosen))
        return chosen
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
                         best: int = 0, last_checkpoints: int = 0) -> Path:
    from asr.model.model_dir import load_model_dir, save_model_dir  # torch-only path above stays light

    chosen = select_checkpoints(exp_dir, last, best, last_checkpoints)
    model, feature_cfg, tokenizer, meta = load_model_dir(Path(exp_dir) / "model")
    model.load_state_dict(average_state_dicts([c.path for c in chosen]))
    selection = f"last {last}" if last else f"best {best}" if best else f"last {last_checkpoints} checkpoints"
    info = {"epochs": [c.epoch for c in chosen], "steps": [c.step for c in chosen],
            "dev_wer": [c.dev_wer for c in chosen], "selection": selection}
    extra = {k: v for k, v in meta.items() if k not in ("model", "features")}
    extra["averaged"] = info
    out = save_model_dir(out_dir, model, feature_cfg, tokenizer, extra=extra)
    log.info("averaged epochs %s -> %s", info["epochs"], out)
    return out
