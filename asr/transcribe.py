"""Audio in, text out: a loaded model directory that transcribes files or waveforms."""

from __future__ import annotations

import os

import numpy as np
import torch

from asr.data.audio import AudioError, load_audio
from asr.decode.greedy import greedy_decode
from asr.features.logmel import LogMel
from asr.model.model_dir import load_model_dir
from asr.train.trainer import resolve_device


class Recognizer:
    """A model directory ready to decode. ``Recognizer(dir).transcribe("a.flac") -> "some words"``."""

    def __init__(self, model_dir: str | os.PathLike, device: str = "auto"):
        self.device = resolve_device(device)
        self.model, self.feature_cfg, self.tokenizer, self.meta = load_model_dir(model_dir, self.device)
        self.logmel = LogMel(self.feature_cfg).to(self.device)

    @torch.inference_mode()
    def log_probs(self, waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (each ``(N,)`` at the model rate) -> CTC log-probs ``(B, T', V)`` and lengths ``(B,)``."""
        lens = torch.tensor([len(w) for w in waves], dtype=torch.long)
        batch = torch.zeros(len(waves), int(lens.max()))
        for i, w in enumerate(waves):
            batch[i, : len(w)] = torch.as_tensor(w)
        feats, feat_lens = self.logmel(batch.to(self.device), lens)
        if int(feat_lens.min()) == 0:
            raise AudioError(f"audio shorter than one {self.feature_cfg.n_fft}-sample frame")
        return self.model(feats, feat_lens.to(self.device))

    def transcribe_waves(self, waves: list[np.ndarray]) -> list[str]:
        log_probs, out_lens = self.log_probs(waves)
        return [self.tokenizer.decode(ids) for ids in greedy_decode(log_probs, out_lens)]

    def transcribe(self, audio: str | os.PathLike | np.ndarray) -> str:
        """Transcribe a file path (any format/rate/channels soundfile reads) or a 16 kHz mono array."""
        if isinstance(audio, np.ndarray):
            wave = audio.astype(np.float32)
        else:
            wave = load_audio(audio, self.feature_cfg.sample_rate)
        return self.transcribe_waves([wave])[0]


def load_model(model_dir: str | os.PathLike, device: str = "auto") -> Recognizer:
    return Recognizer(model_dir, device)
