"""Audio input: any file soundfile reads, mixed to mono and resampled to the model rate."""

from __future__ import annotations

import os

import numpy as np
import soundfile as sf
import soxr

from asr.io import atomic_path

SAMPLE_RATE = 16000


class AudioError(ValueError):
    """An audio file cannot be used; the message names the file and the reason."""


def resample(wave: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample a mono float32 waveform ``(N,)`` (high-quality soxr)."""
    if orig_sr == target_sr:
        return wave
    return soxr.resample(wave, orig_sr, target_sr).astype(np.float32, copy=False)


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read an audio file as a float32 mono waveform ``(N,)`` at ``sample_rate``.

    Raises AudioError (never a bare soundfile error) for a missing, unreadable or empty file.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise AudioError(f"{path}: is a directory, not an audio file")
    if not os.path.exists(path):
        raise AudioError(f"{path}: no such file")
    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:  # LibsndfileError, RuntimeError, TypeError depending on the format
        raise AudioError(f"{path}: not a readable audio file ({e})") from e
    if data.shape[0] == 0:
        raise AudioError(f"{path}: contains no audio samples")
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    return resample(np.ascontiguousarray(wave), sr, sample_rate)


def write_wav(path: str | os.PathLike, wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write 16-bit PCM atomically: a killed writer never leaves a truncated file under ``path``."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with atomic_path(path) as tmp:  # format= explicit: the temporary name ends in .tmp, not .wav
        sf.write(tmp, np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
