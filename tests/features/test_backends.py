"""Feature backends: torchaudio (default), librosa (cross-check), Kaldi fbank; batching; per-utterance norm."""

import numpy as np
import pytest
import torch
import torchaudio

from asr.data.audio import load_audio
from asr.data.datadir import read_datadir
from asr.features.config import FeatureConfig
from asr.features.logmel import KALDI_SCALE, LogMel, compute_logmel, make_feature_extractor


@pytest.fixture(scope="module")
def waves(tiny_corpus) -> list[np.ndarray]:
    dd = read_datadir(tiny_corpus / "train")
    return [load_audio(dd.audio_path(u)) for u in dd.utt_ids[:4]]


def _batch(waves):
    lens = torch.tensor([len(w) for w in waves])
    batch = torch.zeros(len(waves), int(lens.max()))
    for i, w in enumerate(waves):
        batch[i, : len(w)] = torch.from_numpy(w)
    return batch, lens


def test_librosa_matches_torchaudio_within_stated_tolerance(waves):
    """The tolerance FeatureConfig documents: max |diff| <= 2e-3, mean |diff| <= 1e-4 (natural-log units)."""
    ta = make_feature_extractor(FeatureConfig())
    lr = make_feature_extractor(FeatureConfig(backend="librosa"))
    batch, lens = _batch(waves)
    with torch.no_grad():
        a, alen = ta(batch, lens)
        b, blen = lr(batch, lens)
    assert torch.equal(alen, blen)
    diff = (a - b).abs()
    assert diff.max() <= 2e-3 and diff.mean() <= 1e-4, (diff.max(), diff.mean())


def test_kaldi_backend_is_torchaudio_compliance_fbank(waves):
    cfg = FeatureConfig(backend="kaldi")
    w = waves[0]
    ours = compute_logmel(w, cfg)
    ref = torchaudio.compliance.kaldi.fbank(torch.from_numpy(w)[None] * KALDI_SCALE, num_mel_bins=80, low_freq=20,
                                            high_freq=7600, dither=0.0)
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-5)  # ours is batched, the same steps vectorized
    assert ours.shape[0] == cfg.num_frames(len(w)) == 1 + (len(w) - 400) // 160  # Kaldi frames the 25 ms window
    assert FeatureConfig().num_frames(len(w)) == 1 + (len(w) - 512) // 160  # torchaudio frames n_fft samples


def test_torchaudio_backend_is_melspectrogram(waves):
    """Our power spectrum is re^2 + im^2 (faster); the numbers are torchaudio's MelSpectrogram's."""
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512, win_length=400, hop_length=160, f_min=20,
                                               f_max=7600, n_mels=80, power=2.0, center=False)
    batch, lens = _batch(waves)
    with torch.no_grad():
        ref = torch.log(mel(batch).clamp_min(1e-6)).transpose(1, 2)
        ours, flens = make_feature_extractor(FeatureConfig())(batch, lens)
    for i in range(len(waves)):
        torch.testing.assert_close(ours[i, : flens[i]], ref[i, : flens[i]], atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("backend", ["torchaudio", "librosa", "kaldi"])
@pytest.mark.parametrize("utt_norm", ["none", "meanvar"])
def test_batched_equals_one_by_one_and_padding_is_zero(waves, backend, utt_norm):
    cfg = FeatureConfig(backend=backend, utt_norm=utt_norm)
    ex = make_feature_extractor(cfg)
    batch, lens = _batch(waves)
    with torch.no_grad():
        feats, flens = ex(batch, lens)
    assert feats.shape == (len(waves), cfg.num_frames(int(lens.max())), 80)
    for i, w in enumerate(waves):
        single = compute_logmel(w, cfg)
        assert int(flens[i]) == single.shape[0] == cfg.num_frames(len(w))
        torch.testing.assert_close(feats[i, : flens[i]], single, atol=1e-4, rtol=1e-4)
        assert not feats[i, flens[i]:].any()


def test_utterance_normalization_uses_only_real_frames(waves):
    batch, lens = _batch(waves)
    with torch.no_grad():
        feats, flens = make_feature_extractor(FeatureConfig(utt_norm="meanvar"))(batch, lens)
        mean_only, _ = make_feature_extractor(FeatureConfig(utt_norm="mean"))(batch, lens)
    for i in range(len(waves)):
        x = feats[i, : flens[i]]
        torch.testing.assert_close(x.mean(0), torch.zeros(80), atol=1e-4, rtol=0)
        torch.testing.assert_close(x.std(0, unbiased=False), torch.ones(80), atol=1e-2, rtol=0)
        torch.testing.assert_close(mean_only[i, : flens[i]].mean(0), torch.zeros(80), atol=1e-4, rtol=0)


def test_config_validation_and_old_configs_load():
    with pytest.raises(ValueError, match="backend"):
        FeatureConfig(backend="htk")
    with pytest.raises(ValueError, match="utt_norm"):
        FeatureConfig(utt_norm="yes")
    old = {"sample_rate": 16000, "n_mels": 80, "win_ms": 25.0, "hop_ms": 10.0, "n_fft": 512, "f_min": 20.0,
           "f_max": 7600.0}  # a model dir or store written before backends existed
    assert FeatureConfig(**old) == FeatureConfig()
    assert isinstance(LogMel(FeatureConfig(backend="kaldi")), torch.nn.Module)  # the old name still works


def test_short_input_gives_zero_frames(waves):
    for backend in ("torchaudio", "kaldi"):
        cfg = FeatureConfig(backend=backend)
        feats, flens = make_feature_extractor(cfg)(torch.zeros(1, cfg.frame_samples - 1))
        assert flens.tolist() == [0] and feats.shape[1] == 1 and not feats.any()
