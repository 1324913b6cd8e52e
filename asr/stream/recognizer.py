"""Audio arriving in pieces -> partial hypotheses while a person speaks, and final segments.

``StreamingRecognizer(model_dir).open()`` gives a :class:`Stream`; ``stream.feed(samples)`` returns
the :class:`StreamEvent` s those samples caused, ``stream.close()`` the last ones. Per piece:

    samples --FeatureStream--> log-mel frames --ModelStream--> CTC log-probs of final steps
            (+ provisional look-ahead steps) --greedy / beam search with the LM--> text

The model must be a streaming one (an LC-BLSTM, asr.model.lc_blstm): an output step is final once its
chunk and its right context have arrived, so greedy text never changes once shown as final; with beam
search the words every hypothesis of the beam agrees on are final (``stable``). A segment ends at a
pause (``endpoint_s`` of blank output after some words): it is emitted as a ``final`` event and the
search starts afresh, so memory does not grow with the length of the stream.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from asr.decode.config import resolve_decode_config
from asr.decode.decoder import build_decoder
from asr.features.streaming import FeatureStream
from asr.model.bundled import resolve_stream_model_dir
from asr.model.runtime import ModelRuntime
from asr.model.streaming import ModelStream
from asr.text.units import SPACE
from asr.transcribe.result import Word

log = logging.getLogger(__name__)

ENDPOINT_S = 0.6  # this much blank output after some words ends a segment


@dataclass
class StreamEvent:
    """``kind``: ``partial`` (the current segment's best guess; its first ``len(stable)`` characters
    are final) or ``final`` (a finished segment). Times are seconds from the start of the stream;
    ``audio_time`` is how much audio had arrived when the event was made."""

    kind: str
    text: str
    start: float
    end: float
    audio_time: float
    stable: str = ""
    words: list[Word] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {"type": self.kind, "text": self.text, "start": round(self.start, 3), "end": round(self.end, 3),
             "audio_time": round(self.audio_time, 3)}
        if self.kind == "partial":
            d["stable"] = self.stable
        else:
            d["words"] = [w.to_dict() for w in self.words]
        return d


class StreamingRecognizer:
    """A streaming model directory (None: the one shipped in the package), ready to open streams (each with
    its own state; the network, LM and lexicon are shared). ``decoder``: ``"greedy"``, ``"beam"`` (the
    directory's tuned ``decode.json``), or None: beam when the directory has one, else greedy."""

    def __init__(self, model_dir: str | os.PathLike | None = None, device: str = "cpu",
                 decoder: str | None = None, endpoint_s: float = ENDPOINT_S):
        self.runtime = ModelRuntime(resolve_stream_model_dir(model_dir), device, backend="torch")
        self.model = self.runtime.model
        if not self.model.cfg.streaming:
            raise ValueError(f"{self.runtime.model_dir}: not a streaming model (config.json has no chunk_size): "
                             "it waits for whole utterances; train one with recipes/synth/stream.sh, or "
                             "transcribe without --stream")
        if decoder not in (None, "greedy", "beam"):
            raise ValueError(f"decoder must be 'greedy', 'beam' or None, got {decoder!r}")
        cfg = resolve_decode_config(self.runtime.model_dir, greedy=decoder == "greedy")
        if decoder == "beam" and cfg.beam == 0:
            raise ValueError(f"{self.runtime.model_dir}: no decode.json with a beam search to use "
                             "(`asr tune-lm` writes one)")
        self.beam = build_decoder(cfg, self.tokenizer) if cfg.beam else None
        if endpoint_s <= 0:
            raise ValueError(f"endpoint_s must be > 0, got {endpoint_s}")
        self.endpoint_s = endpoint_s
        feat = self.runtime.feature_cfg
        self.step_s = self.runtime.subsample * feat.hop_length / feat.sample_rate
        self.sample_rate = feat.sample_rate

    @property
    def tokenizer(self):
        return self.runtime.tokenizer

    @property
    def decoder_name(self) -> str:
        return self.beam.name if self.beam is not None else "greedy"

    @property
    def latency_s(self) -> float:
        """The longest an output step waits for audio: its chunk and the right context after it."""
        cfg = self.model.cfg
        return (cfg.chunk_size + cfg.right_context) * self.step_s

    def open(self, record: bool = False) -> Stream:
        """A new stream; ``record``: keep :attr:`Stream.emissions` (for latency measurements)."""
        return Stream(self, record)

    def stream(self, pieces: Iterable[np.ndarray]) -> Iterator[StreamEvent]:
        """All events of one stream fed ``pieces`` (mono float32 at the model's rate)."""
        s = self.open()
        for piece in pieces:
            yield from s.feed(piece)
        yield from s.close()


class Stream:
    """One stream's state. Not thread-safe: feed it from one thread."""

    def __init__(self, rec: StreamingRecognizer, record: bool = False):
        self.rec = rec
        # (unit, step, audio_time) of every greedy unit when it became final, if recorded
        self.emissions: list[tuple[int, int, float]] | None = [] if record else None
        self.features = FeatureStream(rec.runtime.feature_cfg, rec.runtime.device)
        self.model = ModelStream(rec.model)
        self.beam = rec.beam.stream() if rec.beam is not None else None
        self.blank = rec.tokenizer.blank_id
        symbols = getattr(rec.tokenizer, "symbols", [])
        self.space = symbols.index(SPACE) if SPACE in symbols else -1
        self.samples = 0
        self.step = 0  # final encoder steps so far
        self.last = self.blank  # the previous final step's argmax (CTC repeats merge across pieces)
        self.tokens: list[tuple[int, int, float]] = []  # the segment's greedy (unit, step, posterior)
        self.silent_steps = 0  # final steps of blank/space since the segment's last unit
        self.segment_start = 0  # step where the current segment's search began
        self.last_partial = ""
        self.closed = False

    @property
    def audio_time(self) -> float:
        return self.samples / self.rec.sample_rate

    def feed(self, samples: np.ndarray) -> list[StreamEvent]:
        """Mono float32 samples at the model's rate (any number) -> the events they caused."""
        if self.closed:
            raise RuntimeError("stream is closed")
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.samples += samples.size
        final, provisional = self.model.accept(self.features.accept(samples))
        if final.shape[0] == 0:  # no chunk finished: nothing new to show (most pieces shorter than a chunk)
            return []
        events = self._advance(final)
        partial = self._partial(provisional)
        if partial is not None:
            events.append(partial)
        return events

    def close(self) -> list[StreamEvent]:
        """The end of the audio: the last steps, and the last segment's final event (if it has words)."""
        if self.closed:
            return []
        self.closed = True
        events = self._advance(self.model.finish())
        if self.tokens or (self.beam is not None and self.beam.steps):
            events += self._finish_segment()
        return events

    # ------------------------------------------------------------------------------------------------
    def _advance(self, log_probs: torch.Tensor) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if log_probs.shape[0] == 0:
            return events
        best, ids = log_probs.max(-1)
        endpoint_steps = round(self.rec.endpoint_s / self.rec.step_s)
        start = 0
        for i, (unit, lp) in enumerate(zip(ids.tolist(), best.tolist(), strict=True)):
            step = self.step + i
            # A separator before the segment's first word is dropped: tokens begin with a word unit.
            if unit != self.blank and unit != self.last and (unit != self.space or self.tokens):
                self.tokens.append((unit, step, float(np.exp(lp))))
                if self.emissions is not None:
                    self.emissions.append((unit, step, self.audio_time))
            self.last = unit
            if unit == self.blank or unit == self.space:
                self.silent_steps += 1
            else:
                self.silent_steps = 0
            if self.tokens and self.silent_steps >= endpoint_steps:
                if self.beam is not None:
                    self.beam.step(log_probs[start:i + 1])
                    start = i + 1
                events += self._finish_segment(end_step=step + 1)
        if self.beam is not None:
            self.beam.step(log_probs[start:])
        self.step += log_probs.shape[0]
        return events

    def _finish_segment(self, end_step: int | None = None) -> list[StreamEvent]:
        """The segment's final event (none if it has no text); the next segment starts at ``end_step``."""
        end_step = self.step if end_step is None else end_step
        units = [u for u, _, _ in self.tokens]
        ids = self.beam.end() if self.beam is not None else units
        text = self.rec.tokenizer.decode(ids).strip()
        words = self._words() if self.beam is None else []
        t = self.rec.step_s
        start = words[0].start if words else self.segment_start * t
        end = words[-1].end if words else end_step * t
        self.tokens, self.silent_steps, self.segment_start = [], 0, end_step
        self.last_partial = ""
        return [StreamEvent("final", text, start, end, self.audio_time, stable=text, words=words)] if text else []

    def _words(self) -> list[Word]:
        """The segment's greedy units grouped into words, timed by the steps that emitted them."""
        t = self.rec.step_s
        words, current = [], []
        for unit, step, p in self.tokens + [(self.space, -1, 0.0)]:
            if unit == self.space:
                if current:
                    text = self.rec.tokenizer.decode([u for u, _, _ in current]).strip()
                    words.append(Word(text, current[0][1] * t, (current[-1][1] + 1) * t,
                                      float(np.mean([q for _, _, q in current]))))
                current = []
            else:
                current.append((unit, step, p))
        return words

    def _partial(self, provisional: torch.Tensor) -> StreamEvent | None:
        tok = self.rec.tokenizer
        if self.beam is not None:
            best, agreed = self.beam.hypotheses()
            stable, text = tok.decode(agreed).strip(), tok.decode(best).strip()
        else:
            units = [u for u, _, _ in self.tokens]
            stable = tok.decode(units).strip()
            last = self.last
            for u in provisional.argmax(-1).tolist():  # the look-ahead steps, collapsed after the final ones
                if u != self.blank and u != last:
                    units.append(u)
                last = u
            text = tok.decode(units).strip()
        if not text or text == self.last_partial:
            return None
        self.last_partial = text
        if not text.startswith(stable):  # a beam's best may differ from what all agree on only past it
            stable = ""
        t = self.rec.step_s
        return StreamEvent("partial", text, self.segment_start * t, self.step * t, self.audio_time, stable=stable)
