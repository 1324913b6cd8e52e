"""What training writes for people to look at (rank 0 only), next to the checkpoints in ``exp_dir``:

    metrics.jsonl, metrics.csv   one record per epoch (train/dev loss, dev WER/CER, lr, seconds)
    steps.csv                    one row every ``log_interval`` steps (loss, lr, grad norm, frames/s)
    tensorboard/                 the same as TensorBoard scalars (if the tensorboard package is installed)
    curves.png                   loss, dev WER and learning rate, redrawn at the end of every epoch
                                 (at most every 30 s, and always after the last)

The epoch files are rewritten from the trainer's history each epoch and steps.csv is cut back to the
checkpoint's step on resume, so a resumed run leaves the same files as one that never stopped.
(Not called ``logging.py``: that would shadow the standard module for readers of this package.)
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import time
from pathlib import Path

from asr.io import atomic_path, atomic_write_text

log = logging.getLogger(__name__)

EPOCH_FIELDS = ("epoch", "step", "train_loss", "dev_loss", "dev_wer", "dev_cer", "lr", "epoch_seconds",
                "frames_per_second")
STEP_FIELDS = ("step", "epoch", "loss", "lr", "grad_norm", "frames_per_second")
PLOT_MIN_SECONDS = 30.0


class TrainLog:
    """Files and TensorBoard scalars of one run; every method is a no-op when ``enabled`` is false."""

    def __init__(self, exp_dir: str | os.PathLike, enabled: bool = True, tensorboard: bool = True,
                 plots: bool = True, resume_step: int | None = None):
        self.exp = Path(exp_dir)
        self.enabled = enabled
        self.plots = plots
        self.steps: list[dict] = []
        self._tb = None
        self._last_plot = -float("inf")
        if not enabled:
            return
        steps_csv = self.exp / "steps.csv"
        if resume_step is not None and steps_csv.is_file():
            with open(steps_csv, newline="") as f:
                self.steps = [{k: float(v) if v else None for k, v in row.items()} for row in csv.DictReader(f)
                              if int(row["step"]) <= resume_step]
        self._write_steps_csv()
        if resume_step is None:  # a fresh run: nothing of an earlier one may mix into its curves
            for name in ("metrics.jsonl", "metrics.csv", "curves.png"):
                (self.exp / name).unlink(missing_ok=True)
            shutil.rmtree(self.exp / "tensorboard", ignore_errors=True)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log.warning("tensorboard is not installed: no TensorBoard scalars (pip install tensorboard)")
            else:
                # purge_step drops events a killed run wrote after its last checkpoint.
                self._tb = SummaryWriter(str(self.exp / "tensorboard"),
                                         purge_step=None if resume_step is None else resume_step + 1)

    def _write_steps_csv(self) -> None:
        with open(self.exp / "steps.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=STEP_FIELDS)
            w.writeheader()
            for row in self.steps:
                w.writerow({k: _fmt(row.get(k)) for k in STEP_FIELDS})

    def step(self, row: dict) -> None:
        """``row`` has the STEP_FIELDS."""
        if not self.enabled:
            return
        self.steps.append(row)
        with open(self.exp / "steps.csv", "a", newline="") as f:
            csv.DictWriter(f, fieldnames=STEP_FIELDS).writerow({k: _fmt(row.get(k)) for k in STEP_FIELDS})
        if self._tb is not None:
            for k in ("loss", "lr", "grad_norm", "frames_per_second"):
                if row.get(k) is not None:
                    self._tb.add_scalar(f"train/{k}", row[k], int(row["step"]))

    def epoch(self, history: list[dict], final: bool = False) -> None:
        """Rewrite the epoch files from ``history`` (records with EPOCH_FIELDS) and redraw the curves."""
        if not self.enabled:
            return
        atomic_write_text(self.exp / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in history))
        with atomic_path(self.exp / "metrics.csv") as tmp, open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=EPOCH_FIELDS, extrasaction="ignore")
            w.writeheader()
            w.writerows({k: _fmt(r.get(k)) for k in EPOCH_FIELDS} for r in history)
        if self._tb is not None and history:
            r = history[-1]
            for k in ("train_loss", "dev_loss", "dev_wer", "dev_cer"):
                self._tb.add_scalar(f"epoch/{k}", r[k], r["step"])
            self._tb.flush()
        # Redrawing takes ~0.5 s: for epochs of seconds (tests, toy runs) not every time; always the last one.
        if self.plots and (final or time.monotonic() - self._last_plot >= PLOT_MIN_SECONDS):
            plot_curves(self.steps, history, self.exp / "curves.png")
            self._last_plot = time.monotonic()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def _fmt(v):
    return "" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)


def plot_curves(steps: list[dict], history: list[dict], out: Path) -> Path | None:
    """Three panels: training loss per logged step (+ train/dev loss per epoch), dev WER, learning rate."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display on training machines
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: no curves.png (pip install matplotlib)")
        return None
    fig, (ax_loss, ax_wer, ax_lr) = plt.subplots(1, 3, figsize=(15, 4))
    if steps:
        ax_loss.plot([s["step"] for s in steps], [s["loss"] for s in steps], lw=0.8, alpha=0.6, label="train (steps)")
    if history:
        x = [r["step"] for r in history]
        ax_loss.plot(x, [r["train_loss"] for r in history], "o-", label="train (epoch)")
        ax_loss.plot(x, [r["dev_loss"] for r in history], "s-", label="dev")
        ax_wer.plot([r["epoch"] for r in history], [100 * r["dev_wer"] for r in history], "o-", label="WER")
        ax_wer.plot([r["epoch"] for r in history], [100 * r["dev_cer"] for r in history], "s-", label="CER")
    ax_loss.set(xlabel="step", ylabel="CTC loss per utterance", title="loss")
    ax_loss.set_yscale("log")
    ax_wer.set(xlabel="epoch", ylabel="%", title="dev error rate (greedy)")
    if steps:
        ax_lr.plot([s["step"] for s in steps], [s["lr"] for s in steps])
    ax_lr.set(xlabel="step", ylabel="learning rate", title="learning rate")
    for ax in (ax_loss, ax_wer):
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=80, format="png")  # the temporary name has no .png to tell matplotlib
    plt.close(fig)
    return out
