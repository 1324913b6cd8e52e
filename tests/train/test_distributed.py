"""Data parallel: 2 gloo processes under torchrun reach the weights of 1 process fed the same global batches."""

import subprocess
import sys

import torch
from train_helpers import REPO, child_env, train_args

from asr.config import load_config
from asr.train.batching import BucketBatchSampler, collate
from asr.train.checkpoint import load_checkpoint
from asr.train.trainer import TrainConfig, Trainer

STEPS = 4
# No dropout or SpecAugment (their random draws differ between 1 and 2 processes); grad clipping left on
# (it sees the all-reduced gradient). SGD, whose update is linear in the gradient: AdamW divides each
# gradient element by its own magnitude, which turns float-summation-order noise in near-zero elements
# into visible differences (measured: up to 4e-5 after 4 steps that moved weights by 3e-2).
# fp32 (amp=off): on a CPU with native bf16, amp=auto trains in bf16, whose rounding swamps the tolerance.
EXTRA = ["epochs=2", f"max_steps={STEPS}", "model.dropout=0", "optimizer=sgd", "lr=1e-2", "probe_memory=false",
         "amp=off"]
# Measured: 1e-7 at most (float sums in another order: per rank, then all-reduced).
TOL = {"atol": 1e-6, "rtol": 1e-5}


def test_rank_aware_sampler_splits_every_global_batch():
    lengths = [(i * 37) % 500 + 20 for i in range(301)]
    parts = [BucketBatchSampler(lengths, 2000, seed=1, rank=r, world_size=3) for r in range(3)]
    for s in parts:
        s.set_epoch(2)
    per_rank = [list(s) for s in parts]
    assert len({len(p) for p in per_rank}) == 1  # equal batch counts: DDP would hang otherwise
    flat = [i for p in per_rank for b in p for i in b]
    assert sorted(flat) == list(range(301))  # disjoint, and nothing dropped
    for p in per_rank:
        assert all(b and len(b) * max(lengths[i] for i in b) <= 2000 + 520 for b in p)
    for k, gb in enumerate(parts[0].global_batches()):
        assert sorted(gb) == sorted(i for p in per_rank for i in p[k])
    # Resuming at batch 5 yields the same tail.
    again = BucketBatchSampler(lengths, 2000, seed=1, rank=1, world_size=3)
    again.set_epoch(2, start_batch=5)
    assert list(again) == per_rank[1][5:] and len(again) == len(per_rank[1]) - 5


def uneven_max_frames(tiny_corpus, tiny_feats, tmp_path) -> int:
    """A batch size whose first epoch has STEPS global batches, an odd one among them (unequal rank parts)."""
    probe = Trainer(load_config(TrainConfig, None, train_args(tiny_corpus, tiny_feats, tmp_path / "probe", *EXTRA)))
    for max_frames in range(1500, 700, -50):
        plan = BucketBatchSampler(probe.train_lengths, max_frames, seed=0, world_size=2, rank=0)
        plan.set_epoch(1)
        batches = plan.global_batches()
        if len(batches) >= STEPS and any(len(b) % 2 for b in batches[:STEPS]):
            return max_frames
    raise AssertionError("no batch size gives an uneven split of the tiny corpus")


def test_two_processes_match_one_process_with_the_same_global_batch(tiny_corpus, tiny_feats, tmp_path):
    exp = tmp_path / "ddp"
    max_frames = uneven_max_frames(tiny_corpus, tiny_feats, tmp_path)
    args = train_args(tiny_corpus, tiny_feats, exp, *EXTRA, f"max_frames={max_frames}")
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "asr.cli", "train", *args], cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "rank 1 of 2 (gloo)" in proc.stderr
    ddp = load_checkpoint(exp / f"step-{STEPS}.pt")
    assert ddp["world_size"] == 2 and ddp["position"]["step"] == STEPS

    # One process, same seed and initial weights, each step on the union of the two ranks' parts.
    cfg = load_config(TrainConfig, None, [a for a in args if not a.startswith(("exp_dir", "num_threads"))]
                      + [f"exp_dir={tmp_path / 'single'}"])
    trainer = Trainer(cfg)
    plan = BucketBatchSampler(trainer.train_lengths, cfg.max_frames, seed=cfg.seed, world_size=2, rank=0)
    plan.set_epoch(1)
    global_batches = plan.global_batches()[:STEPS]
    assert any(len(b) % 2 for b in global_batches), "want an uneven split to check the loss normalization"
    init = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    for step, gb in enumerate(global_batches):
        trainer.train_step(collate([trainer.train_ds[i] for i in gb]), len(gb), step)
        trainer.scheduler.step()

    moved = 0.0
    for name, p in trainer.model.state_dict().items():
        torch.testing.assert_close(ddp["model"][name], p, **TOL, msg=lambda m, n=name: f"{n}: {m}")
        moved = max(moved, float((p - init[name]).abs().max()))
    assert moved > 100 * TOL["atol"]  # the steps did change the weights, far beyond the tolerance
