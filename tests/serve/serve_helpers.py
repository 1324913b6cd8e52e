"""Helpers of the server tests: a real server with small limits."""

from __future__ import annotations

from pathlib import Path

MAX_UPLOAD_MB = 2.0  # small limits, so that the tests reach them with small files
MAX_AUDIO_S = 30.0


def start_server(recognizer, tmp_dir: Path, api_key: str | None = None, streaming=None, **limits):
    """A started BackgroundServer (stop it) whose uploads go to ``tmp_dir``; ``streaming``: its live-stream model."""
    from asr.serve.app import create_app
    from asr.serve.config import ServeConfig
    from asr.serve.engine import Engine
    from asr.serve.server import BackgroundServer

    cfg = ServeConfig(**{"max_upload_mb": MAX_UPLOAD_MB, "max_audio_s": MAX_AUDIO_S, "tmp_dir": str(tmp_dir),
                         **limits})
    return BackgroundServer(create_app(Engine(recognizer, cfg), "tiny", api_key=api_key, streaming=streaming)).start()
