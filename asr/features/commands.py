"""Command-line arguments of ``asr features`` and ``asr features-merge`` (light: no torch import to build them)."""

from __future__ import annotations

from asr.features.config import BACKENDS, UTT_NORMS, FeatureConfig
from asr.features.store import DTYPES, UTTS_PER_SHARD


def add_arguments(p) -> None:
    p.add_argument("data_dir")
    p.add_argument("out_dir")
    p.add_argument("--nj", type=int, default=2, help="parallel processes (each computes whole shards)")
    p.add_argument("--num-shards", type=int, default=0,
                   help=f"shard files (0: the existing store's count, else about {UTTS_PER_SHARD} utterances "
                        "per shard, a multiple of --nj)")
    p.add_argument("--shard", metavar="I/N", help="compute only shard I of N (0-based; e.g. a Slurm array "
                   "task) and do not merge: run `asr features-merge OUT` after all shards")
    p.add_argument("--cmvn", action="store_true", help="also write global CMVN stats (training set)")
    p.add_argument("--dtype", default="float16", choices=DTYPES, help="stored precision")
    p.add_argument("--backend", default="torchaudio", choices=BACKENDS,
                   help="feature computation (kaldi: torchaudio.compliance.kaldi.fbank)")
    p.add_argument("--n-mels", type=int, default=80, help="mel bands")
    p.add_argument("--utt-norm", default="none", choices=UTT_NORMS, help="per-utterance normalization")


def run(args) -> int:
    shard, num_shards = None, args.num_shards or None
    if args.shard:
        try:
            i, n = (int(x) for x in args.shard.split("/"))
        except ValueError as e:
            raise ValueError(f"--shard {args.shard!r}: expected I/N, e.g. 3/16") from e
        if num_shards and num_shards != n:
            raise ValueError(f"--shard {args.shard} disagrees with --num-shards {num_shards}")
        shard, num_shards = i, n
    cfg = FeatureConfig(n_mels=args.n_mels, backend=args.backend, utt_norm=args.utt_norm)
    from asr.features.extract import extract_features

    res = extract_features(args.data_dir, args.out_dir, cfg, nj=args.nj, compute_cmvn=args.cmvn, dtype=args.dtype,
                           num_shards=num_shards, shard=shard)
    what = f"shard {shard} of {num_shards}" if shard is not None else f"{res.num_shards} shards"
    print(f"{args.data_dir}: {res.num_done} utterances, {res.num_frames} frames, {len(res.skipped)} skipped "
          f"({what}: {len(res.shards_computed)} computed, {len(res.shards_reused)} reused) -> {args.out_dir}")
    return 0 if res.num_done or shard is not None else 1


def add_merge_arguments(p) -> None:
    p.add_argument("out_dir", help="a store whose shards were computed with `asr features --shard I/N`")
    p.add_argument("--cmvn", action="store_true", help="also write global CMVN stats (training set)")


def run_merge(args) -> int:
    from asr.features.extract import merge_store

    res = merge_store(args.out_dir, args.cmvn)
    print(f"{args.out_dir}: {res.num_done} utterances, {res.num_frames} frames, {len(res.skipped)} skipped "
          f"({res.num_shards} shards merged)")
    return 0 if res.num_done else 1
