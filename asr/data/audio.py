"""Audio input: any file soundfile reads, mixed to mono and resampled to the model rate."""

from __future__ import annotations

import logging
import os

import numpy as np
import soundfile as sf
import soxr

from asr.data.rates import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from asr.io import InputError, atomic_path

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
# Up to this share of non-finite samples (a few NaN/inf from a broken float writer) is repaired;
# more is no recording.
MAX_NONFINITE_SHARE = 0.01


class AudioError(InputError):
    """An audio file cannot be used; the message names the file and the reason."""


def check_sample_rate(rate: int, name: str) -> None:
    """Refuse a sample rate no recording has (a broken or hand-made header), before its length is believed."""
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"{name}: implausible sample rate {rate} Hz in its header (accepted: {MIN_SAMPLE_RATE}-"
                         f"{MAX_SAMPLE_RATE} Hz); fix the header, e.g. `sox -r 16000 ...`")


def repair_nonfinite(wave: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """``(wave with NaN/inf samples replaced, how many were)``; AudioError when too many to repair.

    Each bad sample becomes the linear interpolation of its finite neighbours (0 at the edges), so a
    few of them change nothing a listener or the model would notice. The caller reports the count.
    """
    bad = ~np.isfinite(wave)
    n = int(bad.sum())
    if n == 0:
        return wave, 0
    if n > MAX_NONFINITE_SHARE * len(wave):
        raise AudioError(f"{name}: {n} of {len(wave)} samples are NaN or infinite (too many to repair; "
                         f"at most {MAX_NONFINITE_SHARE:.0%} are)")
    good = np.flatnonzero(~bad)
    out = wave.copy()
    out[bad] = np.interp(np.flatnonzero(bad), good, wave[good], left=0.0, right=0.0) if len(good) else 0.0
    return out, n


def resample(wave: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample a mono float32 waveform ``(N,)`` (high-quality soxr)."""
    if orig_sr == target_sr:
        return wave
    return soxr.resample(wave, orig_sr, target_sr).astype(np.float32, copy=False)


def read_audio(path: str | os.PathLike, start: float = 0.0, end: float | None = None) -> tuple[np.ndarray, int]:
    """``(float32 mono waveform (N,), the file's sample rate)`` of an audio file, or of its ``start``-``end``
    seconds (a Kaldi ``segments`` line; ``end`` None or negative: to the end).

    Raises AudioError (never a bare soundfile error) for a missing, unreadable or empty file, an
    implausible sample rate, a segment outside the file, or too many non-finite samples; a few
    non-finite samples are repaired (:func:`repair_nonfinite`) and logged.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise AudioError(f"{path}: is a directory, not an audio file")
    if not os.path.exists(path):
        raise AudioError(f"{path}: no such file")
    try:
        with sf.SoundFile(path) as f:
            sr, frames = f.samplerate, f.frames
            check_sample_rate(sr, path)
            first = int(round(start * sr))
            last = frames if end is None or end < 0 else int(round(end * sr))
            if start or end is not None:
                if not 0 <= first < last or last > frames + sr // 100:  # 10 ms of rounding slack
                    raise AudioError(f"{path}: segment {start:g}-{last / sr:g} s is outside the audio "
                                     f"(0-{frames / sr:g} s)")
                f.seek(first)
            data = f.read(frames=min(last, frames) - first, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except Exception as e:  # LibsndfileError, RuntimeError, TypeError depending on the format
        raise AudioError(f"{path}: not a readable audio file ({' '.join(str(e).split())})") from e
    if data.shape[0] == 0:
        raise AudioError(f"{path}: contains no audio samples")
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    wave, repaired = repair_nonfinite(np.ascontiguousarray(wave), path)
    if repaired:
        log.warning("%s: repaired %d NaN/infinite sample(s) by interpolation", path, repaired)
    return wave, sr


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE, start: float = 0.0,
               end: float | None = None) -> np.ndarray:
    """:func:`read_audio` resampled to ``sample_rate``."""
    wave, sr = read_audio(path, start, end)
    return resample(wave, sr, sample_rate)


def write_wav(path: str | os.PathLike, wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write 16-bit PCM atomically: a killed writer never leaves a truncated file under ``path``."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with atomic_path(path) as tmp:  # format= explicit: the temporary name ends in .tmp, not .wav
        sf.write(tmp, np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
