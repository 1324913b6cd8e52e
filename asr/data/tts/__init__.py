"""Text-to-speech engines used to build the synthetic corpus.

``get_engine(name)`` returns an engine instance for ``espeak`` (espeakng-loader, pip), ``piper``
and ``hibari`` (pip extras), ``flite``, ``festival``, ``rhvoice``, ``mbrola``, ``pico`` or
``mbrola_accent`` (Debian programs; the last four from Debian's contrib/non-free components);
engines import their heavy dependencies lazily, so importing this package is cheap.
"""

from __future__ import annotations

import importlib

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSEngine, TTSError

# name -> (module, class); the engine modules import their heavy dependencies lazily.
_ENGINE_CLASSES = {
    "espeak": ("asr.data.tts.espeak", "EspeakEngine"),
    "piper": ("asr.data.tts.piper", "PiperEngine"),
    "flite": ("asr.data.tts.flite", "FliteEngine"),
    "festival": ("asr.data.tts.festival", "FestivalEngine"),
    "rhvoice": ("asr.data.tts.rhvoice", "RHVoiceEngine"),
    "mbrola": ("asr.data.tts.mbrola", "MbrolaEngine"),
    "pico": ("asr.data.tts.pico", "PicoEngine"),
    "mbrola_accent": ("asr.data.tts.mbrola", "MbrolaAccentEngine"),
    "hibari": ("asr.data.tts.hibari", "HibariEngine"),
}
ENGINE_NAMES = tuple(_ENGINE_CLASSES)

__all__ = ["ENGINE_NAMES", "OUTPUT_SAMPLE_RATE", "TTSEngine", "TTSError", "available_engines", "engine_class",
           "get_engine"]


def engine_class(name: str) -> type[TTSEngine]:
    if name not in _ENGINE_CLASSES:
        raise ValueError(f"unknown TTS engine {name!r}; known: {', '.join(ENGINE_NAMES)}")
    module, cls = _ENGINE_CLASSES[name]
    return getattr(importlib.import_module(module), cls)


def get_engine(name: str) -> TTSEngine:
    """An engine instance; raises TTSError when its dependencies are missing."""
    cls = engine_class(name)
    if not cls.available():
        raise TTSError(f"TTS engine {name!r} is not available in this environment")
    return cls()


def available_engines(names: tuple[str, ...] | list[str] = ENGINE_NAMES) -> list[str]:
    return [n for n in names if engine_class(n).available()]
