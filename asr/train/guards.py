"""Failures that should show up early and clearly: non-finite losses, and batches that do not fit in memory.

(The third guard, dropping utterances whose labels cannot fit their subsampled frames, is in
``asr.train.trainer.load_split``: it needs the tokenizer and writes ``dropped_utts.txt``.)
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import torch

log = logging.getLogger(__name__)


class TrainingAborted(RuntimeError):
    """Training stopped on purpose, with a message that says why and what to change (no traceback needed)."""


class NonFiniteLossError(TrainingAborted):
    """Too many consecutive steps had a NaN/inf loss or gradient: training cannot recover by skipping."""


class BatchTooLargeError(TrainingAborted):
    """The largest batch does not fit in memory."""


class NonFiniteGuard:
    """Counts skipped steps; names their utterances in the log and in ``<exp_dir>/nonfinite_steps.txt``.

    A single bad step (one corrupt utterance, one unlucky spike) is skipped and training goes on;
    ``max_consecutive`` bad steps in a row mean the model or the data is broken, and the run stops.
    """

    def __init__(self, max_consecutive: int, exp_dir: str | Path | None = None, rank: int = 0):
        self.max_consecutive = max_consecutive
        self.path = Path(exp_dir) / "nonfinite_steps.txt" if exp_dir is not None else None
        self.rank = rank
        self.consecutive = 0
        self.total = 0

    def update(self, bad: bool, step: int, utts: list[str], local_loss: float, grad_norm: float) -> None:
        """Record one step's outcome; raise NonFiniteLossError after ``max_consecutive`` bad ones."""
        if not bad:
            self.consecutive = 0
            return
        self.consecutive += 1
        self.total += 1
        log.warning("step %d skipped: loss %s (this rank's batch), grad norm %s; utterances on rank %d: %s",
                    step, local_loss, grad_norm, self.rank, " ".join(utts[:20]) + (" ..." if len(utts) > 20 else ""))
        if self.path is not None:
            with open(self.path, "a") as f:  # one line per rank and step, appended: ranks may share the file
                f.write(f"step={step} rank={self.rank} loss={local_loss} grad_norm={grad_norm} utts={','.join(utts)}\n")
        if self.max_consecutive and self.consecutive >= self.max_consecutive:
            raise NonFiniteLossError(
                f"{self.consecutive} consecutive steps had a non-finite loss or gradient (last: step {step}); "
                f"stopping. Utterances of the skipped batches are in {self.path}. Usual causes: a learning rate "
                f"too high for the model (lower lr or raise warmup_steps), fp16 overflow (try amp=bf16 or amp=off), "
                f"or corrupt features (check them with `asr validate-data` and re-extract).")

    def state_dict(self) -> dict:
        return {"consecutive": self.consecutive, "total": self.total}

    def load_state_dict(self, state: dict) -> None:
        self.consecutive, self.total = int(state["consecutive"]), int(state["total"])


def worst_case_batches(batches: list[list[int]], lengths: list[int]) -> list[list[int]]:
    """The batches that need the most memory: most padded frames (B x T_max), and most real frames (packed).

    One or two batches of ``batches`` (lists of dataset indices), without duplicates.
    """
    if not batches:
        return []
    padded = max(batches, key=lambda b: len(b) * max(lengths[i] for i in b))
    packed = max(batches, key=lambda b: sum(lengths[i] for i in b))
    return [padded] if packed is padded else [padded, packed]


def _is_oom(e: BaseException) -> bool:
    if isinstance(e, torch.OutOfMemoryError):
        return True
    msg = str(e).lower()
    return isinstance(e, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg)


def probe_memory(model: torch.nn.Module, batches: list[dict], loss_fn, device: torch.device, autocast,
                 max_frames: int) -> int:
    """Forward + backward of each (collated) batch, then drop the gradients; return peak GPU bytes (0 on CPU).

    Runs before training so that an out-of-memory error comes in the first minute, with advice, instead
    of hours in when the bucket of longest utterances first comes up. Random states are left untouched
    (dropout draws happen inside ``fork_rng``), so probing does not change the training run.
    ``loss_fn(log_probs, out_lens, batch) -> scalar``; ``autocast`` a context factory.
    """
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    no_sync = getattr(model, "no_sync", contextlib.nullcontext)  # DDP: no gradient all-reduce for the probe
    for batch in batches:
        shape = tuple(batch["feats"].shape)
        try:
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), no_sync():
                with autocast():
                    log_probs, out_lens = model(batch["feats"].to(device), batch["feat_lens"])
                loss_fn(log_probs, out_lens.cpu(), batch).backward()
        except Exception as e:
            if not _is_oom(e):
                raise
            model.zero_grad(set_to_none=True)
            raise BatchTooLargeError(
                f"out of memory on {device} in forward+backward of the largest batch ({shape[0]} utterances x "
                f"{shape[1]} frames): lower max_frames (now {max_frames}; try max_frames={max_frames // 2}) "
                f"or the model size") from e
    model.zero_grad(set_to_none=True)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
        total = torch.cuda.get_device_properties(device).total_memory
        log.info("worst-case batches fit: peak %.2f GiB of %.1f GiB on %s", peak / 2**30, total / 2**30, device)
        return peak
    return 0
