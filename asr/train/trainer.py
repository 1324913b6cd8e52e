"""``asr train``: BiLSTM-CTC training, on one CPU or GPU or data-parallel over many (torchrun).

One optimizer step = one *global* batch of utterances (asr.train.batching), split over the ranks:

    batch -> device (non-blocking) -> SpecAugment -> model under autocast (packed cuDNN LSTM) -> CTC loss
    (fp32, summed, / global batch size) -> backward (DDP all-reduces) -> clip -> skip if NaN/inf -> AdamW
    -> LR schedule -> every N steps a checkpoint; every epoch dev loss/WER/CER, a checkpoint, logs,
    and the best-dev-WER model exported to ``<exp_dir>/model``.

Files in ``exp_dir``: train_config.yaml, dropped_utts.txt, epoch-N.pt / step-K.pt (asr.train.checkpoint),
metrics.jsonl/.csv, steps.csv, tensorboard/, curves.png (asr.train.logs), nonfinite_steps.txt (if any), model/.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from asr.config import save_config
from asr.data.datadir import read_datadir
from asr.device import resolve_device
from asr.features.cmvn import CMVN_FILE, load_cmvn
from asr.features.config import FeatureConfig
from asr.features.store import FeatureStore
from asr.model.ctc_model import CTCModel
from asr.model.encoder import ModelConfig
from asr.model.model_dir import save_model_dir
from asr.text.tokenizer import build_tokenizer
from asr.train.batching import BucketBatchSampler, CTCDataset, collate, ctc_min_frames
from asr.train.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    remove_checkpoints,
    rng_state,
    save_checkpoint,
    set_rng_state,
    unloadable_checkpoints,
)
from asr.train.distributed import (
    DistContext,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast_object,
    cleanup,
    init_distributed,
    wrap_model,
)
from asr.train.evaluation import ctc_loss_sum, evaluate
from asr.train.freq_warp import random_freq_warp
from asr.train.guards import NonFiniteGuard, probe_memory, worst_case_batches
from asr.train.logs import TrainLog
from asr.train.precision import resolve_precision
from asr.train.schedule import lr_multiplier
from asr.train.specaugment import SpecAugmentConfig, spec_augment

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
    epochs: float = 10  # a fraction ends the last epoch early (1.6: 1.6 x steps per epoch), for equal-compute runs
    max_frames: int = 20000  # padded input frames per batch (per GPU/process)
    optimizer: str = "adamw"  # adamw | sgd (momentum 0.9, Nesterov)
    lr: float = 2e-3  # peak learning rate
    lr_schedule: str = "cosine"  # cosine | noam | linear (asr.train.schedule), each after a linear warm-up
    warmup_steps: int = 200
    final_lr_ratio: float = 0.05  # cosine decay from lr to lr * final_lr_ratio at the last step
    weight_decay: float = 0.0
    grad_clip: float = 5.0  # max global gradient norm (0: no clipping)
    specaug: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)  # off unless masks are set
    freq_warp: float = 0.0  # random mel-axis stretch by up to this fraction per utterance (voice augmentation)
    sortagrad_epochs: int = 0  # first N epochs visit batches shortest first (SortaGrad, DeepSpeech2)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N (under torchrun, auto = cuda:LOCAL_RANK)
    amp: str = "auto"  # auto (bf16 on GPUs that have it, else fp16; off on the CPU) | off | bf16 | fp16
    num_threads: int = 0  # CPU threads for torch (0: torch's default)
    num_workers: int = -1  # DataLoader worker processes (-1: 2 on a GPU, 0 on the CPU where cores compute)
    dev_max_utts: int = 0  # score at most this many dev utterances per epoch (0: all)
    log_interval: int = 50  # log loss, learning rate and speed every this many steps
    checkpoint_every_steps: int = 0  # also checkpoint inside epochs, for resuming mid-epoch (0: epoch ends only)
    keep_last: int = 0  # keep only the newest N checkpoints (0: all)
    keep_best: int = 0  # and also the N epoch checkpoints of lowest dev WER
    resume: bool = False  # continue from the newest checkpoint in exp_dir (else start afresh, deleting them)
    # Start from the weights of this model directory (e.g. an offline model fine-tuned into a streaming
    # one: the same LSTM weights run chunked); its network must have this config's shapes.
    init_from: str = ""
    max_steps: int = 0  # stop after this many optimizer steps (0: run all epochs); schedule unchanged
    early_stop_patience: int = 0  # stop after N epochs without a lower dev WER (0: never)
    max_bad_steps: int = 10  # stop after N consecutive steps with a NaN/inf loss or gradient (each is skipped)
    probe_memory: bool = True  # on a GPU, run the largest batches once first: out-of-memory in minute one, not hour 5
    tensorboard: bool = True  # TensorBoard scalars in exp_dir/tensorboard (if tensorboard is installed)
    plots: bool = True  # exp_dir/curves.png each epoch (if matplotlib is installed)
    units: str = "char"  # char | bpe (output units, see asr.text.tokenizer)
    tokenizer_dir: str = ""  # `asr tokenizer` output (tokens.txt [+ bpe.model]); needed for bpe
    features: str = "stored"  # stored: read *_feats stores | on_the_fly: read audio, features on `device` in batches
    # on_the_fly: how features are computed; stored: the store's are used, and a different setting is an error
    feature_config: FeatureConfig = field(default_factory=FeatureConfig)


def init_weights(model: CTCModel, model_dir: str) -> None:
    """Copy the network weights of ``model_dir`` into ``model`` (its CMVN statistics stay this run's)."""
    from safetensors.torch import load_file

    from asr.model.layout import WEIGHTS

    path = Path(model_dir) / WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"init_from: {path} not found (init_from takes a model directory)")
    source = {k: v for k, v in load_file(str(path)).items() if not k.startswith("cmvn_")}
    own = model.state_dict()
    wrong = [f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in source.items()
             if k in own and own[k].shape != v.shape]
    missing = sorted(set(own) - set(source) - {"cmvn_mean", "cmvn_std"})
    if wrong or missing:
        raise ValueError(f"init_from {model_dir}: its network does not match this model config "
                         f"({'; '.join(wrong + [f'missing {k}' for k in missing])})")
    model.load_state_dict({**own, **{k: v.float() for k, v in source.items() if k in own}})
    log.info("initialized the network from %s", model_dir)


def config_problems(cfg: TrainConfig) -> list[str]:
    """Every value of ``cfg`` that no run can use, as ``key must be ..., got value``: found in the first second, not
    after the data is loaded (or never: lr=0 trains nothing and exits 0)."""
    m, sa = cfg.model, cfg.specaug
    rules: list[tuple[str, object, bool, str]] = [
        ("epochs", cfg.epochs, cfg.epochs > 0, "> 0"),
        ("max_frames", cfg.max_frames, cfg.max_frames > 0, "> 0"),
        ("lr", cfg.lr, cfg.lr > 0 and math.isfinite(cfg.lr), "> 0"),
        ("warmup_steps", cfg.warmup_steps, cfg.warmup_steps >= 0, ">= 0"),
        ("final_lr_ratio", cfg.final_lr_ratio, 0 <= cfg.final_lr_ratio <= 1, "in [0, 1]"),
        ("weight_decay", cfg.weight_decay, cfg.weight_decay >= 0, ">= 0"),
        ("grad_clip", cfg.grad_clip, cfg.grad_clip >= 0, ">= 0 (0: no clipping)"),
        ("freq_warp", cfg.freq_warp, 0 <= cfg.freq_warp < 1, "in [0, 1)"),
        ("sortagrad_epochs", cfg.sortagrad_epochs, cfg.sortagrad_epochs >= 0, ">= 0"),
        ("num_threads", cfg.num_threads, cfg.num_threads >= 0, ">= 0"),
        ("num_workers", cfg.num_workers, cfg.num_workers >= -1, ">= -1"),
        ("dev_max_utts", cfg.dev_max_utts, cfg.dev_max_utts >= 0, ">= 0"),
        ("log_interval", cfg.log_interval, cfg.log_interval >= 0, ">= 0 (0: no step logs)"),
        ("checkpoint_every_steps", cfg.checkpoint_every_steps, cfg.checkpoint_every_steps >= 0, ">= 0"),
        ("keep_last", cfg.keep_last, cfg.keep_last >= 0, ">= 0"),
        ("keep_best", cfg.keep_best, cfg.keep_best >= 0, ">= 0"),
        ("max_steps", cfg.max_steps, cfg.max_steps >= 0, ">= 0"),
        ("early_stop_patience", cfg.early_stop_patience, cfg.early_stop_patience >= 0, ">= 0"),
        ("max_bad_steps", cfg.max_bad_steps, cfg.max_bad_steps >= 0, ">= 0 (0: never stop)"),
        ("optimizer", cfg.optimizer, cfg.optimizer in ("adamw", "sgd"), "adamw or sgd"),
        ("lr_schedule", cfg.lr_schedule, cfg.lr_schedule in ("cosine", "noam", "linear"), "cosine, noam or linear"),
        ("amp", cfg.amp, cfg.amp in ("auto", "off", "bf16", "fp16"), "auto, off, bf16 or fp16"),
        ("units", cfg.units, cfg.units in ("char", "bpe"), "char or bpe"),
        ("features", cfg.features, cfg.features in ("stored", "on_the_fly"), "stored or on_the_fly"),
        ("model.subsample", m.subsample, m.subsample >= 1, ">= 1"),
        ("model.hidden_size", m.hidden_size, m.hidden_size >= 1, ">= 1"),
        ("model.num_layers", m.num_layers, m.num_layers >= 1, ">= 1"),
        ("model.proj_size", m.proj_size, 0 <= m.proj_size < m.hidden_size, "in [0, model.hidden_size)"),
        ("model.dropout", m.dropout, 0 <= m.dropout < 1, "in [0, 1)"),
        ("model.lifter", m.lifter, m.lifter >= 0, ">= 0"),
        ("specaug.freq_masks", sa.freq_masks, sa.freq_masks >= 0, ">= 0"),
        ("specaug.freq_width", sa.freq_width, sa.freq_width >= 0, ">= 0"),
        ("specaug.time_masks", sa.time_masks, sa.time_masks >= 0, ">= 0"),
        ("specaug.time_width", sa.time_width, sa.time_width >= 0, ">= 0"),
        ("specaug.time_width_ratio", sa.time_width_ratio, 0 <= sa.time_width_ratio <= 1, "in [0, 1]"),
        ("specaug.time_warp", sa.time_warp, sa.time_warp >= 0, ">= 0"),
    ]
    return [f"{key} must be {want}, got {value!r}" for key, value, ok, want in rules if not ok]


def check_config(cfg: TrainConfig) -> None:
    """Refuse, in one line, a configuration no run can use, or a resume that has nothing to resume from."""
    problems = config_problems(cfg)
    if problems:
        raise ValueError("training configuration: " + "; ".join(problems))
    if cfg.resume and Path(cfg.exp_dir).is_dir() and latest_checkpoint(cfg.exp_dir) is None:
        bad = unloadable_checkpoints(cfg.exp_dir)
        if bad:  # starting afresh would delete them and look like a resumed run
            raise ValueError(f"{cfg.exp_dir}: resume=true, but none of its checkpoints can be loaded "
                             f"({', '.join(bad)}; see the warnings above); remove them, or set resume=false to "
                             "start afresh")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_tokenizer(cfg: TrainConfig):
    """The output units of a training run: the one place that decides them."""
    return build_tokenizer(cfg.units, cfg.tokenizer_dir)


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer must be adamw or sgd, got {cfg.optimizer!r}")


def _onthefly():
    """asr.features.onthefly, imported only for on-the-fly features: it needs soundfile, which a GPU
    machine that trains from stored features may not have."""
    from asr.features import onthefly

    return onthefly


def _open_source(cfg: TrainConfig, data_dir: str, feats_dir: str):
    if cfg.features == "stored":
        return FeatureStore(feats_dir)
    return _onthefly().open_features(cfg, data_dir, feats_dir)  # AudioSource, same interface


def load_split(data_dir: str, feats_dir: str, tokenizer, subsample: int, what: str,
               cfg: TrainConfig) -> tuple[CTCDataset, list[tuple[str, str]]]:
    """The usable utterances of a split, and ``(utt, reason)`` for those left out."""
    dd = read_datadir(data_dir, segments=cfg.features == "stored")  # stored: the store has cut the segments
    store = _open_source(cfg, data_dir, feats_dir)  # FeatureStore, or AudioSource for on-the-fly features
    ds = CTCDataset(store, dd.text, tokenizer)
    # CTC cannot emit a label sequence longer than the subsampled frame sequence: drop such
    # utterances up front (counted, listed) instead of letting them produce inf losses mid-training.
    keep, dropped = [], []
    for u in ds.utts:
        frames = math.ceil(store.num_frames(u) / subsample)
        need = ctc_min_frames(ds.targets[u])
        if not ds.targets[u]:
            dropped.append((u, "empty transcript"))
        elif frames < need:
            dropped.append((u, f"{len(ds.targets[u])} labels need {need} frames, has {frames} after subsampling"))
        else:
            keep.append(u)
    if dropped:
        log.warning("%s: dropped %d utterances whose transcript cannot fit their frames (or is empty): %s",
                    what, len(dropped), [u for u, _ in dropped[:5]])
    ds.utts = keep
    no_feats = sorted(set(dd.text) - set(ds.targets))
    if no_feats:
        log.warning("%s: %d utterances of %s have no features (skipped at extraction)", what, len(no_feats), data_dir)
    return ds, dropped + [(u, "no features") for u in no_feats]


def check_feature_config(cfg: TrainConfig, store_cfg: FeatureConfig) -> None:
    """Stored features were computed with ``store_cfg``: a ``feature_config`` asking for something else
    cannot be honoured, so it is an error, not silently ignored.

    A key is in conflict when its value differs from both the default (the user set it) and the
    store's; a ``feature_config`` left at its defaults, or one equal to the store's, is fine.
    """
    if cfg.features != "stored":
        return
    default, store = asdict(FeatureConfig()), asdict(store_cfg)
    conflicts = {k: v for k, v in asdict(cfg.feature_config).items() if v != default[k] and v != store[k]}
    if conflicts:
        keys = ", ".join(f"feature_config.{k}={v!r} (store: {store[k]!r})" for k, v in sorted(conflicts.items()))
        raise ValueError(f"{keys}: with features=stored the features are those of the store {cfg.train_feats}; "
                         "drop these settings, extract a new store with them (`asr features`), or train with "
                         "features=on_the_fly")


def ctc_loss(log_probs: torch.Tensor, out_lens: torch.Tensor, batch: dict) -> torch.Tensor:
    """Summed CTC loss over the batch, divided by the batch size."""
    targets = batch["targets"].to(log_probs.device, non_blocking=True)
    return ctc_loss_sum(log_probs, out_lens, targets, batch["target_lens"]) / log_probs.shape[0]


# Settings that do not change the weights a run ends with: changing them on resume is fine.
_NEUTRAL = {"resume", "max_steps", "num_workers", "num_threads", "log_interval", "checkpoint_every_steps", "keep_last",
            "keep_best", "probe_memory", "tensorboard", "plots", "dev_max_utts", "early_stop_patience", "max_bad_steps"}


@dataclass
class EpochSums:
    """Running totals of the epoch in progress (checkpointed, so a resumed epoch reports the same loss)."""

    loss: float = 0.0
    utts: int = 0
    frames: int = 0
    seconds: float = 0.0


class Trainer:
    """One training run. ``Trainer(cfg).fit()`` is ``train(cfg)``; bench/train.py drives ``train_step`` itself."""

    def __init__(self, cfg: TrainConfig, ctx: DistContext | None = None, device: torch.device | None = None):
        check_config(cfg)  # before any data is read: a bad value fails in the first second
        self.cfg = cfg
        self.ctx = ctx or DistContext()
        self.device = device or resolve_device(cfg.device)
        self.exp = Path(cfg.exp_dir)
        self.main = self.ctx.is_main
        if self.main:
            self.exp.mkdir(parents=True, exist_ok=True)
        seed_everything(cfg.seed)
        if cfg.num_threads > 0:
            torch.set_num_threads(cfg.num_threads)
        if self.device.type == "cuda":
            torch.set_float32_matmul_precision("high")  # TF32 for whatever autocast leaves in fp32
        self.tokenizer = make_tokenizer(cfg)
        cfg.model.vocab_size = len(self.tokenizer)
        self.train_ds, dropped = load_split(cfg.train_data, cfg.train_feats, self.tokenizer, cfg.model.subsample,
                                            "train", cfg)
        self.dev_ds, dev_dropped = load_split(cfg.dev_data, cfg.dev_feats, self.tokenizer, cfg.model.subsample,
                                              "dev", cfg)
        if len(self.train_ds) == 0:
            raise ValueError(f"{cfg.train_data}: no usable training utterances")
        self.dropped = {"train": dropped, "dev": dev_dropped}
        self.feature_cfg = self.train_ds.store.cfg
        check_feature_config(cfg, self.feature_cfg)
        cfg.model.input_dim = self.feature_cfg.n_mels

        self.model = CTCModel(cfg.model)
        if cfg.features == "stored":
            mean, std = load_cmvn(cfg.cmvn or Path(cfg.train_feats) / CMVN_FILE)
        else:  # cfg.cmvn, or estimated from the training audio
            mean, std = _onthefly().training_cmvn(cfg, self.train_ds.store)
        self.model.set_cmvn(mean, std)
        if cfg.init_from:
            init_weights(self.model, cfg.init_from)
        self.model.to(self.device)
        if self.ctx.enabled:
            # Same initial weights everywhere (seeded above; DDP also broadcasts rank 0's), but each rank
            # its own dropout masks from here on.
            seed_everything(cfg.seed + 7919 * self.ctx.rank)
        self.precision = resolve_precision(cfg.amp, self.device)

        self.train_lengths = [self.train_ds.num_frames(i) for i in range(len(self.train_ds))]
        self.train_sampler = BucketBatchSampler(self.train_lengths, cfg.max_frames, seed=cfg.seed, shuffle=True,
                                                rank=self.ctx.rank, world_size=self.ctx.world_size,
                                                sorted_epochs=cfg.sortagrad_epochs)
        self.train_loader = self.make_loader(self.train_ds, self.train_sampler)
        dev_sampler = BucketBatchSampler([self.dev_ds.num_frames(i) for i in range(len(self.dev_ds))],
                                         cfg.max_frames, seed=cfg.seed, shuffle=False, rank=self.ctx.rank,
                                         world_size=self.ctx.world_size)
        self.dev_loader = self.make_loader(self.dev_ds, dev_sampler)
        self.steps_per_epoch = self.train_sampler.num_batches
        self.total_steps = max(1, round(self.steps_per_epoch * cfg.epochs))
        self.num_epochs = math.ceil(self.total_steps / self.steps_per_epoch)
        self.optimizer = make_optimizer(cfg, self.model.parameters())
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_multiplier(cfg.lr_schedule, cfg.warmup_steps, self.total_steps, cfg.final_lr_ratio))
        self.ddp_model = wrap_model(self.model, self.ctx, self.device)
        self.specaug_gen = torch.Generator()
        self.guard = NonFiniteGuard(cfg.max_bad_steps, self.exp, self.ctx.rank)

    # ----------------------------------------------------------------------------------------- data
    def make_loader(self, ds: CTCDataset, batch_sampler) -> DataLoader:
        workers = self.cfg.num_workers
        if workers < 0:
            workers = 2 if self.device.type == "cuda" else 0
        loader = DataLoader(ds, batch_sampler=batch_sampler, collate_fn=collate, num_workers=workers,
                            pin_memory=self.device.type == "cuda", persistent_workers=workers > 0,
                            prefetch_factor=4 if workers > 0 else None,
                            # Its own generator: creating an iterator must not draw from the global RNG,
                            # or a run resumed mid-epoch would see different dropout masks.
                            generator=torch.Generator())
        if self.cfg.features != "stored":  # waveform batches become feature batches on the device
            return _onthefly().with_features(loader, self.feature_cfg, self.device)
        return loader

    # ----------------------------------------------------------------------------------------- step
    def train_step(self, batch: dict, global_utts: int, step: int) -> tuple[float, float, bool, float]:
        """One optimizer step on this rank's part of a global batch of ``global_utts`` utterances.

        Returns ``(global loss sum, grad norm, skipped, local loss sum)``; the first three are the same on
        every rank. ``step`` (steps done so far) seeds SpecAugment.
        """
        cfg, dev, w = self.cfg, self.device, self.ctx.world_size
        feats = batch["feats"].to(dev, non_blocking=True)
        lens = batch["feat_lens"]  # stays on the CPU: packing needs CPU lengths, and no device sync
        targets = batch["targets"].to(dev, non_blocking=True)
        if cfg.specaug.enabled:
            self.specaug_gen.manual_seed((cfg.seed * 1_000_003 + step) * 1009 + self.ctx.rank)
            feats = spec_augment(feats, lens, cfg.specaug, self.specaug_gen, fill=self.model.cmvn_mean)
        if cfg.freq_warp > 0:
            self.specaug_gen.manual_seed((cfg.seed * 1_000_003 + step) * 1013 + self.ctx.rank)
            feats = random_freq_warp(feats, cfg.freq_warp, self.specaug_gen)
        with self.precision.autocast():
            log_probs, out_lens = self.ddp_model(feats, lens)
        loss_sum = ctc_loss_sum(log_probs, out_lens.cpu(), targets, batch["target_lens"])
        # DDP averages gradients over ranks; scaling each rank's sum by world / global size makes that
        # average the gradient of (loss summed over the global batch) / (global batch size), exactly what
        # one process computing the whole batch would get, however unevenly the utterances are split.
        loss = loss_sum * (w / global_utts)
        self.optimizer.zero_grad(set_to_none=True)
        scaler = self.precision.scaler
        (scaler.scale(loss) if scaler is not None else loss).backward()
        if scaler is not None:
            scaler.unscale_(self.optimizer)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(),
                                                   cfg.grad_clip if cfg.grad_clip > 0 else float("inf"))
        local = loss_sum.detach().float()
        stats = torch.stack([local, (~torch.isfinite(local)).float()])
        all_reduce(stats, self.ctx)  # global loss sum, and how many ranks had a non-finite loss
        # The one host sync of the step.
        glob, bad_ranks, gnorm, local_v = torch.cat([stats, grad_norm.reshape(1).float(), local.reshape(1)]).tolist()
        # The gradient norm is computed from all-reduced gradients, so it agrees on every rank; an fp16 overflow
        # is the scaler's business (it skips the step and lowers the scale), not a bad step.
        bad = bad_ranks > 0 or (scaler is None and not math.isfinite(gnorm))
        if not bad:
            if scaler is not None:
                scaler.step(self.optimizer)
            else:
                self.optimizer.step()
        if scaler is not None:
            scaler.update()
        return glob, gnorm, bad, local_v

    # ------------------------------------------------------------------------------------ checkpoints
    def _trainer_state(self, sums: EpochSums) -> dict:
        return {"best_wer": self.best_wer, "history": self.history, "guard": self.guard.state_dict(),
                "epochs_without_improvement": self.epochs_without_improvement, "epoch_sums": asdict(sums)}

    def save(self, name: str, epoch: int, batch: int, step: int, sums: EpochSums, metrics: dict | None = None):
        """Checkpoint (collective: every rank hands its RNG state to rank 0, which writes)."""
        rngs = all_gather_object(rng_state(self.device.type == "cuda"), self.ctx)
        if not self.main:
            return
        scaler = self.precision.scaler
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(),
                 "scaler": scaler.state_dict() if scaler is not None else None,
                 "position": {"epoch": epoch, "batch": batch, "step": step}, "rng": rngs,
                 "trainer": self._trainer_state(sums), "config": asdict(self.cfg), "world_size": self.ctx.world_size}
        if metrics is not None:
            state["metrics"] = metrics
        save_checkpoint(self.exp / name, state)
        for p in prune_checkpoints(self.exp, self.cfg.keep_last, self.cfg.keep_best):
            log.debug("removed old checkpoint %s", p)

    def _restore(self) -> tuple[int, int, int, EpochSums, list | None]:
        """Load the newest checkpoint (resume=true) or clear old ones; return (epoch, batch, step, sums, rngs)."""
        path = None
        if self.main:
            if self.cfg.resume:
                info = latest_checkpoint(self.exp)
                path = str(info.path) if info else None
                if path is None:
                    log.warning("resume=true but no checkpoint in %s: starting from scratch", self.exp)
            else:
                n = remove_checkpoints(self.exp)
                if n:
                    log.warning("starting afresh in %s: removed %d old checkpoints (resume=true continues a run)",
                                self.exp, n)
        path = broadcast_object(path, self.ctx)
        if path is None:
            return 1, 0, 0, EpochSums(), None
        ck = load_checkpoint(path)
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        if self.precision.scaler is not None and ck.get("scaler"):
            self.precision.scaler.load_state_dict(ck["scaler"])
        st = ck["trainer"]
        self.best_wer, self.history = st["best_wer"], st["history"]
        self.epochs_without_improvement = st["epochs_without_improvement"]
        self.guard.load_state_dict(st["guard"])
        pos = ck["position"]
        old = ck.get("config", {})
        changed = sorted(k for k, v in asdict(self.cfg).items() if k in old and old[k] != v and k not in _NEUTRAL)
        if changed:
            log.warning("resuming with changed settings %s: the run will not match an uninterrupted one", changed)
        log.info("resuming from %s: epoch %d, batch %d, step %d", path, pos["epoch"], pos["batch"], pos["step"])
        rngs = ck["rng"]
        if len(rngs) != self.ctx.world_size:
            log.warning("checkpoint written by %d ranks, now %d: random states not restored", len(rngs),
                        self.ctx.world_size)
            rngs = None
        return pos["epoch"], pos["batch"], pos["step"], EpochSums(**st["epoch_sums"]), rngs

    # ------------------------------------------------------------------------------------------ run
    def fit(self) -> dict:
        """Train, checkpoint, export the best-dev-WER epoch to ``<exp_dir>/model``; return a summary."""
        cfg, ctx, exp = self.cfg, self.ctx, self.exp
        self.best_wer, self.history, self.epochs_without_improvement = float("inf"), [], 0
        epoch, start_batch, step, sums, rngs = self._restore()
        if self.main:
            save_config(cfg, exp / "train_config.yaml")
            with open(exp / "dropped_utts.txt", "w") as f:
                for split, items in self.dropped.items():
                    for u, why in items:
                        f.write(f"{split} {u} {why}\n")
        train_frames = sum(self.train_lengths)
        log.info("model: %.2fM parameters; train: %d utts, %.2f h; dev: %d utts; %d steps/epoch on %s x %d, %s",
                 self.model.num_params() / 1e6, len(self.train_ds), train_frames * self.feature_cfg.hop_ms / 3.6e6,
                 len(self.dev_ds), self.steps_per_epoch, self.device, ctx.world_size, self.precision.name)
        # Not on the CPU: RAM is rarely the limit there, and the probe would cost two full (slow) steps.
        if cfg.probe_memory and self.device.type == "cuda" and epoch <= self.num_epochs:
            self._probe(epoch)
        if rngs is not None:
            set_rng_state(rngs[ctx.rank])
        tlog = TrainLog(exp, enabled=self.main, tensorboard=cfg.tensorboard, plots=cfg.plots,
                        resume_step=step if self.history or step else None)
        stop = ""
        if cfg.early_stop_patience and self.epochs_without_improvement >= cfg.early_stop_patience:
            stop = "early_stop"  # resumed from the checkpoint of an early-stopped run
        if cfg.max_steps and step >= cfg.max_steps:
            stop = "max_steps"  # resumed where a max_steps run stopped: a rerun of the same command does nothing
        try:
            while epoch <= self.num_epochs and not stop:
                step, stop = self._run_epoch(epoch, start_batch, step, sums, tlog)
                if stop == "max_steps":
                    break
                stop = self._end_epoch(epoch, step, sums, tlog) or stop
                epoch, start_batch, sums = epoch + 1, 0, EpochSums()
        finally:
            tlog.close()
        barrier(ctx)
        if self.main and (exp / "model").is_dir():
            log.info("best dev WER %.2f%% -> %s", 100 * self.best_wer, exp / "model")
        return {"best_dev_wer": self.best_wer, "history": self.history, "model_dir": str(exp / "model"),
                "steps": step, "stopped": stop or "done"}

    def _probe(self, epoch: int) -> None:
        self.train_sampler.set_epoch(epoch)
        local = [self.train_sampler.local_batch(b) for b in self.train_sampler.global_batches()]
        worst = worst_case_batches(local, self.train_lengths)
        batches = list(self.make_loader(self.train_ds, worst)) if worst else []
        probe_memory(self.ddp_model, batches, ctc_loss, self.device, self.precision.autocast, self.cfg.max_frames)

    def _run_epoch(self, epoch: int, start_batch: int, step: int, sums: EpochSums, tlog: TrainLog):
        cfg, every = self.cfg, self.cfg.checkpoint_every_steps
        self.train_sampler.set_epoch(epoch, start_batch)
        sizes = self.train_sampler.global_sizes()
        # The last epoch of a fractional ``epochs`` stops early.
        n_batches = min(self.train_sampler.num_batches, self.total_steps - (epoch - 1) * self.steps_per_epoch)
        if start_batch >= n_batches:  # resumed from a checkpoint taken at the epoch's last step
            return step, ""
        self.ddp_model.train()
        bar = tqdm(total=n_batches, initial=start_batch, desc=f"epoch {epoch}/{cfg.epochs:g}", unit="batch",
                   disable=None if self.main else True)
        t0, t_seconds0 = time.time(), sums.seconds
        win_loss, win_utts, win_frames, win_t = 0.0, 0, 0, time.time()
        for b, (batch, gsize) in enumerate(zip(self.train_loader, sizes, strict=True), start=start_batch):
            glob, gnorm, bad, local = self.train_step(batch, gsize, step)
            with warnings.catch_warnings():  # a skipped step is on purpose; the schedule keeps counting steps
                warnings.filterwarnings("ignore", re.escape("Detected call of `lr_scheduler.step()` before"))
                self.scheduler.step()
            step += 1
            self.guard.update(bad, step, batch["utts"], local, gnorm)
            frames = int(batch["feat_lens"].sum()) * self.ctx.world_size  # about: ranks hold similar batches
            if not bad:
                sums.loss += glob
                sums.utts += gsize
                win_loss, win_utts = win_loss + glob, win_utts + gsize
            sums.frames += frames
            win_frames += frames
            lr = self.scheduler.get_last_lr()[0]
            bar.update(1)
            bar.set_postfix(loss=f"{glob / gsize:.2f}", lr=f"{lr:.2e}", refresh=False)
            if cfg.log_interval and step % cfg.log_interval == 0:
                fps = win_frames / max(time.time() - win_t, 1e-9)
                loss = win_loss / max(win_utts, 1)
                log.info("epoch %d step %d: loss %.3f, lr %.2e, grad norm %.2f, %.0f frames/s", epoch, step, loss,
                         lr, gnorm, fps)
                tlog.step({"step": step, "epoch": epoch, "loss": loss, "lr": lr, "grad_norm": gnorm,
                           "frames_per_second": fps})
                win_loss, win_utts, win_frames, win_t = 0.0, 0, 0, time.time()
            sums.seconds = t_seconds0 + time.time() - t0
            at_end = b + 1 == n_batches
            if cfg.max_steps and step >= cfg.max_steps:
                # Resumable like any step checkpoint (at the end of an epoch it resumes into the dev evaluation).
                self.save(f"step-{step}.pt", epoch, b + 1, step, sums)
                bar.close()
                log.info("max_steps=%d reached (epoch %d, batch %d of %d)", cfg.max_steps, epoch, b + 1, n_batches)
                return step, "max_steps"
            if every and step % every == 0 and not at_end:
                self.save(f"step-{step}.pt", epoch, b + 1, step, sums)
            if at_end:
                break
        bar.close()
        return step, ""

    def _end_epoch(self, epoch: int, step: int, sums: EpochSums, tlog: TrainLog) -> str:
        cfg = self.cfg
        t_dev = time.time()
        dev_loss, dev_wer, dev_cer = evaluate(self.model, self.dev_loader, self.tokenizer, self.device,
                                              cfg.dev_max_utts, self.precision.autocast, self.ctx)
        record = {"epoch": epoch, "step": step, "train_loss": sums.loss / max(sums.utts, 1), "dev_loss": dev_loss,
                  "dev_wer": dev_wer, "dev_cer": dev_cer, "lr": self.scheduler.get_last_lr()[0],
                  "epoch_seconds": sums.seconds + time.time() - t_dev,
                  "frames_per_second": sums.frames / max(sums.seconds, 1e-9)}
        self.history.append(record)
        log.info("epoch %d: train loss %.3f, dev loss %.3f, dev WER %.2f%%, CER %.2f%% (%.0f s)", epoch,
                 record["train_loss"], dev_loss, 100 * dev_wer, 100 * dev_cer, record["epoch_seconds"])
        improved = dev_wer < self.best_wer
        self.epochs_without_improvement = 0 if improved else self.epochs_without_improvement + 1
        if dev_wer <= self.best_wer:  # on a tie the later epoch, as before
            self.best_wer = dev_wer
            if self.main:
                save_model_dir(self.exp / "model", self.model, self.feature_cfg, self.tokenizer,
                               extra={"trained": {"epoch": epoch, "dev_wer": dev_wer, "dev_cer": dev_cer}})
        stop = ""
        if cfg.early_stop_patience and self.epochs_without_improvement >= cfg.early_stop_patience:
            log.info("early stopping: dev WER has not improved for %d epochs (best %.2f%%)",
                     self.epochs_without_improvement, 100 * self.best_wer)
            stop = "early_stop"
        tlog.epoch(self.history, final=bool(stop) or epoch == self.num_epochs)
        self.save(f"epoch-{epoch}.pt", epoch + 1, 0, step, EpochSums(), metrics=record)
        return stop


def train(cfg: TrainConfig) -> dict:
    """Train (as one rank of a torchrun job when launched by torchrun); see :class:`Trainer`."""
    ctx, device = init_distributed(cfg.device)
    if not ctx.is_main:  # one voice in the log: rank 0's (the others still warn)
        logging.getLogger("asr").setLevel(logging.WARNING)
    try:
        return Trainer(cfg, ctx, device).fit()
    finally:
        cleanup(ctx)
