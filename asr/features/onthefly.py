"""On-the-fly features: training reads audio, and features are computed on the training device in batches.

The pieces, and how the trainer uses them (``TrainConfig.features = stored | on_the_fly``):

    source = open_features(cfg, data_dir, feats_dir)   # FeatureStore, or AudioSource (same interface)
    ds = CTCDataset(source, texts, tokenizer)          # items: (utt, feats (T, F) | waveform (N,), targets)
    loader = DataLoader(ds, ..., collate_fn=collate)   # collate pads waveforms into batch["wave"] (B, N)
    loader = with_features(loader, source.cfg, device) # batch["wave"] -> batch["feats"] (B, T, F) on device
    mean, std = training_cmvn(cfg, source)             # global CMVN: stored stats, or estimated from audio

Worker processes only read and pad audio (cheap); the feature step runs in the training process on
its device, as one batched call of the same extractor the store and transcription use, so the
numbers are those of the stored path (float32 instead of the store's float16).
"""

from __future__ import annotations

import logging
import os
import random
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from asr.data.audio import load_audio
from asr.data.datadir import read_datadir
from asr.features.cmvn import CMVN_FILE, CMVNStats, load_cmvn
from asr.features.config import FeatureConfig
from asr.features.logmel import make_feature_extractor
from asr.features.store import FeatureStore

log = logging.getLogger(__name__)

FEATURE_MODES = ("stored", "on_the_fly")
CMVN_MAX_UTTS = 2000  # utterances sampled to estimate global CMVN in on-the-fly mode


class AudioSource:
    """The audio of a data directory, with a FeatureStore's interface: ``cfg``, ``utt_ids``,
    ``num_frames(utt)``, ``utt in source``, and ``source[utt] -> waveform (N,) float32`` at ``cfg.sample_rate``.

    Every file's header is read once up front: missing, unreadable, empty and too-short files are
    left out here (counted, named in the log, in ``skipped``) rather than failing mid-epoch; files at
    another sample rate are resampled when read, and said once.
    """

    def __init__(self, data_dir: str | os.PathLike, cfg: FeatureConfig | None = None):
        self.cfg = cfg or FeatureConfig()
        dd = read_datadir(data_dir)
        self.paths: dict[str, str] = {}
        self._samples: dict[str, int] = {}
        self.skipped: dict[str, str] = {}
        rates: Counter[int] = Counter()
        for u in dd.utt_ids:
            path = str(dd.audio_path(u))
            try:
                info = sf.info(path)
            except Exception as e:  # noqa: BLE001 -- missing, unreadable: soundfile raises several types
                self.skipped[u] = f"{path}: not a readable audio file ({e})"
                continue
            n = info.frames if info.samplerate == self.cfg.sample_rate else \
                round(info.frames * self.cfg.sample_rate / info.samplerate)  # soxr's output length
            if info.frames <= 0:
                self.skipped[u] = f"{path}: contains no audio samples"
            elif self.cfg.num_frames(n) == 0:
                self.skipped[u] = f"{path}: {n} samples is shorter than one {self.cfg.frame_samples}-sample frame"
            else:
                self.paths[u], self._samples[u] = path, n
                if info.samplerate != self.cfg.sample_rate:
                    rates[info.samplerate] += 1
        if self.skipped:
            log.warning("%s: left out %d of %d utterances with unusable audio, e.g. %s", data_dir, len(self.skipped),
                        len(dd), next(iter(self.skipped.values())))
        if rates:
            log.warning("%s: %d files are not at %d Hz (%s); they are resampled when read", data_dir,
                        sum(rates.values()), self.cfg.sample_rate,
                        ", ".join(f"{n} at {r} Hz" for r, n in sorted(rates.items())))

    def __len__(self) -> int:
        return len(self.paths)

    def __contains__(self, utt: str) -> bool:
        return utt in self.paths

    def __getitem__(self, utt: str) -> np.ndarray:
        return load_audio(self.paths[utt], self.cfg.sample_rate)

    def num_samples(self, utt: str) -> int:
        return self._samples[utt]

    def num_frames(self, utt: str) -> int:
        """Frames the extractor will produce (exact at the native rate; +-1 for resampled files)."""
        return self.cfg.num_frames(self._samples[utt])

    @property
    def utt_ids(self) -> list[str]:
        return sorted(self.paths)


def open_features(cfg, data_dir: str | os.PathLike, feats_dir: str | os.PathLike) -> FeatureStore | AudioSource:
    """The feature source a ``TrainConfig`` asks for: the store at ``feats_dir``, or the audio of ``data_dir``."""
    if cfg.features == "stored":
        return FeatureStore(feats_dir)
    if cfg.features == "on_the_fly":
        return AudioSource(data_dir, cfg.feature_config)
    raise ValueError(f"features must be one of {FEATURE_MODES}, got {cfg.features!r}")


class BatchFeaturizer:
    """Batch of waveforms -> batch of features on ``device``; batches that already have features pass through.

    In: ``wave (B, N)`` float32, ``wave_lens (B,)``. Out: ``feats (B, T, F)`` float32 on ``device``,
    ``feat_lens (B,)`` int64 on the CPU (as the stored path gives them); the other keys unchanged.
    """

    def __init__(self, cfg: FeatureConfig, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.extractor = make_feature_extractor(cfg, self.device)

    def __call__(self, batch: dict) -> dict:
        if "wave" not in batch:
            return batch
        # no_grad, not inference_mode: inference tensors could not be saved for the model's backward.
        with torch.no_grad():
            feats, lens = self.extractor(batch["wave"].to(self.device, non_blocking=True), batch["wave_lens"])
        out = {k: v for k, v in batch.items() if k not in ("wave", "wave_lens")}
        out["feats"], out["feat_lens"] = feats, lens.cpu()
        return out


class FeaturizedLoader:
    """A DataLoader whose batches pass through a BatchFeaturizer; everything else is the loader's."""

    def __init__(self, loader, featurizer: BatchFeaturizer):
        self.loader = loader
        self.featurizer = featurizer

    def __iter__(self):
        for batch in self.loader:
            yield self.featurizer(batch)

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name):  # sampler, batch_sampler, dataset, ...
        return getattr(self.loader, name)


def with_features(loader, feature_cfg: FeatureConfig, device: str | torch.device):
    """The training hook: ``loader`` itself for stored features, else the loader with the batched feature step."""
    if not isinstance(getattr(loader.dataset, "store", None), AudioSource):
        return loader
    return FeaturizedLoader(loader, BatchFeaturizer(feature_cfg, device))


def estimate_cmvn(source: AudioSource, max_utts: int = CMVN_MAX_UTTS, seed: int = 0) -> CMVNStats:
    """Global mean/variance from (a seeded sample of at most ``max_utts``) utterances, with the store's extractor."""
    utts = source.utt_ids
    if len(utts) > max_utts:
        utts = sorted(random.Random(seed).sample(utts, max_utts))
    extractor = make_feature_extractor(source.cfg)
    stats = CMVNStats(source.cfg.n_mels)
    with torch.inference_mode():
        for u in utts:
            stats.update(extractor(torch.from_numpy(source[u]))[0][0].numpy())
    return stats


def training_cmvn(cfg, source: FeatureStore | AudioSource) -> tuple[np.ndarray, np.ndarray]:
    """``(mean (F,), std (F,))`` for the model: ``cfg.cmvn`` if set; else ``<train_feats>/cmvn.json`` (stored);
    else estimated from the training audio and saved as ``<exp_dir>/cmvn.json`` (on the fly)."""
    if cfg.cmvn:
        return load_cmvn(cfg.cmvn)
    if not isinstance(source, AudioSource):
        return load_cmvn(Path(cfg.train_feats) / CMVN_FILE)
    stats = estimate_cmvn(source, seed=cfg.seed)
    path = Path(cfg.exp_dir) / CMVN_FILE
    stats.save(path)
    log.info("global CMVN estimated from %d frames of %d training utterances -> %s", stats.count,
             min(len(source), CMVN_MAX_UTTS), path)
    return load_cmvn(path)
