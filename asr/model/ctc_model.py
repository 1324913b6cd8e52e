"""The acoustic model: global CMVN, BiLSTM encoder, linear CTC head over output units."""

from __future__ import annotations

import torch
from torch import nn

from asr.model.encoder import BiLSTMEncoder, ModelConfig


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
        self.encoder = BiLSTMEncoder(cfg)
        self.head = nn.Linear(self.encoder.output_dim, cfg.vocab_size)

    def set_cmvn(self, mean, std) -> None:
        self.cmvn_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.cmvn_std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = (feats - self.cmvn_mean) / self.cmvn_std
        enc, out_lengths = self.encoder(feats, lengths)
        return self.head(enc).log_softmax(dim=-1), out_lengths

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
