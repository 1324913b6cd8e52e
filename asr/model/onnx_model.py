"""The acoustic model as ONNX: export (``asr export --onnx``) and an onnxruntime runner.

``model.onnx`` in a model directory maps ``feats (B, T, F)`` float32 + ``lengths (B,)`` int64 to
``log_probs (B, T', V)`` + ``out_lengths (B,)``, exactly like :class:`CTCModel` (CMVN included).
Feature extraction and decoding stay in Python; only the network runs in onnxruntime.

Packed sequences export: the TorchScript-based exporter (``dynamo=False``) turns
``pack_padded_sequence`` + LSTM into ONNX ``LSTM`` nodes fed with ``sequence_lens``, so in a
padded batch every utterance's backward direction still starts at its own last frame and the
batch gives each utterance what it gets alone (tested against PyTorch, batch of unequal lengths).
The example input used for tracing has a length that is not a multiple of ``subsample`` so that
the frame-stacking pad is recorded as a computed (possibly zero) pad, not skipped.

LSTM output projections (``ModelConfig.proj_size > 0``) have no ONNX operator (the projected state
feeds the recurrence, which ONNX ``LSTM`` cannot express), so such models are refused with a
clear error rather than exported approximately.

The export records the SHA-256 of ``model.safetensors`` in the ONNX metadata, so a runner can
tell that training has since replaced the weights next to it (:func:`onnx_is_current`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from asr.io import atomic_path, file_sha256
from asr.model.ctc_model import CTCModel
from asr.model.layout import ONNX_MODEL, WEIGHTS

__all__ = ["ONNX_MODEL", "WEIGHTS_DIGEST_KEY", "export_onnx", "onnx_is_current", "OnnxCTCModel"]

OPSET = 17
WEIGHTS_DIGEST_KEY = "safetensors_sha256"
INPUTS = ("feats", "lengths")
OUTPUTS = ("log_probs", "out_lengths")


def export_onnx(model: CTCModel, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Write ``model`` (moved to the CPU, eval mode) as ONNX at ``path``, atomically."""
    import onnx  # optional dependency: pip install 'asr[onnx]'

    if model.cfg.proj_size:
        raise ValueError(f"ONNX has no LSTM with output projection: cannot export a model with "
                         f"proj_size={model.cfg.proj_size} (use the PyTorch backend)")
    if model.cfg.streaming:  # its chunk loop would be traced for one length only
        raise ValueError("a streaming (chunk_size > 0) model runs chunk by chunk: it cannot be exported as one "
                         "ONNX graph (use the PyTorch backend)")
    path = Path(path)
    model = model.to("cpu").eval()
    frames = 10 * model.cfg.subsample + 1  # not a multiple of subsample: see the module docstring
    feats, lengths = torch.randn(1, frames, model.cfg.input_dim), torch.tensor([frames])
    with atomic_path(path) as tmp:
        with warnings.catch_warnings():
            # The exporter warns about the deprecated TorchScript path, PackPadded shape inference and
            # traced shape arithmetic; the numerical test in tests/model/test_onnx.py is what counts.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model, (feats, lengths), str(tmp), dynamo=False, opset_version=OPSET,
                input_names=list(INPUTS), output_names=list(OUTPUTS),
                dynamic_axes={"feats": {0: "batch", 1: "frames"}, "lengths": {0: "batch"},
                              "log_probs": {0: "batch", 1: "steps"}, "out_lengths": {0: "batch"}})
        proto = onnx.load(str(tmp))
        for k, v in (metadata or {}).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = k, str(v)
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
    return path


def onnx_is_current(model_dir: str | os.PathLike, weights: str = WEIGHTS) -> bool:
    """True if ``model_dir/model.onnx`` was exported from the ``weights`` file now there (or there is none)."""
    d = Path(model_dir)
    if not (d / weights).is_file():
        return True
    import onnx

    props = {p.key: p.value for p in onnx.load(str(d / ONNX_MODEL), load_external_data=False).metadata_props}
    return props.get(WEIGHTS_DIGEST_KEY) == file_sha256(d / weights)


class OnnxCTCModel:
    """``OnnxCTCModel(path)(feats (B, T, F), lengths (B,)) -> (log_probs (B, T', V), out_lengths (B,))`` on the CPU."""

    def __init__(self, path: str | os.PathLike, num_threads: int = 0):
        import onnxruntime as ort  # optional dependency: pip install 'asr[onnx]'

        opts = ort.SessionOptions()
        # Same thread count as PyTorch unless told otherwise, so the two backends compare fairly.
        opts.intra_op_num_threads = num_threads or torch.get_num_threads()
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_probs, out_lengths = self.session.run(
            list(OUTPUTS), {"feats": feats.detach().cpu().float().numpy(),
                            "lengths": lengths.detach().cpu().long().numpy()})
        return torch.from_numpy(log_probs), torch.from_numpy(np.asarray(out_lengths, dtype=np.int64))
