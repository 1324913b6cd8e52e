"""On-disk feature store: frames in N memory-mapped shard files, an index, and a per-shard manifest.

Layout of a store directory::

    shards/00003-of-00016.feats   raw float16 (or float32) frames of shard 3, utterances back to back, (frames, F)
    shards/00003-of-00016.json    manifest of shard 3: its utterances (offset, frames), skipped files,
                                  CMVN moments, and the key of what it was computed from
    index.tsv                     <utt> <shard> <offset> <frames> per line (offset in frames, within the shard)
    feature_config.json           the FeatureConfig, dtype, dim and number of shards

A shard is complete only when its manifest exists: the data file is written under a temporary name,
flushed to disk and renamed, and only then is the manifest written (atomically, by rename) -- so a
killed extraction leaves at most a temporary file or a data file without a manifest, and neither
reads as valid. ``index.tsv`` is written last of all, after every shard is complete; a store without it
is incomplete and never read. Reading checks each shard's size against the index.

Stores written before sharding (``feats.f16`` + ``<utt> <offset> <frames>`` index) still read.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from asr.features.config import FeatureConfig
from asr.io import InputError, atomic_write_text, read_text

FORMAT = 2
SHARD_DIR = "shards"
INDEX_FILE = "index.tsv"
CONFIG_FILE = "feature_config.json"
LEGACY_FRAMES_FILE = "feats.f16"
DTYPES = ("float16", "float32")
UTTS_PER_SHARD = 2000  # default shard size: small enough to resume cheaply, large enough to keep files few


def shard_name(shard: int, num_shards: int) -> str:
    return f"{shard:05d}-of-{num_shards:05d}"


def shard_paths(directory: str | os.PathLike, shard: int, num_shards: int) -> tuple[Path, Path]:
    """``(data file, manifest)`` of one shard."""
    base = Path(directory) / SHARD_DIR / shard_name(shard, num_shards)
    return base.with_suffix(".feats"), base.with_suffix(".json")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ShardWriter:
    """Append the utterances of one shard; nothing of it is valid until ``close`` returns.

    Opening a writer first removes this shard's manifest and the store's ``index.tsv``: the store is
    incomplete from then on until the shards are merged again.
    """

    def __init__(self, directory: str | os.PathLike, shard: int, num_shards: int, cfg: FeatureConfig,
                 dtype: str = "float16"):
        if dtype not in DTYPES:
            raise ValueError(f"store dtype must be one of {DTYPES}, got {dtype!r}")
        if not 0 <= shard < num_shards:
            raise ValueError(f"shard {shard} is not in [0, {num_shards})")
        self.dir = Path(directory)
        (self.dir / SHARD_DIR).mkdir(parents=True, exist_ok=True)
        self.shard, self.num_shards, self.cfg, self.dtype = shard, num_shards, cfg, np.dtype(dtype)
        self.data_path, self.manifest_path = shard_paths(self.dir, shard, num_shards)
        (self.dir / INDEX_FILE).unlink(missing_ok=True)
        self.manifest_path.unlink(missing_ok=True)
        # Not asr.io.atomic_path: the file stays open across add() calls until close() or abort().
        self._tmp = self.data_path.with_name(f"{self.data_path.name}.tmp.{os.getpid()}")
        self._f = open(self._tmp, "wb")
        self.utts: list[tuple[str, int, int]] = []  # (utt, offset, frames)
        self.frames = 0

    def add(self, utt: str, feats: np.ndarray) -> None:
        """Append ``feats (T, F)`` for ``utt``."""
        if feats.ndim != 2 or feats.shape[1] != self.cfg.n_mels:
            raise ValueError(f"{utt}: expected (T, {self.cfg.n_mels}) features, got {feats.shape}")
        self._f.write(np.ascontiguousarray(feats, dtype=self.dtype).tobytes())
        self.utts.append((utt, self.frames, feats.shape[0]))
        self.frames += feats.shape[0]

    def close(self, extra: dict | None = None) -> dict:
        """Make the shard valid: data file first (flushed, renamed), then the manifest. Returns the manifest."""
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        os.replace(self._tmp, self.data_path)
        manifest = {"format": FORMAT, "shard": self.shard, "num_shards": self.num_shards,
                    "feature": asdict(self.cfg), "dtype": self.dtype.name, "dim": self.cfg.n_mels,
                    "frames": self.frames, "utts": self.utts, **(extra or {})}
        atomic_write_text(self.manifest_path, json.dumps(manifest) + "\n", fsync=True)
        _fsync_dir(self.manifest_path.parent)
        return manifest

    def abort(self) -> None:
        """Drop what was written (after an error): the shard stays invalid."""
        self._f.close()
        self._tmp.unlink(missing_ok=True)


def read_manifest(directory: str | os.PathLike, shard: int, num_shards: int) -> dict | None:
    """The manifest of a complete shard, or None if the shard is missing, unfinished or damaged."""
    data_path, manifest_path = shard_paths(directory, shard, num_shards)
    try:
        m = json.loads(manifest_path.read_text())
        expected = int(m["frames"]) * int(m["dim"]) * np.dtype(m["dtype"]).itemsize
        if m.get("format") != FORMAT or data_path.stat().st_size != expected:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return m


def write_index(directory: str | os.PathLike, manifests: list[dict]) -> Path:
    """Write ``feature_config.json`` and then ``index.tsv`` (atomically, last) from complete shards' manifests."""
    d = Path(directory)
    first = manifests[0]
    meta = {"format": FORMAT, "feature": first["feature"], "dtype": first["dtype"], "dim": first["dim"],
            "num_shards": first["num_shards"]}
    atomic_write_text(d / CONFIG_FILE, json.dumps(meta, indent=2) + "\n", fsync=True)
    rows = sorted((u, m["shard"], off, n) for m in manifests for u, off, n in m["utts"])
    index = "".join(f"{u} {s} {off} {n}\n" for u, s, off, n in rows)
    atomic_write_text(d / INDEX_FILE, index, fsync=True)
    return d / INDEX_FILE


class FeatureStoreWriter:
    """A one-shard store written utterance by utterance; nothing is readable until ``close``."""

    def __init__(self, directory: str | os.PathLike, cfg: FeatureConfig, dtype: str = "float16"):
        self.dir = Path(directory)
        self.cfg = cfg
        self._shard = ShardWriter(self.dir, 0, 1, cfg, dtype)

    def add(self, utt: str, feats: np.ndarray) -> None:
        self._shard.add(utt, feats)

    def close(self) -> Path:
        write_index(self.dir, [self._shard.close()])
        return self.dir


class FeatureStore:
    """Read-only view of a store: ``store[utt] -> np.ndarray (T, F)`` float32, via memory maps.

    Shard files are mapped lazily, on first access, and never pickled: a DataLoader worker (fork or
    spawn) gets the index and maps the shards itself.
    """

    def __init__(self, directory: str | os.PathLike):
        self.dir = Path(directory)
        if not (self.dir / INDEX_FILE).is_file():
            raise FileNotFoundError(f"{self.dir}: no {INDEX_FILE}; feature extraction did not finish here")
        try:
            meta = json.loads(read_text(self.dir / CONFIG_FILE))
            self.cfg = FeatureConfig(**meta["feature"])
            self.dim = int(meta["dim"])
            self.dtype = np.dtype(meta["dtype"])
            self.num_shards = int(meta.get("num_shards", 1))
        except (ValueError, TypeError, KeyError) as e:  # hand-edited or from another tool: name the file
            raise InputError(f"{self.dir / CONFIG_FILE}: not a feature store configuration ({type(e).__name__}: "
                             f"{e}); recompute the store with `asr features`") from None
        self._legacy = "num_shards" not in meta
        utts, shards, offsets, frames = [], [], [], []
        with open(self.dir / INDEX_FILE) as f:
            for line in f:
                parts = line.split()
                if self._legacy:
                    parts.insert(1, "0")
                utts.append(parts[0])
                shards.append(int(parts[1]))
                offsets.append(int(parts[2]))
                frames.append(int(parts[3]))
        # Arrays, not a dict of tuples: compact, and cheap to share with forked workers.
        self._row = {u: i for i, u in enumerate(utts)}
        self._utts = utts
        self._shard = np.asarray(shards, dtype=np.int32)
        self._offset = np.asarray(offsets, dtype=np.int64)
        self._frames = np.asarray(frames, dtype=np.int64)
        self._shard_frames = np.bincount(self._shard, weights=self._frames, minlength=self.num_shards).astype(np.int64)
        for s in range(self.num_shards):
            path = self._shard_path(s)
            expected = int(self._shard_frames[s]) * self.dim * self.dtype.itemsize
            size = path.stat().st_size if path.is_file() else -1
            if size != expected:
                raise ValueError(f"{path}: {size} bytes, the index says {expected}; the store is damaged")
        self._maps: dict[int, np.memmap] = {}

    def _shard_path(self, shard: int) -> Path:
        if self._legacy:
            return self.dir / LEGACY_FRAMES_FILE
        return shard_paths(self.dir, shard, self.num_shards)[0]

    def _map(self, shard: int) -> np.ndarray:
        m = self._maps.get(shard)
        if m is None:
            n = int(self._shard_frames[shard])
            if n == 0:  # np.memmap refuses empty files
                m = np.zeros((0, self.dim), dtype=self.dtype)
            else:
                m = np.memmap(self._shard_path(shard), dtype=self.dtype, mode="r", shape=(n, self.dim))
            self._maps[shard] = m
        return m

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_maps"] = {}  # a pickled memmap would be a full copy of the data
        return state

    def __len__(self) -> int:
        return len(self._utts)

    def __contains__(self, utt: str) -> bool:
        return utt in self._row

    def __getitem__(self, utt: str) -> np.ndarray:
        i = self._row[utt]
        off, n = int(self._offset[i]), int(self._frames[i])
        return np.asarray(self._map(int(self._shard[i]))[off : off + n], dtype=np.float32)

    def num_frames(self, utt: str) -> int:
        return int(self._frames[self._row[utt]])

    def location(self, utt: str) -> tuple[int, int, int]:
        """``(shard, offset, frames)`` of ``utt``."""
        i = self._row[utt]
        return int(self._shard[i]), int(self._offset[i]), int(self._frames[i])

    @property
    def utt_ids(self) -> list[str]:
        return sorted(self._utts)
