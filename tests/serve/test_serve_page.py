"""The page at ``/`` in headless Chromium (Debian's chromium + chromium-driver through Selenium; nothing downloaded):
upload a wav, read the transcript, see the spoken word lit, record from a (fake) microphone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from asr.transcribe.formats import render

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from serve_helpers import headless_chromium  # noqa: E402

SCREENSHOT_ENV = "ASR_SERVE_SCREENSHOT"  # also save the screenshot there (docs/serve_page.png for the README)
WAIT_S = 120


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    driver = headless_chromium("--window-size=1100,900", prefs={"download.default_directory": str(downloads),
                                                               "download.prompt_for_download": False})
    yield driver
    driver.quit()


def _state(driver, *states: str) -> str:
    WebDriverWait(driver, WAIT_S).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
                                        in states)
    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-state")


def test_upload_a_wav_and_follow_the_words(browser, server, clips, recognizer, downloads, tmp_path):
    path, text = next(iter(clips.values()))
    browser.get(server["url"] + "/")
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "model").text == "tiny")
    browser.find_element(By.ID, "file").send_keys(str(path))
    assert _state(browser, "done", "error") == "done", browser.find_element(By.ID, "status").text
    assert browser.find_element(By.ID, "transcript").text == text
    words = browser.find_elements(By.CSS_SELECTOR, "#transcript .w")
    assert [w.text for w in words] == text.split()
    # Seek into the second word: it is lit, and only it.
    start = float(words[1].get_attribute("title").split("\u2013")[0])
    browser.execute_script("document.getElementById('audio').currentTime = arguments[0];", start + 0.01)
    WebDriverWait(browser, 10).until(lambda d: [w.text for w in d.find_elements(By.CSS_SELECTOR, "#transcript .w.on")]
                                     == [words[1].text])
    # The download buttons fetch the same transcript as subtitles: the file the browser saves is the API's.
    browser.find_element(By.CSS_SELECTOR, "button[data-format=srt]").click()
    srt = downloads / f"{path.stem}.srt"
    WebDriverWait(browser, WAIT_S).until(lambda d: srt.is_file() and srt.stat().st_size > 0)
    assert srt.read_text() == render(recognizer.recognize(path), "srt")
    shot = tmp_path / "serve_page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copyfile(shot, Path(os.environ[SCREENSHOT_ENV]))


def test_record_from_the_microphone(browser, server):
    """Chromium's fake microphone (a beep): recorded, converted to a 16 kHz WAV in the page, transcribed."""
    browser.get(server["url"] + "/")
    browser.find_element(By.ID, "record").click()
    WebDriverWait(browser, 10).until(lambda d: "on" in d.find_element(By.ID, "record").get_attribute("class"))
    browser.execute_script("return new Promise(r => setTimeout(r, 1500));")
    browser.find_element(By.ID, "record").click()
    assert _state(browser, "done", "error") == "done", browser.find_element(By.ID, "status").text
    assert "recording.wav" in browser.find_element(By.ID, "status").text
    assert not list(server["tmp_dir"].iterdir())
