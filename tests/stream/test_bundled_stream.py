"""The streaming model shipped in the package: `asr transcribe --stream FILE` works with no model given."""

import json

import pytest

from asr.cli import main as asr_main
from asr.evaluate.scoring import score
from asr.model.bundled import BUNDLED_STREAM_DIR, has_bundled_stream_model
from asr.stream.recognizer import StreamingRecognizer


def test_the_streaming_bundle_is_in_the_package():
    assert has_bundled_stream_model()
    config = json.loads((BUNDLED_STREAM_DIR / "config.json").read_text())["model"]
    assert config["chunk_size"] > 0 and not config["utterance_cmn"]
    assert (BUNDLED_STREAM_DIR / "README.md").is_file() and (BUNDLED_STREAM_DIR / "lm.bin.gz").is_file()


@pytest.mark.parametrize("decoder", ["greedy", None])
def test_it_streams_a_spoken_sentence(spoken_fox, tmp_path, monkeypatch, decoder):
    from asr.data.audio import read_audio

    monkeypatch.setenv("ASR_CACHE_DIR", str(tmp_path / "cache"))
    rec = StreamingRecognizer(decoder=decoder)
    assert (decoder == "greedy") == (rec.decoder_name == "greedy")
    wave, _ = read_audio(spoken_fox[0])
    events = list(rec.stream(wave[i:i + 1600] for i in range(0, len(wave), 1600)))
    text = " ".join(e.text for e in events if e.kind == "final")
    assert text and score({"u": spoken_fox[1]}, {"u": text}).cer.error_rate < 0.35, text
    assert any(e.kind == "partial" for e in events)


def test_transcribe_stream_without_a_model(spoken_fox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASR_CACHE_DIR", str(tmp_path / "cache"))
    assert asr_main(["transcribe", "--stream", "--greedy", "--jsonl", str(spoken_fox[0])]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1]["type"] == "final" and events[-1]["text"]
