"""Shared plumbing for engines that are command-line programs (flite, festival's text2wave,
RHVoice-test, espeak-ng with MBROLA voices, pico2wave).

The text goes through a file (or, for programs that read no text file, the program's standard
input), never through the command line. The program writes a wav into a private temporary
directory; a non-zero exit, a timeout, a missing or empty file, or silence becomes a
:class:`TTSError` naming the engine, the voice and the text.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSError, audible_output

TIMEOUT_S = 60.0  # a sentence takes well under a second; a hung engine must not stall a worker


def run_to_wav(engine: str, voice: str, text: str, argv_for: Callable[[Path, Path], list[str]],
               timeout: float = TIMEOUT_S, sample_rate: int = OUTPUT_SAMPLE_RATE,
               stdin_text: str | None = None) -> tuple[np.ndarray, int]:
    """Run ``argv_for(text_file, wav_file)`` and return its wav as ``(float32 (N,), sample_rate)``.

    Both files are in a fresh temporary directory (``argv_for`` may write other files next to them),
    which is also the program's working directory, so that argv may name those files relatively.
    ``stdin_text`` (e.g. the text with markup added) goes to the program's standard input, through
    a file in that directory; otherwise the standard input is empty.
    """
    import soundfile as sf

    if not text.strip():
        raise TTSError(f"{engine}: empty text for voice {voice!r}")
    with tempfile.TemporaryDirectory(prefix=f"asr_{engine}_") as tmp:
        text_file, wav_file = Path(tmp) / "text.txt", Path(tmp) / "out.wav"
        text_file.write_text(text + "\n", encoding="utf-8")
        stdin_file = Path(tmp) / "stdin.txt"
        if stdin_text is not None:
            stdin_file.write_text(stdin_text + "\n", encoding="utf-8")
        try:
            argv = argv_for(text_file, wav_file)
            with open(stdin_file if stdin_text is not None else os.devnull, encoding="utf-8") as stdin:
                proc = subprocess.run(argv, stdin=stdin, capture_output=True, text=True, timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired as e:
            raise TTSError(f"{engine} voice {voice!r}: no result after {timeout:.0f} s for {text[:60]!r}") from e
        except OSError as e:
            raise TTSError(f"{engine}: cannot run it: {e}") from e
        if proc.returncode != 0 or not wav_file.is_file() or wav_file.stat().st_size <= 44:
            err = (proc.stderr or proc.stdout).strip().splitlines()
            raise TTSError(f"{engine} voice {voice!r} failed (exit {proc.returncode}) for {text[:60]!r}"
                           + (f": {err[-1][:200]}" if err else ""))
        try:
            wav, sr = sf.read(str(wav_file), dtype="float32", always_2d=True)
        except RuntimeError as e:  # soundfile's errors: a truncated or malformed file
            raise TTSError(f"{engine} voice {voice!r}: unreadable wav for {text[:60]!r}: {e}") from e
    return audible_output(engine, voice, text, wav.mean(axis=1), sr, sample_rate)
