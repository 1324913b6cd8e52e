"""Which search turns log-probs into units for transcription: the decoding package decides.

A decoder is any object with ``name`` and ``decode(log_probs (B, T', V), lengths (B,)) ->
list[list[int]]`` (unit ids, blanks removed). Word timestamps are computed afterwards by forced
alignment of those units, so every decoder gets them.

The choice is the one ``asr decode`` makes (asr.decode.decoder.resolve_decode_config): options
given here, on top of the model directory's tuned ``decode.json`` (beam, LM, alpha/beta) if it
has one, else greedy; ``greedy=True`` ignores ``decode.json``. Without the decoding package's
beam search (an installation without asr.decode.decoder) it is greedy, and asking for a beam is
an error.
"""

from __future__ import annotations

import importlib
import os
from typing import Protocol

import torch

from asr.decode.greedy import greedy_decode

DECODING_MODULE = "asr.decode.decoder"
BEAM_OPTIONS = ("beam", "lm", "lexicon", "lm_weight", "word_score", "beam_threshold")


class Decoder(Protocol):
    name: str

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]: ...


class GreedyDecoder:
    """Best path: argmax per step, repeats merged, blanks dropped."""

    name = "greedy"

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        return greedy_decode(log_probs, lengths)


def make_decoder(model_dir: str | os.PathLike, tokenizer, greedy: bool = False, **options) -> Decoder:
    """The decoder for ``model_dir``: ``options`` (``beam``, ``lm``, ``lm_weight``... ; None = unset)
    over its ``decode.json`` over greedy."""
    options = {k: v for k, v in options.items() if v is not None}
    if greedy and options:
        raise ValueError(f"greedy decoding contradicts {sorted(options)}")
    try:
        decoding = importlib.import_module(DECODING_MODULE)
    except ModuleNotFoundError as e:
        if e.name != DECODING_MODULE:
            raise
        if options:
            raise ValueError(f"beam search options {sorted(options)} need {DECODING_MODULE}, "
                             "which this installation does not have") from e
        return GreedyDecoder()
    cfg = decoding.resolve_decode_config(model_dir, greedy=greedy, **options)
    return decoding.build_decoder(cfg, tokenizer)
