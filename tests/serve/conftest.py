"""A real server (uvicorn on a free loopback port) of the model that memorized 4 utterances, and its audio."""

from __future__ import annotations

from pathlib import Path

import pytest
from serve_helpers import start_server

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")


@pytest.fixture(scope="session")
def recognizer(overfit_run):
    from asr.transcribe import load_model

    return load_model(overfit_run["model_dir"], device="cpu", decoder="greedy")


@pytest.fixture(scope="session")
def clips(overfit_run) -> dict[str, tuple[Path, str]]:
    """utt -> (wav path, its text)."""
    from asr.data.datadir import read_datadir

    dd = read_datadir(overfit_run["data"])
    return {u: (dd.audio_path(u), overfit_run["texts"][u]) for u in dd.utt_ids}


@pytest.fixture(scope="module")
def server(recognizer, tmp_path_factory):
    """``{"url", "tmp_dir"}`` of a server without an API key; ``tmp_dir`` holds its uploads while they are decoded."""
    tmp_dir = tmp_path_factory.mktemp("serve-uploads")
    srv = start_server(recognizer, tmp_dir)
    yield {"url": srv.url, "tmp_dir": tmp_dir}
    srv.stop()
