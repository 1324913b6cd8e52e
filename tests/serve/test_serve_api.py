"""The OpenAI-compatible endpoints through the official ``openai`` client, against a real uvicorn server."""

from __future__ import annotations

import json
import socket
import time

import numpy as np
import pytest
import soundfile as sf
from serve_helpers import MAX_AUDIO_S, MAX_UPLOAD_MB, start_server

from asr.transcribe.formats import render

openai = pytest.importorskip("openai")
requests = pytest.importorskip("requests")



def client(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)


def test_every_response_format_through_the_openai_client(server, clips, recognizer):
    c = client(server["url"])
    path, text = next(iter(clips.values()))
    expected = recognizer.recognize(path)
    with open(path, "rb") as f:
        assert c.audio.transcriptions.create(model="tiny", file=f).text == text
    with open(path, "rb") as f:
        assert c.audio.transcriptions.create(model="whisper-1", file=f, response_format="text").strip() == text
    for fmt in ("srt", "vtt"):
        with open(path, "rb") as f:
            assert c.audio.transcriptions.create(model="tiny", file=f, response_format=fmt) == render(expected, fmt)
    with open(path, "rb") as f:
        v = c.audio.transcriptions.create(model="tiny", file=f, response_format="verbose_json", language="en",
                                          temperature=0.0, prompt="ignored",
                                          timestamp_granularities=["word", "segment"])
    assert v.text == text and v.language == "english" and v.duration == pytest.approx(sf.info(path).duration, abs=0.01)
    assert " ".join(w.word for w in v.words) == text
    assert [(w.start, w.end) for w in v.words] == [(round(w.start, 3), round(w.end, 3)) for w in expected.words]
    assert all(a.start < a.end <= b.start for a, b in zip(v.words, v.words[1:], strict=False))
    assert [s.text for s in v.segments] == [s.text for s in expected.segments]
    assert [s.id for s in v.segments] == list(range(len(v.segments)))
    with open(path, "rb") as f:  # OpenAI's default granularity: segments, no words
        v = c.audio.transcriptions.create(model="tiny", file=f, response_format="verbose_json")
    assert v.segments and v.words is None


def test_models_health_and_page(server):
    c = client(server["url"])
    assert [m.id for m in c.models.list()] == ["tiny"]
    assert c.models.retrieve("tiny").id == "tiny"
    with pytest.raises(openai.NotFoundError):
        c.models.retrieve("whisper-1")
    assert requests.get(f"{server['url']}/health").json()["status"] == "ok"
    page = requests.get(server["url"] + "/")
    assert page.status_code == 200 and "v1/audio/transcriptions" in page.text and "https://" not in page.text


def _error(e: openai.APIStatusError) -> dict:
    body = e.response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert "\n" not in body["error"]["message"]
    return body["error"]


def test_bad_requests_get_openai_errors(server, clips):
    c = client(server["url"])
    path, _ = next(iter(clips.values()))
    wav = path.read_bytes()
    cases = [({"language": "fr"}, "language"), ({"response_format": "xml"}, "response_format"),
             ({"temperature": 3.0}, "temperature")]
    for kwargs, param in cases:
        with pytest.raises(openai.BadRequestError) as e:
            c.audio.transcriptions.create(model="tiny", file=("a.wav", wav), **kwargs)
        assert _error(e.value)["param"] == param
    with pytest.raises(openai.BadRequestError) as e:
        c.audio.transcriptions.create(model="tiny", file=("notes.txt", b"not audio at all\n" * 10))
    err = _error(e.value)
    assert err["code"] == "invalid_audio" and "notes.txt" in err["message"]
    assert str(server["tmp_dir"]) not in err["message"]  # the upload's name, not the temporary file's
    r = requests.post(f"{server['url']}/v1/audio/transcriptions", data={"model": "tiny"}, timeout=60)
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"
    r = requests.post(f"{server['url']}/v1/audio/transcriptions", files={"file": ("a.wav", b"")}, timeout=60)
    assert r.status_code == 400 and "empty" in r.json()["error"]["message"]
    assert requests.get(f"{server['url']}/v1/nothing").json()["error"]["type"] == "invalid_request_error"
    assert not list(server["tmp_dir"].iterdir())


def test_size_and_duration_limits(server, tmp_path):
    c = client(server["url"])
    with pytest.raises(openai.APIStatusError) as e:
        c.audio.transcriptions.create(model="tiny", file=("big.wav", bytes(int(MAX_UPLOAD_MB * 1e6) + 1000)))
    assert e.value.status_code == 413 and _error(e.value)["code"] == "file_too_large"
    long = tmp_path / "long.flac"  # small as FLAC, but too long
    sf.write(long, np.zeros(int((MAX_AUDIO_S + 5) * 8000), dtype=np.float32), 8000)
    with pytest.raises(openai.APIStatusError) as e:
        c.audio.transcriptions.create(model="tiny", file=long.open("rb"))
    assert e.value.status_code == 413 and _error(e.value)["code"] == "audio_too_long"
    assert not list(server["tmp_dir"].iterdir())


def test_api_key_and_a_full_queue(recognizer, clips, tmp_path):
    path, text = next(iter(clips.values()))
    srv = start_server(recognizer, tmp_path, api_key="s3cret", max_queue=1)
    try:
        with pytest.raises(openai.AuthenticationError) as e:
            client(srv.url, "wrong").audio.transcriptions.create(model="tiny", file=path.open("rb"))
        assert _error(e.value)["code"] == "invalid_api_key"
        r = requests.get(f"{srv.url}/v1/models")  # no Authorization header
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        assert [m.id for m in client(srv.url, "s3cret").models.list()] == ["tiny"]
        assert requests.get(f"{srv.url}/health").status_code == 200  # open: for load balancers
        # One request stalls mid-upload and holds the only place: the next one is refused with 503 + Retry-After.
        stalled = socket.create_connection((srv.host, srv.port))
        stalled.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n"
                        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000\r\n\r\n--b\r\n")
        time.sleep(0.5)
        with pytest.raises(openai.APIStatusError) as e:
            client(srv.url, "s3cret").audio.transcriptions.create(model="tiny", file=path.open("rb"))
        assert e.value.status_code == 503 and e.value.response.headers["Retry-After"] == "1"
        stalled.close()  # the server notices, frees the place and goes on
        deadline = time.time() + 10
        while requests.get(f"{srv.url}/health").json()["active_requests"] and time.time() < deadline:
            time.sleep(0.1)
        assert client(srv.url, "s3cret").audio.transcriptions.create(model="tiny", file=path.open("rb")).text == text
    finally:
        srv.stop()
    assert not list(tmp_path.iterdir())


def test_errors_in_a_batch_reach_its_requests_only(server, clips, recognizer, monkeypatch):
    """A failing forward pass answers its requests with 500 JSON; the server goes on."""
    path, text = next(iter(clips.values()))

    def boom(batch):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(recognizer, "decode_segments", boom)
    r = requests.post(f"{server['url']}/v1/audio/transcriptions", files={"file": ("a.wav", path.read_bytes())},
                   timeout=60)
    assert r.status_code == 500 and "simulated failure" in json.dumps(r.json())
    monkeypatch.undo()
    assert client(server["url"]).audio.transcriptions.create(model="tiny", file=path.open("rb")).text == text
