"""Which search turns CTC log-probs into units: the one decoder interface of every stage.

A decoder has a ``name`` and ``decode(log_probs (B, T, V), lengths (B,)) -> list[list[int]]`` (unit
ids, blanks removed; ``tokenizer.decode`` makes text). Greedy is the default; beam search
(asr.decode.beam) is used when asked for, or when the model directory has a ``decode.json``
(written by ``asr tune-lm``, asr.decode.config) and the caller is not told ``--greedy``. Word
timestamps (asr.transcribe) are computed afterwards by forced alignment of the decoded units, so
every decoder gets them.
"""

from __future__ import annotations

import os
from typing import Protocol

import torch

from asr.decode.config import DecodeConfig, resolve_decode_config
from asr.decode.greedy import greedy_decode


class Decoder(Protocol):
    name: str

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        """``log_probs (B, T, V)`` (any device), ``lengths (B,)`` -> unit ids per utterance."""
        ...


class GreedyDecoder:
    """Best path; argmax and repeat merging run batched on the log-probs' device."""

    name = "greedy"

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        return greedy_decode(log_probs, lengths)


def build_decoder(cfg: DecodeConfig, tokenizer) -> Decoder:
    """The decoder ``cfg`` describes, for a model with units ``tokenizer``."""
    if cfg.beam == 0:
        return GreedyDecoder()
    from asr.decode.beam import BeamSearchDecoder  # loads torchaudio's decoder and flashlight only when needed

    return BeamSearchDecoder(tokenizer, cfg)


def make_decoder(model_dir: str | os.PathLike, tokenizer, greedy: bool = False, **options) -> Decoder:
    """The decoder for ``model_dir``: ``options`` (asr.decode.config.BEAM_OPTIONS: ``beam``, ``lm``,
    ``lm_weight``...; None = unset) over its ``decode.json`` over greedy; ``greedy`` ignores decode.json
    and contradicts any option given."""
    options = {k: v for k, v in options.items() if v is not None}
    if greedy and options:
        raise ValueError(f"greedy decoding contradicts {sorted(options)}")
    return build_decoder(resolve_decode_config(model_dir, greedy=greedy, **options), tokenizer)
