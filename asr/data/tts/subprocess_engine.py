"""Shared plumbing for engines that are command-line programs (flite, festival's text2wave).

The program writes a wav into a private temporary directory; a non-zero exit, a timeout, or a
missing or empty file becomes a :class:`TTSError` naming the engine, the voice and the text.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSError, resample

TIMEOUT_S = 60.0  # a sentence takes well under a second; a hung engine must not stall a worker


def run_to_wav(engine: str, voice: str, text: str, argv_for: Callable[[Path, Path], list[str]],
               timeout: float = TIMEOUT_S, sample_rate: int = OUTPUT_SAMPLE_RATE) -> tuple[np.ndarray, int]:
    """Run ``argv_for(text_file, wav_file)`` and return its wav as ``(float32 (N,), sample_rate)``."""
    import soundfile as sf

    if not text.strip():
        raise TTSError(f"{engine}: empty text for voice {voice!r}")
    with tempfile.TemporaryDirectory(prefix=f"asr_{engine}_") as tmp:
        text_file, wav_file = Path(tmp) / "text.txt", Path(tmp) / "out.wav"
        text_file.write_text(text + "\n", encoding="utf-8")
        try:
            proc = subprocess.run(argv_for(text_file, wav_file), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise TTSError(f"{engine} voice {voice!r}: no result after {timeout:.0f} s for {text[:60]!r}") from e
        except OSError as e:
            raise TTSError(f"{engine}: cannot run it: {e}") from e
        if proc.returncode != 0 or not wav_file.is_file() or wav_file.stat().st_size <= 44:
            err = (proc.stderr or proc.stdout).strip().splitlines()
            raise TTSError(f"{engine} voice {voice!r} failed (exit {proc.returncode}) for {text[:60]!r}"
                           + (f": {err[-1][:200]}" if err else ""))
        wav, sr = sf.read(str(wav_file), dtype="float32", always_2d=True)
    wav = wav.mean(axis=1)
    if not np.any(np.abs(wav) > 1e-3):
        raise TTSError(f"{engine}: voice {voice!r} produced silence for {text[:60]!r}")
    return resample(wav, sr, sample_rate), sample_rate
