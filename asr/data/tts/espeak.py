"""eSpeak NG through ctypes, using the library and data shipped in the ``espeakng-loader`` wheel.

Voices are ``<language>+<variant>`` (``en-us+m3``): an English accent from
``espeak-ng-data/lang/gmw`` and a voice variant from ``espeak-ng-data/voices/!v``; a bare
``<language>`` is the accent's default voice. eSpeak keeps global state in the library, so it is
loaded lazily on first use, owned by one per-process object, and called under a lock (see
:class:`_Espeak` for why it is reloaded around each utterance).
"""

from __future__ import annotations

import ctypes
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSEngine, TTSError, audible_output, to_float32

# English accents, as eSpeak language names. en-shaw (Shavian alphabet) is left out: on Latin
# text it is plain British English. Only those present in the data directory are offered.
ENGLISH_LANGUAGES = (
    "en",  # British English
    "en-029",  # Caribbean
    "en-gb-scotland",
    "en-gb-x-gbclan",  # Lancaster
    "en-gb-x-gbcwmd",  # West Midlands
    "en-gb-x-rp",  # Received Pronunciation
    "en-us",
    "en-us-nyc",
)
# Variants that are silent or broken. All 104 variants of espeak-ng 1.52 (espeakng-loader 0.2.4)
# were checked with every English language: each loads and speaks audibly (no silent output, no
# NaNs; a handful -- Jacky, iven, antonio, ed, Marco, paul -- clip < 0.5% of samples).
EXCLUDED_VARIANTS: frozenset[str] = frozenset()

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
# espeak_PARAMETER
_RATE, _VOLUME, _PITCH, _RANGE, _WORDGAP = 1, 2, 3, 4, 7
_EE = {-1: "internal error", 1: "buffer full", 2: "not found"}

# int callback(short *wav, int numsamples, espeak_EVENT *events)
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                   ctypes.c_void_p)


def data_dir() -> Path:
    """The ``espeak-ng-data`` directory of the espeakng-loader wheel."""
    import espeakng_loader

    return Path(espeakng_loader.get_data_path())


class _Espeak:
    """The eSpeak library, loaded and initialized lazily; one per process, used under a lock.

    eSpeak keeps synthesis state in C statics that survive between utterances (e.g. the pitch
    "flutter" phase of wavegen.c), so the same call gives slightly different audio depending on
    what was spoken before -- and so on how utterances were spread over worker processes. With
    ``reset_per_utterance`` (the default) the library is unloaded and reloaded around every
    utterance, which costs ~2 ms and makes each utterance independent of the ones before it:
    durations and most waveforms become exactly reproducible. Variants with breath noise or
    roughness (f2, f3, whisper, ...) still differ slightly in sample values between processes:
    some of eSpeak's noise state is not reset by ``srand`` or by reloading.
    """

    _lock = threading.Lock()
    _instance: ClassVar[_Espeak | None] = None
    reset_per_utterance: ClassVar[bool] = True

    def __init__(self) -> None:
        import espeakng_loader

        self._path = espeakng_loader.get_library_path()
        # espeak_Initialize wants the directory *containing* espeak-ng-data.
        self._data_parent = str(data_dir().parent).encode()
        self._chunks: list[np.ndarray] = []

        def _on_audio(wav, n, _events):  # called by espeak_Synth, in this thread
            if n > 0 and wav:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0  # continue synthesis

        self._callback = _SYNTH_CALLBACK(_on_audio)  # keep a reference: espeak holds a raw pointer
        self.lib: ctypes.CDLL | None = None
        self.sample_rate = 0
        self._libc = ctypes.CDLL(None)
        self._load()

    def _load(self) -> None:
        lib = ctypes.CDLL(self._path)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Terminate.restype = ctypes.c_int
        sr = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, self._data_parent, 0)
        if sr <= 0:
            raise TTSError(f"espeak: espeak_Initialize failed (returned {sr}); "
                           f"data: {self._data_parent.decode()}")
        lib.espeak_SetSynthCallback(self._callback)
        self.lib, self.sample_rate = lib, sr

    def _unload(self) -> None:
        import _ctypes

        lib, self.lib = self.lib, None
        if lib is not None:
            lib.espeak_Terminate()
            _ctypes.dlclose(lib._handle)  # unmapped once no one else holds it: statics start fresh

    @classmethod
    def get(cls) -> _Espeak:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def speak(self, text: str, voice: str, params: dict[int, int],
              seed: int | None) -> tuple[np.ndarray, int]:
        with self._lock:
            if self.lib is None:
                self._load()
            try:
                return self._speak(text, voice, params, seed)
            finally:
                if self.reset_per_utterance:
                    self._unload()

    def _speak(self, text: str, voice: str, params: dict[int, int],
               seed: int | None) -> tuple[np.ndarray, int]:
        assert self.lib is not None
        if seed is not None:
            self._libc.srand(ctypes.c_uint(seed & 0xFFFFFFFF))  # eSpeak's noise sources use rand()
        rc = self.lib.espeak_SetVoiceByName(voice.encode())
        if rc != 0:
            raise TTSError(f"espeak: cannot load voice {voice!r} ({_EE.get(rc, rc)})")
        for key, value in params.items():  # after the voice: setting a voice resets some of them
            self.lib.espeak_SetParameter(key, int(value), 0)
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        self._chunks = []
        rc = self.lib.espeak_Synth(buf, len(buf), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        chunks, self._chunks = self._chunks, []
        if rc != 0:
            raise TTSError(f"espeak: synthesis failed with voice {voice!r} ({_EE.get(rc, rc)})")
        if not chunks:
            raise TTSError(f"espeak: voice {voice!r} produced no audio for {text[:60]!r}")
        return np.concatenate(chunks), self.sample_rate


@lru_cache(maxsize=1)
def _languages() -> tuple[str, ...]:
    present = {p.name.lower() for p in (data_dir() / "lang" / "gmw").iterdir()}
    return tuple(lang for lang in ENGLISH_LANGUAGES if lang in present)


@lru_cache(maxsize=1)
def _variants() -> tuple[str, ...]:
    vdir = data_dir() / "voices" / "!v"
    return tuple(sorted(p.name for p in vdir.iterdir() if p.is_file() and p.name not in EXCLUDED_VARIANTS))


def voice_name(language: str, variant: str | None) -> str:
    return language if not variant else f"{language}+{variant}"


def split_voice(voice: str) -> tuple[str, str | None]:
    """``"en-us+m3"`` -> ``("en-us", "m3")``; ``"en-us"`` -> ``("en-us", None)``."""
    language, sep, variant = voice.partition("+")
    return language, (variant if sep else None)


class EspeakEngine(TTSEngine):
    """eSpeak NG formant synthesis: 8 English accents x 104 voice variants, ~300x real time.

    Parameters of :meth:`synthesize`: ``rate`` (words per minute, 80-450, default 175),
    ``pitch`` (0-100, default 50, relative to the variant's own base pitch), ``pitch_range``
    (0-100, default 50; 0 is monotone), ``word_gap`` (extra pause between words, in units of
    10 ms, default 0), ``seed`` (seeds the C library's ``rand()``, used by breathy voices).
    """

    name = "espeak"

    @classmethod
    def available(cls) -> bool:
        try:
            import espeakng_loader

            return Path(espeakng_loader.get_library_path()).is_file() and data_dir().is_dir()
        except Exception:
            return False

    @staticmethod
    def languages() -> list[str]:
        return list(_languages())

    @staticmethod
    def variants() -> list[str]:
        return list(_variants())

    def voices(self) -> list[str]:
        langs, variants = _languages(), _variants()
        return [voice_name(lang, v) for lang in langs for v in (None, *variants)]

    def synthesize(
        self,
        text: str,
        voice: str,
        rate: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        word_gap: int = 0,
        seed: int | None = None,
        sample_rate: int = OUTPUT_SAMPLE_RATE,
        **unknown: Any,
    ) -> tuple[np.ndarray, int]:
        if unknown:
            raise TypeError(f"espeak: unknown parameters {sorted(unknown)}")
        language, variant = split_voice(voice)
        # espeak silently falls back to the default voice for an unknown variant: check ourselves.
        if language not in _languages() or (variant is not None and variant not in _variants()):
            raise TTSError(f"espeak: unknown voice {voice!r} (see EspeakEngine().voices())")
        if not text.strip():
            raise TTSError(f"espeak: empty text for voice {voice!r}")
        params = {
            _RATE: int(np.clip(rate, 80, 450)),
            _VOLUME: 100,
            _PITCH: int(np.clip(pitch, 0, 100)),
            _RANGE: int(np.clip(pitch_range, 0, 100)),
            _WORDGAP: max(0, int(word_gap)),
        }
        samples, sr = _Espeak.get().speak(text, voice, params, seed)
        return audible_output("espeak", voice, text, to_float32(samples), sr, sample_rate)

