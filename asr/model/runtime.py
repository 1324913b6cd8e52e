"""A model directory ready to run: waveforms -> features -> CTC log-probs, on PyTorch or ONNX.

``ModelRuntime(dir).log_probs(waves)`` is what every stage that decodes needs -- ``asr decode``,
``asr tune-lm`` (asr.decode) and transcription (asr.transcribe.recognizer) -- so it lives with the
model, below them all. It loads the network (``model.safetensors`` with PyTorch, or ``model.onnx``
with onnxruntime), its tokenizer and feature configuration, and computes the features with the
extractor the feature store used, so that decoding sees the features training saw.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from asr.data.audio import AudioError
from asr.device import resolve_device
from asr.features.logmel import make_feature_extractor
from asr.model.bundled import resolve_model_dir
from asr.model.layout import BACKENDS, ONNX_MODEL, WEIGHTS
from asr.model.model_dir import load_model_dir, load_model_meta
from asr.model.onnx_model import OnnxCTCModel, onnx_is_current

__all__ = ["BACKENDS", "choose_backend", "ModelRuntime"]

log = logging.getLogger(__name__)


def choose_backend(model_dir: Path, backend: str) -> str:
    """``auto``: PyTorch when the directory has weights, else its ``model.onnx`` (an ONNX-only deployment).

    PyTorch is the default even where a ``model.onnx`` exists: on 2 CPU cores it decodes ~3x faster
    than onnxruntime's LSTM kernels (bench/long_audio.py), and it also runs on a GPU.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: no such model directory")
    has_weights = (model_dir / WEIGHTS).is_file()
    if backend == "torch" or (backend == "auto" and has_weights):
        return "torch"
    if not (model_dir / ONNX_MODEL).is_file() and has_weights:
        raise FileNotFoundError(f"{model_dir}: no {ONNX_MODEL} (make one with `asr export {model_dir} --onnx`)")
    if not (model_dir / ONNX_MODEL).is_file():
        raise FileNotFoundError(f"{model_dir}: not a model directory (neither {WEIGHTS} nor {ONNX_MODEL}; "
                                f"`asr export CHECKPOINT {model_dir}` makes one)")
    if not onnx_is_current(model_dir):
        log.warning("%s: %s was exported from other weights than the %s now there (retrained since?); "
                    "re-run `asr export %s --onnx`", model_dir, ONNX_MODEL, WEIGHTS, model_dir)
    return "onnx"


class ModelRuntime:
    """The network of a model directory with its features and units. ``ModelRuntime(dir).log_probs([wave])``.

    ``device``: ``auto`` (a GPU if there is one), ``cpu``, ``cuda:N``... (asr.device.resolve_device);
    the ONNX backend always runs on the CPU. ``backend``: ``torch``, ``onnx`` or ``auto``
    (:func:`choose_backend`).

    Attributes: ``model_dir``, ``device``, ``backend``, ``model`` (a module or :class:`OnnxCTCModel`,
    both ``(feats (B, T, F), lengths (B,)) -> (log_probs (B, T', V), lengths (B,))``), ``feature_cfg``,
    ``tokenizer``, ``meta`` (the directory's config.json), ``logmel`` (the feature extractor) and
    ``subsample`` (feature frames per output step).
    """

    def __init__(self, model_dir: str | os.PathLike | None = None, device: str = "auto", backend: str = "auto"):
        self.model_dir = resolve_model_dir(model_dir)  # None: the model shipped in the package
        self.device = resolve_device(device)
        self.backend = choose_backend(self.model_dir, backend)
        if self.backend == "onnx":
            self.device = torch.device("cpu")
            self.feature_cfg, self.tokenizer, self.meta = load_model_meta(self.model_dir)
            self.model = OnnxCTCModel(self.model_dir / ONNX_MODEL)
        else:
            self.model, self.feature_cfg, self.tokenizer, self.meta = load_model_dir(self.model_dir, self.device)
        # The extractor the feature store used (any backend), so features match training's.
        self.logmel = make_feature_extractor(self.feature_cfg, self.device)
        self.subsample = int(self.meta["model"]["subsample"])

    @property
    def min_samples(self) -> int:
        """The shortest waveform that yields one whole output step (shorter ones need padding)."""
        return self.feature_cfg.frame_samples + (self.subsample - 1) * self.feature_cfg.hop_length

    @torch.no_grad()  # not inference_mode: studies adapt the model on these features (bench/test_time_study.py)
    def features(self, waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (each ``(N,)`` at the model rate) -> the model's input: log-mel ``(B, T, F)`` on
        :attr:`device` and lengths ``(B,)``. An utterance shorter than one feature frame is an AudioError.
        """
        lens = torch.tensor([len(w) for w in waves], dtype=torch.long)
        batch = torch.zeros(len(waves), int(lens.max()))
        for i, w in enumerate(waves):
            batch[i, : len(w)] = torch.as_tensor(w)
        feats, feat_lens = self.logmel(batch.to(self.device), lens)
        if int(feat_lens.min()) == 0:
            raise AudioError(f"audio shorter than one {self.feature_cfg.frame_samples}-sample frame")
        return feats, feat_lens

    @torch.inference_mode()
    def log_probs(self, waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (each ``(N,)`` at the model rate) -> CTC log-probs ``(B, T', V)`` on :attr:`device`
        and lengths ``(B,)`` (:meth:`features`, then the network)."""
        feats, feat_lens = self.features(waves)
        return self.model(feats, feat_lens.to(feats.device))
