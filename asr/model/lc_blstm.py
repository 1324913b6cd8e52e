"""Latency-controlled BiLSTM (LC-BLSTM): the streaming form of the encoder.

The encoder steps are cut into chunks of ``Nc = chunk_size`` steps. In every layer:

- the forward direction runs over the chunks in order and carries its state from one chunk to the next
  (it sees the whole past, as in the offline BiLSTM);
- the backward direction runs over each chunk *plus its* ``Nr = right_context`` following steps,
  starting from a zero state at the end of that window: it sees the chunk and a little of the future;
- the ``Nr`` right-context steps are also run through the layer (forward direction continuing from the
  chunk's end state, backward as above), only to give the next layer its right-context inputs; their
  outputs are thrown away once the chunk is done (Zhang et al., "Highway LSTM", 2016; Xue & Yan 2017).

So an output step is final as soon as its chunk and ``Nr`` more steps have arrived, whatever the number
of layers: latency ``Nc + Nr`` steps at most. :func:`lc_blstm_forward` computes a whole batch at once
(training, offline decoding); :class:`StreamingState` with :func:`lc_blstm_chunk` computes the same
numbers one chunk at a time as audio arrives (asr.stream). Both run every chunk through the same three
LSTM calls per layer, so they agree to float rounding (tested).

Shapes: ``B`` utterances, ``T`` encoder steps (stacked frames), ``K = ceil(T / Nc)`` chunks, ``D`` input
size, ``H`` hidden size per direction, ``L`` layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

_PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def lstm_params(lstm: nn.LSTM, layer: int, reverse: bool) -> list[torch.Tensor]:
    """One direction of one layer of ``lstm``, in the order ``torch.lstm`` takes (with the projection's
    ``weight_hr`` when it has one)."""
    suffix = "_reverse" if reverse else ""
    names = _PARAM_NAMES + (("weight_hr",) if lstm.proj_size else ())
    return [getattr(lstm, f"{n}_l{layer}{suffix}") for n in names]


def _run(params: list[torch.Tensor], x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor,
         training: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One single-direction LSTM layer: ``x (N, S, D)``, ``h0 (1, N, O)``, ``c0 (1, N, H)`` ->
    ``(out (N, S, O), hN, cN)`` (``O``: the projection size, else ``H``)."""
    return torch.lstm(x, (h0, c0), params, True, 1, 0.0, training, False, True)


def reverse_within_lengths(lengths: torch.Tensor, t: int) -> torch.Tensor:
    """``(N, t)`` time index (on ``lengths``' device) that reverses each row's first ``lengths[n]`` steps and
    leaves the rest in place.

    Gathering with it twice is the identity; it turns a right-padded batch into the backward direction's
    input with the padding still at the end, where it cannot reach any valid step.
    """
    pos = torch.arange(t, device=lengths.device).unsqueeze(0)
    n = lengths.unsqueeze(1)
    return torch.where(pos < n, n - 1 - pos, pos)


def lc_layer(lstm: nn.LSTM, layer: int, real: torch.Tensor, right: torch.Tensor, valid: torch.Tensor,
             h0: torch.Tensor, c0: torch.Tensor, chunk: int, training: bool
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One LC-BLSTM layer over ``K`` consecutive chunks.

    ``real (B, K*Nc, D)``: the chunks' inputs; ``right (B, K, Nr, D)``: each chunk's right-context inputs
    (as computed for that chunk by the layer below); ``valid (B, K)``: how many of each chunk's
    ``Nc + Nr`` window steps are inside the utterance (the backward direction starts at the last of them,
    so padding never reaches a valid step); ``h0, c0 (1, B, H)``: the forward state before the first chunk.

    Returns ``(real (B, K*Nc, 2H), right (B, K, Nr, 2H), hN, cN)``, ``hN, cN`` the forward state after the
    last chunk's ``Nc`` steps.
    """
    b, k_chunks, nr, d = right.shape
    fwd, bwd = lstm_params(lstm, layer, False), lstm_params(lstm, layer, True)
    outs, hs, cs = [], [], []
    h, c = h0, c0
    for k in range(k_chunks):  # the carried state makes this loop sequential
        out, h, c = _run(fwd, real[:, k * chunk:(k + 1) * chunk], h, c, training)
        outs.append(out)
        hs.append(h)
        cs.append(c)
    real_fwd = torch.cat(outs, dim=1)  # (B, K*Nc, O)
    out_size, cell_size = real_fwd.shape[-1], lstm.hidden_size
    if nr:  # the right context continues each chunk's forward state, all chunks as one batch
        h_chunks = torch.stack(hs, dim=2).reshape(1, b * k_chunks, out_size)
        c_chunks = torch.stack(cs, dim=2).reshape(1, b * k_chunks, cell_size)
        right_fwd = _run(fwd, right.reshape(b * k_chunks, nr, d), h_chunks, c_chunks, training)[0]
        right_fwd = right_fwd.reshape(b, k_chunks, nr, out_size)
    else:
        right_fwd = right.new_zeros(b, k_chunks, 0, out_size)
    # Backward: every chunk's window (Nc + Nr steps) reversed within its valid length, all as one batch.
    width = chunk + nr
    window = torch.cat([real.reshape(b, k_chunks, chunk, d), right], dim=2).reshape(b * k_chunks, width, d)
    rev = reverse_within_lengths(valid.reshape(-1), width).unsqueeze(-1)  # (B*K, width, 1)
    h0_back, c0_back = window.new_zeros(1, b * k_chunks, out_size), window.new_zeros(1, b * k_chunks, cell_size)
    back = _run(bwd, window.gather(1, rev.expand(-1, -1, d)), h0_back, c0_back, training)[0]
    back = back.gather(1, rev.expand(-1, -1, out_size)).reshape(b, k_chunks, width, out_size)
    real_out = torch.cat([real_fwd, back[:, :, :chunk].reshape(b, k_chunks * chunk, out_size)], dim=-1)
    right_out = torch.cat([right_fwd, back[:, :, chunk:]], dim=-1)
    return real_out, right_out, h, c


def lc_stack(lstm: nn.LSTM, real: torch.Tensor, right: torch.Tensor, valid: torch.Tensor,
             state: tuple[torch.Tensor, torch.Tensor], chunk: int, training: bool
             ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """All layers over ``K`` chunks. ``state``: forward ``(h, c)``, each ``(L, B, H)``, before the chunks.

    Returns ``(real (B, K*Nc, 2H), right (B, K, Nr, 2H), state after the chunks)``.
    """
    h_all, c_all = state
    new_h, new_c = [], []
    for layer in range(lstm.num_layers):
        real, right, h, c = lc_layer(lstm, layer, real, right, valid, h_all[layer:layer + 1],
                                     c_all[layer:layer + 1], chunk, training)
        new_h.append(h)
        new_c.append(c)
        if layer < lstm.num_layers - 1 and lstm.dropout > 0:  # where nn.LSTM puts its dropout
            real = nn.functional.dropout(real, lstm.dropout, training)
            right = nn.functional.dropout(right, lstm.dropout, training)
    return real, right, (torch.cat(new_h), torch.cat(new_c))


def zero_state(lstm: nn.LSTM, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward ``(h (L, B, O), c (L, B, H))`` of zeros."""
    return (like.new_zeros(lstm.num_layers, batch, lstm.proj_size or lstm.hidden_size),
            like.new_zeros(lstm.num_layers, batch, lstm.hidden_size))


def chunk_windows(x: torch.Tensor, lengths: torch.Tensor, chunk: int, right: int
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``x (B, T, D)`` -> ``(real (B, K*Nc, D), right (B, K, Nr, D), valid (B, K))``, zero-padded."""
    b, t, d = x.shape
    k_chunks = max(1, -(-t // chunk))
    x = nn.functional.pad(x, (0, 0, 0, k_chunks * chunk + right - t))
    idx = (torch.arange(1, k_chunks + 1, device=x.device) * chunk).unsqueeze(1) + torch.arange(right, device=x.device)
    right_in = x[:, idx.reshape(-1)].reshape(b, k_chunks, right, d)
    starts = torch.arange(k_chunks, device=x.device) * chunk
    valid = (lengths.to(x.device).unsqueeze(1) - starts).clamp(0, chunk + right)
    return x[:, : k_chunks * chunk], right_in, valid


def lc_blstm_forward(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor, chunk: int, right: int,
                     training: bool) -> torch.Tensor:
    """Stacked frames ``(B, T, D)`` and lengths ``(B,)`` -> encodings ``(B, T, 2H)`` (zero past each length)."""
    t = x.shape[1]
    real, right_in, valid = chunk_windows(x, lengths, chunk, right)
    out, _, _ = lc_stack(lstm, real, right_in, valid, zero_state(lstm, x.shape[0], x), chunk, training)
    out = out[:, :t]
    return out * (torch.arange(t, device=x.device).unsqueeze(0) < lengths.to(x.device).unsqueeze(1)).unsqueeze(-1)


@dataclass
class StreamingState:
    """What an LC-BLSTM keeps between chunks of one stream: the forward ``(h, c)`` of every layer
    ``(L, 1, H)`` and the stacked input steps ``(S, D)`` that have arrived but not yet been consumed."""

    h: torch.Tensor
    c: torch.Tensor
    pending: torch.Tensor

    @classmethod
    def initial(cls, lstm: nn.LSTM, input_dim: int, like: torch.Tensor) -> StreamingState:
        h, c = zero_state(lstm, 1, like)
        return cls(h, c, like.new_zeros(0, input_dim))


def lc_blstm_chunk(lstm: nn.LSTM, state: StreamingState, chunk: int, right: int, final: bool
                   ) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Consume one chunk of ``state.pending`` if enough steps have arrived (all that is left if ``final``).

    Returns ``(final encodings (n, 2H), provisional right-context encodings (m, 2H))`` -- ``n`` steps
    that will never change, ``m`` look-ahead steps computed from what has arrived so far -- or None
    when there is nothing to do yet. The forward state in ``state`` moves on by the chunk.
    """
    have = state.pending.shape[0]
    if have == 0 or (have < chunk + right and not final):
        return None
    n = min(chunk, have)
    window = state.pending[: chunk + right]
    valid = window.shape[0]
    window = nn.functional.pad(window, (0, 0, 0, chunk + right - valid)).unsqueeze(0)  # (1, Nc+Nr, D)
    real, right_in = window[:, :chunk], window[:, chunk:].unsqueeze(1)
    valid_t = torch.tensor([[valid]], device=window.device)
    out, right_out, (state.h, state.c) = lc_stack(lstm, real, right_in, valid_t, (state.h, state.c), chunk, False)
    state.pending = state.pending[n:]
    return out[0, :n], right_out[0, 0, : max(0, valid - n)]
