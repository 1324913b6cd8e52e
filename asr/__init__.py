"""asr: a readable BiLSTM-CTC speech recognizer. ``asr.load_model("exp/.../model").transcribe("a.flac")``.

``load_model`` is imported on first use, so ``import asr`` stays cheap (no torch).
"""

from __future__ import annotations

__all__ = ["load_model"]


def __getattr__(name: str):
    if name == "load_model":
        from asr.transcribe.recognizer import load_model

        return load_model
    raise AttributeError(f"module 'asr' has no attribute {name!r}")
