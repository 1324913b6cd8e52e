"""Output formats of a transcript: exact text of txt/srt/vtt/tsv, JSON round trip, subtitle cue splitting."""

import json

from asr.transcribe.formats import cues, render, write_outputs
from asr.transcribe.result import Segment, Transcript, Word


def _transcript() -> Transcript:
    w = [Word("hello", 0.5, 0.9, 0.9), Word("world", 1.0, 1.52, 0.8), Word("again", 3661.0, 3661.25, 0.7)]
    return Transcript([Segment(0.3, 1.7, "hello world", w[:2]), Segment(3660.8, 3661.5, "again", w[2:])], 3662.0,
                      source="x.wav")


def test_each_format(tmp_path):
    t = _transcript()
    assert render(t, "txt") == "hello world\nagain\n"
    assert render(t, "srt") == ("1\n00:00:00,500 --> 00:00:01,520\nhello world\n\n"
                                "2\n01:01:01,000 --> 01:01:01,250\nagain\n\n")
    assert render(t, "vtt") == ("WEBVTT\n\n00:00:00.500 --> 00:00:01.520\nhello world\n\n"
                                "01:01:01.000 --> 01:01:01.250\nagain\n\n")
    assert render(t, "tsv") == "start\tend\tword\n0.500\t0.900\thello\n1.000\t1.520\tworld\n3661.000\t3661.250\tagain\n"
    d = json.loads(render(t, "json"))
    assert d["text"] == "hello world again" and d["segments"][0]["words"][1] == {
        "word": "world", "start": 1.0, "end": 1.52, "confidence": 0.8}
    paths = write_outputs(t, tmp_path / "out", "x", ["txt", "json"])
    assert [p.name for p in paths] == ["x.txt", "x.json"] and not list((tmp_path / "out").glob("*.tmp"))


def test_long_segments_become_several_cues():
    words = [Word(f"w{i}", i * 0.5, i * 0.5 + 0.4, 1.0) for i in range(40)]
    t = Transcript([Segment(0.0, 20.0, " ".join(w.word for w in words), words)], 20.0)
    c = cues(t, max_chars=30, max_seconds=4.0)
    assert " ".join(text for _, _, text in c) == t.text
    assert all(len(text) <= 30 and b - a <= 4.0 for a, b, text in c)


def test_import_asr_does_not_load_torch():
    import subprocess
    import sys

    # The CLI imports the commands module to build its parser; `import asr` is what users pay for.
    code = "import sys, asr, asr.transcribe.commands; print('torch' in sys.modules, 'load_model' in asr.__all__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "False True\n"
