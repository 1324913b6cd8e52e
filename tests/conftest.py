"""Shared fixtures: a tiny synthetic corpus (real generated speech) and its features, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from asr.cli import main as asr_main
from asr.features.extract import extract_features


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """``train`` (~70 s of speech), ``dev`` and ``test`` data dirs spoken by espeak-ng voices.

    eSpeak only, whatever other engines are installed, so that the fixture is the same on every machine.
    """
    out = tmp_path_factory.mktemp("synth")
    rc = asr_main(["synth-corpus", "--out-dir", str(out), "--train-hours", "0.02", "--dev-utts", "6",
                   "--test-utts", "6", "--nj", "2", "--seed", "0", "--engines", "espeak"])
    assert rc == 0
    return out


@pytest.fixture(scope="session")
def tiny_feats(tiny_corpus) -> Path:
    """Feature stores ``feats/{train,dev,test}`` of the tiny corpus (CMVN from train)."""
    for part in ("train", "dev", "test"):
        extract_features(tiny_corpus / part, tiny_corpus / "feats" / part, nj=1, compute_cmvn=part == "train")
    return tiny_corpus / "feats"


@pytest.fixture(scope="session")
def overfit_run(tiny_corpus, tiny_feats, tmp_path_factory) -> dict:
    """A small model trained to memorize 4 training utterances (train == dev)."""
    from asr.data.datadir import read_datadir, write_datadir
    from asr.model.encoder import ModelConfig
    from asr.train.trainer import TrainConfig, train

    root = tmp_path_factory.mktemp("overfit")
    dd = read_datadir(tiny_corpus / "train")
    few = dd.subset(dd.utt_ids[:4])
    write_datadir(few, root / "data")
    extract_features(root / "data", root / "feats", compute_cmvn=True)
    cfg = TrainConfig(exp_dir=str(root / "exp"), train_data=str(root / "data"), train_feats=str(root / "feats"),
                      dev_data=str(root / "data"), dev_feats=str(root / "feats"),
                      model=ModelConfig(hidden_size=128, num_layers=2, dropout=0.0),
                      epochs=110, lr=3e-3, warmup_steps=10, final_lr_ratio=0.1, num_threads=2,
                      # 110 tiny epochs: per-epoch side outputs would cost more than the training
                      plots=False, tensorboard=False, probe_memory=False, keep_last=1)
    result = train(cfg)
    return {"result": result, "data": root / "data", "texts": few.text, "model_dir": Path(result["model_dir"])}


@pytest.fixture(scope="session")
def stream_run(overfit_run, tmp_path_factory) -> dict:
    """A streaming model (an LC-BLSTM, asr.model.lc_blstm): the overfit model fine-tuned chunked.

    ``model_dir`` (chunks of 4 steps, 2 steps of right context), ``data`` and ``texts`` (its 4 memorized
    utterances)."""
    from asr.model.encoder import ModelConfig
    from asr.train.trainer import TrainConfig, train

    root = tmp_path_factory.mktemp("stream")
    data, feats = overfit_run["data"], overfit_run["data"].parent / "feats"
    cfg = TrainConfig(exp_dir=str(root / "exp"), train_data=str(data), train_feats=str(feats),
                      dev_data=str(data), dev_feats=str(feats), init_from=str(overfit_run["model_dir"]),
                      model=ModelConfig(hidden_size=128, num_layers=2, dropout=0.0, chunk_size=4, right_context=2,
                                        running_cmn=0),
                      epochs=40, lr=1e-3, warmup_steps=5, final_lr_ratio=0.1, num_threads=2,
                      plots=False, tensorboard=False, probe_memory=False, keep_last=1)
    result = train(cfg)
    return {"result": result, "data": data, "texts": overfit_run["texts"], "model_dir": Path(result["model_dir"])}


@pytest.fixture(scope="session")
def spoken_fox(tmp_path_factory) -> tuple[Path, str]:
    """``(wav, its text)``: a sentence in no split, spoken by an eSpeak voice (for the shipped models)."""
    from asr.data.synth import speak_to_file

    text = "the quick brown fox jumps over the lazy dog near the river bank"
    wav = tmp_path_factory.mktemp("spoken") / "fox.wav"
    speak_to_file(text, wav, voice="en-us+m3")
    return wav, text
