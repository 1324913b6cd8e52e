"""The interface every text-to-speech engine implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

OUTPUT_SAMPLE_RATE = 16000


class TTSError(RuntimeError):
    """Synthesis failed: the voice cannot be loaded, or the engine produced no audio."""


class TTSEngine(ABC):
    """A speech synthesizer.

    ``synthesize`` returns ``(waveform, sample_rate)``: a 1-D float32 mono array in [-1, 1].
    Engines are created cheaply; heavy state (libraries, models) is loaded lazily on first use,
    so an engine object can be built in a parent process and used in worker processes.
    """

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def available(cls) -> bool:
        """True when the engine's dependencies are importable/loadable in this environment."""

    @abstractmethod
    def voices(self) -> list[str]:
        """Names accepted by :meth:`synthesize`."""

    @abstractmethod
    def synthesize(self, text: str, voice: str, **params: Any) -> tuple[np.ndarray, int]:
        """Speak ``text`` with ``voice``; raises :class:`TTSError` on failure."""


def to_float32(samples: np.ndarray) -> np.ndarray:
    """int16 or float samples -> float32 in [-1, 1]."""
    a = np.asarray(samples)
    if a.dtype == np.int16:
        return a.astype(np.float32) / 32768.0
    return np.clip(a.astype(np.float32), -1.0, 1.0)


def resample(wav: np.ndarray, sr_in: int, sr_out: int = OUTPUT_SAMPLE_RATE) -> np.ndarray:
    """High-quality resampling (soxr), clipped back to [-1, 1]."""
    from asr.data.audio import resample as _resample

    return np.clip(_resample(wav.astype(np.float32, copy=False), sr_in, sr_out), -1.0, 1.0)


def audible_output(engine: str, voice: str, text: str, wav: np.ndarray, sr: int,
                   sample_rate: int = OUTPUT_SAMPLE_RATE) -> tuple[np.ndarray, int]:
    """An engine's float32 output resampled to ``sample_rate``; TTSError naming the voice and text if silent."""
    if not np.any(np.abs(wav) > 1e-3):
        raise TTSError(f"{engine}: voice {voice!r} produced silence for {text[:60]!r}")
    return resample(wav, sr, sample_rate), sample_rate
