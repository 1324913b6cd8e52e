"""Streaming recognition: partial results while the audio arrives.

Modules: recognizer (``StreamingRecognizer(dir).open()`` -> a :class:`Stream` fed pieces of audio,
giving partial and final events; features by asr.features.streaming, the network by
asr.model.streaming, search greedy or asr.decode.beam's ``BeamStream``), sources (file, stdin,
microphone), commands (``asr transcribe --stream``).

The names below are imported on first use, so that ``asr.stream.commands`` (the CLI's option
definitions) can be imported without loading torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"StreamingRecognizer": "recognizer", "Stream": "recognizer", "StreamEvent": "recognizer"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"asr.stream.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'asr.stream' has no attribute {name!r}")
