"""Feature extraction for a data directory: log-mel frames into a FeatureStore, plus CMVN stats."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from asr.data.audio import AudioError, load_audio
from asr.data.datadir import read_datadir
from asr.features.cmvn import CMVN_FILE, CMVNStats
from asr.features.logmel import FeatureConfig, LogMel
from asr.features.store import FeatureStoreWriter

log = logging.getLogger(__name__)


@dataclass
class ExtractResult:
    num_done: int = 0
    num_frames: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # utt -> reason


_worker_logmel: LogMel | None = None


def _init_worker(cfg: FeatureConfig) -> None:
    global _worker_logmel
    torch.set_num_threads(1)  # parallelism comes from processes
    _worker_logmel = LogMel(cfg)


def _extract_one(job: tuple[str, str]) -> tuple[str, np.ndarray | None, str]:
    utt, path = job
    assert _worker_logmel is not None
    cfg = _worker_logmel.cfg
    try:
        wave = load_audio(path, cfg.sample_rate)
    except AudioError as e:
        return utt, None, str(e)
    if cfg.num_frames(len(wave)) == 0:
        return utt, None, f"{path}: {len(wave)} samples is shorter than one {cfg.n_fft}-sample frame"
    with torch.inference_mode():
        feats, _ = _worker_logmel(torch.from_numpy(wave))
    return utt, feats[0].numpy().astype(np.float16), ""


def extract_features(
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    cfg: FeatureConfig | None = None,
    nj: int = 1,
    compute_cmvn: bool = False,
) -> ExtractResult:
    """Compute log-mel features of every utterance of ``data_dir`` into a store at ``out_dir``.

    Unreadable, empty or too-short audio is skipped, counted and named in the log (and in
    ``out_dir/skipped.txt``); the run never stops halfway. With ``compute_cmvn`` the global
    mean/std of the extracted frames is written to ``out_dir/cmvn.json``.
    """
    cfg = cfg or FeatureConfig()
    dd = read_datadir(data_dir)
    jobs = [(u, str(dd.audio_path(u))) for u in dd.utt_ids]
    writer = FeatureStoreWriter(out_dir, cfg)
    stats = CMVNStats(cfg.n_mels)
    result = ExtractResult()
    ctx = mp.get_context("fork") if nj > 1 else None
    if ctx is not None:
        pool = ctx.Pool(nj, initializer=_init_worker, initargs=(cfg,))
        results = pool.imap(_extract_one, jobs, chunksize=8)
    else:
        _init_worker(cfg)
        results = map(_extract_one, jobs)
    try:
        for utt, feats, err in tqdm(results, total=len(jobs), desc=f"features {Path(data_dir).name}",
                                    unit="utt", disable=None):
            if feats is None:
                result.skipped[utt] = err
                log.warning("skipping %s: %s", utt, err)
                continue
            writer.add(utt, feats)
            if compute_cmvn:
                stats.update(feats)
            result.num_done += 1
            result.num_frames += feats.shape[0]
    finally:
        if ctx is not None:
            pool.close()
            pool.join()
    writer.close()
    out = Path(out_dir)
    (out / "skipped.txt").write_text("".join(f"{u} {r}\n" for u, r in sorted(result.skipped.items())))
    if compute_cmvn:
        stats.save(out / CMVN_FILE)
    if result.skipped:
        log.warning("%s: skipped %d of %d utterances (listed in %s)", data_dir, len(result.skipped),
                    len(jobs), out / "skipped.txt")
    return result
