"""Flite (CMU, Debian package ``flite``): voices kal16 (diphone), awb, rms, slt (clustergen).

``apt-get install flite``. Each call runs the ``flite`` program (~50x real time including
start-up). Parameters of :meth:`FliteEngine.synthesize`: ``duration_stretch`` (>1 is slower,
default 1.0), ``f0_mean`` (target mean pitch in Hz; None keeps the voice's own), ``seed``
(accepted for interface compatibility: flite is deterministic).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from typing import Any

import numpy as np

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSEngine, TTSError
from asr.data.tts.subprocess_engine import run_to_wav

# Voices worth using: "kal" is kal16 at 8 kHz and "awb_time" only speaks times of day.
USABLE_VOICES = ("kal16", "awb", "rms", "slt")


@functools.cache
def _installed_voices() -> tuple[str, ...]:
    try:
        out = subprocess.run(["flite", "-lv"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    listed = out.partition(":")[2].split()
    return tuple(v for v in USABLE_VOICES if v in listed)


class FliteEngine(TTSEngine):
    name = "flite"

    @classmethod
    def available(cls) -> bool:
        return shutil.which("flite") is not None and bool(_installed_voices())

    def voices(self) -> list[str]:
        return list(_installed_voices())

    def synthesize(self, text: str, voice: str, duration_stretch: float = 1.0, f0_mean: float | None = None,
                   seed: int | None = None, sample_rate: int = OUTPUT_SAMPLE_RATE,
                   **unknown: Any) -> tuple[np.ndarray, int]:
        if unknown:
            raise TypeError(f"flite: unknown parameters {sorted(unknown)}")
        if voice not in _installed_voices():
            raise TTSError(f"flite: unknown voice {voice!r} (installed: {', '.join(_installed_voices()) or 'none'})")
        feats = ["--setf", f"duration_stretch={float(duration_stretch):.3f}"]
        if f0_mean is not None:
            feats += ["--setf", f"int_f0_target_mean={float(f0_mean):.1f}"]
        return run_to_wav("flite", voice, text, lambda txt, wav: ["flite", "-voice", voice, *feats, "-f", str(txt),
                                                                  "-o", str(wav)], sample_rate=sample_rate)
