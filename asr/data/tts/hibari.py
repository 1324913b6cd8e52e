"""hibari (optional, ``pip install 'asr[hibari]'``): Kokoro-82M's ``af_heart`` voice distilled into a
7.9 MB model that ships inside the ``hibari-tts`` wheel, made into many speakers by voice conversion.

hibari's network does not output a waveform: per 12.5 ms frame it predicts an F0 and the log
magnitudes (and phases) that shape a pulse train, a noise and a free-phase branch over 601 STFT bins
up to 12 kHz (``hibari.dsp.synth``). That is a source-filter split, so a new speaker is cheap:

* **vocal tract length**: the spectral parts are read on a frequency axis scaled by ``formant_warp``
  (< 1 lowers the formants, as a longer vocal tract does);
* **pitch**: F0 is multiplied by ``f0_scale`` while the spectral envelope stays put;
* **breathiness**: ``breath`` (natural-log units) is added to the noise branch's log magnitude;
* **speaking rate**: hibari's own ``speed`` input, which changes durations, not pitch.

Voice ``heart`` is the model as shipped; voices ``heart-000`` ... ``heart-NNN`` are derived speakers,
each a fixed draw of the four controls above (seeded by its index): even indices have a lowered
vocal tract and F0 (male-like ranges), odd ones stay near the original (female-like). Only the
bundled voice is used: hibari fetches its other voices from the network on first use, which this
project never does.

Parameters of :meth:`HibariEngine.synthesize`: ``speed`` (multiplies the voice's own rate, >1 is
faster, default 1.0), ``seed`` (the noise branch's generator; None draws fresh noise).
"""

from __future__ import annotations

import functools
import random
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSEngine, TTSError, resample

BASE_VOICE = "heart"
N_DERIVED_VOICES = 200
# Ranges of the derived voices. Male-like: formants 7-22% lower (adult male vocal tracts are ~15%
# longer than female ones) and F0 at 0.45-0.68 of af_heart's (~200 Hz -> 90-135 Hz). Female-like:
# formants within -7%..+10% and F0 0.78-1.2x.
LOW_FORMANT_WARP, LOW_F0_SCALE = (0.78, 0.93), (0.45, 0.68)
HIGH_FORMANT_WARP, HIGH_F0_SCALE = (0.93, 1.10), (0.78, 1.20)
BREATH = (-1.0, 0.5)
RATE = (0.85, 1.15)


@dataclass(frozen=True)
class VoiceShape:
    """How a derived voice differs from ``heart`` (``heart`` itself: all neutral)."""

    formant_warp: float = 1.0
    f0_scale: float = 1.0
    breath: float = 0.0
    rate: float = 1.0


def voice_names(n: int = N_DERIVED_VOICES) -> list[str]:
    return [BASE_VOICE] + [f"{BASE_VOICE}-{k:03d}" for k in range(n)]


@functools.cache
def voice_shape(voice: str) -> VoiceShape:
    """The fixed controls of ``voice``; ValueError for a name that is not one of :func:`voice_names`."""
    if voice == BASE_VOICE:
        return VoiceShape()
    base, _, index = voice.partition("-")
    if base != BASE_VOICE or not index.isdigit() or int(index) >= N_DERIVED_VOICES:
        raise ValueError(f"hibari: unknown voice {voice!r} (voices: {BASE_VOICE}, "
                         f"{BASE_VOICE}-000 ... {BASE_VOICE}-{N_DERIVED_VOICES - 1:03d})")
    k = int(index)
    rng = random.Random(f"hibari:{k}")
    warp, f0 = (LOW_FORMANT_WARP, LOW_F0_SCALE) if k % 2 == 0 else (HIGH_FORMANT_WARP, HIGH_F0_SCALE)
    return VoiceShape(round(rng.uniform(*warp), 3), round(rng.uniform(*f0), 3), round(rng.uniform(*BREATH), 3),
                      round(rng.uniform(*RATE), 3))


def warp_frequency(x: np.ndarray, factor: float) -> np.ndarray:
    """``x`` (bins, F) read on a frequency axis scaled by ``factor``: what bin k held moves to k * factor
    (linear interpolation; beyond the top bin the top bin's value)."""
    if factor == 1.0:
        return x
    n = x.shape[0]
    src = np.clip(np.arange(n, dtype=np.float32) / np.float32(factor), 0, n - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    w = (src - lo)[:, None]
    return (x[lo] * (1 - w) + x[hi] * w).astype(np.float32)


class HibariEngine(TTSEngine):
    name = "hibari"
    _lock = threading.Lock()
    _tts: ClassVar[Any] = None

    @classmethod
    def available(cls) -> bool:
        try:
            from hibari.voices import voice_path

            return bool(voice_path(BASE_VOICE, download_missing=False))
        except Exception:
            return False

    def voices(self) -> list[str]:
        return voice_names()

    @classmethod
    def _load(cls) -> Any:
        if cls._tts is None:
            from hibari import Hibari

            try:
                cls._tts = Hibari(voice=BASE_VOICE, threads=1)  # parallelism comes from worker processes
            except Exception as e:
                raise TTSError(f"hibari: cannot load the bundled voice {BASE_VOICE!r}: {e}") from e
        return cls._tts

    def synthesize(self, text: str, voice: str = BASE_VOICE, speed: float = 1.0, seed: int | None = None,
                   sample_rate: int = OUTPUT_SAMPLE_RATE, **unknown: Any) -> tuple[np.ndarray, int]:
        if unknown:
            raise TypeError(f"hibari: unknown parameters {sorted(unknown)}")
        try:
            shape = voice_shape(voice)
        except ValueError as e:
            raise TTSError(str(e)) from e
        if not text.strip():
            raise TTSError(f"hibari: empty text for voice {voice!r}")
        from hibari import dsp

        rng = np.random.default_rng(None if seed is None else int(seed) & 0x7FFFFFFF)
        # A final period gives the declarative intonation a normalized transcript has lost.
        spoken = text if text.rstrip()[-1:] in ".?!" else text.rstrip() + "."
        with self._lock:
            tts = self._load()
            rate = np.asarray([shape.rate * float(speed)], np.float32)
            try:
                parts = []
                for phonemes in tts.phonemize(spoken):
                    ids = np.asarray([tts.ids(phonemes)], np.int64)
                    lh, th, ln, lr, phi, f0 = (o[0] for o in tts.sess.run(None, {"ids": ids, "speed": rate}))
                    lh, th, ln, lr, phi = (warp_frequency(a, shape.formant_warp) for a in (lh, th, ln, lr, phi))
                    parts.append(dsp.synth(lh, th, ln + np.float32(shape.breath), lr, phi,
                                           f0 * np.float32(shape.f0_scale), rng))
            except Exception as e:
                raise TTSError(f"hibari: synthesis failed with voice {voice!r}: {e}") from e
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        if audio.size == 0 or not np.any(np.abs(audio) > 1e-3):
            raise TTSError(f"hibari: voice {voice!r} produced no audio for {text[:60]!r}")
        peak = float(np.max(np.abs(audio)))
        if peak > 0.9:
            audio = audio * (0.9 / peak)
        return resample(audio, dsp.SR, sample_rate), sample_rate
