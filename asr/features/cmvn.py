"""Global cepstral mean and variance normalization statistics, mergeable across shards and machines.

Each shard's manifest keeps its exact moments (count, mean, M2); ``asr features-merge`` combines them
with the same parallel update, so the global statistics do not depend on how the data was sharded.
"""

from __future__ import annotations

import json
import os

import numpy as np

from asr.io import InputError, atomic_write_text, read_text

CMVN_FILE = "cmvn.json"


class CMVNStats:
    """Per-dimension mean/variance accumulated over utterances.

    Each utterance's statistics are merged with Chan et al.'s parallel update, which stays
    accurate over hundreds of millions of frames where sum/sum-of-squares in float32 would not.
    """

    def __init__(self, dim: int):
        self.count = 0
        self.mean = np.zeros(dim, dtype=np.float64)
        self.m2 = np.zeros(dim, dtype=np.float64)

    def update(self, feats: np.ndarray) -> None:
        """Add frames ``(T, F)``."""
        n = feats.shape[0]
        if n == 0:
            return
        # float64 accumulation; the per-frame deviations of one utterance are exact enough in float32.
        x = feats if feats.dtype in (np.float32, np.float64) else feats.astype(np.float32)
        mean_b = x.mean(axis=0, dtype=np.float64)
        m2_b = np.square(x - mean_b.astype(x.dtype)).sum(axis=0, dtype=np.float64)
        self.merge_moments(n, mean_b, m2_b)

    def merge_moments(self, n_b: int, mean_b: np.ndarray, m2_b: np.ndarray) -> None:
        """Chan et al.: add ``n_b`` frames of mean ``mean_b`` and sum of squared deviations ``m2_b``."""
        if n_b == 0:
            return
        n_a = self.count
        n = n_a + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta**2 * (n_a * n_b / n)
        self.count = n

    def merge(self, other: CMVNStats) -> None:
        if other.count:
            self.merge_moments(other.count, other.mean, other.m2)

    def to_dict(self) -> dict:
        """Exact moments (JSON-able), for a shard manifest."""
        return {"count": self.count, "mean": self.mean.tolist(), "m2": self.m2.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> CMVNStats:
        stats = cls(len(data["mean"]))
        stats.count = int(data["count"])
        stats.mean = np.asarray(data["mean"], dtype=np.float64)
        stats.m2 = np.asarray(data["m2"], dtype=np.float64)
        return stats

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.m2 / max(self.count, 1), 1e-10))

    def save(self, path: str | os.PathLike) -> None:
        data = {"count": self.count, "mean": self.mean.tolist(), "std": self.std.tolist()}
        atomic_write_text(path, json.dumps(data) + "\n")


def load_cmvn(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(mean (F,), std (F,))`` float32 from a saved cmvn.json."""
    try:
        data = json.loads(read_text(path))
        mean, std = np.asarray(data["mean"], dtype=np.float32), np.asarray(data["std"], dtype=np.float32)
    except (ValueError, TypeError, KeyError) as e:  # hand-edited or truncated: name the file
        raise InputError(f"{path}: not CMVN statistics ({type(e).__name__}: {e}); recompute them with "
                         "`asr features --cmvn`") from None
    if mean.shape != std.shape or mean.ndim != 1 or not (np.isfinite(mean).all() and (std > 0).all()):
        raise InputError(f"{path}: mean and std must be equal-length vectors, finite, std > 0")
    return mean, std
