"""MBROLA diphone voices, driven by the ``espeak-ng`` program (Debian ``espeak-ng mbrola mbrola-<voice>``).

``apt-get install espeak-ng mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1`` (the voices are in
Debian's contrib/non-free components) gives the voices us1 (US female), us2 and us3 (US male) and
en1 (British male), spoken with eSpeak NG's ``mb-<voice>`` voice files. A voice is installed when
its database ``/usr/share/mbrola/<voice>/<voice>`` and its eSpeak voice file
``<espeak-ng-data>/voices/mb/mb-<voice>`` exist. Output is 16 kHz.

Parameters of :meth:`MbrolaEngine.synthesize`: ``rate`` (words per minute, default 175),
``pitch`` (eSpeak's 0-99 pitch, default 50 = the voice's own; each unit is ~1% of F0),
``pitch_range`` (0-100, default 50 = the voice's own intonation range; 100 doubles it, 0 is
monotone), ``seed`` (accepted for interface compatibility: the output is deterministic). The
``espeak-ng`` program has no pitch-range option and ignores SSML prosody with MBROLA voices, so the
range is set by loading a copy of the voice file whose ``pitch <base> <top>`` line is rescaled.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSEngine, TTSError
from asr.data.tts.subprocess_engine import run_to_wav

MBROLA_ROOT = Path("/usr/share/mbrola")
ENGLISH_VOICES = ("us1", "us2", "us3", "en1")
_PITCH_LINE = re.compile(r"^pitch\s+(\d+)\s+(\d+)\s*$", re.MULTILINE)
_ESPEAK_DEFAULT_PITCH = (82, 118)  # Hz, eSpeak's base and top when a voice file sets none


@functools.cache
def espeak_data_dir() -> Path | None:
    """The system ``espeak-ng-data`` directory, as ``espeak-ng --version`` reports it."""
    try:
        out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"Data at:\s*(\S+)", out)
    return Path(m.group(1)) if m and Path(m.group(1)).is_dir() else None


def _voice_file(voice: str) -> Path | None:
    data = espeak_data_dir()
    return data / "voices" / "mb" / f"mb-{voice}" if data else None


@functools.cache
def _installed_voices() -> tuple[str, ...]:
    if shutil.which("espeak-ng") is None or shutil.which("mbrola") is None:
        return ()
    found = []
    for v in ENGLISH_VOICES:
        vf = _voice_file(v)
        if vf is not None and vf.is_file() and (MBROLA_ROOT / v / v).is_file():
            found.append(v)
    return tuple(found)


@functools.cache
def _voice_text(voice: str) -> str:
    return _voice_file(voice).read_text(encoding="utf-8", errors="replace")  # type: ignore[union-attr]


def voice_file_text(voice: str, pitch_range: int) -> str:
    """The eSpeak voice file of ``voice`` with its intonation range scaled by ``pitch_range / 50``."""
    text = _voice_text(voice)
    m = _PITCH_LINE.search(text)
    base, top = (int(m.group(1)), int(m.group(2))) if m else _ESPEAK_DEFAULT_PITCH
    line = f"pitch {base} {max(base, round(base + (top - base) * pitch_range / 50.0))}"
    return text[:m.start()] + line + text[m.end():] if m else text.rstrip("\n") + "\n" + line + "\n"


class MbrolaEngine(TTSEngine):
    name = "mbrola"

    @classmethod
    def available(cls) -> bool:
        return bool(_installed_voices())

    def voices(self) -> list[str]:
        return list(_installed_voices())

    def synthesize(self, text: str, voice: str, rate: int = 175, pitch: int = 50, pitch_range: int = 50,
                   seed: int | None = None, sample_rate: int = OUTPUT_SAMPLE_RATE,
                   **unknown: Any) -> tuple[np.ndarray, int]:
        if unknown:
            raise TypeError(f"mbrola: unknown parameters {sorted(unknown)}")
        if voice not in _installed_voices():
            raise TTSError(f"mbrola: unknown voice {voice!r} (installed: {', '.join(_installed_voices()) or 'none'})")
        voice_text = voice_file_text(voice, max(0, min(100, round(pitch_range))))
        opts = ["-s", str(round(rate)), "-p", str(max(0, min(99, round(pitch))))]

        def argv(txt: Path, wav: Path) -> list[str]:
            vf = txt.with_name(f"mb-{voice}")
            vf.write_text(voice_text, encoding="utf-8")
            return ["espeak-ng", "--load", "-v", str(vf), *opts, "-w", str(wav), "-f", str(txt)]

        return run_to_wav("mbrola", voice, text, argv, sample_rate=sample_rate)
