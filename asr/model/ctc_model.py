"""The acoustic model: global CMVN, BiLSTM encoder, linear CTC head over output units."""

from __future__ import annotations

import torch
from torch import nn

from asr.model.encoder import BiLSTMEncoder, ModelConfig


def utterance_mean_norm(feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Subtract each utterance's mean over its valid frames: ``(B, T, F)`` -> ``(B, T, F)``.

    Removes what is constant over an utterance (a voice's spectral tilt, a channel), which global
    CMVN cannot. Padding frames stay zero.
    """
    mask = (torch.arange(feats.shape[1], device=feats.device).unsqueeze(0)
            < lengths.to(feats.device).unsqueeze(1)).unsqueeze(-1)  # (B, T, 1)
    mean = (feats * mask).sum(1, keepdim=True) / lengths.to(feats.device).clamp(min=1).view(-1, 1, 1)
    return (feats - mean) * mask


def running_mean_norm(feats: torch.Tensor, lengths: torch.Tensor, prior: int,
                      past_sum: torch.Tensor | None = None, past_count: int = 0) -> torch.Tensor:
    """Subtract from each frame the mean of the utterance's frames up to it: ``(B, T, F)`` -> ``(B, T, F)``.

    The causal form of :func:`utterance_mean_norm`, for streaming models: frame ``t``'s mean is
    ``(sum of frames 0..t) / (t + 1 + prior)``, as if ``prior`` frames at the global mean (0 after CMVN)
    came first, so that the first frames are not normalized to nothing. ``past_sum (B, F)`` and
    ``past_count`` continue a stream whose earlier frames were normalized by an earlier call.
    """
    mask = (torch.arange(feats.shape[1], device=feats.device).unsqueeze(0)
            < lengths.to(feats.device).unsqueeze(1)).unsqueeze(-1)  # (B, T, 1)
    sums = (feats * mask).cumsum(1)
    if past_sum is not None:
        sums = sums + past_sum.unsqueeze(1)
    count = torch.arange(1, feats.shape[1] + 1, device=feats.device, dtype=feats.dtype) + past_count + prior
    return (feats - sums / count.view(1, -1, 1)) * mask


def cepstral_smoother(num_bins: int, keep: int) -> torch.Tensor:
    """``(F, F)`` matrix that keeps the first ``keep`` DCT-II coefficients of a frame: ``frames @ M``.

    Orthonormal DCT over the mel axis, low quefrencies kept, inverse DCT: the spectral envelope (formants,
    tilt) stays and the harmonic ripple of the voice's pitch, which says who speaks, not what, goes.
    """
    n = torch.arange(num_bins, dtype=torch.float64)
    k = n[:keep].unsqueeze(1)  # (K, 1)
    dct = torch.cos(torch.pi / num_bins * (n + 0.5) * k) * (2.0 / num_bins) ** 0.5  # (K, F)
    dct[0] /= 2.0**0.5
    return (dct.T @ dct).float()


class CTCModel(nn.Module):
    """Log-mel ``(B, T, F)`` -> CTC log-probabilities ``(B, T', V)`` with ``T' = ceil(T / subsample)``.

    The CMVN statistics are buffers of the model, so a saved model carries its own normalization.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.vocab_size <= 1:
            raise ValueError(f"vocab_size must be > 1, got {cfg.vocab_size}")
        self.cfg = cfg
        self.register_buffer("cmvn_mean", torch.zeros(cfg.input_dim))
        self.register_buffer("cmvn_std", torch.ones(cfg.input_dim))
        # Derived from the config, so not saved: models from before the option load unchanged.
        self.register_buffer("smoother", cepstral_smoother(cfg.input_dim, cfg.lifter) if cfg.lifter else None,
                             persistent=False)
        self.encoder = BiLSTMEncoder(cfg)
        self.head = nn.Linear(self.encoder.output_dim, cfg.vocab_size)

    def set_cmvn(self, mean, std) -> None:
        self.cmvn_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.cmvn_std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self.normalize(feats, lengths)
        enc, out_lengths = self.encoder(feats, lengths)  # packing wants the lengths on the CPU
        return self.head(enc).log_softmax(dim=-1), out_lengths

    def normalize(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Log-mel ``(B, T, F)`` -> the encoder's input ``(B, T, F)``: CMVN, per-utterance norms, liftering."""
        feats = (feats - self.cmvn_mean) / self.cmvn_std
        # Padding must read as zeros after normalization, as past the end of a lone utterance (stack_frames
        # pads with zeros): else the last stacked frame of an utterance would depend on its batch-mates.
        # (Training passes lengths on the CPU, pinned: non_blocking keeps the copy from waiting on the GPU.)
        dev_lengths = lengths.to(feats.device, non_blocking=True)
        pad = torch.arange(feats.shape[1], device=feats.device) >= dev_lengths.unsqueeze(1)
        feats = feats.masked_fill(pad.unsqueeze(-1), 0.0)
        if self.cfg.utterance_cmn:
            feats = utterance_mean_norm(feats, dev_lengths)
        if self.cfg.running_cmn:
            feats = running_mean_norm(feats, dev_lengths, self.cfg.running_cmn)
        if self.smoother is not None:  # padding frames stay zero: the smoother mixes bins, not frames
            feats = feats @ self.smoother
        return feats

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
