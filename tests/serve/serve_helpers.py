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


def headless_chromium(*extra_args: str, prefs: dict | None = None):
    """A Selenium driver of Debian's chromium with a fake microphone (quit it); pytest skips without one."""
    import shutil

    import pytest
    from selenium import webdriver

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
                *extra_args):
        opts.add_argument(arg)
    if prefs:
        opts.add_experimental_option("prefs", prefs)
    return webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=chromedriver))
