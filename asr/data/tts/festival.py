"""Festival (Debian ``festival`` + voice packages), through its ``text2wave`` script.

``apt-get install festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts`` gives the
voices ``kal_diphone`` and ``ked_diphone`` (diphone, US male) and ``cmu_us_slt_arctic_hts``
(HTS, US female). Voices are found as directories under ``/usr/share/festival/voices/<lang>/``.
Each call starts festival (~0.3 s), about 10x real time per core. Parameters of
:meth:`FestivalEngine.synthesize`: ``duration_stretch`` (>1 is slower, default 1.0), ``seed``
(accepted for interface compatibility: festival is deterministic).
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

VOICE_ROOT = Path("/usr/share/festival/voices")


@functools.cache
def _installed_voices() -> tuple[str, ...]:
    if not VOICE_ROOT.is_dir():
        return ()
    return tuple(sorted(p.name for p in VOICE_ROOT.glob("*/*") if p.is_dir() and re.fullmatch(r"[\w-]+", p.name)))


class FestivalEngine(TTSEngine):
    name = "festival"

    @classmethod
    def available(cls) -> bool:
        return shutil.which("text2wave") is not None and bool(_installed_voices())

    def voices(self) -> list[str]:
        return list(_installed_voices())

    def synthesize(self, text: str, voice: str, duration_stretch: float = 1.0, seed: int | None = None,
                   sample_rate: int = OUTPUT_SAMPLE_RATE, **unknown: Any) -> tuple[np.ndarray, int]:
        if unknown:
            raise TypeError(f"festival: unknown parameters {sorted(unknown)}")
        if voice not in _installed_voices():
            raise TTSError(f"festival: unknown voice {voice!r} "
                           f"(installed: {', '.join(_installed_voices()) or 'none'})")
        stretch = float(duration_stretch)
        # Diphone voices read the Duration_Stretch parameter; HTS voices ignore it and take the
        # hts_engine speed rate "-r" (>1 is faster) instead.
        set_stretch = (f"(set! hts_engine_params (append hts_engine_params (list (list \"-r\" {1.0 / stretch:.4f}))))"
                       if "_hts" in voice else f"(Parameter.set 'Duration_Stretch {stretch:.3f})")
        evals = ["-eval", f"(voice_{voice})", "-eval", set_stretch]
        return run_to_wav("festival", voice, text,
                          lambda txt, wav: ["text2wave", *evals, str(txt), "-o", str(wav)], sample_rate=sample_rate)
