"""Feature extraction for a data directory into a sharded FeatureStore, plus CMVN statistics.

Utterances go to shards by a hash of their id (so adding or removing utterances changes only the
shards they fall in). Each shard is computed by one process and written straight to its own file:

    asr features DATA OUT --nj 8                  # all shards, 8 processes, then merge
    asr features DATA OUT --shard 3/16            # shard 3 of 16 only (a Slurm array task, 0-based)
    asr features-merge OUT --cmvn                 # after all array tasks: index.tsv, cmvn.json, skipped.txt

A shard whose manifest records the same configuration, dtype and audio files (path, size, mtime)
is skipped on a rerun, so a killed run resumes where it stopped. Bad audio (unreadable, empty,
non-finite, shorter than one frame) is skipped, counted and named in ``skipped.txt``; audio at
another sample rate is resampled and reported once per run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing as mp
import os
import time
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from asr.data.audio import AudioError, read_audio, resample
from asr.data.datadir import read_datadir
from asr.features.cmvn import CMVN_FILE, CMVNStats
from asr.features.config import FeatureConfig
from asr.features.logmel import make_feature_extractor
from asr.features.store import (
    CONFIG_FILE,
    DTYPES,
    LEGACY_FRAMES_FILE,
    SHARD_DIR,
    UTTS_PER_SHARD,
    ShardWriter,
    read_manifest,
    shard_paths,
    write_index,
)

log = logging.getLogger(__name__)

SKIPPED_FILE = "skipped.txt"


@dataclass
class ExtractResult:
    num_done: int = 0  # utterances in the store (or in the shard, with --shard)
    num_frames: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # utt -> reason
    num_shards: int = 0
    shards_computed: list[int] = field(default_factory=list)
    shards_reused: list[int] = field(default_factory=list)
    resampled: dict[int, int] = field(default_factory=dict)  # original sample rate -> files
    audio_seconds: float = 0.0  # of the audio computed in this run
    merged: bool = False


def shard_of(utt: str, num_shards: int) -> int:
    """Shard of an utterance: a stable hash (crc32) of its id, not its position in the list."""
    return zlib.crc32(utt.encode("utf-8")) % num_shards


def _file_id(path: str) -> list:
    try:
        st = os.stat(path)
        return [st.st_size, st.st_mtime_ns]
    except OSError:
        return []


# One utterance to compute: (utt, audio path, start s, end s or None); a whole file is (utt, path, 0.0, None).
Job = tuple[str, str, float, float | None]


def shard_key(cfg: FeatureConfig, dtype: str, jobs: list[Job]) -> str:
    """What a shard was computed from: configuration, dtype, and each utterance's audio file (path, size,
    mtime) and, for a segment of a recording, its span."""
    h = hashlib.sha1(json.dumps({"feature": asdict(cfg), "dtype": dtype}, sort_keys=True).encode())
    for utt, path, start, end in jobs:
        span = [start, end] if start or end is not None else []  # whole files: the key stores had before
        h.update(json.dumps([utt, path, _file_id(path), *span]).encode())
    return h.hexdigest()


def existing_num_shards(out_dir: str | os.PathLike) -> int | None:
    """Number of shards of a (possibly unfinished) sharded store at ``out_dir``, if there is one."""
    out = Path(out_dir)
    try:
        n = json.loads((out / CONFIG_FILE).read_text()).get("num_shards")
        if n:
            return int(n)
    except (OSError, ValueError):
        pass
    counts = Counter(int(p.stem.split("-of-")[1]) for p in (out / SHARD_DIR).glob("*-of-*.json"))
    return counts.most_common(1)[0][0] if counts else None


def default_num_shards(out_dir: str | os.PathLike, num_utts: int, nj: int) -> int:
    """The store's existing shard count (so a rerun with another ``--nj`` reuses its shards), else a
    multiple of ``nj`` with about ``UTTS_PER_SHARD`` utterances per shard."""
    return existing_num_shards(out_dir) or nj * max(1, math.ceil(num_utts / (UTTS_PER_SHARD * nj)))


def _read_wave(path: str, cfg: FeatureConfig, start: float = 0.0, end: float | None = None,
               ) -> tuple[np.ndarray, int]:
    """``(waveform (N,) at cfg.sample_rate, the file's own rate)``; AudioError for anything unusable
    (a few NaN/inf samples are repaired and logged, asr.data.audio.read_audio)."""
    wave, rate = read_audio(path, start, end)
    wave = resample(wave, rate, cfg.sample_rate)
    if cfg.num_frames(len(wave)) == 0:
        raise AudioError(f"{path}: {len(wave)} samples is shorter than one {cfg.frame_samples}-sample frame")
    return wave, rate


def extract_shard(out_dir: str | os.PathLike, shard: int, num_shards: int, jobs: list[Job],
                  cfg: FeatureConfig, dtype: str, key: str, on_utt=None) -> dict:
    """Compute one shard's features into its file and return its manifest.

    One utterance at a time: on the CPU a batched STFT is slower than per-utterance calls (cache),
    measured in bench/features.py. ``on_utt(skipped: bool)`` is called after every utterance.
    """
    extractor = make_feature_extractor(cfg)
    torch_dtype = getattr(torch, dtype)
    writer = ShardWriter(out_dir, shard, num_shards, cfg, dtype)
    stats = CMVNStats(cfg.n_mels)
    skipped: dict[str, str] = {}
    resampled: Counter[int] = Counter()
    example = ""
    samples = 0
    t0 = time.time()
    try:
        for utt, path, start, end in jobs:
            try:
                wave, rate = _read_wave(path, cfg, start, end) if start or end is not None else _read_wave(path, cfg)
                with torch.inference_mode():
                    feats_t = extractor(torch.from_numpy(wave))[0][0]
                    stored = feats_t.to(torch_dtype).numpy()  # torch's float16 cast is faster than numpy's
                feats = feats_t.numpy()
            except Exception as e:  # noqa: BLE001 -- a bad file of any kind is skipped, never fatal
                skipped[utt] = str(e) if isinstance(e, AudioError) else f"{path}: {type(e).__name__}: {e}"
                if on_utt:
                    on_utt(True)
                continue
            if rate != cfg.sample_rate:
                resampled[rate] += 1
                example = example or path
            writer.add(utt, stored)
            stats.update(feats)
            samples += len(wave)
            if on_utt:
                on_utt(False)
    except BaseException:
        writer.abort()
        raise
    return writer.close({"key": key, "skipped": skipped, "cmvn": stats.to_dict(),
                         "resampled": {str(r): n for r, n in resampled.items()}, "resampled_example": example,
                         "audio_seconds": samples / cfg.sample_rate, "compute_seconds": time.time() - t0})


_counts = None  # shared (done, skipped) counters of the parent's progress bar, in worker processes


def _init_worker(counts) -> None:
    global _counts
    _counts = counts
    torch.set_num_threads(1)  # parallelism comes from processes


def _count(skipped: bool) -> None:
    with _counts.get_lock():
        _counts[0] += 1
        _counts[1] += skipped


def _run_shard(args: tuple) -> dict:
    return extract_shard(*args, on_utt=_count)


def _report_resampled(manifests: list[dict], sample_rate: int) -> dict[int, int]:
    total: Counter[int] = Counter()
    for m in manifests:
        total.update({int(r): n for r, n in m.get("resampled", {}).items()})
    if total:
        example = next(m["resampled_example"] for m in manifests if m.get("resampled_example"))
        rates = ", ".join(f"{n} at {r} Hz" for r, n in sorted(total.items()))
        log.warning("resampled %d audio files to %d Hz (%s), e.g. %s", sum(total.values()), sample_rate, rates,
                    example)
    return dict(total)


def extract_features(
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    cfg: FeatureConfig | None = None,
    nj: int = 1,
    compute_cmvn: bool = False,
    *,
    dtype: str = "float16",
    num_shards: int | None = None,
    shard: int | None = None,
) -> ExtractResult:
    """Compute the features of every utterance of ``data_dir`` into a sharded store at ``out_dir``.

    ``nj`` processes work on different shards. With ``shard`` (0-based, needs ``num_shards``) only that
    shard is computed and nothing is merged: run :func:`merge_store` once all shards exist. Otherwise
    all shards are computed (complete, up-to-date ones are reused) and merged: ``index.tsv``,
    ``skipped.txt``, and with ``compute_cmvn`` the global mean/std in ``cmvn.json``.
    Bad audio is skipped, counted and named; the run never stops halfway for it.
    """
    cfg = cfg or FeatureConfig()
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    dd = read_datadir(data_dir, segments=True)
    if shard is not None and not num_shards:
        raise ValueError("--shard needs the number of shards (I/N)")
    n_shards = num_shards or default_num_shards(out_dir, len(dd), nj)
    if shard is not None and not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is not in [0, {n_shards}) (shards are numbered from 0)")
    plan: list[list[Job]] = [[] for _ in range(n_shards)]
    for u in dd.utt_ids:
        plan[shard_of(u, n_shards)].append((u, str(dd.audio_path(u)), *dd.span(u)))
    targets = [shard] if shard is not None else list(range(n_shards))
    result = ExtractResult(num_shards=n_shards)
    pending, manifests = [], {}
    for s in targets:
        key = shard_key(cfg, dtype, plan[s])
        m = read_manifest(out_dir, s, n_shards)
        if m is not None and m.get("key") == key:
            manifests[s] = m
            result.shards_reused.append(s)
        else:
            pending.append((out_dir, s, n_shards, plan[s], cfg, dtype, key))
    if result.shards_reused:
        log.info("%s: %d of %d shards are complete and up to date; reusing them", out_dir,
                 len(result.shards_reused), len(targets))
    n_utts = sum(len(p[3]) for p in pending)
    bar = tqdm(total=n_utts, desc=f"features {Path(data_dir).name}", unit="utt", disable=None)
    if nj > 1 and len(pending) > 1:
        counts = mp.get_context("fork").Array("q", 2)
        with mp.get_context("fork").Pool(min(nj, len(pending)), _init_worker, (counts,)) as pool:
            running = [pool.apply_async(_run_shard, (p,)) for p in pending]
            while not all(r.ready() for r in running):
                time.sleep(0.2)
                bar.update(counts[0] - bar.n)
                bar.set_postfix(skipped=counts[1], refresh=False)
            done = [r.get() for r in running]  # re-raises a worker's error (disk full, ...)
    else:
        n_skipped = 0

        def on_utt(skipped: bool) -> None:
            nonlocal n_skipped
            n_skipped += skipped
            bar.update(1)
            if skipped:
                bar.set_postfix(skipped=n_skipped, refresh=False)

        done = [extract_shard(*p, on_utt=on_utt) for p in pending]
    bar.update(n_utts - bar.n)
    bar.close()
    for m in done:
        manifests[m["shard"]] = m
        result.shards_computed.append(m["shard"])
        result.audio_seconds += m["audio_seconds"]
    if shard is not None:
        m = manifests[shard]
        result.num_done, result.num_frames, result.skipped = len(m["utts"]), m["frames"], dict(m["skipped"])
        result.resampled = _report_resampled([m], cfg.sample_rate)
        log.info("%s: shard %d of %d done; run `asr features-merge %s` once every shard is", out_dir, shard,
                 n_shards, out_dir)
        return result
    merged = merge_store(out_dir, compute_cmvn, n_shards, [manifests[s] for s in range(n_shards)])
    merged.shards_computed, merged.shards_reused = result.shards_computed, result.shards_reused
    merged.audio_seconds = result.audio_seconds
    return merged


def merge_store(out_dir: str | os.PathLike, compute_cmvn: bool = False, num_shards: int | None = None,
                manifests: list[dict] | None = None) -> ExtractResult:
    """Merge complete shards into a readable store: ``skipped.txt``, ``cmvn.json`` (optional), ``index.tsv`` last.

    Raises ValueError naming the missing shards if any is incomplete, or if shards disagree on the
    configuration (computed with different options).
    """
    out = Path(out_dir)
    n = num_shards or existing_num_shards(out)
    if not n:
        raise FileNotFoundError(f"{out}: no shards to merge")
    if manifests is None:
        manifests = [read_manifest(out, s, n) for s in range(n)]
    missing = [s for s, m in enumerate(manifests) if m is None]
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        raise ValueError(f"{out}: {len(missing)} of {n} shards are missing or unfinished: {shown}")
    first = manifests[0]
    for m in manifests[1:]:
        if (m["feature"], m["dtype"]) != (first["feature"], first["dtype"]):
            raise ValueError(f"{out}: shard {m['shard']} was computed with {m['feature']} {m['dtype']}, "
                             f"shard 0 with {first['feature']} {first['dtype']}; recompute one of them")
    cfg = FeatureConfig(**first["feature"])
    result = ExtractResult(num_shards=n, merged=True)
    stats = CMVNStats(cfg.n_mels)
    seen: set[str] = set()
    for m in manifests:
        utts = [u for u, _, _ in m["utts"]]
        if seen.intersection(utts):
            raise ValueError(f"{out}: shard {m['shard']} repeats utterances of other shards "
                             f"(shards from different data directories?)")
        seen.update(utts)
        result.num_done += len(utts)
        result.num_frames += m["frames"]
        result.skipped.update(m["skipped"])
        stats.merge(CMVNStats.from_dict(m["cmvn"]))
    result.resampled = _report_resampled(manifests, cfg.sample_rate)
    (out / SKIPPED_FILE).write_text("".join(f"{u} {r}\n" for u, r in sorted(result.skipped.items())))
    if compute_cmvn:
        if stats.count == 0:
            raise ValueError(f"{out}: no frames to compute CMVN statistics from")
        stats.save(out / CMVN_FILE)
    write_index(out, manifests)
    _remove_stale(out, n)
    if result.skipped:
        log.warning("%s: skipped %d of %d utterances (listed in %s)", out, len(result.skipped),
                    result.num_done + len(result.skipped), out / SKIPPED_FILE)
    return result


def _remove_stale(out: Path, num_shards: int) -> None:
    """Delete files of earlier layouts (another shard count, the unsharded store) that the index no longer uses."""
    keep = {p.name for s in range(num_shards) for p in shard_paths(out, s, num_shards)}
    for p in (out / SHARD_DIR).iterdir():
        # A temporary file (shard data: NAME.tmp.PID; manifests via asr.io: NAME.PID.tmp) may belong to a
        # run still going.
        if p.name not in keep and ".tmp" not in p.name:
            p.unlink()
    (out / LEGACY_FRAMES_FILE).unlink(missing_ok=True)
