"""MBROLA diphone voices, driven by the ``espeak-ng`` program (Debian ``espeak-ng mbrola mbrola-<voice>``).

``apt-get install espeak-ng mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1`` (the voices are in
Debian's contrib/non-free components) gives the voices us1 (US female), us2 and us3 (US male) and
en1 (British male), spoken with eSpeak NG's ``mb-<voice>`` voice files. A voice is installed when
its database ``/usr/share/mbrola/<voice>/<voice>`` and its eSpeak voice file
``<espeak-ng-data>/voices/mb/mb-<voice>`` exist. Output is 16 kHz.

``mbrola_accent`` (:class:`MbrolaAccentEngine`) is the same with the voices eSpeak NG gives English
through other languages' diphones (``mb-de1-en``... : German, French, Dutch, Swedish, Hungarian,
Polish, Romanian, Greek and Afrikaans speakers; ``apt-get install mbrola-de1 ... mbrola-af1``):
English as people with those first languages speak it, recorded from 16 more real voices.

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
# eSpeak NG's English voice files over other languages' MBROLA databases (voices/mb/mb-<db>-en).
ACCENTED_VOICES = ("af1-en", "de1-en", "de2-en", "de3-en", "de4-en", "de5-en", "de6-en", "fr1-en", "fr4-en",
                   "gr2-en", "hu1-en", "nl2-en", "pl1-en", "ro1-en", "sw1-en", "sw2-en")
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
def _installed_voices(candidates: tuple[str, ...] = ENGLISH_VOICES) -> tuple[str, ...]:
    """The ``candidates`` whose eSpeak voice file and MBROLA database (``de1`` of ``de1-en``) are installed."""
    if shutil.which("espeak-ng") is None or shutil.which("mbrola") is None:
        return ()
    found = []
    for v in candidates:
        vf, db = _voice_file(v), v.split("-")[0]
        if vf is not None and vf.is_file() and (MBROLA_ROOT / db / db).is_file():
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
    candidate_voices = ENGLISH_VOICES

    @classmethod
    def available(cls) -> bool:
        return bool(_installed_voices(cls.candidate_voices))

    def voices(self) -> list[str]:
        return list(_installed_voices(self.candidate_voices))

    def synthesize(self, text: str, voice: str, rate: int = 175, pitch: int = 50, pitch_range: int = 50,
                   seed: int | None = None, sample_rate: int = OUTPUT_SAMPLE_RATE,
                   **unknown: Any) -> tuple[np.ndarray, int]:
        if unknown:
            raise TypeError(f"{self.name}: unknown parameters {sorted(unknown)}")
        installed = self.voices()
        if voice not in installed:
            raise TTSError(f"{self.name}: unknown voice {voice!r} (installed: {', '.join(installed) or 'none'})")
        voice_text = voice_file_text(voice, max(0, min(100, round(pitch_range))))
        opts = ["-s", str(round(rate)), "-p", str(max(0, min(99, round(pitch))))]

        def argv(txt: Path, wav: Path) -> list[str]:
            vf = txt.with_name(f"mb-{voice}")
            vf.write_text(voice_text, encoding="utf-8")
            # Relative (run_to_wav runs in the file's directory): espeak-ng refuses a voice path of 40
            # characters or more with "voice does not exist", which a long TMPDIR would reach.
            return ["espeak-ng", "--load", "-v", vf.name, *opts, "-w", str(wav), "-f", str(txt)]

        return run_to_wav(self.name, voice, text, argv, sample_rate=sample_rate)


class MbrolaAccentEngine(MbrolaEngine):
    """MBROLA voices of other languages speaking English (eSpeak NG's ``mb-<voice>-en``)."""

    name = "mbrola_accent"
    candidate_voices = ACCENTED_VOICES
