"""Extraction speed: seconds of audio per second per core, our pipeline vs. a naive per-file librosa loop.

    python bench/features.py                       # 300 utterances (~10 min) of data/synth6/train
    python bench/features.py --utts 1000 --data data/synth/train

Both sides do the whole job on one core: read each file, compute 80-dim log-mel (same definition),
and write the result (ours: the sharded float16 store via ``extract_features``; naive: one .npy per
file). Alternating repetitions, the best of each is reported (the machine is shared). Also printed:
the same pipeline with 2 processes, and the compute alone (audio in memory) per backend and batch size.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per side, numpy/BLAS included
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from asr.data.audio import load_audio  # noqa: E402
from asr.data.datadir import read_datadir  # noqa: E402
from asr.data.subset import subset_datadir  # noqa: E402
from asr.features.config import FeatureConfig  # noqa: E402
from asr.features.extract import extract_features  # noqa: E402
from asr.features.logmel import make_feature_extractor  # noqa: E402


def naive_librosa(data: Path, out: Path, cfg: FeatureConfig) -> float:
    """Per file: librosa.load, librosa.feature.melspectrogram, log, np.save. Returns seconds."""
    import librosa

    dd = read_datadir(data)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for u in dd.utt_ids:
        y, sr = librosa.load(dd.audio_path(u), sr=cfg.sample_rate)
        mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                                             win_length=cfg.win_length, center=False, n_mels=cfg.n_mels,
                                             fmin=cfg.f_min, fmax=cfg.f_max, htk=True, norm=None)
        np.save(out / f"{u}.npy", np.log(np.maximum(mel, 1e-6)).T.astype(np.float16))
    return time.perf_counter() - t0


def ours(data: Path, out: Path, nj: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    extract_features(data, out, nj=nj, num_shards=max(nj, 2), compute_cmvn=True)
    return time.perf_counter() - t0


def compute_only(waves: list[np.ndarray], backend: str, batch: int) -> float:
    """Seconds to compute features of ``waves`` (in memory), ``batch`` length-sorted utterances per call."""
    ex = make_feature_extractor(FeatureConfig(backend=backend))
    order = sorted(range(len(waves)), key=lambda i: len(waves[i]))
    with torch.inference_mode():
        ex(torch.from_numpy(waves[0]))  # warm-up
        t0 = time.perf_counter()
        for s in range(0, len(order), batch):
            chunk = [waves[i] for i in order[s : s + batch]]
            lens = torch.tensor([len(w) for w in chunk])
            x = torch.zeros(len(chunk), int(lens.max()))
            for i, w in enumerate(chunk):
                x[i, : len(w)] = torch.from_numpy(w)
            ex(x, lens)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/synth6/train")
    p.add_argument("--utts", type=int, default=300)
    p.add_argument("--reps", type=int, default=2)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ["TQDM_DISABLE"] = "1"
    torch.set_num_threads(1)
    cfg = FeatureConfig()
    tmp = Path(tempfile.mkdtemp(prefix="bench_features_"))
    try:
        data = tmp / "data"
        subset_datadir(args.data, data, first=args.utts)
        dd = read_datadir(data)
        waves = [load_audio(dd.audio_path(u)) for u in dd.utt_ids]
        audio_s = sum(len(w) for w in waves) / cfg.sample_rate
        print(f"corpus: {len(waves)} utterances, {audio_s:.0f} s of audio ({args.data}); torch threads 1")
        subset_datadir(args.data, tmp / "warm", first=2)
        naive_librosa(tmp / "warm", tmp / "warm_npy", cfg)  # numba compile, imports
        ours(tmp / "warm", tmp / "warm_feats", 1)
        t_ours, t_naive, t_ours2 = [], [], []
        for _ in range(args.reps):  # alternate, so a busy spell of the shared machine hits both
            t_ours.append(ours(data, tmp / "feats", 1))
            t_naive.append(naive_librosa(data, tmp / "npy", cfg))
            t_ours2.append(ours(data, tmp / "feats2", 2))
        r_ours, r_naive, r_ours2 = audio_s / min(t_ours), audio_s / min(t_naive), audio_s / min(t_ours2) / 2
        print("\nwhole job (read + features + write), seconds of audio per second per core (best of "
              f"{args.reps}):")
        print(f"  ours, extract_features nj=1            {r_ours:8.0f}  ({min(t_ours):.2f} s)")
        print(f"  naive per-file librosa loop, 1 core    {r_naive:8.0f}  ({min(t_naive):.2f} s)")
        print(f"  ours, extract_features nj=2 (per core) {r_ours2:8.0f}  ({min(t_ours2):.2f} s wall)")
        print(f"  RATIO ours / naive librosa: {r_ours / r_naive:.1f}x  (goal >= 2x)")
        print("\ncompute only (audio in memory), seconds of audio per second, 1 thread:")
        for backend, batch in (("torchaudio", 1), ("torchaudio", 8), ("torchaudio", 32), ("kaldi", 1),
                               ("librosa", 1)):
            print(f"  {backend:10s} batch {batch:3d}   {audio_s / compute_only(waves, backend, batch):8.0f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
