"""Command line of the feature stage: ``asr features`` and ``asr features-merge``.

Building the parsers imports no torch: extraction is imported by the run functions only.
"""

from __future__ import annotations

import argparse

from asr.config import add_config_arguments, config_from_args
from asr.features.config import FeatureConfig
from asr.features.store import DTYPES, UTTS_PER_SHARD
from asr.io import check_output_dir


def add_features_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr features``: the store's layout, then one flag per :class:`FeatureConfig` field."""
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
    add_config_arguments(p, FeatureConfig)


def run_features(args: argparse.Namespace) -> int:
    """Extract (or resume) a feature store; status 1 when no utterance could be used."""
    shard, num_shards = None, args.num_shards or None
    if args.nj < 1:
        raise ValueError(f"--nj {args.nj}: needs at least 1 process")
    if args.num_shards < 0:
        raise ValueError(f"--num-shards {args.num_shards}: must be >= 0 (0: chosen from the data)")
    if args.shard:
        try:
            i, n = (int(x) for x in args.shard.split("/"))
        except ValueError as e:
            raise ValueError(f"--shard {args.shard!r}: expected I/N, e.g. 3/16") from e
        if num_shards and num_shards != n:
            raise ValueError(f"--shard {args.shard} disagrees with --num-shards {num_shards}")
        shard, num_shards = i, n
        if n < 1 or not 0 <= i < n:
            raise ValueError(f"--shard {args.shard}: needs 0 <= I < N (shards are numbered from 0)")
    cfg = config_from_args(FeatureConfig, args)
    check_output_dir(args.out_dir)  # before the first shard is computed
    from asr.features.extract import extract_features

    res = extract_features(args.data_dir, args.out_dir, cfg, nj=args.nj, compute_cmvn=args.cmvn, dtype=args.dtype,
                           num_shards=num_shards, shard=shard)
    what = f"shard {shard} of {num_shards}" if shard is not None else f"{res.num_shards} shards"
    print(f"{args.data_dir}: {res.num_done} utterances, {res.num_frames} frames, {skipped_note(res, args.out_dir)} "
          f"({what}: {len(res.shards_computed)} computed, {len(res.shards_reused)} reused) -> {args.out_dir}")
    return 0 if res.num_done or shard is not None else 1


def skipped_note(res, out_dir: str) -> str:
    """``N skipped``, and where they are listed (merged stores list them in skipped.txt)."""
    if not res.skipped:
        return "0 skipped"
    where = f"listed in {out_dir}/skipped.txt" if res.merged else "listed in the shard's manifest"
    return f"{len(res.skipped)} skipped ({where})"


def add_features_merge_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr features-merge``."""
    p.add_argument("out_dir", help="a store whose shards were computed with `asr features --shard I/N`")
    p.add_argument("--cmvn", action="store_true", help="also write global CMVN stats (training set)")


def run_features_merge(args: argparse.Namespace) -> int:
    """Check and index the shards of ``asr features --shard I/N`` runs; status 1 when the store is empty."""
    from asr.features.extract import merge_store

    res = merge_store(args.out_dir, args.cmvn)
    print(f"{args.out_dir}: {res.num_done} utterances, {res.num_frames} frames, {skipped_note(res, args.out_dir)} "
          f"({res.num_shards} shards merged)")
    return 0 if res.num_done else 1
