"""Training data: features from a FeatureStore, unit targets, length-bucketed batches.

A batch is a dict:
    feats         (B, T, F) float32, zero-padded
    feat_lens     (B,) int64
    targets       (sum of target lengths,) int64, concatenated
    target_lens   (B,) int64
    utts          list of B utterance ids
"""

from __future__ import annotations

import random

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from asr.features.store import FeatureStore
from asr.text.units import CharTokenizer


class CTCDataset(Dataset):
    """Utterances that have both features and a transcript, with their encoded targets."""

    def __init__(self, store: FeatureStore, texts: dict[str, str], tokenizer: CharTokenizer):
        self.store = store
        self.utts = [u for u in store.utt_ids if u in texts]
        self.targets = {u: tokenizer.encode(texts[u]) for u in self.utts}

    def __len__(self) -> int:
        return len(self.utts)

    def num_frames(self, i: int) -> int:
        return self.store.num_frames(self.utts[i])

    def __getitem__(self, i: int) -> tuple[str, np.ndarray, list[int]]:
        u = self.utts[i]
        return u, self.store[u], self.targets[u]


def ctc_min_frames(targets: list[int]) -> int:
    """Fewest CTC output frames that can emit ``targets``: one per label plus a blank between repeats."""
    return len(targets) + sum(1 for a, b in zip(targets, targets[1:], strict=False) if a == b)


def collate(items: list[tuple[str, np.ndarray, list[int]]]) -> dict:
    utts = [u for u, _, _ in items]
    lens = torch.tensor([f.shape[0] for _, f, _ in items], dtype=torch.long)
    feats = torch.zeros(len(items), int(lens.max()), items[0][1].shape[1])
    for i, (_, f, _) in enumerate(items):
        feats[i, : f.shape[0]] = torch.from_numpy(f)
    targets = torch.tensor([t for _, _, ts in items for t in ts], dtype=torch.long)
    target_lens = torch.tensor([len(ts) for _, _, ts in items], dtype=torch.long)
    return {"feats": feats, "feat_lens": lens, "targets": targets, "target_lens": target_lens, "utts": utts}


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar-length utterances holding at most ``max_frames`` padded frames each.

    Utterances are sorted by length (with a seeded shuffle of equal-ish lengths), cut into batches
    so that ``batch_size * longest <= max_frames``, and the batch order is shuffled per epoch.
    Deterministic for (seed, epoch). Sorting keeps padding (and packing work) small.
    """

    def __init__(self, lengths: list[int], max_frames: int, seed: int = 0, shuffle: bool = True,
                 max_batch_size: int = 512):
        self.lengths = lengths
        self.max_frames = max_frames
        self.seed = seed
        self.shuffle = shuffle
        self.max_batch_size = max_batch_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        rng = random.Random(self.seed * 100003 + self.epoch)
        # Jitter the sort key a little so batches differ between epochs.
        jitter = (lambda: rng.uniform(0.95, 1.05)) if self.shuffle else (lambda: 1.0)
        order = sorted(range(len(self.lengths)), key=lambda i: self.lengths[i] * jitter())
        batches, cur, longest = [], [], 0
        for i in order:
            n = max(longest, self.lengths[i])
            if cur and (n * (len(cur) + 1) > self.max_frames or len(cur) >= self.max_batch_size):
                batches.append(cur)
                cur, n = [], self.lengths[i]
            cur.append(i)
            longest = n
        if cur:
            batches.append(cur)
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def __iter__(self):
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self._batches())
