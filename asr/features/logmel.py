"""Waveforms -> log-mel frames, batched, on CPU or GPU, for every backend of ``FeatureConfig``.

``make_feature_extractor(cfg)`` is the one entry point: feature extraction (the store), on-the-fly
training features and transcription all call it, so they compute the same numbers for any backend.
"""

from __future__ import annotations

import numpy as np
import torch
import torchaudio

from asr.features.config import FeatureConfig

__all__ = ["FeatureConfig", "FeatureExtractor", "LogMel", "make_feature_extractor", "compute_logmel",
           "frame_lengths"]

LOG_FLOOR = 1e-6
KALDI_SCALE = 32768.0  # Kaldi reads 16-bit samples as integers; its log floor and energies assume that range
UTT_NORM_EPS = 1e-5


def frame_lengths(cfg: FeatureConfig, lengths: torch.Tensor) -> torch.Tensor:
    """Sample counts ``(B,)`` -> frame counts ``(B,)`` (same device), as ``cfg.num_frames`` does one by one."""
    frames = 1 + torch.div(lengths - cfg.frame_samples, cfg.hop_length, rounding_mode="floor")
    return torch.where(lengths >= cfg.frame_samples, frames, torch.zeros_like(frames)).long()


class _TorchaudioLogMel(torch.nn.Module):
    """torchaudio's MelSpectrogram (power 2, center=False) then log, for the whole padded batch at once.

    Frames inside each utterance never see its padding. The power spectrum is computed as
    ``re^2 + im^2`` of an rFFT of the framed signal instead of MelSpectrogram's ``|X|^2`` (a sqrt
    then a square): 1.8x faster on the CPU, and equal to MelSpectrogram to 1e-6 (tested).
    """

    def __init__(self, cfg: FeatureConfig):
        super().__init__()
        self.n_fft, self.hop = cfg.n_fft, cfg.hop_length
        # The Hann window of win_length samples, centred in n_fft (as torch.stft pads it).
        left = (cfg.n_fft - cfg.win_length) // 2
        window = torch.nn.functional.pad(torch.hann_window(cfg.win_length), (left, cfg.n_fft - cfg.win_length - left))
        self.register_buffer("window", window, persistent=False)
        fb = torchaudio.functional.melscale_fbanks(cfg.n_fft // 2 + 1, cfg.f_min, cfg.f_max, cfg.n_mels,
                                                   cfg.sample_rate, norm=None, mel_scale="htk")
        self.register_buffer("fb", fb, persistent=False)  # (n_fft/2+1, n_mels)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        frames = wave.unfold(-1, self.n_fft, self.hop)  # (B, T, n_fft), a view
        spec = torch.fft.rfft(frames * self.window)  # (B, T, n_fft/2+1)
        power = spec.real.square() + spec.imag.square()
        return torch.log(torch.matmul(power, self.fb).clamp_min_(LOG_FLOOR))  # (B, T, n_mels)


class _LibrosaLogMel(torch.nn.Module):
    """The torchaudio definition recomputed with librosa, utterance by utterance on the CPU (a cross-check)."""

    def __init__(self, cfg: FeatureConfig):
        super().__init__()
        import librosa  # imported here: slow to import, and only this backend needs it

        self.cfg = cfg
        self._librosa = librosa
        # HTK mel scale and unnormalized triangles are torchaudio's defaults (librosa's are Slaney).
        self._basis = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.f_min,
                                          fmax=cfg.f_max, htk=True, norm=None)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        out = []
        for w, n in zip(wave.cpu().numpy(), lengths.tolist(), strict=True):
            w = w[: max(int(n), cfg.frame_samples)]
            spec = np.abs(self._librosa.stft(w, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
                                             window="hann", center=False)) ** 2
            out.append(torch.from_numpy(np.log(np.maximum(self._basis @ spec, LOG_FLOOR)).T.astype(np.float32)))
        return _pad_frames(out, wave)


class _KaldiFbank(torch.nn.Module):
    """Kaldi's fbank (``torchaudio.compliance.kaldi.fbank`` with our options) for a whole padded batch at once.

    The same steps as that function -- frames of the window length (snip_edges), DC removal,
    pre-emphasis 0.97, povey window, zero-padding to a power of two, power spectrum, Kaldi's mel
    banks, log floored at float32 epsilon -- vectorized over the batch, so that on a GPU it is one
    set of kernels instead of one per utterance. Equal to kaldi.fbank to 1e-4 (tested).
    """

    PREEMPHASIS = 0.97

    def __init__(self, cfg: FeatureConfig):
        super().__init__()
        if cfg.win_length != int(cfg.sample_rate * cfg.win_ms / 1000) or \
                cfg.hop_length != int(cfg.sample_rate * cfg.hop_ms / 1000):
            raise ValueError("kaldi backend: window and hop must be whole numbers of samples")
        self.win, self.hop = cfg.win_length, cfg.hop_length
        self.padded = 1 << (self.win - 1).bit_length()  # round_to_power_of_two
        self.register_buffer("window", torch.hann_window(self.win, periodic=False).pow(0.85), persistent=False)
        banks, _ = torchaudio.compliance.kaldi.get_mel_banks(cfg.n_mels, self.padded, float(cfg.sample_rate),
                                                             cfg.f_min, cfg.f_max, 100.0, -500.0, 1.0)
        banks = torch.nn.functional.pad(banks, (0, 1))  # no weight on the Nyquist bin, as kaldi.fbank
        self.register_buffer("banks", banks.T.contiguous(), persistent=False)  # (padded/2+1, n_mels)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        frames = (wave * KALDI_SCALE).unfold(-1, self.win, self.hop)  # (B, T, win)
        frames = frames - frames.mean(-1, keepdim=True)  # remove_dc_offset
        previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)  # x[j-1], x[0] for j=0
        frames = (frames - self.PREEMPHASIS * previous) * self.window
        spec = torch.fft.rfft(frames, n=self.padded)  # (B, T, padded/2+1)
        power = spec.real.square() + spec.imag.square()
        return torch.log(torch.matmul(power, self.banks).clamp_min_(torch.finfo(torch.float32).eps))


def _pad_frames(per_utt: list[torch.Tensor], wave: torch.Tensor) -> torch.Tensor:
    """``B`` tensors ``(T_i, F)`` -> ``(B, max T_i, F)`` on ``wave``'s device, zero-padded."""
    feats = torch.zeros(len(per_utt), max(f.shape[0] for f in per_utt), per_utt[0].shape[1], device=wave.device)
    for i, f in enumerate(per_utt):
        feats[i, : f.shape[0]] = f
    return feats


_BACKENDS = {"torchaudio": _TorchaudioLogMel, "librosa": _LibrosaLogMel, "kaldi": _KaldiFbank}


def normalize_per_utterance(feats: torch.Tensor, lens: torch.Tensor, mode: str) -> torch.Tensor:
    """Subtract each utterance's mean (``mean``) and divide by its std (``meanvar``) over its own frames."""
    lens = lens.to(feats.device)
    mask = (torch.arange(feats.shape[1], device=feats.device)[None, :] < lens[:, None]).unsqueeze(-1)  # (B, T, 1)
    n = lens.clamp_min(1)[:, None, None].to(feats.dtype)  # (B, 1, 1)
    x = feats - (feats * mask).sum(1, keepdim=True) / n
    if mode == "meanvar":
        x = x * torch.rsqrt(((x * mask) ** 2).sum(1, keepdim=True) / n + UTT_NORM_EPS)
    return x * mask


class FeatureExtractor(torch.nn.Module):
    """Waveforms ``(B, N)`` (or one ``(N,)``) -> features ``(B, T, F)`` float32 and frame counts ``(B,)``.

    ``T = cfg.num_frames(N)`` (at least 1); frames past an utterance's count are zeros. Runs on the
    device it is moved to (the librosa backend computes on the CPU and returns on the input's device).
    """

    def __init__(self, cfg: FeatureConfig | None = None):
        super().__init__()
        self.cfg = cfg or FeatureConfig()
        self.backend = _BACKENDS[self.cfg.backend](self.cfg)

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if wave.dim() == 1:
            wave = wave.unsqueeze(0)
        wave = wave.float()
        padded = lengths is not None or wave.shape[-1] < self.cfg.frame_samples
        if lengths is None:
            lengths = torch.full((wave.shape[0],), wave.shape[-1], dtype=torch.long)
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        if wave.shape[-1] < self.cfg.frame_samples:  # so that every backend yields one (invalid) frame
            wave = torch.nn.functional.pad(wave, (0, self.cfg.frame_samples - wave.shape[-1]))
        feats = self.backend(wave, lengths)
        lens = frame_lengths(self.cfg, lengths)
        if self.cfg.utt_norm != "none":
            feats = normalize_per_utterance(feats, lens, self.cfg.utt_norm)
        elif padded:  # zero the padding frames so that every backend returns the same batch
            feats = feats * (torch.arange(feats.shape[1], device=feats.device)[None, :]
                             < lens.to(feats.device)[:, None]).unsqueeze(-1)
        return feats, lens


LogMel = FeatureExtractor  # the name the rest of the code base has used since the first commit


def make_feature_extractor(cfg: FeatureConfig | None = None, device: str | torch.device = "cpu") -> FeatureExtractor:
    """The feature computation for ``cfg`` (any backend) on ``device``, in eval mode."""
    return FeatureExtractor(cfg).to(device).eval()


def compute_logmel(wave, cfg: FeatureConfig | None = None) -> torch.Tensor:
    """One waveform ``(N,)`` (numpy or torch) -> features ``(T, n_mels)`` float32 on the CPU."""
    wave = torch.as_tensor(wave, dtype=torch.float32)
    with torch.no_grad():
        feats, _ = make_feature_extractor(cfg)(wave.unsqueeze(0))
    return feats[0]
