"""Audio in, text out: a model directory that transcribes files or arrays of any length.

``Recognizer.recognize`` streams the audio (asr.transcribe.audio_stream), cuts it at pauses
(asr.transcribe.segmenter), decodes the segments in batches (PyTorch or ONNX network, then a
decoder from asr.transcribe.decoding) and times every word (asr.transcribe.timestamps). Memory
is bounded by one input block, one segment buffer and one batch, whatever the length.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from asr.data.audio import AudioError
from asr.features.logmel import make_feature_extractor
from asr.model.model_dir import WEIGHTS, load_model_dir, load_model_meta
from asr.model.onnx_model import ONNX_MODEL, OnnxCTCModel, onnx_is_current
from asr.train.trainer import resolve_device
from asr.transcribe.audio_stream import AudioStream
from asr.transcribe.decoding import Decoder, make_decoder
from asr.transcribe.result import Segment, Transcript, Word
from asr.transcribe.segmenter import AudioSegment, Segmenter, VadConfig
from asr.transcribe.timestamps import StepTiming, align_words

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx")


def choose_backend(model_dir: Path, backend: str) -> str:
    """``auto``: PyTorch when the directory has weights, else its ``model.onnx`` (an ONNX-only deployment).

    PyTorch is the default even where a ``model.onnx`` exists: on 2 CPU cores it decodes ~3x faster
    than onnxruntime's LSTM kernels (bench/long_audio.py), and it also runs on a GPU.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: no such model directory")
    has_weights = (model_dir / WEIGHTS).is_file()
    if backend == "torch" or (backend == "auto" and has_weights):
        return "torch"
    if not (model_dir / ONNX_MODEL).is_file() and has_weights:
        raise FileNotFoundError(f"{model_dir}: no {ONNX_MODEL} (make one with `asr export {model_dir} --onnx`)")
    if not (model_dir / ONNX_MODEL).is_file():
        raise FileNotFoundError(f"{model_dir}: not a model directory (neither {WEIGHTS} nor {ONNX_MODEL}; "
                                f"`asr export CHECKPOINT {model_dir}` makes one)")
    if not onnx_is_current(model_dir):
        log.warning("%s: %s was exported from other weights than the %s now there (retrained since?); "
                    "re-run `asr export %s --onnx`", model_dir, ONNX_MODEL, WEIGHTS, model_dir)
    return "onnx"


class Recognizer:
    """A model directory ready to decode. ``Recognizer(dir).transcribe("a.flac") -> "some words"``.

    ``backend``: ``torch``, ``onnx`` (``model.onnx``, CPU) or ``auto`` (see :func:`choose_backend`).
    ``decoder``: a decoder object, ``"greedy"``, or None for the model's own choice (its tuned
    ``decode.json`` beam search if it has one, else greedy; asr.transcribe.decoding.make_decoder).
    ``batch_seconds``: audio per decoded batch of segments.
    """

    def __init__(self, model_dir: str | os.PathLike, device: str = "auto", backend: str = "auto",
                 decoder: Decoder | str | None = None, vad: VadConfig | None = None, batch_seconds: float = 60.0):
        self.model_dir = Path(model_dir)
        self.device = resolve_device(device)
        self.backend = choose_backend(self.model_dir, backend)
        if self.backend == "onnx":
            self.device = torch.device("cpu")
            self.feature_cfg, self.tokenizer, self.meta = load_model_meta(self.model_dir)
            self.model = OnnxCTCModel(self.model_dir / ONNX_MODEL)
        else:
            self.model, self.feature_cfg, self.tokenizer, self.meta = load_model_dir(self.model_dir, self.device)
        # The extractor the feature store used (any backend), so features match training's.
        self.logmel = make_feature_extractor(self.feature_cfg, self.device)
        if decoder is None or isinstance(decoder, str):
            if decoder not in (None, "greedy"):
                raise ValueError(f"decoder must be a decoder object, 'greedy' or None, got {decoder!r}")
            decoder = make_decoder(self.model_dir, self.tokenizer, greedy=decoder == "greedy")
        self.decoder = decoder
        self.vad = vad or VadConfig()
        self.batch_seconds = batch_seconds
        self.subsample = int(self.meta["model"]["subsample"])
        cfg = self.feature_cfg
        self.timing = StepTiming.for_model(self.subsample, cfg.hop_length / cfg.sample_rate,
                                           cfg.frame_samples / cfg.sample_rate)

    @torch.inference_mode()
    def log_probs(self, waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (each ``(N,)`` at the model rate) -> CTC log-probs ``(B, T', V)`` and lengths ``(B,)``."""
        lens = torch.tensor([len(w) for w in waves], dtype=torch.long)
        batch = torch.zeros(len(waves), int(lens.max()))
        for i, w in enumerate(waves):
            batch[i, : len(w)] = torch.as_tensor(w)
        feats, feat_lens = self.logmel(batch.to(self.device), lens)
        if int(feat_lens.min()) == 0:
            raise AudioError(f"audio shorter than one {self.feature_cfg.frame_samples}-sample frame")
        return self.model(feats, feat_lens.to(feats.device))

    def transcribe_waves(self, waves: list[np.ndarray]) -> list[str]:
        """Whole utterances (no segmentation, no timestamps), as ``asr decode`` wants them."""
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
        min_len = self.feature_cfg.frame_samples + (self.subsample - 1) * self.feature_cfg.hop_length
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


def load_model(model_dir: str | os.PathLike, device: str = "auto", **kwargs) -> Recognizer:
    """``asr.load_model(dir).transcribe("a.flac")``; keyword arguments go to :class:`Recognizer`."""
    return Recognizer(model_dir, device, **kwargs)
