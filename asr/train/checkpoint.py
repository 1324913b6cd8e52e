"""Training checkpoints that resume exactly: same weights, bit for bit, as a run that was never stopped.

A checkpoint is one ``torch.save`` file, loadable with ``weights_only=True`` (no arbitrary unpickling):

    model, optimizer, scheduler, scaler   state dicts (scaler: None unless fp16)
    position   {"epoch": e, "batch": b, "step": k}: the next batch to train is batch b of epoch e,
               after k optimizer steps (the batch plan is a function of seed and epoch, so (e, b) is enough)
    rng        random-number states of every rank: python, numpy, torch CPU and CUDA generators
    trainer    the trainer's own bookkeeping (best dev WER, history, counters, running epoch sums)
    metrics    the epoch's dev results (epoch checkpoints only)
    config     the resolved TrainConfig, as a dict

Names: ``epoch-N.pt`` at the end of epoch N (after its dev evaluation) and ``step-K.pt`` every
``checkpoint_every_steps`` steps inside an epoch. Writes go to a temporary file that is fsynced and
then renamed, so a run killed at any moment leaves only complete checkpoints behind.
"""

from __future__ import annotations

import logging
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asr.io import InputError, atomic_path

log = logging.getLogger(__name__)

FORMAT = 1
_NAME = re.compile(r"^(epoch|step)-(\d+)\.pt$")
_TMP = re.compile(r"^(epoch|step)-\d+\.pt(\.\d+)?\.tmp$")  # left by a killed save (asr.io.atomic_path names)


@dataclass
class CheckpointInfo:
    path: Path
    kind: str  # epoch | step
    step: int  # optimizer steps done
    epoch: int  # epoch in progress (step checkpoints) or finished (epoch checkpoints)
    dev_wer: float | None  # epoch checkpoints only


def rng_state(cuda: bool) -> dict:
    """Every random-number state this process draws from, as tensors and plain values (weights_only-safe)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {"name": name, "keys": torch.from_numpy(np.array(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if cuda else [],
    }


def set_rng_state(state: dict) -> None:
    random.setstate(tuple(x if not isinstance(x, list) else tuple(x) for x in state["python"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` atomically: temporary file, fsync, rename (asr.io.atomic_path)."""
    path = Path(path)
    with atomic_path(path, fsync=True) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)
    return path


def load_checkpoint(path: str | os.PathLike, mmap: bool = False) -> dict:
    """Load on the CPU; ``mmap`` maps tensor data instead of reading it (for looking at metadata).

    A file that does not load (truncated, not a checkpoint, or with pickled objects other than
    tensors, which ``weights_only`` refuses to run) is an InputError naming it.
    """
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as e:  # UnpicklingError, RuntimeError (zip), EOFError... depending on the damage  # noqa: BLE001
        raise InputError(f"{path}: not a loadable checkpoint ({type(e).__name__}: "
                         f"{' '.join(str(e).split())[:200]})") from None
    if not isinstance(ck, dict):
        raise InputError(f"{path}: not a training checkpoint (holds a {type(ck).__name__}, not a dict)")
    return ck


def unloadable_checkpoints(exp_dir: str | os.PathLike) -> list[str]:
    """Names of the checkpoint files in ``exp_dir`` that cannot be resumed from (list_checkpoints logs why)."""
    usable = {c.path for c in list_checkpoints(exp_dir)}
    return [f"{p.name}" for p in sorted(Path(exp_dir).glob("*.pt")) if _NAME.match(p.name) and p not in usable]


def list_checkpoints(exp_dir: str | os.PathLike) -> list[CheckpointInfo]:
    """Complete checkpoints in ``exp_dir``, oldest first (by step; an epoch checkpoint after a step one)."""
    out = []
    for p in Path(exp_dir).glob("*.pt"):
        m = _NAME.match(p.name)
        if not m:
            continue
        try:
            ck = load_checkpoint(p, mmap=True)
        except Exception as e:  # a truncated or foreign file must not stop a resume
            log.warning("%s: not a readable checkpoint (%s); ignored", p, e)
            continue
        if "position" not in ck:
            log.warning("%s: written by an older version (no position); ignored for resuming", p)
            continue
        pos = ck["position"]
        epoch = pos["epoch"] - 1 if m.group(1) == "epoch" else pos["epoch"]
        wer = ck.get("metrics", {}).get("dev_wer") if m.group(1) == "epoch" else None
        out.append(CheckpointInfo(p, m.group(1), int(pos["step"]), int(epoch), wer))
    return sorted(out, key=lambda c: (c.step, c.kind == "epoch"))


def latest_checkpoint(exp_dir: str | os.PathLike) -> CheckpointInfo | None:
    found = list_checkpoints(exp_dir)
    return found[-1] if found else None


def prune_checkpoints(exp_dir: str | os.PathLike, keep_last: int, keep_best: int = 0) -> list[Path]:
    """Delete all checkpoints but the ``keep_last`` newest and the ``keep_best`` epoch ones of lowest dev WER.

    ``keep_last <= 0`` keeps everything. Returns the deleted paths.
    """
    if keep_last <= 0:
        return []
    found = list_checkpoints(exp_dir)
    keep = {c.path for c in found[-keep_last:]}
    scored = [c for c in found if c.kind == "epoch" and c.dev_wer is not None]
    # Lowest WER first; among equals the later epoch, as the exported model prefers it.
    keep |= {c.path for c in sorted(scored, key=lambda c: (c.dev_wer, -c.step))[:max(0, keep_best)]}
    deleted = []
    for c in found:
        if c.path not in keep:
            c.path.unlink(missing_ok=True)
            deleted.append(c.path)
    return deleted


def remove_checkpoints(exp_dir: str | os.PathLike) -> int:
    """Delete every ``epoch-N.pt`` / ``step-K.pt`` (and leftover temporaries) of ``exp_dir``; return the count."""
    n = 0
    for p in Path(exp_dir).iterdir():
        if _NAME.match(p.name) or _TMP.match(p.name):
            p.unlink(missing_ok=True)
            n += 1
    return n
