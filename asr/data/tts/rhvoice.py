"""RHVoice (Debian ``rhvoice rhvoice-english``, non-free), through its ``RHVoice-test`` program.

``apt-get install rhvoice rhvoice-english`` (Debian's non-free component) gives the English voices
alan (Scottish male), bdl (US male), clb and slt (US female), all LGPL-2.1, found as directories
under ``/usr/share/RHVoice/voices/``. The package also ships evgeniy-eng and lyubov, which are
licensed CC BY-NC-ND (no commercial use): they are skipped unless the environment variable
``ASR_RHVOICE_NC_VOICES=1`` is set. RHVoice speaks at 24 kHz; the audio is resampled to 16 kHz.
Parameters of :meth:`RHVoiceEngine.synthesize`: ``rate`` (integer percent of the voice's normal
speaking rate, >100 is faster, default 100), ``pitch`` (integer percent of its normal pitch, default 100),
``seed`` (accepted for interface compatibility: RHVoice is deterministic). An unknown voice is
refused here: ``RHVoice-test`` would silently speak with its default voice instead.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSEngine, TTSError
from asr.data.tts.subprocess_engine import run_to_wav

VOICE_ROOT = Path("/usr/share/RHVoice/voices")
PROGRAM = "RHVoice-test"
LGPL_VOICES = ("alan", "bdl", "clb", "slt")
NONCOMMERCIAL_VOICES = ("evgeniy-eng", "lyubov")  # CC BY-NC-ND: opt in with NC_ENV=1
NC_ENV = "ASR_RHVOICE_NC_VOICES"


@functools.cache
def _installed_voices(allow_nc: bool) -> tuple[str, ...]:
    names = LGPL_VOICES + (NONCOMMERCIAL_VOICES if allow_nc else ())
    return tuple(v for v in names if (VOICE_ROOT / v / "voice.info").is_file())


def installed_voices() -> tuple[str, ...]:
    return _installed_voices(os.environ.get(NC_ENV, "") == "1")


class RHVoiceEngine(TTSEngine):
    name = "rhvoice"

    @classmethod
    def available(cls) -> bool:
        return shutil.which(PROGRAM) is not None and bool(installed_voices())

    def voices(self) -> list[str]:
        return list(installed_voices())

    def synthesize(self, text: str, voice: str, rate: int = 100, pitch: int = 100, seed: int | None = None,
                   sample_rate: int = OUTPUT_SAMPLE_RATE, **unknown: Any) -> tuple[np.ndarray, int]:
        if unknown:
            raise TypeError(f"rhvoice: unknown parameters {sorted(unknown)}")
        if voice not in installed_voices():
            raise TTSError(f"rhvoice: unknown voice {voice!r} (installed: {', '.join(installed_voices()) or 'none'})")
        opts = ["-p", voice, "-r", str(round(rate)), "-t", str(round(pitch))]  # it takes integers only
        return run_to_wav("rhvoice", voice, text, lambda txt, wav: [PROGRAM, *opts, "-i", str(txt), "-o", str(wav)],
                          sample_rate=sample_rate)
