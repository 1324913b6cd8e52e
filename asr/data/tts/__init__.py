"""Text-to-speech engines used to build the synthetic corpus.

``get_engine(name)`` returns an engine instance for ``espeak`` (espeakng-loader, pip), ``piper``
(pip extra), ``flite``, ``festival``, ``rhvoice``, ``mbrola`` or ``pico`` (Debian programs; the last
three from Debian's contrib/non-free components); engines import their heavy dependencies lazily,
so importing this package is cheap.
"""

from __future__ import annotations

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSEngine, TTSError

ENGINE_NAMES = ("espeak", "piper", "flite", "festival", "rhvoice", "mbrola", "pico")

__all__ = ["ENGINE_NAMES", "OUTPUT_SAMPLE_RATE", "TTSEngine", "TTSError", "available_engines", "engine_class",
           "get_engine"]


def engine_class(name: str) -> type[TTSEngine]:
    if name == "espeak":
        from asr.data.tts.espeak import EspeakEngine

        return EspeakEngine
    if name == "piper":
        from asr.data.tts.piper import PiperEngine

        return PiperEngine
    if name == "flite":
        from asr.data.tts.flite import FliteEngine

        return FliteEngine
    if name == "festival":
        from asr.data.tts.festival import FestivalEngine

        return FestivalEngine
    if name == "rhvoice":
        from asr.data.tts.rhvoice import RHVoiceEngine

        return RHVoiceEngine
    if name == "mbrola":
        from asr.data.tts.mbrola import MbrolaEngine

        return MbrolaEngine
    if name == "pico":
        from asr.data.tts.pico import PicoEngine

        return PicoEngine
    raise ValueError(f"unknown TTS engine {name!r}; known: {', '.join(ENGINE_NAMES)}")


def get_engine(name: str) -> TTSEngine:
    """An engine instance; raises TTSError when its dependencies are missing."""
    cls = engine_class(name)
    if not cls.available():
        raise TTSError(f"TTS engine {name!r} is not available in this environment")
    return cls()


def available_engines(names: tuple[str, ...] | list[str] = ENGINE_NAMES) -> list[str]:
    return [n for n in names if engine_class(n).available()]
