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

Where Debian's ``librhvoice5`` (RHVoice's C API, ``libRHVoice.so.5``) is installed, the engine is loaded
once per process through ctypes and speaks in-process: starting ``RHVoice-test`` and loading its voice
took about two thirds of the CPU time of a typical 2 s utterance. The library gets the same settings
``RHVoice-test`` gives it (relative rate and pitch = percent / 100) and returns the same samples.
Without the library, the program is run per utterance as before.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSEngine, TTSError, audible_output
from asr.data.tts.subprocess_engine import run_to_wav

VOICE_ROOT = Path("/usr/share/RHVoice/voices")
PROGRAM = "RHVoice-test"
LGPL_VOICES = ("alan", "bdl", "clb", "slt")
NONCOMMERCIAL_VOICES = ("evgeniy-eng", "lyubov")  # CC BY-NC-ND: opt in with NC_ENV=1
NC_ENV = "ASR_RHVOICE_NC_VOICES"
LIBRARY = "libRHVoice.so.5"  # Debian librhvoice5: the C API (RHVoice.h)
DATA_PATH, CONFIG_PATH = "/usr/share/RHVoice", "/etc/RHVoice"


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
        if not text.strip():
            raise TTSError(f"rhvoice: empty text for voice {voice!r}")
        rate, pitch = round(rate), round(pitch)  # RHVoice-test takes integer percents: keep both paths equal
        library = _library()
        if library is not None:
            samples, sr = library.speak(text, voice, rate / 100.0, pitch / 100.0)
            return audible_output("rhvoice", voice, text, samples, sr, sample_rate)
        opts = ["-p", voice, "-r", str(rate), "-t", str(pitch)]
        return run_to_wav("rhvoice", voice, text, lambda txt, wav: [PROGRAM, *opts, "-i", str(txt), "-o", str(wav)],
                          sample_rate=sample_rate)


_INT_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
_SPEECH_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_uint, ctypes.c_void_p)


class _Callbacks(ctypes.Structure):  # RHVoice_callbacks; the unused ones stay NULL, as RHVoice.h asks
    _fields_ = [("set_sample_rate", _INT_CB), ("play_speech", _SPEECH_CB), ("process_mark", ctypes.c_void_p),
                ("word_starts", ctypes.c_void_p), ("word_ends", ctypes.c_void_p),
                ("sentence_starts", ctypes.c_void_p), ("sentence_ends", ctypes.c_void_p),
                ("play_audio", ctypes.c_void_p), ("done", ctypes.c_void_p)]


class _InitParams(ctypes.Structure):  # RHVoice_init_params
    _fields_ = [("data_path", ctypes.c_char_p), ("config_path", ctypes.c_char_p),
                ("resource_paths", ctypes.POINTER(ctypes.c_char_p)), ("callbacks", _Callbacks),
                ("options", ctypes.c_uint)]


class _SynthParams(ctypes.Structure):  # RHVoice_synth_params
    _fields_ = [("voice_profile", ctypes.c_char_p), ("absolute_rate", ctypes.c_double),
                ("absolute_pitch", ctypes.c_double), ("absolute_volume", ctypes.c_double),
                ("relative_rate", ctypes.c_double), ("relative_pitch", ctypes.c_double),
                ("relative_volume", ctypes.c_double), ("punctuation_mode", ctypes.c_int),
                ("punctuation_list", ctypes.c_char_p), ("capitals_mode", ctypes.c_int), ("flags", ctypes.c_int)]


class _Library:
    """One RHVoice engine of the C library for this process; :meth:`speak` is serialized."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib, self._lock = lib, threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._sample_rate = 0
        # Kept as attributes: the library holds these function pointers for the engine's lifetime.
        self._on_rate = _INT_CB(self._set_sample_rate)
        self._on_speech = _SPEECH_CB(self._play_speech)
        params = _InitParams(DATA_PATH.encode(), CONFIG_PATH.encode(), None,
                             _Callbacks(self._on_rate, self._on_speech), 0)
        lib.RHVoice_new_tts_engine.restype = ctypes.c_void_p
        lib.RHVoice_new_tts_engine.argtypes = [ctypes.POINTER(_InitParams)]
        lib.RHVoice_new_message.restype = ctypes.c_void_p
        lib.RHVoice_new_message.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint, ctypes.c_int,
                                            ctypes.POINTER(_SynthParams), ctypes.c_void_p]
        lib.RHVoice_speak.argtypes = [ctypes.c_void_p]
        lib.RHVoice_delete_message.argtypes = [ctypes.c_void_p]
        self._engine = lib.RHVoice_new_tts_engine(ctypes.byref(params))
        if not self._engine:
            raise TTSError(f"rhvoice: {LIBRARY} could not start an engine with the data in {DATA_PATH}")

    def _set_sample_rate(self, sample_rate: int, _user: Any) -> int:
        self._sample_rate = int(sample_rate)
        return 1

    def _play_speech(self, samples: Any, count: int, _user: Any) -> int:
        self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 1

    def speak(self, text: str, voice: str, relative_rate: float, relative_pitch: float) -> tuple[np.ndarray, int]:
        """``(float32 samples, sample_rate)`` of ``text`` spoken by ``voice``."""
        data = text.encode("utf-8")
        params = _SynthParams(voice.encode(), 0.0, 0.0, 0.0, relative_rate, relative_pitch, 1.0, 0, None, 0, 0)
        with self._lock:
            self._chunks, self._sample_rate = [], 0
            message = self._lib.RHVoice_new_message(self._engine, data, len(data), 0, ctypes.byref(params), None)
            if not message:
                raise TTSError(f"rhvoice: voice {voice!r} refused the text {text[:60]!r}")
            try:
                ok = self._lib.RHVoice_speak(message)
            finally:
                self._lib.RHVoice_delete_message(message)
            if not ok or not self._sample_rate:
                raise TTSError(f"rhvoice: voice {voice!r} failed on {text[:60]!r}")
            chunks, self._chunks = self._chunks, []
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        return samples.astype(np.float32) / 32768.0, self._sample_rate


@functools.cache
def _library() -> _Library | None:
    """The C library's engine, or None (not installed, or ASR_RHVOICE_PROGRAM=1 forces the program)."""
    if os.environ.get("ASR_RHVOICE_PROGRAM", "") == "1":
        return None
    try:
        lib = ctypes.CDLL(LIBRARY)
    except OSError:
        return None
    return _Library(lib)
