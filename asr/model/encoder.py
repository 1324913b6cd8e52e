"""Bidirectional LSTM encoder with frame-stacking time subsampling."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from asr.model.lc_blstm import lc_blstm_forward, lstm_params, reverse_within_lengths


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
    utterance_cmn: bool = False  # also subtract each utterance's own mean (after global CMVN)
    lifter: int = 0  # keep this many cepstral coefficients of each normalized frame (0: all; see CTCModel)
    # Streaming (asr.model.lc_blstm): chunks of chunk_size encoder steps, each also seeing right_context
    # more; 0 = the offline BiLSTM over whole utterances.
    chunk_size: int = 0
    right_context: int = 0
    running_cmn: int = 0  # subtract the running mean of the frames so far, prior of N frames at 0 (0: off)

    def __post_init__(self):
        if self.chunk_size < 0 or self.right_context < 0 or self.running_cmn < 0:
            raise ValueError("model: chunk_size, right_context and running_cmn must be >= 0")
        if self.right_context and not self.chunk_size:
            raise ValueError("model: right_context needs chunk_size > 0 (a streaming model)")
        if self.streaming and self.utterance_cmn:
            raise ValueError("model: utterance_cmn needs the whole utterance, so a streaming model (chunk_size > 0) "
                             "cannot use it; use running_cmn (e.g. 100) instead")

    @property
    def streaming(self) -> bool:
        return self.chunk_size > 0


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


def _exporting() -> bool:
    return torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export()


class BiLSTMEncoder(nn.Module):
    """Features ``(B, T, F)`` -> encodings ``(B, T', D)`` with ``T' = ceil(T / subsample)``.

    A streaming config (``chunk_size > 0``) runs the same weights as a latency-controlled BiLSTM
    (asr.model.lc_blstm); otherwise each direction sees the whole utterance, as below.

    Padding never enters the backward direction of any layer, and the encodings of padding frames are 0.
    Two implementations of that one function: on a GPU (and for ONNX export) packed sequences, which
    cuDNN runs natively; on the CPU one padded single-direction LSTM call per layer and direction, the
    backward one on each utterance reversed within its own length. PyTorch runs the padded calls through
    oneDNN but steps packed sequences through time in plain ATen: measured 3x faster forward+backward
    on the CPU (256x3, 10 utterances of ~240 steps, one thread), same results to 1e-7.
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
        if self.cfg.streaming:
            return lc_blstm_forward(self.lstm, x, out_lengths, self.cfg.chunk_size, self.cfg.right_context,
                                    self.training), out_lengths
        # (oneDNN has no LSTM with projections: those stay on the packed path.)
        if x.device.type == "cpu" and not self.cfg.proj_size and not _exporting():
            return self.forward_by_direction(x, out_lengths), out_lengths
        return self.forward_packed(x, out_lengths), out_lengths

    def forward_packed(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, T', D_in)`` stacked frames -> ``(B, T', D)`` through packed sequences."""
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out

    def forward_by_direction(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The same as :meth:`forward_packed`, with padded single-direction LSTM calls (``self.lstm``'s weights)."""
        b, t, _ = x.shape
        lengths = lengths.cpu()
        rev = reverse_within_lengths(lengths, t).to(x.device).unsqueeze(-1)  # (B, T', 1)
        lstm, cfg = self.lstm, self.cfg
        h = x
        for layer in range(cfg.num_layers):
            outs = []
            for reverse in (False, True):
                params = lstm_params(lstm, layer, reverse)
                inp = h.gather(1, rev.expand(-1, -1, h.shape[2])) if reverse else h
                h0 = h.new_zeros(1, b, cfg.proj_size or cfg.hidden_size)
                c0 = h.new_zeros(1, b, cfg.hidden_size)
                out = torch.lstm(inp, (h0, c0), params, True, 1, 0.0, self.training, False, True)[0]
                outs.append(out.gather(1, rev.expand(-1, -1, out.shape[2])) if reverse else out)
            h = torch.cat(outs, dim=-1)
            if layer < cfg.num_layers - 1 and lstm.dropout > 0:  # where nn.LSTM puts its dropout
                h = nn.functional.dropout(h, lstm.dropout, self.training)
        # Past its length each row holds the LSTM run over padding: zero it, as pad_packed_sequence does.
        return h * (torch.arange(t, device=x.device).unsqueeze(0) < lengths.to(x.device).unsqueeze(1)).unsqueeze(-1)
