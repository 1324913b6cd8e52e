"""Live transcription over the WebSocket /v1/audio/stream of a real server."""

from __future__ import annotations

import json

import numpy as np
import pytest
from serve_helpers import start_server

websocket = pytest.importorskip("websocket")  # websocket-client


@pytest.fixture(scope="module")
def stream_server(recognizer, stream_run, tmp_path_factory):
    from asr.stream.recognizer import StreamingRecognizer

    streaming = StreamingRecognizer(stream_run["model_dir"], decoder="greedy")
    srv = start_server(recognizer, tmp_path_factory.mktemp("ws"), streaming=streaming, max_streams=2)
    yield srv.url.replace("http://", "ws://") + "/v1/audio/stream"
    srv.stop()


def _clip(stream_run):
    from asr.data.audio import read_audio
    from asr.data.datadir import read_datadir
    from asr.decode.greedy import greedy_decode
    from asr.model.runtime import ModelRuntime

    dd = read_datadir(stream_run["data"])
    wave, _ = read_audio(dd.audio_path(dd.utt_ids[0]))
    rt = ModelRuntime(stream_run["model_dir"], "cpu")
    lp, lens = rt.log_probs([wave])
    return wave, rt.tokenizer.decode(greedy_decode(lp, lens)[0]).strip()


def _events(ws) -> list[dict]:
    out = []
    while True:
        e = json.loads(ws.recv())
        out.append(e)
        if e["type"] in ("done", "error"):
            return out


@pytest.mark.parametrize("rate", [16000, 48000])
def test_pcm_pieces_give_partials_and_the_final_text(stream_server, stream_run, rate):
    import soxr

    wave, expected = _clip(stream_run)
    audio = soxr.resample(wave, 16000, rate) if rate != 16000 else wave
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    ws = websocket.create_connection(f"{stream_server}?sample_rate={rate}", timeout=60)
    piece = int(rate * 0.1) * 2
    for i in range(0, len(pcm), piece):
        ws.send_binary(pcm[i:i + piece])
    ws.send(json.dumps({"type": "end"}))
    events = _events(ws)
    ws.close()
    assert events[-1]["type"] == "done"
    finals = [e for e in events if e["type"] == "final"]
    assert [e for e in events if e["type"] == "partial"]
    text = " ".join(e["text"] for e in finals)
    if rate == 16000:
        assert text == expected
    else:  # resampled twice: the same words, give or take a letter
        assert text.split()[0] == expected.split()[0]


def test_bad_messages_and_too_many_streams_are_refused(stream_server):
    ws = websocket.create_connection(stream_server, timeout=30)
    ws.send_binary(b"\x00\x01\x02")  # odd byte count: not 16-bit PCM
    e = json.loads(ws.recv())
    assert e["type"] == "error" and "even number of bytes" in e["message"]
    ws.close()
    ws = websocket.create_connection(f"{stream_server}?sample_rate=abc", timeout=30)
    assert "sample_rate" in json.loads(ws.recv())["message"]
    ws.close()
    held = [websocket.create_connection(stream_server, timeout=30) for _ in range(2)]
    ws = websocket.create_connection(stream_server, timeout=30)
    e = json.loads(ws.recv())
    assert e["type"] == "error" and "streams are open" in e["message"]
    for h in held + [ws]:
        h.close()


def test_a_server_without_a_streaming_model_says_so(server):
    ws = websocket.create_connection(server["url"].replace("http://", "ws://") + "/v1/audio/stream", timeout=30)
    e = json.loads(ws.recv())
    assert e["type"] == "error" and "--stream-model" in e["message"]
    ws.close()
