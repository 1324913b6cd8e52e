"""Training throughput: three loops over the same utterances, in frames (10 ms of audio) per second.

    (i)   pipeline   the trainer itself: FeatureStore -> DataLoader (workers, pinned memory) -> device ->
                     Trainer.train_step (length-bucketed batches, packed cuDNN LSTM, AMP, clipping, AdamW)
    (ii)  model      the same batches, preloaded on the device: the ceiling for (i)
    (iii) naive      what a first attempt looks like: utterances in random order, features computed per
                     utterance from the waveform on the CPU, zero-padded fp32 batches, LSTM over the padding
                     (no packing), no mixed precision; as many utterances per batch as (i) on average

Goals: (i) >= 0.9 x (ii) (data loading hidden behind compute) and (i) >= 3 x (iii).

    python bench/train.py                                  # synthetic corpus, model of the synth recipe
    python bench/train.py --device cuda --hours 2 --max-frames 80000 --hidden 320 --layers 4
    python bench/train.py --data data/synth/train --feats data/synth/feats/train --steps 20

Synthetic data (the default): random log-mels in a real FeatureStore, random character transcripts
(~12 characters per second), lengths drawn like read speech (log-normal, 1-20 s); random waveforms
of the same lengths for (iii). Needs torch and numpy only (no soundfile, no jiwer): it runs on bare
GPU machines. Prints a table and, with --json, writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from asr.features.cmvn import CMVN_FILE, CMVNStats  # noqa: E402
from asr.features.config import FeatureConfig  # noqa: E402
from asr.features.logmel import make_feature_extractor  # noqa: E402
from asr.features.store import FeatureStoreWriter  # noqa: E402
from asr.model.ctc_model import CTCModel  # noqa: E402
from asr.model.encoder import ModelConfig, stack_frames  # noqa: E402
from asr.train.batching import collate  # noqa: E402
from asr.train.evaluation import ctc_loss_sum  # noqa: E402
from asr.train.trainer import TrainConfig, Trainer  # noqa: E402

HOURS_1000_FRAMES = 1000 * 3600 * 100  # frames in 1000 hours at a 10 ms hop
LETTERS = "abcdefghijklmnopqrstuvwxyz '"


def make_synthetic(out: Path, hours: float, seed: int = 0, n_mels: int = 80) -> tuple[Path, Path, dict]:
    """A data dir (text, wav.scp, utt2spk) and a FeatureStore of random log-mels; returns their paths and lengths."""
    rng = np.random.default_rng(seed)
    cfg = FeatureConfig(n_mels=n_mels)
    frames_left = int(hours * 3600 * 100)
    data, feats = out / "data", out / "feats"
    data.mkdir(parents=True, exist_ok=True)
    writer = FeatureStoreWriter(feats, cfg)
    stats = CMVNStats(n_mels)
    lengths, texts = {}, {}
    i = 0
    while frames_left > 0:
        seconds = float(np.clip(rng.lognormal(math.log(7.0), 0.6), 1.0, 20.0))
        n = min(frames_left, int(seconds * 100))
        frames_left -= n
        if n < 50:
            break
        utt = f"synth{i:07d}"
        i += 1
        x = rng.standard_normal((n, n_mels), dtype=np.float32) * 2.0 - 6.0
        writer.add(utt, x)
        if len(lengths) < 200:
            stats.update(x)
        lengths[utt] = n
        texts[utt] = "".join(rng.choice(list(LETTERS), size=max(1, int(n / 100 * 12)))).strip() or "a"
    writer.close()
    stats.save(feats / CMVN_FILE)
    for name, rows in (("text", texts), ("wav.scp", {u: f"/dev/null/{u}.wav" for u in texts}),
                       ("utt2spk", {u: "spk" for u in texts})):
        (data / name).write_text("".join(f"{u} {v}\n" for u, v in sorted(rows.items())))
    return data, feats, lengths


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_reset(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak(device: torch.device) -> float:
    """GiB: GPU peak allocated since the last reset, or the process's peak resident memory on the CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def bench_pipeline(tr: Trainer, warm: list[list[int]], timed: list[list[int]]) -> tuple[float, float]:
    """(i): the trainer's DataLoader over ``warm + timed`` batches; the clock runs over ``timed``."""
    loader = tr.make_loader(tr.train_ds, warm + timed)
    frames, t0 = 0, None
    _peak_reset(tr.device)
    for k, batch in enumerate(loader):
        if k == len(warm):
            _sync(tr.device)
            t0 = time.perf_counter()
        tr.train_step(batch, len(batch["utts"]), k)
        if k >= len(warm):
            frames += int(batch["feat_lens"].sum())
    _sync(tr.device)
    return frames / (time.perf_counter() - t0), _peak(tr.device)


def bench_model_only(tr: Trainer, warm: list[list[int]], timed: list[list[int]], model=None) -> tuple[float, float]:
    """(ii): the same batches collated and moved to the device beforehand."""
    dev = tr.device

    def load(b):
        batch = collate([tr.train_ds[i] for i in b])
        batch["feats"] = batch["feats"].to(dev)
        batch["targets"] = batch["targets"].to(dev)
        if dev.type == "cuda":  # as the DataLoader hands them over: pinned, so their copy is asynchronous
            batch["feat_lens"] = batch["feat_lens"].pin_memory()
        return batch

    if model is not None:
        tr.ddp_model = model
    for k, b in enumerate(warm):
        tr.train_step(load(b), len(b), k)
    pre = [load(b) for b in timed]
    _peak_reset(dev)
    _sync(dev)
    t0 = time.perf_counter()
    for k, batch in enumerate(pre):
        tr.train_step(batch, len(batch["utts"]), k)
    _sync(dev)
    dt = time.perf_counter() - t0
    return sum(int(b["feat_lens"].sum()) for b in pre) / dt, _peak(dev)


def naive_forward(model: CTCModel, feats: torch.Tensor, lens: torch.Tensor):
    """The model without packing: the LSTM runs over every padded frame (and the backward direction reads them)."""
    x = (feats - model.cmvn_mean) / model.cmvn_std
    x, out_lens = stack_frames(x, lens, model.cfg.subsample)
    out, _ = model.encoder.lstm(x)
    return model.head(out).log_softmax(-1), out_lens


def bench_naive(tr: Trainer, utts_per_batch: int, utts: list[int], n_batches: int,
                seed: int = 0) -> tuple[float, float, float, float]:
    """(iii): random order, per-utterance features from random audio on the CPU, padded fp32, no packing.

    Returns frames/s, peak GiB, the share of the time spent computing features (the rest is the model) and
    the share of padding in its batches: together they say where (i)'s advantage over (iii) comes from.
    """
    dev, fcfg = tr.device, tr.feature_cfg
    rng = random.Random(seed)
    order = utts[:]
    rng.shuffle(order)
    groups = [order[k:k + utts_per_batch] for k in range(0, len(order), utts_per_batch)][:n_batches + 1]
    gen = torch.Generator().manual_seed(seed)
    hop, win = fcfg.hop_length, fcfg.frame_samples
    waves = {i: torch.randn((tr.train_lengths[i] - 1) * hop + win, generator=gen) * 0.1 for g in groups for i in g}
    extractor = make_feature_extractor(fcfg)  # on the CPU, one utterance at a time
    model = CTCModel(tr.cfg.model).to(dev)
    model.set_cmvn(tr.model.cmvn_mean.cpu(), tr.model.cmvn_std.cpu())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    feature_seconds, padded = 0.0, 0

    def step(group):
        nonlocal feature_seconds, padded
        t = time.perf_counter()
        with torch.no_grad():
            per_utt = [extractor(waves[i])[0][0] for i in group]
        feature_seconds += time.perf_counter() - t
        lens = torch.tensor([f.shape[0] for f in per_utt])
        padded += len(group) * int(lens.max())
        feats = torch.zeros(len(group), int(lens.max()), per_utt[0].shape[1])
        for j, f in enumerate(per_utt):
            feats[j, : f.shape[0]] = f
        targets = [tr.train_ds.targets[tr.train_ds.utts[i]] for i in group]
        log_probs, out_lens = naive_forward(model, feats.to(dev), lens.to(dev))
        loss = ctc_loss_sum(log_probs, out_lens, torch.tensor([t for ts in targets for t in ts], device=dev),
                            torch.tensor([len(t) for t in targets])) / len(group)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return int(lens.sum())

    step(groups[0])  # warm-up
    feature_seconds, padded = 0.0, 0
    _peak_reset(dev)
    _sync(dev)
    t0 = time.perf_counter()
    frames = sum(step(g) for g in groups[1:])
    _sync(dev)
    dt = time.perf_counter() - t0
    return frames / dt, _peak(dev), feature_seconds / dt, 1 - frames / padded


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", default="auto", help="auto | off | bf16 | fp16")
    p.add_argument("--data", help="data dir with transcripts (default: synthetic)")
    p.add_argument("--feats", help="its feature store (with cmvn.json)")
    p.add_argument("--hours", type=float, default=0.25, help="synthetic corpus size")
    p.add_argument("--max-frames", type=int, default=24000)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--subsample", type=int, default=3)
    p.add_argument("--steps", type=int, default=10, help="timed batches per loop")
    p.add_argument("--warmup", type=int, default=2, help="untimed batches first")
    p.add_argument("--num-workers", type=int, default=-1)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--no-naive", action="store_true", help="skip (iii)")
    p.add_argument("--compile", action="store_true", help="also time (ii) with torch.compile(model)")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--make-data", metavar="DIR", help="only write a synthetic corpus (DIR/data, DIR/feats) and exit")
    p.add_argument("--seed", type=int, default=0, help="of the synthetic corpus")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.make_data:
        data, feats, lengths = make_synthetic(Path(args.make_data), args.hours, seed=args.seed)
        print(f"{len(lengths)} utterances, {sum(lengths.values()) / 360000:.2f} h -> {data}, {feats}")
        return {"data": str(data), "feats": str(feats)}

    with tempfile.TemporaryDirectory(prefix="asr-bench-") as tmp:
        if args.data:
            data, feats = Path(args.data), Path(args.feats)
        else:
            t = time.perf_counter()
            data, feats, _ = make_synthetic(Path(tmp) / "corpus", args.hours, seed=args.seed)
            print(f"synthetic corpus: {args.hours} h in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        cfg = TrainConfig(exp_dir=str(Path(tmp) / "exp"), train_data=str(data), train_feats=str(feats),
                          dev_data=str(data), dev_feats=str(feats), epochs=1, max_frames=args.max_frames,
                          device=args.device, amp=args.amp, num_workers=args.num_workers, warmup_steps=1,
                          model=ModelConfig(hidden_size=args.hidden, num_layers=args.layers,
                                            subsample=args.subsample),
                          probe_memory=False, tensorboard=False, plots=False)
        tr = Trainer(cfg)
        tr.train_sampler.set_epoch(1)
        plan = tr.train_sampler.global_batches()
        need = args.warmup + args.steps
        if len(plan) < need:
            raise SystemExit(f"only {len(plan)} batches; use more --hours or fewer --steps/--warmup")
        # Batches in training order, but the first ones of the plan may all be short or all long:
        # take an even spread over the sorted-by-length batches so the mix is that of a whole epoch.
        by_len = sorted(plan, key=lambda b: max(tr.train_lengths[i] for i in b))
        pick = [by_len[round(k * (len(by_len) - 1) / max(1, need - 1))] for k in range(need)]
        random.Random(0).shuffle(pick)
        warm, timed = pick[: args.warmup], pick[args.warmup:]
        timed_lens = [[tr.train_lengths[i] for i in b] for b in timed]
        pipeline_padding = 1 - sum(map(sum, timed_lens)) / sum(len(x) * max(x) for x in timed_lens)
        res = {"device": str(tr.device), "gpu": torch.cuda.get_device_name(tr.device) if tr.device.type == "cuda"
               else None, "torch": torch.__version__, "precision": tr.precision.name,
               "params_M": tr.model.num_params() / 1e6, "max_frames": args.max_frames, "timed_batches": len(timed),
               "utts_per_batch": sum(map(len, timed)) / len(timed),
               "frames_per_batch": sum(tr.train_lengths[i] for b in timed for i in b) / len(timed),
               "pipeline_padding_share": pipeline_padding}
        # One untimed pass over every timed batch first, so that no loop pays for the allocator's growth
        # or cuDNN's first calls on new shapes and the order of the loops does not matter.
        bench_model_only(tr, [], timed)
        res["pipeline_fps"], res["pipeline_peak_gib"] = bench_pipeline(tr, warm, timed)
        res["model_only_fps"], res["model_only_peak_gib"] = bench_model_only(tr, warm, timed)
        if args.compile:
            try:
                compiled = torch.compile(tr.model)
                res["compiled_model_only_fps"], _ = bench_model_only(tr, warm, timed, model=compiled)
            except Exception as e:  # report, don't fail: compile support for packed LSTMs varies
                res["compiled_model_only_fps"] = f"failed: {type(e).__name__}: {str(e)[:200]}"
            tr.ddp_model = tr.model
        if not args.no_naive:
            (res["naive_fps"], res["naive_peak_gib"], res["naive_feature_share"],
             res["naive_padding_share"]) = bench_naive(
                tr, max(1, round(res["utts_per_batch"])), [i for b in timed for i in b], len(timed))
            res["pipeline_vs_naive"] = res["pipeline_fps"] / res["naive_fps"]
        res["pipeline_vs_model_only"] = res["pipeline_fps"] / res["model_only_fps"]
        res["hours_per_epoch_1000h"] = HOURS_1000_FRAMES / res["pipeline_fps"] / 3600
        res["goals"] = {"pipeline>=0.9*model_only": res["pipeline_vs_model_only"] >= 0.9,
                        "pipeline>=3*naive": res.get("pipeline_vs_naive", float("nan")) >= 3}

    print(f"{res['device']} {res['gpu'] or ''} torch {res['torch']}, {res['precision']}, "
          f"{res['params_M']:.2f}M params, max_frames {args.max_frames} "
          f"({res['utts_per_batch']:.1f} utts, {res['frames_per_batch']:.0f} frames per batch), "
          f"{len(timed)} timed batches")
    print(f"  (i)   pipeline    {res['pipeline_fps']:12,.0f} frames/s   peak {res['pipeline_peak_gib']:.2f} GiB")
    print(f"  (ii)  model only  {res['model_only_fps']:12,.0f} frames/s   peak {res['model_only_peak_gib']:.2f} GiB"
          f"   (i)/(ii) = {res['pipeline_vs_model_only']:.2f}  [goal >= 0.9]")
    if "compiled_model_only_fps" in res:
        v = res["compiled_model_only_fps"]
        print(f"  (ii') compiled    {v:12,.0f} frames/s" if isinstance(v, float) else f"  (ii') compiled    {v}")
    if "naive_fps" in res:
        print(f"  (iii) naive       {res['naive_fps']:12,.0f} frames/s   peak {res['naive_peak_gib']:.2f} GiB"
              f"   (i)/(iii) = {res['pipeline_vs_naive']:.2f}  [goal >= 3]; "
              f"{100 * res['naive_feature_share']:.0f}% of (iii) in features, "
              f"{100 * res['naive_padding_share']:.0f}% of its frames padding (i: "
              f"{100 * res['pipeline_padding_share']:.0f}%)")
    print(f"  one epoch of 1000 h at (i): {res['hours_per_epoch_1000h']:.2f} h")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
    return res


if __name__ == "__main__":
    main()
