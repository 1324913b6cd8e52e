"""The files of a model directory, by name (no torch: the CLI and decode.json handling need them too).

    config.json        model and feature configuration
    model.safetensors  weights (CMVN included as buffers)
    tokens.txt         output units, line number = id, id 0 = blank
    bpe.model          the sentencepiece model, for BPE units only (asr.text.bpe.BPE_MODEL)
    model.onnx         optional: the same network as ONNX (``asr export --onnx``, asr.model.onnx_model)
    decode.json        optional: the tuned beam search (``asr tune-lm``, asr.decode.config)
"""

from __future__ import annotations

from asr.text.tokenizer import TOKENS  # a model directory holds its units as `asr tokenizer` writes them

__all__ = ["CONFIG_JSON", "WEIGHTS", "TOKENS", "ONNX_MODEL", "BACKENDS"]

CONFIG_JSON = "config.json"
WEIGHTS = "model.safetensors"
ONNX_MODEL = "model.onnx"
# How the network can run (asr.model.runtime.choose_backend): torch (WEIGHTS), onnx (ONNX_MODEL), or auto.
BACKENDS = ("auto", "torch", "onnx")
