"""Word start/end times from a CTC output: forced alignment of the decoded units on the log-probs.

Aligning the *decoded* units (``torchaudio.functional.forced_align``, Viterbi over the CTC
topology) works for any decoder -- greedy or beam search with an LM -- and gives each unit the
frames the model itself assigns it. Blank frames between words belong to no word, so a word
runs from the first frame of its first unit to the last frame of its last unit.

Time of an output step: the model stacks ``subsample`` feature frames (hop ``hop_ms``, each
spanning ``frame_samples`` samples) into one step, so step ``t`` is centred on feature frame
``subsample * t + (subsample - 1) / 2``, i.e. at ``subsample * t * hop + (subsample - 1) / 2 * hop
+ frame_samples / 2``; its span is that centre +- ``subsample * hop / 2``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torchaudio.functional as AF

from asr.text.units import SPACE
from asr.transcribe.result import Word

log = logging.getLogger(__name__)

WORD_START = "\u2581"  # sentencepiece's word-start mark on BPE pieces


@dataclass
class StepTiming:
    """Seconds per output step and the start time of step 0, for a model and feature configuration."""

    step_s: float
    offset_s: float

    @classmethod
    def for_model(cls, subsample: int, hop_s: float, frame_s: float) -> StepTiming:
        """``frame_s``: seconds one feature frame spans (``frame_samples / sample_rate``)."""
        return cls(step_s=subsample * hop_s, offset_s=(frame_s - hop_s) / 2)

    def time(self, step: int) -> float:
        """Start of output step ``step`` (end of step ``step - 1``), in seconds."""
        return self.offset_s + step * self.step_s


def align_words(log_probs: torch.Tensor, ids: list[int], symbols: list[str], timing: StepTiming,
                offset_s: float = 0.0, duration_s: float | None = None, blank: int = 0) -> list[Word]:
    """Words of the unit sequence ``ids`` with times: ``log_probs (T', V)`` of one segment of audio
    starting at ``offset_s`` and lasting ``duration_s`` (times are clipped to it; the last step's span
    can reach past the last sample).

    Words are separated by ``<space>`` units (characters) or begin at a ``▁`` piece (BPE).
    """
    last = offset_s + duration_s if duration_s is not None else float("inf")
    ids = [i for i in ids if i != blank]
    if not ids:
        return []
    lp = log_probs.detach().float().cpu()
    try:
        path, scores = AF.forced_align(lp[None], torch.tensor([ids], dtype=torch.int32), blank=blank)
        spans = [(s.start, s.end, s.score) for s in AF.merge_tokens(path[0], scores[0].exp(), blank=blank)]
    except RuntimeError as e:  # the units cannot fit the frames (a decoder emitted too many): spread them evenly
        log.warning("forced alignment failed (%s); word times are approximate", e)
        n = lp.shape[0]
        spans = [(k * n // len(ids), max(k * n // len(ids) + 1, (k + 1) * n // len(ids)), 0.0)
                 for k in range(len(ids))]
    words: list[Word] = []
    current: list[tuple[str, int, int, float]] = []  # (text, start step, end step, score) of the word's units

    def close_word():
        if current:
            words.append(Word("".join(c[0] for c in current), min(last, offset_s + timing.time(current[0][1])),
                              min(last, offset_s + timing.time(current[-1][2])),
                              sum(c[3] * (c[2] - c[1]) for c in current) / sum(c[2] - c[1] for c in current)))
            current.clear()

    for uid, (start, end, score) in zip(ids, spans, strict=True):
        sym = symbols[uid]
        if sym == SPACE:
            close_word()
            continue
        if sym.startswith(WORD_START):
            close_word()
            sym = sym[len(WORD_START):]
        if sym:
            current.append((sym, start, end, float(score)))
    close_word()
    return words
