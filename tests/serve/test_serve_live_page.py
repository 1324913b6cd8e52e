"""Live captions on the page: Chromium's fake microphone plays a wav, the page streams it over the WebSocket."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

webdriver = pytest.importorskip("selenium.webdriver")
pytest.importorskip("websocket")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from serve_helpers import headless_chromium, start_server  # noqa: E402

WAIT_S = 120


@pytest.fixture(scope="module")
def spoken(stream_run, tmp_path_factory):
    """The first memorized utterance with a second of silence after it (the fake microphone loops it)."""
    from asr.data.audio import read_audio
    from asr.data.datadir import read_datadir

    dd = read_datadir(stream_run["data"])
    utt = dd.utt_ids[0]
    wave, rate = read_audio(dd.audio_path(utt))
    path = tmp_path_factory.mktemp("mic") / "mic.wav"
    sf.write(path, np.concatenate([wave, np.zeros(rate, np.float32)]), rate, subtype="PCM_16")
    return path, stream_run["texts"][utt]


@pytest.fixture(scope="module")
def live_browser(spoken):
    driver = headless_chromium(f"--use-file-for-fake-audio-capture={spoken[0]}")
    yield driver
    driver.quit()


def test_live_captions_show_what_the_microphone_says(live_browser, recognizer, stream_run, spoken, tmp_path):
    from asr.stream.recognizer import StreamingRecognizer

    srv = start_server(recognizer, tmp_path, streaming=StreamingRecognizer(stream_run["model_dir"], decoder="greedy"))
    try:
        live_browser.get(srv.url + "/")
        live_browser.find_element(By.ID, "live").click()
        first_word = spoken[1].split()[0]
        WebDriverWait(live_browser, WAIT_S).until(
            lambda d: first_word in d.find_element(By.ID, "captions").text)
        WebDriverWait(live_browser, WAIT_S).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#captions p.final"))
        finals = [p.text for p in live_browser.find_elements(By.CSS_SELECTOR, "#captions p.final")]
        assert any(first_word in f for f in finals), finals
        live_browser.find_element(By.ID, "live").click()  # stop
        assert "Live captions" in live_browser.find_element(By.ID, "live").text
    finally:
        srv.stop()
