import json

import pytest
import yaml

from asr.cli import main as asr_main
from asr.features.config import FeatureConfig
from asr.train.batching import BucketBatchSampler, ctc_min_frames
from asr.train.trainer import TrainConfig, check_feature_config


def test_bucket_sampler_respects_max_frames_and_is_deterministic():
    lengths = [(i * 37) % 500 + 20 for i in range(300)]
    s = BucketBatchSampler(lengths, max_frames=2000, seed=3)
    s.set_epoch(1)
    batches = list(s)
    assert sorted(i for b in batches for i in b) == list(range(300))
    assert all(len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 2000 for b in batches)
    s2 = BucketBatchSampler(lengths, max_frames=2000, seed=3)
    s2.set_epoch(1)
    assert list(s2) == batches
    s2.set_epoch(2)
    assert list(s2) != batches


def test_ctc_min_frames_counts_repeats():
    assert ctc_min_frames([1, 2, 3]) == 3
    assert ctc_min_frames([5, 5, 5]) == 5  # l-l-l needs blanks between repeats


def test_small_training_run_loss_falls(tiny_corpus, tiny_feats, tmp_path):
    exp = tmp_path / "exp"
    rc = asr_main(["train", "--config", "recipes/synth/conf/train.yaml", f"exp_dir={exp}",
                   f"train_data={tiny_corpus / 'train'}", f"train_feats={tiny_feats / 'train'}",
                   f"dev_data={tiny_corpus / 'dev'}", f"dev_feats={tiny_feats / 'dev'}",
                   "epochs=4", "model.hidden_size=64", "model.num_layers=2", "max_frames=2500",
                   "warmup_steps=5", "lr=3e-3"])
    assert rc == 0
    resolved = yaml.safe_load((exp / "train_config.yaml").read_text())
    assert resolved["epochs"] == 4 and resolved["model"]["hidden_size"] == 64 and resolved["model"]["vocab_size"] == 29
    history = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    assert len(history) == 4
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert history[-1]["dev_loss"] < history[0]["dev_loss"]
    assert all((exp / f"epoch-{e}.pt").is_file() for e in range(1, 5))
    assert (exp / "model" / "model.safetensors").is_file()


def test_unknown_config_key_is_a_clear_error(tmp_path, caplog):
    assert asr_main(["train", f"exp_dir={tmp_path}", "model.hiden_size=3"]) == 1
    assert "unknown key(s) ['hiden_size']" in caplog.text


@pytest.mark.parametrize("bad", ["epochs", "model=3"])
def test_malformed_override(bad, caplog):
    assert asr_main(["train", bad]) == 1


def test_overfit_reaches_zero_wer(overfit_run):
    history = overfit_run["result"]["history"]
    assert history[-1]["train_loss"] < 0.1 * history[0]["train_loss"]
    assert overfit_run["result"]["best_dev_wer"] <= 0.03


def test_feature_config_that_stored_features_cannot_honour_is_an_error():
    store = FeatureConfig(n_mels=40)
    check_feature_config(TrainConfig(), store)  # left at its defaults: the store's features are used
    check_feature_config(TrainConfig(feature_config=FeatureConfig(n_mels=40)), store)  # the same as the store's
    check_feature_config(TrainConfig(features="on_the_fly", feature_config=FeatureConfig(hop_ms=5.0)), store)
    with pytest.raises(ValueError, match=r"feature_config.hop_ms=5.0 \(store: 10.0\).*features=stored"):
        check_feature_config(TrainConfig(feature_config=FeatureConfig(n_mels=40, hop_ms=5.0)), store)


def test_train_refuses_a_feature_config_the_store_was_not_made_with(small_run_args, tmp_path, caplog):
    assert asr_main(["train", *small_run_args(tmp_path / "exp", "feature_config.utt_norm=mean")]) == 1
    assert "feature_config.utt_norm='mean' (store: 'none')" in caplog.text
    assert not (tmp_path / "exp" / "epoch-1.pt").exists()
