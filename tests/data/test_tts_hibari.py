"""hibari: one neural voice (pip extra) made into many speakers by source-filter voice conversion."""

import numpy as np
import pytest

from asr.data import synth
from asr.data.synth import SynthConfig
from asr.data.tts import OUTPUT_SAMPLE_RATE, TTSError, engine_class
from asr.data.tts.hibari import (
    BASE_VOICE,
    HIGH_F0_SCALE,
    HIGH_FORMANT_WARP,
    LOW_F0_SCALE,
    LOW_FORMANT_WARP,
    N_DERIVED_VOICES,
    voice_names,
    voice_shape,
    warp_frequency,
)
from asr.data.voices import SplitVoices

SENTENCE = "the quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def hibari():
    cls = engine_class("hibari")
    if not cls.available():
        pytest.skip("hibari-tts not installed (pip install 'asr[hibari]')")
    return cls()


def median_f0(wav: np.ndarray, sr: int = OUTPUT_SAMPLE_RATE) -> float:
    """Median over the loudest 40% of 40 ms frames of the autocorrelation's best lag (60-400 Hz)."""
    n = int(0.04 * sr)
    frames = np.lib.stride_tricks.sliding_window_view(wav, n)[:: n // 2]
    energy = np.sum(frames**2, axis=1)
    lo, hi = sr // 400, sr // 60
    f0 = []
    for x in frames[energy > np.percentile(energy, 60)]:
        x = x - x.mean()
        ac = np.correlate(x, x, "full")[n - 1:]
        ac /= ac[0] + 1e-9
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5:  # voiced
            f0.append(sr / lag)
    return float(np.median(f0))


def test_voices_are_fixed_draws_in_two_ranges():
    names = voice_names()
    assert names[0] == BASE_VOICE and len(names) == N_DERIVED_VOICES + 1 == len(set(names))
    assert voice_shape(BASE_VOICE).formant_warp == 1.0 and voice_shape(BASE_VOICE).f0_scale == 1.0
    for k, name in enumerate(names[1:]):
        shape = voice_shape(name)
        warp, f0 = (LOW_FORMANT_WARP, LOW_F0_SCALE) if k % 2 == 0 else (HIGH_FORMANT_WARP, HIGH_F0_SCALE)
        assert warp[0] <= shape.formant_warp <= warp[1] and f0[0] <= shape.f0_scale <= f0[1], name
    assert len({voice_shape(n) for n in names}) == len(names)  # no two speakers alike
    for bad in ("heart-200", "heart-x", "emma", "heart-"):
        with pytest.raises(ValueError, match=bad):
            voice_shape(bad)


def test_warp_frequency_moves_a_peak():
    x = np.zeros((601, 3), np.float32)
    x[200] = 1.0
    assert int(np.argmax(warp_frequency(x, 0.8)[:, 0])) == 160
    assert int(np.argmax(warp_frequency(x, 1.1)[:, 0])) == 220
    assert warp_frequency(x, 1.0) is x


def test_speaks_reproducibly_and_voices_differ(hibari):
    a, sr = hibari.synthesize(SENTENCE, BASE_VOICE, seed=3)
    b, _ = hibari.synthesize(SENTENCE, BASE_VOICE, seed=3)
    assert sr == OUTPUT_SAMPLE_RATE and a.dtype == np.float32 and a.ndim == 1 and np.abs(a).max() <= 1.0
    assert np.array_equal(a, b) and np.sqrt(np.mean(a**2)) > 0.01
    assert 1.5 < len(a) / sr < 5.0
    fast, _ = hibari.synthesize(SENTENCE, BASE_VOICE, speed=1.4, seed=3)
    assert len(fast) < 0.85 * len(a)
    low = next(n for k, n in enumerate(voice_names()[1:]) if k % 2 == 0)
    lowered, _ = hibari.synthesize(SENTENCE, low, seed=3)
    ratio = median_f0(lowered) / median_f0(a)
    expected = voice_shape(low).f0_scale
    assert 0.85 * expected < ratio < 1.25 * expected and ratio < 0.8, (ratio, expected)


def test_bad_input_raises_tts_error_naming_it(hibari):
    with pytest.raises(TTSError, match="'emma'"):
        hibari.synthesize(SENTENCE, "emma")
    with pytest.raises(TTSError, match="empty text"):
        hibari.synthesize("  ", BASE_VOICE)
    with pytest.raises(TypeError, match="pitch"):
        hibari.synthesize(SENTENCE, BASE_VOICE, pitch=2)


def test_planned_jobs_and_duration_estimate(tmp_path):
    cfg = SynthConfig(seed=5, hibari_speed=(0.9, 1.1))
    voices = SplitVoices({"espeak": ["default"], "hibari": voice_names()}, {"espeak": 0.5, "hibari": 0.5})
    jobs = [synth.plan_job(cfg, "train", i, ["one two three four"], ["en-us"], voices, tmp_path) for i in range(200)]
    ours = [j for j in jobs if j.engine == "hibari"]
    assert len(ours) > 50 and len({j.voice for j in ours}) > 40
    for job in ours:
        assert job.spk == f"hibari_{job.voice}" and set(job.params) == {"speed", "seed"}
        assert 0.9 <= job.params["speed"] <= 1.1
    slow = min(ours, key=lambda j: voice_shape(j.voice).rate * j.params["speed"])
    fast = max(ours, key=lambda j: voice_shape(j.voice).rate * j.params["speed"])
    assert synth.estimate_duration(slow) > synth.estimate_duration(fast) > 0.5


def test_corpus_with_heart_alone_or_its_converted_speakers(hibari, tmp_path):
    from asr.data.datadir import read_datadir
    from asr.data.synth import build_synth_corpus
    from asr.data.voices import DEFAULT_INVENTORY, load_inventory

    inventory = tmp_path / "voices.yaml"  # hibari for most utterances, so a tiny corpus has several
    inventory.write_text(DEFAULT_INVENTORY.read_text(encoding="utf-8").replace(
        "hibari:\n  weight: 0.25", "hibari:\n  weight: 20"), encoding="utf-8")
    assert load_inventory(inventory)["hibari"].weight == 20
    speakers = {}
    for n in (0, 200):
        out = tmp_path / f"corpus{n}"
        cfg = SynthConfig(out_dir=str(out), train_hours=0.01, dev_utts=2, test_utts=2, seed=7, nj=1,
                          engines=["espeak", "hibari"], voices=str(inventory), hibari_voices=n)
        card = build_synth_corpus(cfg, progress=False)
        assert card["failures"] == [] and len(card["voices"]["train"]["hibari"]) == n + 1
        speakers[n] = {s for s in read_datadir(out / "train").utt2spk.values() if s.startswith("hibari_")}
    assert speakers[0] == {"hibari_heart"}
    assert len(speakers[200]) > 3
    with pytest.raises(ValueError, match="hibari-voices"):
        SynthConfig(hibari_voices=201)
