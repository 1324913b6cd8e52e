"""Log-mel frames of audio that arrives in pieces: the same frames as the whole file gives.

Every backend keeps only frames that lie fully inside the signal (``center=False``), and each frame
depends only on its own samples, so frame ``i`` (samples ``[i*hop, i*hop + frame_samples)``) can be
computed as soon as its last sample arrives. ``FeatureStream`` keeps the samples the next frames still
need and nothing older.
"""

from __future__ import annotations

import numpy as np
import torch

from asr.features.config import FeatureConfig
from asr.features.logmel import make_feature_extractor


class FeatureStream:
    """``accept(samples (n,))`` -> the frames ``(m, n_mels)`` completed by them (``m`` may be 0).

    The concatenation of all returned frames equals ``compute_logmel(all samples, cfg)`` (to float
    rounding), whatever the piece sizes (tests/features/test_streaming_features.py).
    """

    def __init__(self, cfg: FeatureConfig, device: str | torch.device = "cpu"):
        if cfg.utt_norm != "none":
            raise ValueError(f"features with utt_norm={cfg.utt_norm!r} need the whole utterance: "
                             "they cannot be computed while audio streams in")
        self.cfg = cfg
        self.extractor = make_feature_extractor(cfg, device)
        self.device = torch.device(device)
        self.buffer = np.zeros(0, dtype=np.float32)
        self.num_frames = 0  # frames returned so far
        self.num_samples = 0  # samples accepted so far

    @torch.inference_mode()
    def accept(self, samples: np.ndarray) -> torch.Tensor:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.num_samples += samples.size
        self.buffer = np.concatenate([self.buffer, samples]) if self.buffer.size else samples.copy()
        n = self.cfg.num_frames(self.buffer.size)
        if n == 0:
            return torch.zeros(0, self.cfg.n_mels, device=self.device)
        used = (n - 1) * self.cfg.hop_length + self.cfg.frame_samples
        feats, _ = self.extractor(torch.from_numpy(self.buffer[:used]).to(self.device))
        self.buffer = self.buffer[n * self.cfg.hop_length:]
        self.num_frames += n
        return feats[0]
