"""Sharded, parallel, resumable extraction; Slurm-style slices + merge; CMVN across shards; bad input."""

import logging

import numpy as np
import pytest
import soundfile as sf

import asr.features.extract as extract_mod
from asr.cli import main as asr_main
from asr.data.datadir import read_datadir, write_datadir
from asr.features.cmvn import load_cmvn
from asr.features.config import FeatureConfig
from asr.features.extract import extract_features, merge_store, shard_of
from asr.features.store import FeatureStore, read_manifest, shard_paths


def _same_store(a, b, exact=True):
    a, b = FeatureStore(a), FeatureStore(b)
    assert a.utt_ids == b.utt_ids
    for u in a.utt_ids:
        (np.testing.assert_array_equal if exact else np.testing.assert_allclose)(a[u], b[u])


def test_slices_then_merge_equal_one_parallel_run(tiny_corpus, tmp_path, capsys):
    data = tiny_corpus / "train"
    assert asr_main(["features", str(data), str(tmp_path / "all"), "--nj", "2", "--num-shards", "3", "--cmvn",
                     "--dtype", "float32"]) == 0
    for i in range(3):  # three "array tasks"
        assert asr_main(["features", str(data), str(tmp_path / "slurm"), "--shard", f"{i}/3", "--dtype",
                         "float32"]) == 0
        if i < 2:  # not mergeable before every shard is there
            assert asr_main(["features-merge", str(tmp_path / "slurm"), "--cmvn"]) == 1
    assert asr_main(["features-merge", str(tmp_path / "slurm"), "--cmvn"]) == 0
    assert "3 shards merged" in capsys.readouterr().out
    _same_store(tmp_path / "all", tmp_path / "slurm")
    m1, s1 = load_cmvn(tmp_path / "all" / "cmvn.json")
    m2, s2 = load_cmvn(tmp_path / "slurm" / "cmvn.json")
    np.testing.assert_allclose(m1, m2, rtol=1e-6)
    np.testing.assert_allclose(s1, s2, rtol=1e-6)
    # Chan-merged per-shard moments == statistics of all stored frames at once.
    store = FeatureStore(tmp_path / "all")
    frames = np.concatenate([store[u] for u in store.utt_ids]).astype(np.float64)
    np.testing.assert_allclose(m1, frames.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(s1, frames.std(0), rtol=1e-5)
    assert {store.location(u)[0] for u in store.utt_ids} == {0, 1, 2}
    assert all(store.location(u)[0] == shard_of(u, 3) for u in store.utt_ids)


def test_killed_run_resumes_and_reuses_finished_shards(tiny_corpus, tmp_path, monkeypatch):
    data, out = tiny_corpus / "train", tmp_path / "feats"
    calls, real_read = {"n": 0}, extract_mod._read_wave

    def dies_on_the_12th_file(path, cfg):
        calls["n"] += 1
        if calls["n"] == 12:
            raise KeyboardInterrupt  # what Ctrl-C or a job time limit does mid-shard
        return real_read(path, cfg)

    monkeypatch.setattr(extract_mod, "_read_wave", dies_on_the_12th_file)
    with pytest.raises(KeyboardInterrupt):
        extract_features(data, out, nj=1, num_shards=4)
    complete = [s for s in range(4) if read_manifest(out, s, 4)]
    assert 0 < len(complete) < 4 and not (out / "index.tsv").exists()
    assert not list(out.glob("shards/*.tmp.*"))  # the interrupted shard's partial file was removed
    monkeypatch.setattr(extract_mod, "_read_wave", real_read)
    res = extract_features(data, out, nj=2)  # --num-shards not given: the store's 4 shards are kept
    assert res.num_shards == 4 and sorted(res.shards_reused) == complete
    extract_features(data, tmp_path / "fresh", nj=1, num_shards=4)
    _same_store(out, tmp_path / "fresh")

    # Up to date: nothing recomputed. One audio file rewritten: only its shard. Another dtype: everything.
    assert extract_features(data, out, nj=2).shards_computed == []
    dd = read_datadir(data)
    utt = dd.utt_ids[3]
    wave, sr = sf.read(dd.audio_path(utt), dtype="float32")
    sf.write(tmp_path / "changed.wav", wave[: len(wave) // 2], sr)
    dd.wav[utt] = str(tmp_path / "changed.wav")
    write_datadir(dd, tmp_path / "data2")
    res = extract_features(tmp_path / "data2", out, nj=2)
    assert res.shards_computed == [shard_of(utt, 4)]
    assert FeatureStore(out).num_frames(utt) == FeatureConfig().num_frames(len(wave) // 2)
    assert sorted(extract_features(tmp_path / "data2", out, nj=2, dtype="float32").shards_computed) == [0, 1, 2, 3]


def test_bad_audio_is_skipped_counted_and_named(tiny_corpus, tmp_path, caplog):
    dd = read_datadir(tiny_corpus / "dev")
    good = dd.utt_ids[0]
    wave, _ = sf.read(dd.audio_path(good), dtype="float32")
    import soxr

    (tmp_path / "text.wav").write_text("not audio")
    (tmp_path / "empty.wav").write_bytes(b"")
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), 16000)
    sf.write(tmp_path / "short.wav", wave[:300], 16000)
    sf.write(tmp_path / "nan.wav", np.full(8000, np.nan, np.float32), 16000, subtype="FLOAT")
    for name, rate in (("r22k.wav", 22050), ("r8k.flac", 8000)):
        sf.write(tmp_path / name, soxr.resample(wave, 16000, rate), rate)
    bad = {"zz-text": "text.wav", "zz-empty": "empty.wav", "zz-zero": "zero.wav", "zz-short": "short.wav",
           "zz-nan": "nan.wav", "zz-missing": "missing.wav"}
    for utt, name in {**bad, "zz-r22k": "r22k.wav", "zz-r8k": "r8k.flac"}.items():
        dd.wav[utt], dd.text[utt], dd.utt2spk[utt] = str(tmp_path / name), "x", "zz"
    write_datadir(dd, tmp_path / "data")
    with caplog.at_level(logging.INFO):
        res = extract_features(tmp_path / "data", tmp_path / "feats", nj=2, num_shards=3, compute_cmvn=True)
    assert set(res.skipped) == set(bad)
    for utt, name in bad.items():
        assert name in res.skipped[utt]
    assert "shorter than one 512-sample frame" in res.skipped["zz-short"]
    assert "NaN" in res.skipped["zz-nan"] and "no such file" in res.skipped["zz-missing"]
    listed = (tmp_path / "feats" / "skipped.txt").read_text()
    assert all(u in listed for u in bad)
    # Resampled (not skipped), and said once for the whole run, not once per file or shard.
    assert res.resampled == {22050: 1, 8000: 1}
    assert sum("resampled 2 audio files" in r.message for r in caplog.records) == 1
    store = FeatureStore(tmp_path / "feats")
    assert len(store) == len(dd) - len(bad) and abs(store.num_frames("zz-r22k") - store.num_frames(good)) <= 1


def test_merge_refuses_mixed_configurations(tiny_corpus, tmp_path):
    data, out = tiny_corpus / "dev", tmp_path / "feats"
    extract_features(data, out, num_shards=2, shard=0)
    extract_features(data, out, FeatureConfig(backend="kaldi"), num_shards=2, shard=1)
    with pytest.raises(ValueError, match="computed with"):
        merge_store(out)
    shard_paths(out, 1, 2)[1].unlink()
    with pytest.raises(ValueError, match="missing or unfinished: 1"):
        merge_store(out)


def test_every_feature_config_field_is_a_flag():
    import argparse
    import dataclasses

    from asr.config import config_from_args
    from asr.features.commands import add_features_arguments
    from asr.features.config import FeatureConfig

    p = argparse.ArgumentParser()
    add_features_arguments(p)
    assert config_from_args(FeatureConfig, p.parse_args(["d", "o"])) == FeatureConfig()
    args = p.parse_args(["d", "o", "--hop-ms", "12.5", "--win-ms", "20", "--f-max", "8000", "--backend", "kaldi",
                         "--n-mels", "40", "--utt-norm", "meanvar"])
    assert config_from_args(FeatureConfig, args) == FeatureConfig(hop_ms=12.5, win_ms=20.0, f_max=8000.0,
                                                                  backend="kaldi", n_mels=40, utt_norm="meanvar")
    flags = {a.dest for a in p._actions}
    assert {f.name for f in dataclasses.fields(FeatureConfig)} <= flags
