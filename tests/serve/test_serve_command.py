"""``asr serve`` as a user runs it: the parser without heavy imports, a clear error without a model, and a
real process that serves, requires its API key (from $ASR_API_KEY) and stops cleanly on Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from asr.cli import main as asr_main

requests = pytest.importorskip("requests")
STARTUP_S = 120  # torch import and model load on a busy machine


def test_parser_needs_neither_torch_nor_the_server_stack():
    code = ("import sys; from asr.cli import build_parser; a = build_parser().parse_args(['serve']); "
            "print(sorted(m for m in ('torch', 'starlette', 'uvicorn') if m in sys.modules), a.host, a.port)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "[] 127.0.0.1 8000\n"


def test_without_a_model_the_error_says_what_to_do(monkeypatch, caplog):
    import asr.model.bundled

    monkeypatch.setattr(asr.model.bundled, "has_bundled_model", lambda: False)
    with caplog.at_level(logging.ERROR):
        assert asr_main(["serve"]) == 1
    assert "-m/--model" in caplog.text


def test_the_command_serves_until_interrupted(overfit_run, clips, tmp_path):
    path, text = next(iter(clips.values()))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ASR_API_KEY": "k3y"}
    proc = subprocess.Popen([sys.executable, "-m", "asr.cli", "serve", "-m", str(overfit_run["model_dir"]),
                             "--port", str(port), "--workers", "1", "--tmp-dir", str(tmp_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate(timeout=10)[0][-3000:]
            try:
                requests.get(f"{url}/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        files = {"file": (path.name, path.read_bytes())}
        post = f"{url}/v1/audio/transcriptions"
        assert requests.post(post, files=files, timeout=60).status_code == 401
        r = requests.post(post, files=files, data={"response_format": "text"},
                          headers={"Authorization": "Bearer k3y"}, timeout=60)
        assert (r.status_code, r.text) == (200, text + "\n")
    finally:
        proc.send_signal(signal.SIGINT)
        log = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, log[-3000:]
    assert "Application shutdown complete" in log
    assert not list(tmp_path.iterdir())
