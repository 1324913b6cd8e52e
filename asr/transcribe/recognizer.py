"""Audio in, text out: a model directory that transcribes files or arrays of any length.

``Recognizer.recognize`` streams the audio (asr.transcribe.audio_stream), cuts it at pauses
(asr.transcribe.segmenter), runs the network on batches of segments (asr.model.runtime, PyTorch or
ONNX), decodes them (any asr.decode.decoder) and times every word (asr.transcribe.timestamps).
Memory is bounded by one input block, one segment buffer and one batch, whatever the length.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from asr.decode.decoder import Decoder, make_decoder
from asr.features.config import FeatureConfig
from asr.features.logmel import FeatureExtractor
from asr.model.runtime import ModelRuntime
from asr.text.tokenizer import Tokenizer
from asr.transcribe.audio_stream import AudioStream
from asr.transcribe.result import Segment, Transcript, Word
from asr.transcribe.segmenter import BATCH_SECONDS, AudioSegment, Segmenter, VadConfig
from asr.transcribe.timestamps import StepTiming, align_words

log = logging.getLogger(__name__)


class Recognizer:
    """A model directory ready to transcribe. ``Recognizer(dir).transcribe("a.flac") -> "some words"``;
    no directory (None): the model shipped in the package (asr.model.bundled).

    ``device`` and ``backend`` (``torch``, ``onnx`` = ``model.onnx`` on the CPU, or ``auto``) choose
    how the network runs (asr.model.runtime.ModelRuntime). ``decoder``: a decoder object,
    ``"greedy"``, or None for the model's own choice (its tuned ``decode.json`` beam search if it has
    one, else greedy; asr.decode.decoder.make_decoder). ``batch_seconds``: audio per decoded batch
    of segments.

    The runtime's attributes are the recognizer's too (``rec.tokenizer``, ``rec.feature_cfg``,
    ``rec.device``, ``rec.backend``...), and so is :meth:`log_probs`.
    """

    def __init__(self, model_dir: str | os.PathLike | None = None, device: str = "auto", backend: str = "auto",
                 decoder: Decoder | str | None = None, vad: VadConfig | None = None,
                 batch_seconds: float = BATCH_SECONDS):
        self.runtime = ModelRuntime(model_dir, device, backend)
        if decoder is None or isinstance(decoder, str):
            if decoder not in (None, "greedy"):
                raise ValueError(f"decoder must be a decoder object, 'greedy' or None, got {decoder!r}")
            decoder = make_decoder(self.model_dir, self.tokenizer, greedy=decoder == "greedy")
        self.decoder = decoder
        self.vad = vad or VadConfig()
        self.batch_seconds = batch_seconds
        cfg = self.feature_cfg
        self.timing = StepTiming.for_model(self.subsample, cfg.hop_length / cfg.sample_rate,
                                           cfg.frame_samples / cfg.sample_rate)

    # The runtime's view of the model, under the names the recognizer has always had.
    @property
    def model_dir(self) -> Path:
        return self.runtime.model_dir

    @property
    def device(self) -> torch.device:
        return self.runtime.device

    @property
    def backend(self) -> str:
        return self.runtime.backend

    @property
    def model(self):
        """``(feats (B, T, F), lengths (B,)) -> (log_probs (B, T', V), lengths (B,))``: a CTCModel or OnnxCTCModel."""
        return self.runtime.model

    @property
    def feature_cfg(self) -> FeatureConfig:
        return self.runtime.feature_cfg

    @property
    def tokenizer(self) -> Tokenizer:
        return self.runtime.tokenizer

    @property
    def meta(self) -> dict:
        return self.runtime.meta

    @property
    def logmel(self) -> FeatureExtractor:
        return self.runtime.logmel

    @property
    def subsample(self) -> int:
        return self.runtime.subsample

    def log_probs(self, waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (each ``(N,)`` at the model rate) -> CTC log-probs ``(B, T', V)`` and lengths ``(B,)``."""
        return self.runtime.log_probs(waves)

    def transcribe_waves(self, waves: list[np.ndarray]) -> list[str]:
        """Whole utterances decoded as they are (no segmentation, no timestamps)."""
        log_probs, out_lens = self.log_probs(waves)
        return [self.tokenizer.decode(ids) for ids in self.decoder.decode(log_probs, out_lens)]

    def recognize(self, audio: str | os.PathLike | np.ndarray, sample_rate: int | None = None,
                  progress: bool = False) -> Transcript:
        """Segments with word timings of a file path (any format/rate/channels soundfile reads; ``-``
        is stdin) or an array ``(N,)`` / ``(N, channels)`` at ``sample_rate`` (default: the model's)."""
        sr = self.feature_cfg.sample_rate
        with AudioStream(audio, sr, source_rate=sample_rate) as stream:
            bar = tqdm(total=round(stream.duration, 1), unit="s", desc=Path(stream.name).name,
                       disable=None if progress else True, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s "
                       "[{elapsed}<{remaining}, {rate_fmt}]")
            segments: list[Segment] = []
            for batch in _batches(Segmenter(sr, self.vad).segments(stream.blocks()), self.batch_seconds * sr):
                segments.extend(s for s in self.decode_segments(batch) if s.text)
                bar.update(min(batch[-1].end / sr, bar.total) - bar.n)
            bar.update(bar.total - bar.n)
            bar.close()
            return Transcript(segments, stream.samples / sr, source=stream.name)

    def transcribe(self, audio: str | os.PathLike | np.ndarray, sample_rate: int | None = None) -> str:
        """The text of :meth:`recognize` (segments joined by spaces)."""
        return self.recognize(audio, sample_rate).text

    def align(self, wave: np.ndarray, text: str) -> list[Word]:
        """Word times of a known transcript (normalized ``text``) in one utterance ``wave (N,)`` at the model rate."""
        log_probs, out_lens = self.log_probs([wave])
        return align_words(log_probs[0, : int(out_lens[0])], self.tokenizer.encode(text), self.tokenizer.symbols,
                           self.timing, duration_s=len(wave) / self.feature_cfg.sample_rate)

    def decode_segments(self, batch: list[AudioSegment]) -> list[Segment]:
        """Audio segments (at the model rate) decoded as one batch, each alone (no further segmentation)."""
        sr = self.feature_cfg.sample_rate
        # A segment shorter than one output step's frames (a click at the very end) is padded with silence.
        min_len = self.runtime.min_samples
        waves = [s.wave if len(s.wave) >= min_len else np.pad(s.wave, (0, min_len - len(s.wave))) for s in batch]
        log_probs, out_lens = self.log_probs(waves)
        out = []
        for i, ids in enumerate(self.decoder.decode(log_probs, out_lens)):
            seg = batch[i]
            words = align_words(log_probs[i, : int(out_lens[i])], ids, self.tokenizer.symbols, self.timing,
                                offset_s=seg.start / sr, duration_s=len(seg.wave) / sr)
            out.append(Segment(seg.start / sr, seg.end / sr, " ".join(self.tokenizer.decode(ids).split()), words))
        return out


def _batches(segments: Iterable[AudioSegment], max_samples: float, max_count: int = 64) -> Iterator[list[AudioSegment]]:
    """Consecutive segments grouped until ``max_samples`` of audio or ``max_count`` segments."""
    batch: list[AudioSegment] = []
    total = 0
    for seg in segments:
        if batch and (total + len(seg.wave) > max_samples or len(batch) == max_count):
            yield batch
            batch, total = [], 0
        batch.append(seg)
        total += len(seg.wave)
    if batch:
        yield batch


def load_model(model_dir: str | os.PathLike | None = None, device: str = "auto", **kwargs) -> Recognizer:
    """``asr.load_model().transcribe("a.flac")``: the model shipped in the package, or the model directory
    given; keyword arguments go to :class:`Recognizer`."""
    return Recognizer(model_dir, device, **kwargs)
