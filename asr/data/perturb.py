"""``asr speed-perturb``: speed-perturbed copies of a training data directory (Kaldi's 0.9/1.0/1.1 recipe).

A factor ``f`` plays the audio ``f`` times as fast, changing tempo and pitch together like sox's
``speed`` effect: the samples are reinterpreted as recorded at ``f * 16 kHz`` and resampled back to
16 kHz, so a clip of ``N`` samples becomes ``N / f`` samples long.

The copies are pre-generated files, not an on-the-fly effect: every later stage (features, the
validator, anyone reading ``wav.scp``) sees ordinary audio and needs no knowledge of perturbation.
They are 16-bit FLAC (lossless, about half the size of WAV) under
``<audio_dir>/sp<f>/<speaker>/<utt>.flac``; existing files are reused, so an interrupted run resumes.
Cost: for the 960 h LibriSpeech training set the two copies take about as much disk as the corpus
itself twice over (roughly 2 x 60 GB).

The output data directory lists the original utterances (unless ``--no-original``) and the copies
as ``sp<f>-<utt>`` spoken by ``sp<f>-<speaker>`` (the prefix on both keeps Kaldi's sort order).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from tqdm import tqdm

from asr.data.audio import SAMPLE_RATE, AudioError, load_audio
from asr.data.datadir import DataDir, read_datadir, validate_datadir, write_datadir
from asr.io import atomic_path

log = logging.getLogger(__name__)


def speed_perturb(wave: np.ndarray, factor: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``wave (N,)`` played ``factor`` times as fast -> ``(~N / factor,)`` at the same rate."""
    return soxr.resample(wave, sample_rate * factor, sample_rate).astype(np.float32, copy=False)


def prefix(factor: float) -> str:
    return f"sp{factor:g}"


def _write_flac(path: Path, wave: np.ndarray, sample_rate: int) -> None:
    """Atomic, so a file that exists is complete (that is what resuming relies on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:  # format= explicit: the temporary name ends in .tmp, not .flac
        sf.write(tmp, np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16", format="FLAC")


def _perturb_one(job: tuple[str, str, str, float]) -> tuple[str, int, str]:
    """``(utt, samples written, error)`` for one copy."""
    utt, src, dst, factor = job
    if os.path.isfile(dst):
        try:
            return utt, sf.info(dst).frames, ""
        except Exception:  # a foreign or damaged file under our name: make it again
            pass
    try:
        wave = load_audio(src, SAMPLE_RATE)
    except AudioError as e:
        return utt, 0, str(e)
    out = speed_perturb(wave, factor)
    _write_flac(Path(dst), out, SAMPLE_RATE)
    return utt, len(out), ""


def speed_perturb_datadir(src_dir: str | os.PathLike, out_dir: str | os.PathLike,
                          factors: tuple[float, ...] = (0.9, 1.1), audio_dir: str | os.PathLike | None = None,
                          keep_original: bool = True, nj: int = 2) -> DataDir:
    """Write ``out_dir``: the data dir at ``src_dir`` plus one perturbed copy per factor (module docstring)."""
    src = read_datadir(src_dir)
    out = Path(out_dir)
    audio_root = Path(audio_dir) if audio_dir else out / "audio"
    if any(f <= 0 or f == 1.0 for f in factors):
        raise ValueError(f"speed factors must be positive and not 1.0 (the original), got {factors}")
    res = DataDir()
    if keep_original:
        res = src.subset(src.utt_ids)
        res.wav = {u: os.path.abspath(src.audio_path(u)) for u in src.utt_ids}
    jobs = []
    for f in factors:
        for u in src.utt_ids:
            dst = audio_root / prefix(f) / src.utt2spk[u] / f"{prefix(f)}-{u}.flac"
            jobs.append((u, str(src.audio_path(u)), os.path.abspath(dst), f))
    ctx = mp.get_context("fork") if nj > 1 else None
    pool = ctx.Pool(nj) if ctx else None
    results = pool.imap(_perturb_one, jobs, chunksize=16) if pool else map(_perturb_one, jobs)
    failed = 0
    try:
        for (utt, _, dst, f), (_, samples, err) in tqdm(zip(jobs, results, strict=True), total=len(jobs),
                                                       desc=f"speed perturb {Path(src_dir).name}", unit="utt",
                                                       disable=None):
            if err:
                log.warning("skipping %s-%s: %s", prefix(f), utt, err)
                failed += 1
                continue
            res.add_copy(src, utt, prefix(f), dst, samples / SAMPLE_RATE)
    finally:
        if pool:
            pool.close()
            pool.join()
    res.root = out
    write_datadir(res, out)
    problems = validate_datadir(out, check_audio=False)
    if problems:
        raise RuntimeError(f"{out}: wrote an invalid data dir: {problems[:3]}")
    log.info("%s: %d utterances (%.1f h), %d copies failed", out, len(res), res.total_hours(), failed)
    return res
