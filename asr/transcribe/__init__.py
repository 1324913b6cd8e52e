"""Transcription of audio files of any length: ``load_model(dir).transcribe("a.flac")``.

Modules: audio_stream (blocks at the model rate), segmenter (cuts at pauses), timestamps (word
times by forced alignment), recognizer (ties them together with a model runtime, asr.model.runtime,
and a decoder, asr.decode.decoder), result (Transcript/Segment/Word), formats (txt/json/srt/vtt/tsv),
commands (``asr transcribe``).

The names below are imported on first use, so that ``asr.transcribe.commands`` (the CLI's option
definitions) can be imported without loading torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"Recognizer": "recognizer", "load_model": "recognizer", "Segment": "result", "Transcript": "result",
            "Word": "result"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"asr.transcribe.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'asr.transcribe' has no attribute {name!r}")
