"""Global cepstral mean and variance normalization statistics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

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
        x = feats.astype(np.float64)
        mean_b = x.mean(axis=0)
        m2_b = ((x - mean_b) ** 2).sum(axis=0)
        self.merge_moments(n, mean_b, m2_b)

    def merge_moments(self, n_b: int, mean_b: np.ndarray, m2_b: np.ndarray) -> None:
        n_a = self.count
        n = n_a + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta**2 * (n_a * n_b / n)
        self.count = n

    def merge(self, other: CMVNStats) -> None:
        if other.count:
            self.merge_moments(other.count, other.mean, other.m2)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.m2 / max(self.count, 1), 1e-10))

    def save(self, path: str | os.PathLike) -> None:
        data = {"count": self.count, "mean": self.mean.tolist(), "std": self.std.tolist()}
        tmp = Path(str(path) + ".tmp")
        tmp.write_text(json.dumps(data) + "\n")
        os.replace(tmp, path)


def load_cmvn(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(mean (F,), std (F,))`` float32 from a saved cmvn.json."""
    data = json.loads(Path(path).read_text())
    return np.asarray(data["mean"], dtype=np.float32), np.asarray(data["std"], dtype=np.float32)
