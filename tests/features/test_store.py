"""Sharded feature store: round trip, atomicity, damage detection, old layout, lazy maps in DataLoader workers."""

import json
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from asr.features.config import FeatureConfig
from asr.features.store import (
    CONFIG_FILE,
    INDEX_FILE,
    FeatureStore,
    ShardWriter,
    read_manifest,
    shard_paths,
    write_index,
)
from asr.train.batching import BucketBatchSampler, CTCDataset, collate


def _write_shards(d, utts_per_shard, dtype="float16"):
    cfg, rng, feats, manifests = FeatureConfig(n_mels=8), np.random.default_rng(0), {}, []
    for s, utts in enumerate(utts_per_shard):
        w = ShardWriter(d, s, len(utts_per_shard), cfg, dtype)
        for u in utts:
            feats[u] = rng.normal(size=(int(rng.integers(1, 30)), 8)).astype(np.float32)
            w.add(u, feats[u])
        manifests.append(w.close())
    write_index(d, manifests)
    return feats


def test_sharded_roundtrip_float32_exact_and_float16_close(tmp_path):
    for dtype, atol in (("float32", 0), ("float16", 1e-2)):
        feats = _write_shards(tmp_path / dtype, [["c", "a"], [], ["b", "d", "e"]], dtype)
        store = FeatureStore(tmp_path / dtype)
        assert store.utt_ids == ["a", "b", "c", "d", "e"] and store.num_shards == 3 and "a" in store
        assert store.location("d") == (2, feats["b"].shape[0], feats["d"].shape[0])
        for u, f in feats.items():
            assert store.num_frames(u) == f.shape[0] and store[u].dtype == np.float32
            np.testing.assert_allclose(store[u], f, atol=atol, rtol=atol)


def test_unfinished_shard_never_reads_as_valid(tmp_path):
    _write_shards(tmp_path, [["a"], ["b"]])
    data, manifest = shard_paths(tmp_path, 1, 2)
    # A writer killed mid-shard: its data went to a temporary file, the manifest and index were removed first.
    w = ShardWriter(tmp_path, 1, 2, FeatureConfig(n_mels=8))
    w.add("b", np.ones((5, 8), np.float32))
    w._f.flush()  # simulate SIGKILL: no close, no abort
    assert not manifest.exists() and not (tmp_path / INDEX_FILE).exists()
    assert read_manifest(tmp_path, 1, 2) is None and read_manifest(tmp_path, 0, 2) is not None
    with pytest.raises(FileNotFoundError, match="did not finish"):
        FeatureStore(tmp_path)
    assert list(tmp_path.glob("shards/*.tmp.*"))  # only a temporary file holds the partial data


def test_truncated_shard_is_detected(tmp_path):
    _write_shards(tmp_path, [["a", "b"], ["c"]])
    data, _ = shard_paths(tmp_path, 0, 2)
    data.write_bytes(data.read_bytes()[:-16])
    assert read_manifest(tmp_path, 0, 2) is None
    with pytest.raises(ValueError, match="damaged"):
        FeatureStore(tmp_path)


def test_unsharded_store_of_earlier_versions_still_reads(tmp_path):
    a, b = np.arange(16, dtype=np.float16).reshape(2, 8), np.ones((3, 8), np.float16)
    (tmp_path / "feats.f16").write_bytes(a.tobytes() + b.tobytes())
    (tmp_path / INDEX_FILE).write_text("a 0 2\nb 2 3\n")
    cfg = {k: v for k, v in FeatureConfig(n_mels=8).__dict__.items() if k not in ("backend", "utt_norm")}
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"feature": cfg, "dtype": "float16", "dim": 8}))
    store = FeatureStore(tmp_path)
    assert store.cfg.backend == "torchaudio" and store.num_frames("b") == 3
    np.testing.assert_array_equal(store["a"], a.astype(np.float32))


def test_store_maps_lazily_and_pickles_without_data(tiny_feats):
    store = FeatureStore(tiny_feats / "train")
    assert not store._maps  # nothing mapped until read
    store[store.utt_ids[0]]
    assert store._maps
    clone = pickle.loads(pickle.dumps(store))
    assert not clone._maps and len(pickle.dumps(store)) < 100_000  # the index only, never the frames
    np.testing.assert_array_equal(clone[store.utt_ids[1]], store[store.utt_ids[1]])


@pytest.mark.filterwarnings("ignore:.*pin_memory.*:UserWarning")  # pinning is a no-op without a GPU
def test_loader_with_workers_and_pinned_memory_gives_the_same_batches(tiny_corpus, tiny_feats):
    from asr.data.datadir import read_datadir
    from asr.text.units import CharTokenizer

    store = FeatureStore(tiny_feats / "train")
    ds = CTCDataset(store, read_datadir(tiny_corpus / "train").text, CharTokenizer())
    sampler = BucketBatchSampler([ds.num_frames(i) for i in range(len(ds))], 3000, seed=1)

    def batches(workers):
        return list(DataLoader(ds, batch_sampler=sampler, collate_fn=collate, num_workers=workers, pin_memory=True,
                               prefetch_factor=2 if workers else None))

    many = batches(2)
    assert not store._maps  # the workers mapped the shards themselves
    one = batches(0)
    assert len(one) == len(many) > 1
    for x, y in zip(one, many, strict=True):
        assert x["utts"] == y["utts"]
        assert torch.equal(x["feats"], y["feats"]) and torch.equal(x["targets"], y["targets"])
