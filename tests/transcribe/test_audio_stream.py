"""Reading audio in blocks: streamed resampling equals whole-file resampling; stdin; errors name the file."""

import io
import sys

import numpy as np
import pytest
import soundfile as sf
import soxr

from asr.data.audio import AudioError, load_audio
from asr.transcribe.audio_stream import AudioStream


@pytest.fixture(scope="module")
def speech(tiny_corpus):
    from asr.data.datadir import read_datadir

    dd = read_datadir(tiny_corpus / "test")
    return np.concatenate([load_audio(dd.audio_path(u)) for u in dd.utt_ids[:3]])


def test_blocks_of_a_44k_stereo_file_match_whole_file_resampling(speech, tmp_path):
    y = soxr.resample(speech, 16000, 44100)
    stereo = np.stack([y, 0.5 * y], axis=1)  # mixed down to 0.75 y
    sf.write(tmp_path / "a.flac", stereo, 44100)
    whole = load_audio(tmp_path / "a.flac")
    with AudioStream(tmp_path / "a.flac", 16000, block_seconds=0.5) as s:
        blocks = list(s.blocks())
        assert s.samples == len(whole) and abs(s.duration - len(whole) / 16000) < 1e-3
    assert max(len(b) for b in blocks) <= 1.05 * 0.5 * 16000  # memory: one block at a time
    np.testing.assert_allclose(np.concatenate(blocks), whole, atol=1e-4)


def test_stdin_is_read(speech, tmp_path, monkeypatch):
    buf = io.BytesIO()
    sf.write(buf, speech, 16000, format="FLAC")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(buf.getvalue())))
    with AudioStream("-", 16000) as s:
        got = np.concatenate(list(s.blocks()))
        assert s.name == "<stdin>"
    np.testing.assert_allclose(got, speech, atol=1e-4)  # FLAC is 16-bit


@pytest.mark.parametrize("make,message", [
    (lambda p: p, "is a directory"),
    (lambda p: p / "missing.wav", "no such file"),
    (lambda p: (p / "zero.wav").write_bytes(b"") or p / "zero.wav", r"empty file \(0 bytes\)"),
    (lambda p: (p / "notes.wav").write_text("not audio") and p / "notes.wav", "not a readable audio file"),
    (lambda p: sf.write(p / "none.wav", np.zeros(0), 16000) or p / "none.wav", "contains no audio samples"),
])
def test_unusable_sources_raise_audio_error_naming_them(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(AudioError, match=message) as e:
        AudioStream(path, 16000)
    assert str(path) in str(e.value)
