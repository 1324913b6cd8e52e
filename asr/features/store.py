"""On-disk feature store: frames of all utterances of a split in one memory-mapped file.

Layout of a store directory::

    feats.f16          raw float16 (or float32) frames, utterances back to back, shape (total_frames, F)
    index.tsv          <utt> <offset> <frames> per line, offset in frames
    feature_config.json  the FeatureConfig used, plus dtype and dim

``index.tsv`` is written last and atomically, so a store without it is incomplete and never read.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from asr.features.logmel import FeatureConfig

FRAMES_FILE = "feats.f16"
INDEX_FILE = "index.tsv"
CONFIG_FILE = "feature_config.json"


class FeatureStoreWriter:
    """Append utterances one at a time; nothing is visible under the final names until ``close``."""

    def __init__(self, directory: str | os.PathLike, cfg: FeatureConfig, dtype: str = "float16"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cfg = cfg
        self.dtype = np.dtype(dtype)
        self._frames_tmp = self.dir / (FRAMES_FILE + ".tmp")
        self._f = open(self._frames_tmp, "wb")
        self._index: list[tuple[str, int, int]] = []
        self._offset = 0

    def add(self, utt: str, feats: np.ndarray) -> None:
        """Append ``feats (T, F)`` for ``utt``."""
        if feats.ndim != 2 or feats.shape[1] != self.cfg.n_mels:
            raise ValueError(f"{utt}: expected (T, {self.cfg.n_mels}) features, got {feats.shape}")
        self._f.write(np.ascontiguousarray(feats, dtype=self.dtype).tobytes())
        self._index.append((utt, self._offset, feats.shape[0]))
        self._offset += feats.shape[0]

    def close(self) -> Path:
        self._f.close()
        os.replace(self._frames_tmp, self.dir / FRAMES_FILE)
        meta = {"feature": asdict(self.cfg), "dtype": self.dtype.name, "dim": self.cfg.n_mels}
        (self.dir / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        tmp = self.dir / (INDEX_FILE + ".tmp")
        with open(tmp, "w") as f:
            for utt, off, n in sorted(self._index):
                f.write(f"{utt} {off} {n}\n")
        os.replace(tmp, self.dir / INDEX_FILE)
        return self.dir


class FeatureStore:
    """Read-only view of a store: ``store[utt] -> np.ndarray (T, F)`` float32, via memory map."""

    def __init__(self, directory: str | os.PathLike):
        self.dir = Path(directory)
        if not (self.dir / INDEX_FILE).is_file():
            raise FileNotFoundError(f"{self.dir}: no {INDEX_FILE}; feature extraction did not finish here")
        meta = json.loads((self.dir / CONFIG_FILE).read_text())
        self.cfg = FeatureConfig(**meta["feature"])
        self.dim = int(meta["dim"])
        self.index: dict[str, tuple[int, int]] = {}
        with open(self.dir / INDEX_FILE) as f:
            for line in f:
                utt, off, n = line.split()
                self.index[utt] = (int(off), int(n))
        total = sum(n for _, n in self.index.values())
        self._frames = np.memmap(self.dir / FRAMES_FILE, dtype=meta["dtype"], mode="r", shape=(total, self.dim))

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, utt: str) -> bool:
        return utt in self.index

    def __getitem__(self, utt: str) -> np.ndarray:
        off, n = self.index[utt]
        return np.asarray(self._frames[off : off + n], dtype=np.float32)

    def num_frames(self, utt: str) -> int:
        return self.index[utt][1]

    @property
    def utt_ids(self) -> list[str]:
        return sorted(self.index)
