"""``asr train``: BiLSTM-CTC training from stored features, with dev loss and greedy WER per epoch."""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jiwer
import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from asr.config import save_config
from asr.data.datadir import read_datadir
from asr.decode.greedy import greedy_decode
from asr.features.cmvn import CMVN_FILE, load_cmvn
from asr.features.store import FeatureStore
from asr.model.ctc_model import CTCModel
from asr.model.encoder import ModelConfig
from asr.model.model_dir import save_model_dir
from asr.text.units import CharTokenizer
from asr.train.batching import BucketBatchSampler, CTCDataset, collate, ctc_min_frames

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything ``asr train`` needs; the resolved copy is saved as ``<exp_dir>/train_config.yaml``."""

    exp_dir: str = "exp/bilstm_ctc"
    train_data: str = "data/synth/train"  # data dir (for transcripts)
    train_feats: str = "data/synth/feats/train"  # feature store
    dev_data: str = "data/synth/dev"
    dev_feats: str = "data/synth/feats/dev"
    cmvn: str = ""  # default: <train_feats>/cmvn.json
    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 10
    max_frames: int = 20000  # padded input frames per batch
    lr: float = 2e-3  # peak learning rate
    warmup_steps: int = 200
    final_lr_ratio: float = 0.05  # cosine decay from lr to lr * final_lr_ratio at the last step
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    num_threads: int = 0  # CPU threads for torch (0: torch's default)
    num_workers: int = 0  # DataLoader worker processes
    dev_max_utts: int = 0  # score at most this many dev utterances per epoch (0: all)
    log_interval: int = 50  # log loss, learning rate and speed every this many steps


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _lr_lambda(warmup: int, total: int, final_ratio: float):
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return f


def _load_split(data_dir: str, feats_dir: str, tokenizer: CharTokenizer, subsample: int, what: str):
    dd = read_datadir(data_dir)
    store = FeatureStore(feats_dir)
    ds = CTCDataset(store, dd.text, tokenizer)
    # CTC cannot emit a label sequence longer than the subsampled frame sequence: drop such
    # utterances up front (counted) instead of letting them produce inf losses mid-training.
    keep, dropped = [], []
    for u in ds.utts:
        frames = math.ceil(store.num_frames(u) / subsample)
        (keep if frames >= ctc_min_frames(ds.targets[u]) and ds.targets[u] else dropped).append(u)
    if dropped:
        log.warning("%s: dropped %d utterances whose transcript cannot fit their frames (or is empty): %s",
                    what, len(dropped), dropped[:5])
    ds.utts = keep
    missing = len(dd.text) - len(keep) - len(dropped)
    if missing:
        log.warning("%s: %d utterances of %s have no features (skipped at extraction)", what, missing, data_dir)
    return ds


def _make_loader(ds: CTCDataset, cfg: TrainConfig, shuffle: bool, device: torch.device):
    sampler = BucketBatchSampler([ds.num_frames(i) for i in range(len(ds))], cfg.max_frames,
                                 seed=cfg.seed, shuffle=shuffle)
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate, num_workers=cfg.num_workers,
                        pin_memory=device.type == "cuda", persistent_workers=cfg.num_workers > 0)
    return loader, sampler


def ctc_loss(log_probs: torch.Tensor, out_lens: torch.Tensor, batch: dict) -> torch.Tensor:
    """Summed CTC loss over the batch, divided by the batch size."""
    loss = torch.nn.functional.ctc_loss(
        log_probs.transpose(0, 1).float(), batch["targets"], out_lens, batch["target_lens"],
        blank=0, reduction="sum", zero_infinity=True)
    return loss / log_probs.shape[0]


@torch.inference_mode()
def evaluate(model: CTCModel, loader, tokenizer: CharTokenizer, device: torch.device, max_utts: int = 0):
    """Return (mean loss per utterance, greedy WER, greedy CER) on ``loader``."""
    model.eval()
    total_loss, n, refs, hyps = 0.0, 0, [], []
    for batch in loader:
        feats, lens = batch["feats"].to(device), batch["feat_lens"].to(device)
        log_probs, out_lens = model(feats, lens)
        total_loss += ctc_loss(log_probs, out_lens.cpu(), batch).item() * feats.shape[0]
        n += feats.shape[0]
        for ids, tgt_start, tgt_len in zip(greedy_decode(log_probs, out_lens),
                                           torch.cumsum(batch["target_lens"], 0) - batch["target_lens"],
                                           batch["target_lens"], strict=True):
            hyps.append(tokenizer.decode(ids))
            refs.append(tokenizer.decode(batch["targets"][tgt_start:tgt_start + tgt_len].tolist()))
        if max_utts and n >= max_utts:
            break
    model.train()
    return total_loss / max(n, 1), jiwer.wer(refs, hyps), jiwer.cer(refs, hyps)


def train(cfg: TrainConfig) -> dict:
    """Train, checkpoint every epoch, and export the best-dev-WER epoch to ``<exp_dir>/model``."""
    exp = Path(cfg.exp_dir)
    exp.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    device = resolve_device(cfg.device)
    tokenizer = CharTokenizer()
    cfg.model.vocab_size = len(tokenizer)
    train_ds = _load_split(cfg.train_data, cfg.train_feats, tokenizer, cfg.model.subsample, "train")
    dev_ds = _load_split(cfg.dev_data, cfg.dev_feats, tokenizer, cfg.model.subsample, "dev")
    if len(train_ds) == 0:
        raise ValueError(f"{cfg.train_data}: no usable training utterances")
    feature_cfg = train_ds.store.cfg
    cfg.model.input_dim = feature_cfg.n_mels
    save_config(cfg, exp / "train_config.yaml")

    model = CTCModel(cfg.model)
    mean, std = load_cmvn(cfg.cmvn or Path(cfg.train_feats) / CMVN_FILE)
    model.set_cmvn(mean, std)
    model.to(device)
    train_loader, train_sampler = _make_loader(train_ds, cfg, True, device)
    dev_loader, _ = _make_loader(dev_ds, cfg, False, device)
    steps_per_epoch = len(train_sampler)
    total_steps = steps_per_epoch * cfg.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_lambda(cfg.warmup_steps, total_steps, cfg.final_lr_ratio))
    train_frames = sum(train_ds.num_frames(i) for i in range(len(train_ds)))
    log.info("model: %.2fM parameters; train: %d utts, %.2f h; dev: %d utts; %d steps/epoch on %s",
             model.num_params() / 1e6, len(train_ds), train_frames * feature_cfg.hop_ms / 3.6e6,
             len(dev_ds), steps_per_epoch, device)

    best_wer, history, step = float("inf"), [], 0
    metrics_path = exp / "metrics.jsonl"
    metrics_path.unlink(missing_ok=True)
    for epoch in range(1, cfg.epochs + 1):
        train_sampler.set_epoch(epoch)
        model.train()
        t0, loss_sum, utt_sum, frames_sum = time.time(), 0.0, 0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", disable=None)
        for batch in bar:
            feats = batch["feats"].to(device, non_blocking=True)
            lens = batch["feat_lens"].to(device, non_blocking=True)
            log_probs, out_lens = model(feats, lens)
            loss = ctc_loss(log_probs, out_lens.cpu(), batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            if torch.isfinite(grad_norm):
                optimizer.step()
            scheduler.step()
            step += 1
            loss_sum += loss.item() * feats.shape[0]
            utt_sum += feats.shape[0]
            frames_sum += int(batch["feat_lens"].sum())
            bar.set_postfix(loss=f"{loss.item():.2f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
            if cfg.log_interval and step % cfg.log_interval == 0:
                log.info("epoch %d step %d: loss %.3f, lr %.2e, %.0f frames/s", epoch, step, loss.item(),
                         scheduler.get_last_lr()[0], frames_sum / (time.time() - t0))
        train_loss = loss_sum / max(utt_sum, 1)
        dev_loss, dev_wer, dev_cer = evaluate(model, dev_loader, tokenizer, device, cfg.dev_max_utts)
        record = {"epoch": epoch, "step": step, "train_loss": train_loss, "dev_loss": dev_loss,
                  "dev_wer": dev_wer, "dev_cer": dev_cer, "lr": scheduler.get_last_lr()[0],
                  "epoch_seconds": time.time() - t0}
        history.append(record)
        with open(metrics_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        log.info("epoch %d: train loss %.3f, dev loss %.3f, dev WER %.2f%%, CER %.2f%% (%.0f s)", epoch,
                 train_loss, dev_loss, 100 * dev_wer, 100 * dev_cer, record["epoch_seconds"])
        ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": epoch, "step": step,
                "config": asdict(cfg)}
        tmp = exp / f"epoch-{epoch}.pt.tmp"
        torch.save(ckpt, tmp)
        os.replace(tmp, exp / f"epoch-{epoch}.pt")
        if dev_wer <= best_wer:
            best_wer = dev_wer
            save_model_dir(exp / "model", model, feature_cfg, tokenizer,
                           extra={"trained": {"epoch": epoch, "dev_wer": dev_wer, "dev_cer": dev_cer}})
    return {"best_dev_wer": best_wer, "history": history, "model_dir": str(exp / "model")}
