"""SVOX Pico (Debian ``libttspico-utils``, non-free), through its ``pico2wave`` program.

``apt-get install libttspico-utils`` (Debian's non-free component) gives the voices en-US and
en-GB (both female), found as ``/usr/share/pico/lang/<voice>_ta.bin`` plus ``<voice>_*_sg.bin``.
``pico2wave`` has no rate or pitch options but reads markup in the text: the text is wrapped in
``<speed level="S"><pitch level="P">...</pitch></speed>``, after ``<``, ``>`` and ``&`` are
removed from it so it cannot add markup of its own. The text goes in on standard input. Output is
16 kHz. Parameters of :meth:`PicoEngine.synthesize`: ``speed`` (integer percent of the normal
speaking rate, >100 is faster, default 100), ``pitch`` (integer percent of the normal pitch,
default 100), ``seed`` (accepted for interface compatibility: Pico is deterministic).
"""

from __future__ import annotations

import functools
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSEngine, TTSError
from asr.data.tts.subprocess_engine import run_to_wav

LANG_ROOT = Path("/usr/share/pico/lang")
ENGLISH_VOICES = ("en-US", "en-GB")
_MARKUP_CHARS = re.compile(r"[<>&]")


@functools.cache
def _installed_voices() -> tuple[str, ...]:
    return tuple(v for v in ENGLISH_VOICES
                 if (LANG_ROOT / f"{v}_ta.bin").is_file() and any(LANG_ROOT.glob(f"{v}_*_sg.bin")))


def marked_up(text: str, speed: int = 100, pitch: int = 100) -> str:
    """``text`` with its markup characters removed, wrapped in Pico's speed and pitch tags."""
    clean = " ".join(_MARKUP_CHARS.sub(" ", text).split())
    return f'<speed level="{round(speed)}"><pitch level="{round(pitch)}">{clean}</pitch></speed>'


class PicoEngine(TTSEngine):
    name = "pico"

    @classmethod
    def available(cls) -> bool:
        return shutil.which("pico2wave") is not None and bool(_installed_voices())

    def voices(self) -> list[str]:
        return list(_installed_voices())

    def synthesize(self, text: str, voice: str, speed: int = 100, pitch: int = 100, seed: int | None = None,
                   sample_rate: int = OUTPUT_SAMPLE_RATE, **unknown: Any) -> tuple[np.ndarray, int]:
        if unknown:
            raise TypeError(f"pico: unknown parameters {sorted(unknown)}")
        if voice not in _installed_voices():
            raise TTSError(f"pico: unknown voice {voice!r} (installed: {', '.join(_installed_voices()) or 'none'})")
        if not _MARKUP_CHARS.sub(" ", text).strip():
            raise TTSError(f"pico: empty text for voice {voice!r}")
        # pico2wave insists on an output name ending in .wav (run_to_wav's is out.wav).
        return run_to_wav("pico", voice, text, lambda txt, wav: ["pico2wave", "-l", voice, "-w", str(wav)],
                          sample_rate=sample_rate, stdin_text=marked_up(text, speed, pitch))
