"""On-the-fly features: audio batches -> features in the training process equal the stored features."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from asr.cli import main as asr_main
from asr.data.audio import load_audio
from asr.data.datadir import read_datadir, write_datadir
from asr.features.config import FeatureConfig
from asr.features.extract import extract_features
from asr.features.logmel import compute_logmel
from asr.features.onthefly import AudioSource, BatchFeaturizer, with_features
from asr.features.store import FeatureStore
from asr.text.units import CharTokenizer
from asr.train.batching import BucketBatchSampler, CTCDataset, collate


@pytest.mark.parametrize(("backend", "dtype", "tol"), [("torchaudio", "float32", 1e-5), ("kaldi", "float32", 1e-5),
                                                       ("torchaudio", "float16", 1e-3)])
def test_on_the_fly_batches_equal_stored_features(tiny_corpus, tmp_path, backend, dtype, tol):
    cfg = FeatureConfig(backend=backend)
    data = tiny_corpus / "train"
    extract_features(data, tmp_path / "feats", cfg, dtype=dtype)
    store = FeatureStore(tmp_path / "feats")
    source = AudioSource(data, cfg)
    assert source.utt_ids == store.utt_ids
    assert all(source.num_frames(u) == store.num_frames(u) for u in store.utt_ids)  # same buckets
    ds = CTCDataset(source, read_datadir(data).text, CharTokenizer())
    sampler = BucketBatchSampler([ds.num_frames(i) for i in range(len(ds))], 4000, seed=0)
    loader = with_features(DataLoader(ds, batch_sampler=sampler, collate_fn=collate, num_workers=2), cfg, "cpu")
    assert len(loader) == len(sampler)
    seen = 0
    for batch in loader:
        assert "wave" not in batch and batch["feats"].dtype == torch.float32
        for i, u in enumerate(batch["utts"]):
            n = int(batch["feat_lens"][i])
            np.testing.assert_allclose(batch["feats"][i, :n].numpy(), store[u], rtol=tol, atol=tol)
            assert not batch["feats"][i, n:].any()
            seen += 1
    assert seen == len(store)


def test_stored_loader_is_left_alone(tiny_corpus, tiny_feats):
    ds = CTCDataset(FeatureStore(tiny_feats / "dev"), read_datadir(tiny_corpus / "dev").text, CharTokenizer())
    loader = DataLoader(ds, batch_size=2, collate_fn=collate)
    assert with_features(loader, ds.store.cfg, "cpu") is loader
    batch = next(iter(loader))
    assert BatchFeaturizer(ds.store.cfg)(batch) is batch


def test_audio_source_leaves_out_bad_files(tiny_corpus, tmp_path):
    dd = read_datadir(tiny_corpus / "dev")
    (tmp_path / "text.wav").write_text("not audio")
    sf.write(tmp_path / "short.wav", np.zeros(100, np.float32), 16000)
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), 16000)
    for utt, name in {"zz-text": "text.wav", "zz-short": "short.wav", "zz-zero": "zero.wav",
                      "zz-missing": "missing.wav"}.items():
        dd.wav[utt], dd.text[utt], dd.utt2spk[utt] = str(tmp_path / name), "x", "zz"
    write_datadir(dd, tmp_path / "data")
    source = AudioSource(tmp_path / "data")
    assert set(source.skipped) == {"zz-text", "zz-short", "zz-zero", "zz-missing"}
    assert len(source) == len(dd) - 4 and "zz-short" not in source


def test_training_on_the_fly_with_kaldi_features_and_transcription_agree(tiny_corpus, tmp_path):
    exp = tmp_path / "exp"
    rc = asr_main(["train", f"exp_dir={exp}", f"train_data={tiny_corpus / 'train'}", "train_feats=unused",
                   f"dev_data={tiny_corpus / 'dev'}", "dev_feats=unused", "features=on_the_fly",
                   "feature_config.backend=kaldi", "feature_config.utt_norm=mean", "epochs=1", "max_frames=4000",
                   "model.hidden_size=32", "model.num_layers=1", "warmup_steps=2", "num_workers=1"])
    assert rc == 0
    assert json.loads((exp / "cmvn.json").read_text())["count"] > 0  # estimated from the training audio
    meta = json.loads((exp / "model" / "config.json").read_text())
    assert meta["features"]["backend"] == "kaldi" and meta["features"]["utt_norm"] == "mean"

    from asr.transcribe import load_model

    rec = load_model(exp / "model", device="cpu")
    dd = read_datadir(tiny_corpus / "test")
    wave = load_audio(dd.audio_path(dd.utt_ids[0]))
    feats, _ = rec.logmel(torch.from_numpy(wave)[None])
    torch.testing.assert_close(feats[0], compute_logmel(wave, FeatureConfig(backend="kaldi", utt_norm="mean")))
    assert isinstance(rec.transcribe(wave), str)
