"""``asr decode``: transcribe every utterance of a data directory in length-sorted batches.

The acoustic model (an asr.model.runtime.ModelRuntime) runs once per batch (:func:`datadir_log_probs`);
any decoder (greedy or beam, asr.decode.decoder) turns the log-probs into words. LM tuning keeps the
log-probs and decodes them many times.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import torch
from tqdm import tqdm

from asr.data.audio import AudioError, load_audio
from asr.data.datadir import read_datadir
from asr.decode.config import BATCH_SECONDS
from asr.decode.decoder import Decoder, make_decoder
from asr.decode.parallel import DecoderPool, PooledDecoder
from asr.io import atomic_write_text
from asr.model.runtime import ModelRuntime

log = logging.getLogger(__name__)


def datadir_log_probs(runtime: ModelRuntime, data_dir: str | os.PathLike, batch_seconds: float = BATCH_SECONDS,
                      ) -> Iterator[tuple[list[str], torch.Tensor, torch.Tensor]]:
    """Yield ``(utt_ids, log_probs (B, T, V), lengths (B,))`` per length-sorted batch of a data dir.

    Unreadable audio is logged and yielded as utterances with no frames (``lengths == 0``,
    decoded as empty hypotheses, so scored as errors, never silently left out).
    """
    dd = read_datadir(data_dir)
    sr = runtime.feature_cfg.sample_rate
    waves, failed = {}, []
    for u in dd.utt_ids:
        try:
            waves[u] = load_audio(dd.audio_path(u), sr)
        except AudioError as e:
            log.error("utterance %s: %s", u, e)
            failed.append(u)
    if failed:
        log.warning("%d utterances could not be read and count as empty hypotheses", len(failed))
        yield failed, torch.zeros(len(failed), 0, 1), torch.zeros(len(failed), dtype=torch.long)
    order = sorted(waves, key=lambda u: len(waves[u]))
    bar = tqdm(total=len(order), desc=f"decode {Path(data_dir).name}", unit="utt", disable=None)
    batch: list[str] = []
    for i, u in enumerate(order):
        batch.append(u)
        last = i + 1 == len(order)
        if last or len(waves[order[i + 1]]) * (len(batch) + 1) > batch_seconds * sr:
            log_probs, lengths = runtime.log_probs([waves[b] for b in batch])
            yield list(batch), log_probs, lengths
            bar.update(len(batch))
            batch = []
    bar.close()


def decode_batch(decoder: Decoder, tokenizer, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
    """Texts of ``decoder.decode``; '' for utterances with no frames (unreadable audio)."""
    if log_probs.shape[1] == 0:
        return [""] * log_probs.shape[0]
    return [" ".join(tokenizer.decode(ids).split()) for ids in decoder.decode(log_probs, lengths)]


def write_hyps(hyps: dict[str, str], path: str | os.PathLike) -> None:
    """``<utt> <words>`` per line, sorted; an empty hypothesis is the id alone."""
    atomic_write_text(path, "".join(f"{u} {hyps[u]}".rstrip() + "\n" for u in sorted(hyps)))


def decode_datadir(runtime: ModelRuntime, data_dir: str | os.PathLike, out_dir: str | os.PathLike,
                   batch_seconds: float = BATCH_SECONDS, decoder: Decoder | None = None, nj: int = 0,
                   ) -> dict[str, str]:
    """Write ``out_dir/hyp.txt`` (``<utt> <words>``) and ``out_dir/ref.txt``; return the hypotheses.

    ``decoder`` defaults to the model's own choice: its tuned beam search (decode.json) if it has
    one, else greedy (asr.decode.decoder.make_decoder). Beam search runs in ``nj`` processes (0: one
    per CPU core; asr.decode.parallel).
    """
    decoder = decoder or make_decoder(runtime.model_dir, runtime.tokenizer)
    hyps: dict[str, str] = {}
    with DecoderPool({"decoder": decoder}, nj) as pool:
        pooled = PooledDecoder(pool, "decoder")
        for utts, log_probs, lengths in datadir_log_probs(runtime, data_dir, batch_seconds):
            hyps.update(zip(utts, decode_batch(pooled, runtime.tokenizer, log_probs, lengths), strict=True))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_hyps(hyps, out / "hyp.txt")
    dd = read_datadir(data_dir)
    atomic_write_text(out / "ref.txt", "".join(f"{u} {dd.text[u]}\n" for u in dd.utt_ids))
    return hyps
