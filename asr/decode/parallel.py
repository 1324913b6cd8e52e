"""Beam search on several CPU cores: worker processes forked with the decoders already built.

flashlight's beam search (asr.decode.beam) decodes one utterance at a time on one core, and loading a
word LM is its slow start. :class:`DecoderPool` forks ``nj`` workers after the decoders are built, so
each worker shares the loaded LM copy-on-write instead of loading it again, and hands them the
utterances of a batch in small chunks (longest first, taken as workers free up). Results are
identical to decoding in one process: each utterance is decoded on its own, whatever the chunking.
Greedy decoding is batched tensor work already and never goes through a pool.

    with DecoderPool({"lm": beam_decoder}, nj=2) as pool:
        ids = pool.decode("lm", log_probs, lengths)   # (B, T, V), (B,) -> unit ids per utterance
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from collections.abc import Mapping

import numpy as np
import torch

from asr.decode.decoder import Decoder, GreedyDecoder

log = logging.getLogger(__name__)

CHUNK_UTTS = 4  # utterances per task: small enough to balance the workers, large enough to keep IPC negligible

_WORKER_DECODERS: Mapping[str, Decoder] = {}  # what a forked worker inherited


def default_jobs() -> int:
    """The CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _init_worker() -> None:
    # One core per worker; the parent's OpenMP pool is not usable after fork anyway.
    torch.set_num_threads(1)


def _decode_chunk(task: tuple[str, np.ndarray, np.ndarray]) -> list[list[int]]:
    key, log_probs, lengths = task
    return _WORKER_DECODERS[key].decode(torch.from_numpy(log_probs), torch.from_numpy(lengths))


class DecoderPool:
    """``decode(key, log_probs (B, T, V), lengths (B,)) -> list[list[int]]`` with ``decoders[key]``,
    over ``nj`` forked processes (in this process when ``nj <= 1``, when fork is unavailable, or for
    decoders that gain nothing from it: greedy)."""

    def __init__(self, decoders: Mapping[str, Decoder], nj: int = 0):
        self.decoders = dict(decoders)
        nj = default_jobs() if nj <= 0 else nj
        useful = any(not isinstance(d, GreedyDecoder) for d in self.decoders.values())
        self._pool = None
        if nj > 1 and useful and "fork" in mp.get_all_start_methods():
            global _WORKER_DECODERS
            _WORKER_DECODERS = self.decoders  # inherited by the workers forked now
            self._pool = mp.get_context("fork").Pool(nj, initializer=_init_worker)
            _WORKER_DECODERS = {}
        self.nj = nj if self._pool is not None else 1

    def decode(self, key: str, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        decoder = self.decoders[key]
        if self._pool is None or isinstance(decoder, GreedyDecoder) or log_probs.shape[0] <= 1:
            return decoder.decode(log_probs, lengths)
        lp = log_probs.detach().float().cpu()
        lens = lengths.cpu()
        order = torch.argsort(lens, descending=True, stable=True).tolist()  # longest first: even finish
        chunks = [order[i:i + CHUNK_UTTS] for i in range(0, len(order), CHUNK_UTTS)]
        tasks = []
        for rows in chunks:
            t = int(lens[rows].max())
            tasks.append((key, lp[rows, :t].numpy(), lens[rows].numpy()))
        out: list[list[int]] = [[] for _ in order]
        for rows, ids in zip(chunks, self._pool.imap(_decode_chunk, tasks), strict=True):
            for r, i in zip(rows, ids, strict=True):
                out[r] = i
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> DecoderPool:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None and exc[0] is not None:
            self._pool.terminate()
        self.close()


class PooledDecoder:
    """One decoder of a :class:`DecoderPool`, with the Decoder interface (asr.decode.decoder)."""

    def __init__(self, pool: DecoderPool, key: str):
        self.pool, self.key = pool, key
        self.name = pool.decoders[key].name

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        return self.pool.decode(self.key, log_probs, lengths)
