"""A short real run and what it leaves: logs, curves, TensorBoard, pruned checkpoints, averaging, guards."""

import csv
import json

import pytest
import torch
from safetensors.torch import load_file

from asr.cli import main as asr_main
from asr.train.batching import CTCDataset
from asr.train.checkpoint import load_checkpoint

IN_PROCESS = "num_threads=0"  # leave the test process's thread count alone


def test_logs_checkpoints_and_averaging(small_run_args, tmp_path):
    exp = tmp_path / "exp"
    rc = asr_main(["train", *small_run_args(exp, "epochs=3", "keep_last=2", "keep_best=1", "log_interval=2",
                                            "tensorboard=true", "plots=true", IN_PROCESS)])
    assert rc == 0
    rows = list(csv.DictReader(open(exp / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3] and float(rows[-1]["dev_wer"]) >= 0
    assert len((exp / "metrics.jsonl").read_text().splitlines()) == 3
    steps = list(csv.DictReader(open(exp / "steps.csv")))
    assert steps and all(int(s["step"]) % 2 == 0 for s in steps) and float(steps[-1]["lr"]) > 0
    assert list((exp / "tensorboard").glob("events.out.tfevents.*"))
    assert (exp / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (exp / "dropped_utts.txt").is_file()  # written even when nothing was dropped

    history = [json.loads(x) for x in (exp / "metrics.jsonl").read_text().splitlines()]
    best = min(range(3), key=lambda i: (history[i]["dev_wer"], -i)) + 1
    kept = sorted(p.name for p in exp.glob("*.pt"))
    assert kept == sorted({"epoch-2.pt", "epoch-3.pt", f"epoch-{best}.pt"})

    assert asr_main(["average", str(exp), "--last", "2", str(tmp_path / "avg")]) == 0
    avg = load_file(str(tmp_path / "avg" / "model.safetensors"))
    e2, e3 = (load_checkpoint(exp / f"epoch-{e}.pt")["model"] for e in (2, 3))
    for k, v in avg.items():
        torch.testing.assert_close(v, (e2[k].double() + e3[k].double()).div(2).float())
    meta = json.loads((tmp_path / "avg" / "config.json").read_text())
    assert meta["averaged"]["epochs"] == [2, 3]
    assert asr_main(["average", str(exp), "--best", "1", str(tmp_path / "best")]) == 0
    best_ck = load_checkpoint(exp / f"epoch-{best}.pt")["model"]
    assert all(torch.equal(v, best_ck[k]) for k, v in load_file(str(tmp_path / "best" / "model.safetensors")).items())
    # The averaged directory is a model directory like any other.
    from asr.transcribe import load_model

    assert load_model(tmp_path / "avg") is not None


def test_early_stopping(small_run_args, tmp_path):
    from asr.config import load_config
    from asr.train.trainer import TrainConfig, train

    # lr=1e-12: dev WER never improves after epoch 1, so patience 1 stops after epoch 2 (lr=0 is refused).
    cfg = load_config(TrainConfig, None, small_run_args(tmp_path, "epochs=5", "lr=1e-12", "early_stop_patience=1",
                                                        "max_frames=6000", IN_PROCESS))
    result = train(cfg)
    assert result["stopped"] == "early_stop" and len(result["history"]) == 2


def test_nan_losses_stop_the_run_with_the_utterances(small_run_args, tmp_path, monkeypatch, caplog):
    real = CTCDataset.__getitem__

    def poisoned(self, i):
        u, feats, targets = real(self, i)
        feats[3, 5] = float("nan")
        return u, feats, targets

    monkeypatch.setattr(CTCDataset, "__getitem__", poisoned)
    rc = asr_main(["train", *small_run_args(tmp_path, "max_bad_steps=3", "probe_memory=false", IN_PROCESS)])
    assert rc == 1
    assert "3 consecutive steps had a non-finite loss or gradient" in caplog.text
    lines = (tmp_path / "nonfinite_steps.txt").read_text().splitlines()
    assert len(lines) == 3 and all("utts=" in x and "loss=nan" in x for x in lines)


def test_fractional_epochs_end_the_last_epoch_and_the_schedule_early(small_run_args, tmp_path):
    exp = tmp_path / "exp"
    assert asr_main(["train", *small_run_args(exp, "epochs=1.5", "log_interval=1", "final_lr_ratio=0.1",
                                            "plots=false", "tensorboard=false", IN_PROCESS)]) == 0
    history = [json.loads(x) for x in (exp / "metrics.jsonl").read_text().splitlines()]
    per_epoch = history[0]["step"]
    assert [h["epoch"] for h in history] == [1, 2] and per_epoch >= 2
    assert history[1]["step"] == round(1.5 * per_epoch)
    # the cosine schedule spans the 1.5 epochs: it reaches its final value at the last step
    lr = load_checkpoint(exp / "epoch-2.pt")["config"]["lr"]
    assert history[1]["lr"] == pytest.approx(0.1 * lr, rel=1e-6) and history[0]["lr"] > 0.1 * lr
    assert (exp / "model" / "model.safetensors").is_file()

    # Stopped by max_steps at the last step of the partial epoch, then resumed: straight to the dev scoring.
    exp2 = tmp_path / "exp2"
    args = ["epochs=1.5", "log_interval=1", "final_lr_ratio=0.1", "plots=false", "tensorboard=false", IN_PROCESS]
    assert asr_main(["train", *small_run_args(exp2, *args, f"max_steps={history[1]['step']}")]) == 0
    files = sorted(p.name for p in exp2.glob("*.pt"))
    assert asr_main(["train", *small_run_args(exp2, *args, f"max_steps={history[1]['step']}", "resume=true")]) == 0
    assert sorted(p.name for p in exp2.glob("*.pt")) == files  # the same command again: nothing more to do
    assert asr_main(["train", *small_run_args(exp2, *args, "resume=true")]) == 0
    resumed = [json.loads(x) for x in (exp2 / "metrics.jsonl").read_text().splitlines()]
    assert [h["step"] for h in resumed] == [h["step"] for h in history]
    a, b = (load_file(str(e / "model" / "model.safetensors")) for e in (exp, exp2))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_epochs_must_be_positive(small_run_args, tmp_path, caplog):
    assert asr_main(["train", *small_run_args(tmp_path / "exp", "epochs=0", IN_PROCESS)]) == 1
    assert "epochs must be > 0" in caplog.text
