"""``asr augment``: every effect on real generated speech, determinism, and the command on a data directory."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import welch

from asr.cli import main as asr_main
from asr.config import ConfigError, load_config
from asr.data.audio import load_audio
from asr.data.augment import (
    EFFECTS,
    NOISE_EXPONENTS,
    AugmentConfig,
    AugmentError,
    augment_waveform,
    colored_noise,
    simulate_rir,
    utterance_rng,
)
from asr.data.datadir import read_datadir, validate_datadir, write_datadir

SR = 16000


def only(effect: str, **params) -> AugmentConfig:
    """A config that always applies ``effect`` (with ``params`` set on its section) and nothing else."""
    cfg = AugmentConfig(clean_prob=0.0)
    for name in EFFECTS:
        getattr(cfg, name).prob = 1.0 if name == effect else 0.0
    for key, value in params.items():
        setattr(getattr(cfg, effect), key, value)
    cfg.check()
    return cfg


def snr_db(speech: np.ndarray, out: np.ndarray, record: dict) -> float:
    """SNR of what was added to ``speech``, undoing the final peak normalization if there was one."""
    out = out.astype(np.float64) / 10.0 ** (record.get("peak_norm_db", 0.0) / 20.0)
    added = out - speech
    return 10.0 * np.log10(np.mean(speech.astype(np.float64) ** 2) / np.mean(added**2))


def band_fraction(x: np.ndarray, lo: float, hi: float) -> float:
    f, psd = welch(x.astype(np.float64), fs=SR, nperseg=1024)
    return float(psd[(f >= lo) & (f <= hi)].sum() / psd.sum())


@pytest.fixture(scope="module")
def speakers(tiny_corpus) -> dict[str, np.ndarray]:
    """The first train utterances of the synthetic corpus, peak 0.5 (so unity-gain effects never clip)."""
    dd = read_datadir(tiny_corpus / "train")
    waves = {}
    for utt in dd.utt_ids[:7]:
        w = load_audio(dd.audio_path(utt))
        waves[utt] = (0.5 * w / np.max(np.abs(w))).astype(np.float32)
    return waves


@pytest.fixture(scope="module")
def speech(speakers) -> np.ndarray:
    return next(iter(speakers.values()))


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_changes_length_by_one_over_factor(speech, factor):
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), only("speed", factors=[factor]))
    assert rec == {"speed": factor}
    assert abs(len(out) - len(speech) / factor) <= 2


def test_speed_one_and_clean_prob_leave_the_wave_alone(speech):
    for cfg in (only("speed", factors=[1.0]), dataclasses.replace(AugmentConfig(), clean_prob=1.0)):
        out, rec = augment_waveform(speech, SR, np.random.default_rng(0), cfg)
        assert rec == {"clean": True}
        assert out.dtype == np.float32 and np.array_equal(out, speech)


def test_pitch_shift_keeps_length_and_moves_f0(speakers):
    import librosa

    def f0(x):
        f, voiced, _ = librosa.pyin(x, fmin=60, fmax=500, sr=SR, frame_length=1024, hop_length=256)
        return f, voiced

    # The duration is kept, so frames line up: the per-frame F0 ratio over frames voiced in both is robust to
    # the pitch tracker's octave slips and voicing changes, which move a whole-utterance median by several %.
    for semitones in (2.0, -2.0):
        ratios = []
        for speech in speakers.values():
            out, rec = augment_waveform(speech, SR, np.random.default_rng(0),
                                        only("pitch", semitones=[semitones, semitones]))
            assert rec == {"pitch": {"semitones": semitones}} and len(out) == len(speech)
            (f_in, v_in), (f_out, v_out) = f0(speech), f0(out)
            both = v_in & v_out
            if both.sum() >= 20:  # some eSpeak variants (whisper, croak) have almost no voiced frames
                ratios.append(np.median(f_out[both] / f_in[both]))
        assert len(ratios) >= 3
        assert np.median(ratios) == pytest.approx(2 ** (semitones / 12), rel=0.015)


def test_gain_is_exact(speech):
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), only("gain", db=[-6.0, -6.0]))
    assert rec == {"gain": {"db": -6.0}}
    np.testing.assert_allclose(out, speech * 10 ** (-6 / 20), atol=1e-6)


@pytest.mark.parametrize("color", sorted(NOISE_EXPONENTS))
def test_noise_hits_the_drawn_snr(speech, color):
    for seed in range(3):
        out, rec = augment_waveform(speech, SR, np.random.default_rng(seed), only("noise", types=[color],
                                                                                   snr_db=[0.0, 20.0]))
        assert rec["noise"]["type"] == color and 0.0 <= rec["noise"]["snr_db"] <= 20.0
        assert len(out) == len(speech)
        assert abs(snr_db(speech, out, rec) - rec["noise"]["snr_db"]) < 0.5


@pytest.mark.parametrize("color", sorted(NOISE_EXPONENTS))
def test_noise_color_has_its_spectral_slope(color):
    f, psd = welch(colored_noise(8 * SR, color, np.random.default_rng(0), SR), fs=SR, nperseg=4096)
    band = (f >= 100) & (f <= 6000)
    slope = np.polyfit(np.log10(f[band]), np.log10(psd[band]), 1)[0]
    assert slope == pytest.approx(-NOISE_EXPONENTS[color], abs=0.15)


def test_babble_of_other_utterances_at_the_drawn_snr(speakers):
    (utt, speech), others = next(iter(speakers.items())), dict(list(speakers.items())[1:])
    for seed in range(3):
        out, rec = augment_waveform(speech, SR, np.random.default_rng(seed), only("babble"), others)
        b = rec["babble"]
        assert 3 <= b["speakers"] <= 6 and len(set(b["sources"])) == b["speakers"]  # 6 others in the pool
        assert set(b["sources"]) <= set(others) and utt not in b["sources"]
        assert 13.0 <= b["snr_db"] <= 20.0 and abs(snr_db(speech, out, rec) - b["snr_db"]) < 0.5
    # Too few other utterances: no babble, and the record says why.
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), only("babble"), dict(list(others.items())[:2]))
    assert rec == {"skipped": {"babble": "babble pool has 2 utterance(s), 3 needed"}, "clean": True}
    assert np.array_equal(out, speech)


def test_reverb_adds_a_decaying_tail(speech):
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), only("reverb", rt60=[0.5, 0.5],
                                                                            drr_db=[3.0, 3.0]))
    assert rec["reverb"]["rt60"] == 0.5 and rec["reverb"]["drr_db"] == 3.0
    assert len(out) == len(speech) + int(0.5 * SR) - 1
    # The speech's last 100 ms ring on: the added tail holds energy, falling with time.
    tail = out[len(speech):].astype(np.float64) ** 2
    quarter = len(tail) // 4
    assert tail[:quarter].mean() > 1e-4 * np.mean(speech.astype(np.float64) ** 2)
    assert tail[:quarter].mean() > 30 * tail[-quarter:].mean()

    # The impulse response itself: direct-to-reverberant ratio exact, energy decay matches the RT60
    # (Schroeder backward integration, line fit between -20 and -40 dB, extrapolated to -60 dB).
    for rt60 in (0.3, 0.8):
        h = simulate_rir(SR, np.random.default_rng(1), rt60, drr_db=3.0)
        assert 10 * np.log10(h[0] ** 2 / np.sum(h[1:] ** 2)) == pytest.approx(3.0, abs=0.05)
        edc = 10 * np.log10(np.cumsum(h[::-1] ** 2)[::-1] / np.sum(h**2))
        fit = (edc <= -20) & (edc >= -40)
        slope = np.polyfit(np.arange(len(h))[fit] / SR, edc[fit], 1)[0]
        assert -60.0 / slope == pytest.approx(rt60, rel=0.15)


@pytest.mark.parametrize("codec", ["mulaw", "none"])
def test_telephone_band_limits_to_the_phone_band(speech, codec):
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), only("telephone", codecs=[codec]))
    assert rec == {"telephone": {"band_hz": [300.0, 3400.0], "codec": codec}}
    assert len(out) == len(speech)
    assert band_fraction(out, 4000, SR / 2) < 1e-5 < band_fraction(speech, 4000, SR / 2)
    assert band_fraction(out, 0, 150) < 0.1 * band_fraction(speech, 0, 150)


def test_telephone_mulaw_adds_quantization_noise(speech):
    plain, _ = augment_waveform(speech, SR, np.random.default_rng(0), only("telephone", codecs=["none"]))
    mulaw, _ = augment_waveform(speech, SR, np.random.default_rng(0), only("telephone", codecs=["mulaw"]))
    # 8-bit mu-law: roughly 38 dB signal to quantization noise on speech, far from lossless and from garbage.
    assert 25 < snr_db(plain, mulaw, {}) < 50


def test_telephone_g722_is_skipped_and_named_without_ffmpeg(speech, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no ffmpeg on PATH
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), only("telephone", codecs=["g722"]))
    assert rec["telephone"]["codec"] == "none" and "ffmpeg not on PATH" in rec["telephone"]["codec_skipped"]
    assert band_fraction(out, 4000, SR / 2) < 1e-5  # the rest of the channel still applies


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not on PATH")
def test_telephone_g722_through_ffmpeg(speech):
    plain, _ = augment_waveform(speech, SR, np.random.default_rng(0), only("telephone", codecs=["none"]))
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), only("telephone", codecs=["g722"]))
    assert rec["telephone"]["codec"] == "g722" and "codec_skipped" not in rec["telephone"]
    assert len(out) == len(speech) and not np.array_equal(out, plain)
    # A codec, not noise: the decoded wave follows the input closely (up to its ~1 ms delay).
    lag = int(np.argmax(np.correlate(out[:SR], plain[:SR], "full"))) - (SR - 1)
    assert 0 <= lag < 40 and snr_db(plain[: len(plain) - lag], out[lag:], {}) > 10


def test_loudness_is_a_slow_envelope_within_its_depth(speech):
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), only("loudness", depth_db=[8.0, 8.0],
                                                                            period_s=[0.5, 0.5]))
    assert rec == {"loudness": {"depth_db": 8.0, "period_s": 0.5}} and len(out) == len(speech)
    audible = np.abs(speech) > 1e-2
    gain_db = 20 * np.log10(np.abs(out[audible]) / np.abs(speech[audible]))
    assert gain_db.min() >= -4.01 and gain_db.max() <= 4.01 and gain_db.max() - gain_db.min() > 2.0
    # Slow: within 1 ms (16 samples) the gain moves by a small fraction of a dB.
    dense = 20 * np.log10(np.abs(out[:: 16][audible[:: 16]]) / np.abs(speech[:: 16][audible[:: 16]]))
    assert np.percentile(np.abs(np.diff(dense)), 99) < 0.5


def test_mic_low_and_high_cut_at_the_drawn_corners(speech):
    cfg = only("mic", low_cut_hz=[300.0, 300.0], high_cut_prob=1.0, high_cut_hz=[3000.0, 3000.0], tilt_db=[0.0, 0.0],
               peaks=[0, 0])
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), cfg)
    assert rec == {"mic": {"low_cut_hz": 300.0, "high_cut_hz": 3000.0}} and len(out) == len(speech)
    assert band_fraction(out, 5000, SR / 2) < 1e-3 * band_fraction(speech, 5000, SR / 2)
    assert band_fraction(out, 0, 100) < 0.05 * band_fraction(speech, 0, 100)
    # The pass band is left as it was: the speech between the corners keeps its level.
    f, p_in = welch(speech.astype(np.float64), fs=SR, nperseg=1024)
    _, p_out = welch(out.astype(np.float64), fs=SR, nperseg=1024)
    mid = (f >= 800) & (f <= 2000)
    assert 10 * np.log10(p_out[mid].sum() / p_in[mid].sum()) == pytest.approx(0.0, abs=0.5)


@pytest.mark.parametrize("tilt", [-6.0, 6.0])
def test_mic_tilt_and_peak_colour_the_spectrum(speech, tilt):
    cfg = only("mic", low_cut_hz=[20.0, 20.0], high_cut_prob=0.0, tilt_db=[tilt, tilt], peaks=[0, 0])
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), cfg)
    assert rec["mic"]["tilt_db"] == tilt
    f, p_in = welch(speech.astype(np.float64), fs=SR, nperseg=1024)
    _, p_out = welch(out.astype(np.float64), fs=SR, nperseg=1024)
    gain_db = 10 * np.log10(p_out / p_in)
    low, high = gain_db[(f > 150) & (f < 300)].mean(), gain_db[(f > 6000) & (f < 7500)].mean()
    assert abs(low) < 1.0 and high - low == pytest.approx(tilt, abs=1.5)
    cfg = only("mic", low_cut_hz=[20.0, 20.0], high_cut_prob=0.0, tilt_db=[0.0, 0.0], peaks=[1, 1],
               peak_db=[8.0, 8.0])
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), cfg)
    (peak,) = rec["mic"]["peaks"]
    _, p_out = welch(out.astype(np.float64), fs=SR, nperseg=1024)
    at = np.argmin(np.abs(f - peak["hz"]))
    assert peak["db"] == 8.0 and 10 * np.log10(p_out[at] / p_in[at]) == pytest.approx(8.0, abs=1.0)


def test_codec_mp3_round_trip_keeps_time_and_loses_a_little(speech):
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), only("codec", compression=[0.5, 0.5]))
    assert rec == {"codec": {"type": "mp3", "compression": 0.5, "kbps": 40}} and len(out) == len(speech)
    lag = int(np.argmax(np.correlate(out[:SR], speech[:SR], "full"))) - (SR - 1)
    assert lag == 0  # decoded in step with the input: word times stay where they were
    assert 10 < snr_db(speech, out, {}) < 45  # lossy, far from garbage
    assert band_fraction(out, 7000, SR / 2) < band_fraction(speech, 7000, SR / 2)  # the encoder drops the top


def test_too_loud_copy_is_scaled_down_not_clipped(speech):
    out, rec = augment_waveform(speech, SR, np.random.default_rng(0), only("gain", db=[12.0, 12.0]))
    assert np.max(np.abs(out)) == pytest.approx(0.99, abs=1e-6)
    assert rec["peak_norm_db"] == pytest.approx(20 * np.log10(0.99 / (0.5 * 10 ** (12 / 20))), abs=0.01)
    np.testing.assert_allclose(out, speech * (0.99 / 0.5), atol=1e-5)  # a scaled copy: nothing clipped


def test_every_effect_at_once_is_recorded_and_deterministic(speakers):
    (_, speech), others = next(iter(speakers.items())), dict(list(speakers.items())[1:])
    cfg = AugmentConfig(clean_prob=0.0)
    for name in EFFECTS:
        getattr(cfg, name).prob = 1.0
    cfg.speed.factors = [1.1]
    cfg.telephone.codecs = ["mulaw"]
    cfg.mic.high_cut_prob = 1.0
    out, rec = augment_waveform(speech, SR, utterance_rng(7, "u1"), cfg, others)
    assert set(rec) - {"peak_norm_db"} == set(EFFECTS)
    assert out.dtype == np.float32 and np.max(np.abs(out)) <= 1.0 and np.all(np.isfinite(out))
    again, rec2 = augment_waveform(speech, SR, utterance_rng(7, "u1"), cfg, others)
    assert rec2 == rec and np.array_equal(again, out)
    other, rec3 = augment_waveform(speech, SR, utterance_rng(8, "u1"), cfg, others)
    assert rec3 != rec
    # Each effect draws from its own generator: switching noise off leaves every other draw as it was.
    cfg.noise.prob = 0.0
    _, rec4 = augment_waveform(speech, SR, utterance_rng(7, "u1"), cfg, others)
    assert "noise" not in rec4 and {k: v for k, v in rec.items() if k not in ("noise", "peak_norm_db")} == \
        {k: v for k, v in rec4.items() if k != "peak_norm_db"}


def test_bad_waveforms_are_refused():
    rng = np.random.default_rng(0)
    for bad, why in ((np.zeros(SR, np.float32), "silent"), (np.full(SR, np.nan, np.float32), "NaN"),
                     (np.zeros(10, np.float32), "too short"), (np.ones((SR, 2), np.float32), "mono")):
        with pytest.raises(AugmentError, match=why):
            augment_waveform(bad, SR, rng, AugmentConfig())


def test_config_from_yaml_with_overrides(tmp_path):
    path = tmp_path / "aug.yaml"
    path.write_text("clean_prob: 0.5\nnoise:\n  types: [pink]\n  snr_db: [0, 10]\nreverb:\n  prob: 0.0\n")
    cfg = load_config(AugmentConfig, path, ["noise.prob=1", "speed.factors=[0.9, 1.1]"])
    cfg.check()
    assert cfg.clean_prob == 0.5 and cfg.noise.types == ["pink"] and cfg.noise.snr_db == [0, 10]
    assert cfg.noise.prob == 1 and cfg.reverb.prob == 0.0 and cfg.speed.factors == [0.9, 1.1]
    assert cfg.babble == AugmentConfig().babble  # untouched sections keep their defaults
    for override, msg in (("noise.prob=1.5", "noise.prob"), ("noise.types=[purple]", "noise.types"),
                          ("gain.db=[6, -6]", "gain.db"), ("telephone.codecs=[gsm]", "telephone.codecs")):
        with pytest.raises(ConfigError, match=msg):
            load_config(AugmentConfig, None, [override]).check()


# ----------------------------------------------------------------------------------------------- command


@pytest.fixture(scope="module")
def src_dir(tiny_corpus, tmp_path_factory) -> Path:
    """Six utterances of the synthetic corpus; the sixth one's audio is garbage bytes."""
    root = tmp_path_factory.mktemp("augsrc")
    dd = read_datadir(tiny_corpus / "train")
    small = dd.subset(dd.utt_ids[:6])
    small.wav = {u: os.path.abspath(dd.audio_path(u)) for u in small.utt_ids}
    bad = small.utt_ids[-1]
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00not really a wave file" * 10)
    small.wav[bad] = str(root / "broken.wav")
    write_datadir(small, root / "data")
    return root / "data"


def read_utt2aug(d: Path) -> dict[str, dict]:
    rows = [line.split(" ", 1) for line in (d / "utt2aug").read_text().splitlines()]
    return {utt: json.loads(rec) for utt, rec in rows}


def test_augment_command(src_dir, tmp_path):
    src = read_datadir(src_dir)
    good, bad = src.utt_ids[:5], src.utt_ids[5]
    out = tmp_path / "aug"
    args = ["augment", str(src_dir), str(out), "clean_prob=0.1", "babble.prob=0.5", "babble.pool_size=6",
            "--copies", "2", "--seed", "3", "--keep-original"]
    assert asr_main(args + ["--nj", "2"]) == 0
    assert validate_datadir(out) == []
    dd = read_datadir(out)
    assert dd.utt_ids == sorted(good + [f"aug{k}-{u}" for k in (1, 2) for u in good])  # the broken one skipped
    u = good[0]
    assert dd.utt2spk[f"aug2-{u}"] == f"aug2-{src.utt2spk[u]}" and dd.text[f"aug2-{u}"] == src.text[u]

    # utt2aug: a record for every utterance, the same as the one stored in the FLAC, durations as written.
    records = read_utt2aug(out)
    assert list(records) == dd.utt_ids
    for utt, rec in records.items():
        if utt in good:
            assert rec == {"original": True}
            continue
        assert rec and (rec.get("clean") or set(rec) & set(EFFECTS))
        with sf.SoundFile(dd.audio_path(utt)) as f:
            assert json.loads(f.comment)["record"] == rec and f.format == "FLAC"
            assert dd.utt2dur[utt] == pytest.approx(f.frames / SR, abs=1e-3)
        if "speed" in rec and "reverb" not in rec:  # reverb adds its tail
            assert dd.utt2dur[utt] == pytest.approx(src.utt2dur[utt.split("-", 1)[1]] / rec["speed"], abs=0.01)

    summary = json.loads((out / "augment_summary.json").read_text())
    assert summary["skipped_count"] == 1 and list(summary["skipped_utterances"]) == [bad]
    assert "broken.wav" in summary["skipped_utterances"][bad]
    assert summary["augmented_utterances"] == 10 and summary["written"] == 10
    copies = [r for utt, r in records.items() if utt not in good]
    for effect in EFFECTS:
        assert summary["mix"][effect] == sum(effect in r for r in copies)
    assert summary["mix"]["clean"] == sum(bool(r.get("clean")) for r in copies)
    assert load_config(AugmentConfig, out / "augment.yaml") == load_config(
        AugmentConfig, None, ["clean_prob=0.1", "babble.prob=0.5", "babble.pool_size=6"])

    # The same copies with one process: nothing depends on how the work was split.
    out1 = tmp_path / "aug_nj1"
    assert asr_main(["augment", str(src_dir), str(out1), "clean_prob=0.1", "babble.prob=0.5", "babble.pool_size=6",
                     "--copies", "2", "--seed", "3", "--nj", "1"]) == 0
    assert read_utt2aug(out1) == {u: r for u, r in records.items() if u not in good}
    dd1 = read_datadir(out1)
    for utt in dd1.utt_ids:
        assert np.array_equal(sf.read(dd1.audio_path(utt))[0], sf.read(dd.audio_path(utt))[0])

    # Resume: a rerun reuses every complete file; a damaged one is made again, identical.
    victim = dd.audio_path(f"aug1-{u}")
    expected = sf.read(victim)[0]
    mtimes = {utt: dd.audio_path(utt).stat().st_mtime_ns for utt in dd.utt_ids if utt not in good}
    victim.write_bytes(victim.read_bytes()[:200])  # as if cut off by a full disk
    assert asr_main(args + ["--nj", "1"]) == 0
    summary = json.loads((out / "augment_summary.json").read_text())
    assert summary["written"] == 1 and summary["reused"] == 9
    assert np.array_equal(sf.read(victim)[0], expected) and read_utt2aug(out) == records
    assert all(dd.audio_path(utt).stat().st_mtime_ns == t for utt, t in mtimes.items() if utt != f"aug1-{u}")

    # Another configuration: no stale copy survives.
    assert asr_main(["augment", str(src_dir), str(out), "clean_prob=1", "--copies", "2", "--seed", "3"]) == 0
    summary = json.loads((out / "augment_summary.json").read_text())
    assert summary["written"] == 10 and summary["mix"]["clean"] == 10
    assert not list(out.rglob("*.tmp"))


def test_augment_command_fails_when_nothing_is_readable(tmp_path, src_dir):
    src = read_datadir(src_dir)
    broken = src.subset(src.utt_ids[5:])
    broken.wav = {u: str(src.audio_path(u)) for u in broken.utt_ids}
    write_datadir(broken, tmp_path / "data")
    assert asr_main(["augment", str(tmp_path / "data"), str(tmp_path / "out"), "--nj", "1"]) == 1
    summary = json.loads((tmp_path / "out" / "augment_summary.json").read_text())
    assert summary["skipped_count"] == 1 and summary["augmented_utterances"] == 0
    assert not (tmp_path / "out" / "wav.scp").exists()
