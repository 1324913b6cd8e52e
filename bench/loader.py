"""Loader headroom: batches/s the DataLoader delivers vs. batches/s the default BiLSTM training step consumes.

    python bench/loader.py                          # 3000 utterances of data/synth6/train, extracted to /tmp
    python bench/loader.py --store data/synth6/feats/train --data data/synth6/train

Batches are those training uses: CTCDataset over the (sharded, memory-mapped) store, length-bucketed
by BucketBatchSampler(max_frames), padded by collate. Loader rates are steady state (persistent
workers, first batches not timed). The training step is forward + CTC loss + backward + AdamW on
the default ModelConfig, on all cores. Also measured: on-the-fly mode (workers read and pad audio;
the feature step runs in the training process, on --device).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from asr.data.datadir import read_datadir
from asr.data.subset import subset_datadir
from asr.features.extract import extract_features
from asr.features.onthefly import AudioSource, with_features
from asr.features.store import FeatureStore
from asr.model.ctc_model import CTCModel
from asr.model.encoder import ModelConfig
from asr.text.units import CharTokenizer
from asr.train.batching import BucketBatchSampler, CTCDataset, collate


def loader_rate(ds, max_frames: int, workers: int, seconds: float, device: torch.device) -> tuple[float, int]:
    """Steady-state batches/s delivered on ``device`` over at least ``seconds`` (epochs repeated), and the
    batches per epoch. Feature batches are copied to the device; waveform batches go through the feature step."""
    sampler = BucketBatchSampler([ds.num_frames(i) for i in range(len(ds))], max_frames, seed=0)
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate, num_workers=workers,
                        persistent_workers=workers > 0, prefetch_factor=4 if workers else None,
                        pin_memory=device.type == "cuda")
    loader = with_features(loader, ds.store.cfg, device)
    warm, n, t0, epoch = 2 * max(workers, 1), 0, 0.0, 0
    while True:
        sampler.set_epoch(epoch)
        for batch in loader:
            batch["feats"].to(device, non_blocking=True)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if warm:  # workers starting, their first batches: not timed
                warm -= 1
                t0 = time.perf_counter()
                continue
            n += 1
            if time.perf_counter() - t0 >= seconds and n >= 5:
                return n / (time.perf_counter() - t0), len(sampler)
        epoch += 1


def train_rate(ds, max_frames: int, steps: int, device: torch.device) -> tuple[float, ModelConfig]:
    """Training steps/s of the default model (float32) on batches of an epoch."""
    cfg = ModelConfig(vocab_size=len(CharTokenizer()), input_dim=ds.store.cfg.n_mels)
    model = CTCModel(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sampler = BucketBatchSampler([ds.num_frames(i) for i in range(len(ds))], max_frames, seed=0)
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate)
    times = []
    for i, batch in enumerate(loader):
        t0 = time.perf_counter()
        log_probs, out_lens = model(batch["feats"].to(device), batch["feat_lens"].to(device))
        loss = torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), batch["targets"], out_lens.cpu(),
                                            batch["target_lens"], zero_infinity=True, reduction="sum")
        opt.zero_grad()
        (loss / log_probs.shape[0]).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= (0 if device.type == "cpu" else 3):  # GPU: the first steps allocate and pick cuDNN kernels
            times.append(time.perf_counter() - t0)
        if len(times) == steps:
            break
    return len(times) / sum(times), cfg


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/synth6/train")
    p.add_argument("--store", help="an existing store of --data (default: extract --utts utterances to /tmp)")
    p.add_argument("--utts", type=int, default=3000)
    p.add_argument("--max-frames", type=int, default=20000, help="TrainConfig's default")
    p.add_argument("--seconds", type=float, default=4.0, help="time each loader for this long")
    p.add_argument("--steps", type=int, default=1, help="timed training steps (the default model is slow on a CPU)")
    p.add_argument("--workers", default="0,2", help="DataLoader worker counts to measure")
    p.add_argument("--device", default="cpu", help="cpu | cuda: where batches go and training steps run")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ["TQDM_DISABLE"] = "1"
    device = torch.device(args.device)
    workers_list = [int(w) for w in args.workers.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench_loader_"))
    try:
        data = args.data
        if args.store:
            store_dir = args.store
        else:
            data = tmp / "data"
            subset_datadir(args.data, data, first=args.utts)
            extract_features(data, tmp / "feats", nj=min(8, os.cpu_count() or 1))
            store_dir = tmp / "feats"
        store = FeatureStore(store_dir)
        texts = read_datadir(data).text
        ds = CTCDataset(store, texts, CharTokenizer())
        hours = sum(ds.num_frames(i) for i in range(len(ds))) * store.cfg.hop_ms / 3.6e6
        print(f"store: {len(ds)} utterances, {hours:.2f} h, {store.num_shards} shard(s), {store.dtype}; "
              f"max_frames {args.max_frames}; device {device}; {torch.get_num_threads()} torch threads, "
              f"{os.cpu_count()} cores")
        rates = {}
        for workers in workers_list:
            rates[f"stored, {workers} workers"], per_epoch = loader_rate(ds, args.max_frames, workers, args.seconds,
                                                                         device)
        ds_otf = CTCDataset(AudioSource(data, store.cfg), texts, CharTokenizer())
        for workers in workers_list[1:] or workers_list:
            rates[f"on the fly, {workers} workers"], _ = loader_rate(ds_otf, args.max_frames, workers, args.seconds,
                                                                     device)
        for name, rate in rates.items():
            print(f"  loader, {name:24s} {rate:8.1f} batches/s  ({per_epoch} per epoch)")
        step, mcfg = train_rate(ds, args.max_frames, args.steps, device)
        print(f"  training step, default model ({mcfg.num_layers}x{mcfg.hidden_size} BiLSTM, float32): "
              f"{step:8.3f} batches/s ({1 / step:.3f} s/step)")
        print("HEADROOM loader / training step (goal >= 3x): "
              + ", ".join(f"{name} {rate / step:.0f}x" for name, rate in rates.items()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
