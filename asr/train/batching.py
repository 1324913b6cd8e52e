"""Training data: features from a FeatureStore (or audio, for on-the-fly features), targets, bucketed batches.

A batch is a dict:
    feats         (B, T, F) float32, zero-padded
    feat_lens     (B,) int64
    targets       (sum of target lengths,) int64, concatenated
    target_lens   (B,) int64
    utts          list of B utterance ids
From an AudioSource (asr.features.onthefly) ``feats``/``feat_lens`` are instead ``wave (B, N)``/``wave_lens (B,)``,
turned into features on the training device by the loader wrapper ``asr.features.onthefly.with_features``.
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
    if items[0][1].ndim == 1:  # waveforms from an AudioSource (on-the-fly features)
        return collate_waves(items)
    utts = [u for u, _, _ in items]
    lens = torch.tensor([f.shape[0] for _, f, _ in items], dtype=torch.long)
    feats = torch.zeros(len(items), int(lens.max()), items[0][1].shape[1])
    for i, (_, f, _) in enumerate(items):
        feats[i, : f.shape[0]] = torch.from_numpy(f)
    targets = torch.tensor([t for _, _, ts in items for t in ts], dtype=torch.long)
    target_lens = torch.tensor([len(ts) for _, _, ts in items], dtype=torch.long)
    return {"feats": feats, "feat_lens": lens, "targets": targets, "target_lens": target_lens, "utts": utts}


def collate_waves(items: list[tuple[str, np.ndarray, list[int]]]) -> dict:
    """Waveform items -> ``wave (B, N)`` float32 zero-padded, ``wave_lens (B,)``, targets as in ``collate``.

    The features are computed later, on the training device (asr.features.onthefly.BatchFeaturizer).
    """
    lens = torch.tensor([w.shape[0] for _, w, _ in items], dtype=torch.long)
    wave = torch.zeros(len(items), int(lens.max()))
    for i, (_, w, _) in enumerate(items):
        wave[i, : w.shape[0]] = torch.from_numpy(w)
    targets = torch.tensor([t for _, _, ts in items for t in ts], dtype=torch.long)
    target_lens = torch.tensor([len(ts) for _, _, ts in items], dtype=torch.long)
    return {"wave": wave, "wave_lens": lens, "targets": targets, "target_lens": target_lens,
            "utts": [u for u, _, _ in items]}


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar-length utterances holding at most ``max_frames`` padded frames per rank.

    Utterances are sorted by length (with a seeded jitter so batches differ between epochs) and cut
    into *global* batches, one per optimizer step, whose order is shuffled per epoch. Rank ``r`` of
    ``world_size`` takes ``global_batch[r::world_size]``: every rank gets the same number of batches
    (DistributedDataParallel needs that), the ranks' batches are disjoint, and the strided split
    gives each rank utterances of about the same length. A global batch of ``n`` utterances whose
    longest has ``L`` frames satisfies ``ceil(n / world_size) * L <= max_frames`` (so no rank exceeds
    ``max_frames`` padded frames) and ``ceil(n / world_size) <= max_batch_size``; with one rank these
    are the single-process rules. Everything is deterministic for ``(seed, epoch)`` and the same on
    all ranks, so no communication is needed to agree on the batches or on their global sizes.

    ``set_epoch(epoch, start_batch)`` skips the first ``start_batch`` batches (resuming mid-epoch).
    Epochs ``1..sorted_epochs`` keep the batches in increasing length (SortaGrad): short utterances
    first make CTC's early training more stable and faster.
    """

    def __init__(self, lengths: list[int], max_frames: int, seed: int = 0, shuffle: bool = True,
                 max_batch_size: int = 512, rank: int = 0, world_size: int = 1, sorted_epochs: int = 0):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        if 0 < len(lengths) < world_size:
            raise ValueError(f"{len(lengths)} utterances cannot be split over {world_size} ranks")
        self.lengths = lengths
        self.max_frames = max_frames
        self.seed = seed
        self.shuffle = shuffle
        self.max_batch_size = max_batch_size
        self.rank = rank
        self.world_size = world_size
        self.sorted_epochs = sorted_epochs  # epochs 1..N keep batches shortest-first (SortaGrad)
        self.epoch = 0
        self.start_batch = 0
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch = epoch
        self.start_batch = start_batch

    def global_batches(self) -> list[list[int]]:
        """All global batches of the current epoch, in training order (cached: sorting 1M lengths takes a second)."""
        if self._cache is None or self._cache[0] != self.epoch:
            self._cache = (self.epoch, self._make_batches())
        return self._cache[1]

    def _make_batches(self) -> list[list[int]]:
        w = self.world_size
        if not self.lengths:
            return []
        rng = random.Random(self.seed * 100003 + self.epoch)
        # Jitter the sort key a little so batches differ between epochs.
        jitter = (lambda: rng.uniform(0.95, 1.05)) if self.shuffle else (lambda: 1.0)
        order = sorted(range(len(self.lengths)), key=lambda i: self.lengths[i] * jitter())
        batches, cur, longest = [], [], 0
        for i in order:
            n = max(longest, self.lengths[i])
            per_rank = -(-(len(cur) + 1) // w)  # utterances of the busiest rank if i joins
            # A batch is closed only once every rank has an utterance in it.
            if len(cur) >= w and (n * per_rank > self.max_frames or per_rank > self.max_batch_size):
                batches.append(cur)
                cur, n = [], self.lengths[i]
            cur.append(i)
            longest = n
        if len(cur) >= w or not batches:
            batches.append(cur)
        else:  # fewer leftovers than ranks: the longest utterances join the previous batch (one more each)
            batches[-1].extend(cur)
        if self.shuffle and self.epoch > self.sorted_epochs:
            rng.shuffle(batches)
        return batches

    def local_batch(self, global_batch: list[int]) -> list[int]:
        return global_batch[self.rank :: self.world_size]

    @property
    def num_batches(self) -> int:
        """Batches (optimizer steps) in the whole current epoch."""
        return len(self.global_batches())

    def global_sizes(self) -> list[int]:
        """Utterances in each remaining global batch, in the order ``__iter__`` yields this rank's parts."""
        return [len(b) for b in self.global_batches()[self.start_batch :]]

    def __iter__(self):
        for b in self.global_batches()[self.start_batch :]:
            yield self.local_batch(b)

    def __len__(self) -> int:
        """Batches left in the current epoch (after ``start_batch``)."""
        return self.num_batches - self.start_batch
