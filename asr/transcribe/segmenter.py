"""Cut a stream of audio at pauses (energy VAD) into segments short enough to decode in batches.

Frames of 10 ms are classified with two thresholds that adapt to the recording, from its noise
floor (10th percentile of the frame energies of the last ``history_s`` seconds) and loud level
(95th percentile): *strong* frames are above the point halfway between them (in dB), *weak* ones
are at least ``min_margin_db`` above the floor; neither threshold is below ``floor_db``. Speech is
every run of weak frames that holds a strong one (hysteresis): a word's faint onset or trailing
fricative stays with it, a faint noise alone never starts a segment. A pause of ``min_silence_s``
ends a segment; ``pad_s`` of audio is kept on each side of the speech (never overlapping the
previous segment). A stretch longer than ``max_segment_s`` without such a pause is cut at its
quietest 50 ms in the second half of the window, so that no segment -- and no buffer -- grows
without bound. Silence between segments is dropped.

Segments are tight by default (``pad_s`` 0: the hysteresis already reaches the faint edges of
speech) because silence is what acoustic models trained on trimmed utterances handle worst: on
the synthetic corpus (4 minutes of test utterances with pauses), padding each side with 0.2 s of
the recording's own silence cost 14 WER points, 0.05 s 3 points, and segments merged across
1 s pauses 10 points, against none for tight segments cut at 0.3 s pauses. With the 30 h synth
model, 0.3 s still merged 5 of 189 utterances across their shorter pauses (pauses drawn from 0.2-2 s):
+2.34 WER against decoding them one by one; 0.2 s cut all 189 apart: +1.83 (bench/long_audio.py).

Everything is streaming: the state is the audio since the last cut (at most ``max_segment_s``
plus one input block) and ``history_s`` of frame energies.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from asr.config import option

BATCH_SECONDS = 60.0  # audio per decoded batch of segments (asr.transcribe.recognizer)


@dataclass
class VadConfig:
    """How audio is cut at pauses; the fields with help are ``asr transcribe`` flags (asr.transcribe.commands)."""

    frame_ms: float = 10.0
    min_silence_s: float = option(0.2, flags=("--min-silence",), help="seconds of pause that end a segment")
    pad_s: float = option(0.0, flags=("--pad",),
                          help="seconds of audio kept around each segment's speech (models trained on trimmed "
                               "utterances do best with none)")
    max_segment_s: float = option(30.0, flags=("--max-segment",),
                                  help="longest segment, seconds (longer stretches without a pause are cut)")
    history_s: float = 30.0  # noise floor and speech level are estimated over this much recent audio
    floor_db: float = -70.0  # frames quieter than this (dBFS, mean square) are silence whatever the levels
    min_margin_db: float = 6.0  # weak frames are this far above the noise floor (strong ones at least as far)


@dataclass
class AudioSegment:
    """``wave (n,)`` float32 starting ``start`` samples into the stream."""

    start: int
    wave: np.ndarray

    @property
    def end(self) -> int:
        return self.start + len(self.wave)


class Segmenter:
    """``Segmenter(16000).segments(blocks)`` -> :class:`AudioSegment` in stream order."""

    def __init__(self, sample_rate: int, cfg: VadConfig | None = None):
        self.cfg = cfg = cfg or VadConfig()
        self.frame = int(round(sample_rate * cfg.frame_ms / 1000))
        frames_per_s = 1000 / cfg.frame_ms
        self.min_silence = max(1, int(round(cfg.min_silence_s * frames_per_s)))
        self.pad = int(round(cfg.pad_s * frames_per_s))
        self.max_frames = max(2 * self.min_silence, int(round(cfg.max_segment_s * frames_per_s)))
        self._history: deque[float] = deque(maxlen=max(1, int(cfg.history_s * frames_per_s)))

    def thresholds(self) -> tuple[float, float]:
        """Current (strong, weak) frame thresholds in dB, from the energy history."""
        h = np.fromiter(self._history, dtype=np.float64)
        noise, loud = np.percentile(h, [10, 95])
        weak = max(self.cfg.floor_db, noise + self.cfg.min_margin_db)
        return max(weak, noise + 0.5 * (loud - noise)), weak

    def segments(self, blocks: Iterable[np.ndarray]) -> Iterator[AudioSegment]:
        # buf: samples not yet emitted or dropped, starting at sample `start` of the stream (a frame
        # boundary); db/strong/weak/speech: per complete frame of buf.
        self._buf = np.zeros(0, dtype=np.float32)
        self._start = 0
        self._quiet_before = 0  # non-speech frames just before the buffer, since the last speech
        self._db = np.zeros(0)
        self._strong = self._weak = self._speech = np.zeros(0, dtype=bool)
        for block in blocks:
            self._buf = np.concatenate([self._buf, np.asarray(block, dtype=np.float32)])
            self._add_frames()
            yield from self._cut(final=False)
        yield from self._cut(final=True)

    def _add_frames(self) -> None:
        have, total = len(self._db), len(self._buf) // self.frame
        if total == have:
            return
        x = self._buf[have * self.frame: total * self.frame].reshape(-1, self.frame).astype(np.float64)
        db = 10 * np.log10(np.mean(x * x, axis=1) + 1e-10)
        self._history.extend(db.tolist())
        strong, weak = self.thresholds()
        self._db = np.concatenate([self._db, db])
        self._strong = np.concatenate([self._strong, db > strong])
        self._weak = np.concatenate([self._weak, db > weak])
        self._speech = _hysteresis(self._strong, self._weak)

    def _cut(self, final: bool) -> Iterator[AudioSegment]:
        while True:
            speech = np.flatnonzero(self._speech)
            n = len(self._speech)
            if len(speech) == 0:  # keep only what a coming segment may start with: a weak run, and pad
                quiet = np.flatnonzero(~self._weak)
                onset = quiet[-1] + 1 if len(quiet) else 0
                keep = min(n - onset + self.pad, self.max_frames)
                dropped = len(self._buf) // self.frame if final else max(0, n - keep)
                self._quiet_before += dropped
                self._drop(dropped)
                return
            s0 = speech[0]
            if self._quiet_before + s0 >= self.min_silence and s0 > self.pad:  # a pause before: drop it
                self._quiet_before += s0 - self.pad
                self._drop(s0 - self.pad)
                continue
            # Else the segment starts at the buffer start: the stream's start, a forced cut, or after a gap
            # too short to be a pause (which is part of the speech, like any short gap).
            pause = self._pause_after(s0)
            if pause is not None and pause[1] <= self.max_frames:
                yield self._emit(pause[1] * self.frame)
                self._quiet_before = pause[1] - pause[0]
            elif n >= self.max_frames:
                yield self._emit(self._quietest(self.max_frames // 2, self.max_frames) * self.frame)
                self._quiet_before = 0
            elif final:  # no pause in the rest (its silent tail, if any, is shorter than one): one segment
                yield self._emit(len(self._buf))
                return
            else:
                return

    def _pause_after(self, s0: int) -> tuple[int, int] | None:
        """``(first frame of the pause, end frame of the segment)`` for a segment whose speech starts at
        ``s0``: the first pause of ``min_silence`` frames ends it, plus up to ``pad`` frames of the pause;
        None if no complete pause is buffered yet."""
        silent = ~self._speech[s0:]
        if len(silent) < self.min_silence:
            return None
        runs = np.convolve(silent.astype(np.int32), np.ones(self.min_silence, dtype=np.int32), mode="valid")
        hits = np.flatnonzero(runs == self.min_silence)
        if len(hits) == 0:
            return None
        pause = s0 + hits[0]
        after = np.flatnonzero(self._speech[pause:])
        pause_len = after[0] if len(after) else len(self._speech) - pause
        return pause, pause + min(self.pad, pause_len)

    def _quietest(self, lo: int, hi: int) -> int:
        """Frame in ``[lo, hi)`` at the centre of the quietest 50 ms."""
        smooth = np.convolve(self._db[lo:hi], np.ones(5) / 5, mode="same")
        return lo + int(np.argmin(smooth))

    def _emit(self, samples: int) -> AudioSegment:
        """The first ``samples`` samples of the buffer as a segment; the buffer then starts at the next frame."""
        seg = AudioSegment(self._start, self._buf[:samples].copy())
        self._drop(-(-samples // self.frame))
        return seg

    def _drop(self, frames: int) -> None:
        self._buf = self._buf[frames * self.frame:]
        self._db, self._strong, self._weak, self._speech = (
            a[frames:] for a in (self._db, self._strong, self._weak, self._speech))
        self._start += frames * self.frame


def _hysteresis(strong: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """The runs of ``weak`` frames that contain at least one ``strong`` frame (``strong`` implies ``weak``)."""
    edges = np.diff(np.concatenate([[0], weak.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    strong_before = np.concatenate([[0], np.cumsum(strong)])
    has_strong = np.concatenate([[False], strong_before[ends] > strong_before[starts]])
    run = np.cumsum(edges[:-1] == 1) * weak  # 1-based run number of each weak frame, 0 elsewhere
    return has_strong[run]
