"""80-dim log-mel filterbank features (25 ms window, 10 ms hop) on CPU or GPU, in batches."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchaudio

LOG_FLOOR = 1e-6


@dataclass
class FeatureConfig:
    """How waveforms become frames. Saved with every feature store and model."""

    sample_rate: int = 16000
    n_mels: int = 80
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int = 512
    f_min: float = 20.0
    f_max: float = 7600.0

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate * self.win_ms / 1000))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000))

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for ``num_samples`` samples; 0 if shorter than one FFT frame.

        torchaudio frames with ``n_fft`` samples (the 25 ms window is zero-padded inside), center=False.
        """
        if num_samples < self.n_fft:
            return 0
        return 1 + (num_samples - self.n_fft) // self.hop_length


class LogMel(torch.nn.Module):
    """Waveforms ``(B, N)`` -> log-mel ``(B, T, n_mels)``; runs on whatever device it is moved to."""

    def __init__(self, cfg: FeatureConfig | None = None):
        super().__init__()
        self.cfg = cfg or FeatureConfig()
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=self.cfg.sample_rate,
            n_fft=self.cfg.n_fft,
            win_length=self.cfg.win_length,
            hop_length=self.cfg.hop_length,
            f_min=self.cfg.f_min,
            f_max=self.cfg.f_max,
            n_mels=self.cfg.n_mels,
            power=2.0,
            center=False,
        )

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor | None = None):
        """Return ``(feats (B, T, F), frame_lengths (B,))``; frames past a length are padding."""
        if wave.dim() == 1:
            wave = wave.unsqueeze(0)
        if wave.shape[-1] < self.cfg.n_fft:
            wave = torch.nn.functional.pad(wave, (0, self.cfg.n_fft - wave.shape[-1]))
        feats = torch.log(self.mel(wave.float()).clamp_min(LOG_FLOOR)).transpose(1, 2)
        if lengths is None:
            lengths = torch.full((wave.shape[0],), wave.shape[-1], dtype=torch.long)
        frame_lengths = torch.tensor([self.cfg.num_frames(int(n)) for n in lengths], dtype=torch.long)
        return feats, frame_lengths


def compute_logmel(wave, cfg: FeatureConfig | None = None) -> torch.Tensor:
    """One waveform ``(N,)`` (numpy or torch) -> log-mel ``(T, n_mels)`` float32 on the CPU."""
    wave = torch.as_tensor(wave, dtype=torch.float32)
    feats, _ = LogMel(cfg)(wave.unsqueeze(0))
    return feats[0]
