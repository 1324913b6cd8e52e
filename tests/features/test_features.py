import numpy as np
import pytest
import torch

from asr.data.audio import load_audio
from asr.data.datadir import read_datadir, write_datadir
from asr.features.cmvn import CMVNStats, load_cmvn
from asr.features.extract import extract_features
from asr.features.logmel import FeatureConfig, LogMel, compute_logmel
from asr.features.store import FeatureStore, FeatureStoreWriter


def test_logmel_shape_and_frame_count():
    cfg = FeatureConfig()
    for n in (cfg.n_fft, 16000, 16001, 48123):
        feats = compute_logmel(np.random.default_rng(0).normal(size=n).astype(np.float32), cfg)
        assert feats.shape == (cfg.num_frames(n), 80)
    assert cfg.num_frames(cfg.n_fft - 1) == 0


def test_batched_logmel_matches_single(tiny_corpus):
    dd = read_datadir(tiny_corpus / "train")
    waves = [load_audio(dd.audio_path(u)) for u in dd.utt_ids[:3]]
    lens = torch.tensor([len(w) for w in waves])
    batch = torch.zeros(3, int(lens.max()))
    for i, w in enumerate(waves):
        batch[i, : len(w)] = torch.from_numpy(w)
    feats, flens = LogMel()(batch, lens)
    for i, w in enumerate(waves):
        single = compute_logmel(w)
        assert int(flens[i]) == single.shape[0]
        torch.testing.assert_close(feats[i, : flens[i]], single, atol=1e-4, rtol=1e-4)


def test_store_roundtrip_and_incomplete_store_is_not_read(tmp_path):
    cfg = FeatureConfig()
    w = FeatureStoreWriter(tmp_path / "s", cfg)
    a, b = np.random.default_rng(0).normal(size=(5, 80)), np.random.default_rng(1).normal(size=(7, 80))
    w.add("b", b)
    w.add("a", a)
    with pytest.raises(FileNotFoundError, match="did not finish"):
        FeatureStore(tmp_path / "s")
    w.close()
    store = FeatureStore(tmp_path / "s")
    assert store.utt_ids == ["a", "b"] and store.num_frames("b") == 7
    np.testing.assert_allclose(store["a"], a, atol=1e-2)  # float16 storage
    np.testing.assert_allclose(store["b"], b, atol=1e-2)


def test_cmvn_matches_numpy_over_chunks():
    rng = np.random.default_rng(0)
    chunks = [rng.normal(loc=100.0, scale=3.0, size=(n, 4)) for n in (1, 50, 7, 300)]
    stats = CMVNStats(4)
    for c in chunks[:2]:
        stats.update(c)
    other = CMVNStats(4)
    for c in chunks[2:]:
        other.update(c)
    stats.merge(other)
    allx = np.concatenate(chunks)
    np.testing.assert_allclose(stats.mean, allx.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.std, allx.std(0), rtol=1e-9)


def test_extraction_skips_bad_audio_and_writes_cmvn(tiny_corpus, tmp_path):
    dd = read_datadir(tiny_corpus / "dev")
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    short = tmp_path / "short.wav"
    import soundfile as sf
    sf.write(short, np.zeros(100, dtype=np.float32), 16000)
    dd.wav["zz-bad"], dd.text["zz-bad"], dd.utt2spk["zz-bad"] = str(bad), "x", "zz"
    dd.wav["zz-short"], dd.text["zz-short"], dd.utt2spk["zz-short"] = str(short), "x", "zz"
    write_datadir(dd, tmp_path / "data")
    res = extract_features(tmp_path / "data", tmp_path / "feats", nj=2, compute_cmvn=True)
    assert set(res.skipped) == {"zz-bad", "zz-short"}
    assert "bad.wav" in res.skipped["zz-bad"] and "shorter than one" in res.skipped["zz-short"]
    store = FeatureStore(tmp_path / "feats")
    assert len(store) == len(dd) - 2 and res.num_done == len(store)
    mean, std = load_cmvn(tmp_path / "feats" / "cmvn.json")
    allf = np.concatenate([store[u] for u in store.utt_ids])
    np.testing.assert_allclose(mean, allf.mean(0), atol=1e-2)
    np.testing.assert_allclose(std, allf.std(0), rtol=1e-2)
    assert "zz-bad" in (tmp_path / "feats" / "skipped.txt").read_text()
