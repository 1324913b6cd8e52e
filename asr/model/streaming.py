"""A streaming model run one piece at a time: log-mel frames in, CTC log-probs of final steps out.

``ModelStream(model)`` holds one stream's state: the running-CMN sums, the frames not yet stacked
into an encoder step, and the LC-BLSTM's carried state and pending steps (asr.model.lc_blstm). Fed the
frames of an utterance in pieces of any size, it returns the same log-probs as ``model(feats, lengths)``
on the whole utterance, to float rounding (tests/model/test_streaming_model.py).
"""

from __future__ import annotations

import torch

from asr.model.ctc_model import CTCModel, running_mean_norm
from asr.model.lc_blstm import StreamingState, lc_blstm_chunk


class ModelStream:
    """One stream through a streaming :class:`CTCModel` (``cfg.chunk_size > 0``).

    :meth:`accept` takes log-mel frames ``(n, F)`` and returns ``(final (n', V), provisional (m, V))``:
    log-probs of the encoder steps that are now final, in order, and of the look-ahead steps after them
    (computed from the right context; they change when the next chunk comes). :meth:`finish` returns
    the final log-probs of everything left.
    """

    def __init__(self, model: CTCModel):
        if not model.cfg.streaming:
            raise ValueError("not a streaming model (its config has chunk_size 0): it needs whole utterances; "
                             "train one with recipes/synth/conf/train_stream.yaml")
        self.model = model
        cfg = model.cfg
        like = model.cmvn_mean
        self.state = StreamingState.initial(model.encoder.lstm, cfg.input_dim * cfg.subsample, like)
        self.frames = like.new_zeros(0, cfg.input_dim)  # normalized frames waiting for a whole stack
        self.cmn_sum = like.new_zeros(1, cfg.input_dim)
        self.num_frames = 0  # frames accepted so far
        self.num_steps = 0  # final encoder steps returned so far
        self.provisional = like.new_zeros(0, cfg.vocab_size)
        self.finished = False

    @property
    def subsample(self) -> int:
        return self.model.cfg.subsample

    def _normalize(self, feats: torch.Tensor) -> torch.Tensor:
        model, cfg = self.model, self.model.cfg
        x = ((feats - model.cmvn_mean) / model.cmvn_std).unsqueeze(0)  # (1, n, F)
        if cfg.running_cmn:
            n = torch.tensor([x.shape[1]])
            normed = running_mean_norm(x, n, cfg.running_cmn, self.cmn_sum, self.num_frames)
            self.cmn_sum = self.cmn_sum + x.sum(1)
            x = normed
        if model.smoother is not None:
            x = x @ model.smoother
        return x[0]

    def _run(self, final: bool) -> torch.Tensor:
        lstm, cfg = self.model.encoder.lstm, self.model.cfg
        outs = []
        while (step := lc_blstm_chunk(lstm, self.state, cfg.chunk_size, cfg.right_context, final)) is not None:
            out, right = step
            outs.append(out)
            self.provisional = self.model.head(right).log_softmax(-1)
        enc = torch.cat(outs) if outs else self.frames.new_zeros(0, self.model.encoder.output_dim)
        self.num_steps += enc.shape[0]
        return self.model.head(enc).log_softmax(-1)

    @torch.inference_mode()
    def accept(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames ``(n, F)`` (any ``n >= 0``) -> ``(final log-probs (n', V), provisional (m, V))``."""
        if self.finished:
            raise RuntimeError("stream already finished")
        feats = feats.to(self.frames.device, torch.float32)
        if feats.shape[0]:
            self.frames = torch.cat([self.frames, self._normalize(feats)])
            self.num_frames += feats.shape[0]
        whole = self.frames.shape[0] // self.subsample * self.subsample
        if whole:
            steps = self.frames[:whole].reshape(-1, self.subsample * self.frames.shape[1])
            self.state.pending = torch.cat([self.state.pending, steps])
            self.frames = self.frames[whole:]
        return self._run(final=False), self.provisional

    @torch.inference_mode()
    def finish(self) -> torch.Tensor:
        """The final log-probs ``(n', V)`` of all that is left (the last stack zero-padded, as offline)."""
        if self.frames.shape[0]:
            pad = self.subsample - self.frames.shape[0]
            last = torch.nn.functional.pad(self.frames, (0, 0, 0, pad)).reshape(1, -1)
            self.state.pending = torch.cat([self.state.pending, last])
            self.frames = self.frames[:0]
        out = self._run(final=True)
        self.provisional = self.provisional[:0]
        self.finished = True
        return out
