"""Bidirectional LSTM encoder with frame-stacking time subsampling."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


@dataclass
class ModelConfig:
    """Shape of the BiLSTM-CTC model. Saved in every model directory's config.json."""

    input_dim: int = 80
    subsample: int = 3  # stack this many consecutive frames: 10 ms -> 30 ms per encoder step
    hidden_size: int = 320  # per direction
    num_layers: int = 4
    proj_size: int = 0  # LSTM output projection per direction (0: none)
    dropout: float = 0.1  # between LSTM layers
    vocab_size: int = 0  # set from the unit set at training time


def stack_frames(feats: torch.Tensor, lengths: torch.Tensor, factor: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, T, F)`` -> ``(B, ceil(T/factor), F*factor)``; new lengths ``ceil(len/factor)``."""
    if factor == 1:
        return feats, lengths
    b, t, f = feats.shape
    pad = (-t) % factor
    if pad:
        feats = nn.functional.pad(feats, (0, 0, 0, pad))
    feats = feats.reshape(b, (t + pad) // factor, f * factor)
    return feats, (lengths + factor - 1) // factor


class BiLSTMEncoder(nn.Module):
    """Features ``(B, T, F)`` -> encodings ``(B, T', D)`` with ``T' = ceil(T / subsample)``.

    Sequences are packed, so padding never enters the backward direction of any layer.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.lstm = nn.LSTM(
            input_size=cfg.input_dim * cfg.subsample,
            hidden_size=cfg.hidden_size,
            num_layers=cfg.num_layers,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
            bidirectional=True,
            batch_first=True,
            proj_size=cfg.proj_size,
        )

    @property
    def output_dim(self) -> int:
        return 2 * (self.cfg.proj_size or self.cfg.hidden_size)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, out_lengths = stack_frames(feats, lengths, self.cfg.subsample)
        packed = pack_padded_sequence(x, out_lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out, out_lengths
