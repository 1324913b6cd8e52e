"""Exact resume: a run killed with SIGKILL at a random step, then resumed, ends with the same weights, bit for bit."""

import json
import os
import random
import re
import signal
import subprocess

import torch
from train_helpers import asr_popen

from asr.train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint

# Dropout, SpecAugment (incl. time warp) and mid-epoch checkpoints: every random state must come back.
EXTRA = ["epochs=2", "checkpoint_every_steps=2", "keep_last=3", "log_interval=1", "model.dropout=0.3",
         "specaug.freq_masks=1", "specaug.time_masks=1", "specaug.time_warp=2"]


def test_sigkill_at_random_step_then_resume_is_bit_identical(small_run_args, tmp_path):
    ref_log, cut_log = open(tmp_path / "ref.log", "w"), open(tmp_path / "cut.log", "w")
    ref = asr_popen(["train", *small_run_args(tmp_path / "ref", *EXTRA)], stderr=ref_log)
    cut = asr_popen(["train", *small_run_args(tmp_path / "cut", *EXTRA)], stderr=subprocess.PIPE)
    kill_at = None
    for line in cut.stderr:
        cut_log.write(line)
        if m := re.search(r"(\d+) steps/epoch", line):
            # Anywhere from just after the first checkpoint to the second epoch's last steps.
            kill_at = random.randint(3, 2 * int(m.group(1)) - 3)
        if kill_at and (m := re.search(r" step (\d+):", line)) and int(m.group(1)) >= kill_at:
            os.kill(cut.pid, signal.SIGKILL)
            break
    cut.wait(timeout=60)
    cut_log.close()
    assert kill_at is not None and cut.returncode == -signal.SIGKILL, (tmp_path / "cut.log").read_text()[-2000:]
    before = latest_checkpoint(tmp_path / "cut")
    assert before is not None and before.step >= 2  # (the run may have got a step or two past kill_at)

    resumed = asr_popen(["train", *small_run_args(tmp_path / "cut", *EXTRA, "resume=true")],
                        stderr=subprocess.PIPE)
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err[-3000:]
    assert f"resuming from {before.path}" in err
    assert ref.wait(timeout=120) == 0, (tmp_path / "ref.log").read_text()[-3000:]

    a, b = load_checkpoint(tmp_path / "ref" / "epoch-2.pt"), load_checkpoint(tmp_path / "cut" / "epoch-2.pt")
    assert a["position"] == b["position"]
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), f"{k} differs after resuming (killed at step {kill_at})"
    for pa, pb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True):
        assert all(torch.equal(pa[k], pb[k]) for k in pa)
    # The metrics files agree too (apart from timings), and old checkpoints were pruned to keep_last.
    ma = [json.loads(x) for x in (tmp_path / "ref" / "metrics.jsonl").read_text().splitlines()]
    mb = [json.loads(x) for x in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    timing = ("epoch_seconds", "frames_per_second")
    assert [{k: v for k, v in r.items() if k not in timing} for r in ma] == \
           [{k: v for k, v in r.items() if k not in timing} for r in mb]
    assert len(list_checkpoints(tmp_path / "cut")) <= 3
    assert (tmp_path / "cut" / "model" / "model.safetensors").is_file()
