import numpy as np
import pytest
import soundfile as sf

from asr.data.audio import AudioError, load_audio


def test_stereo_44k_flac_becomes_16k_mono(tmp_path):
    t = np.arange(44100) / 44100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    sf.write(tmp_path / "a.flac", np.stack([tone, tone], axis=1), 44100)
    wave = load_audio(tmp_path / "a.flac")
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(len(wave) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(wave))
    assert abs(np.argmax(spectrum) * 16000 / len(wave) - 440) < 2


@pytest.mark.parametrize("case", ["missing", "directory", "not_audio", "empty"])
def test_bad_audio_names_the_file(tmp_path, case):
    path = tmp_path / f"{case}.wav"
    if case == "directory":
        path.mkdir()
    elif case == "not_audio":
        path.write_text("hello, I am text")
    elif case == "empty":
        sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=str(path)):
        load_audio(path)
